import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { fileSystems } from '../../src/sink/fs.ts';
import { MemoryCatalog } from '../../src/system/memory-catalog.ts';
import { SystemTables } from '../../src/system/publisher.ts';
import { systemRows, type SystemSnapshot } from '../../src/system/rows.ts';
import { DEADLETTERS, HISTORY, PARTITIONS, STREAMS } from '../../src/system/tables.ts';

async function scratch(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hive-kafka-system-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const log = pino({ level: 'silent' });

function setup(dir: string, options: { location?: string; graceMs?: number; catalog?: MemoryCatalog } = {}) {
  const clock = { ms: Date.UTC(2024, 5, 1) };
  const catalog = options.catalog ?? new MemoryCatalog(`file:${dir}/warehouse`);
  const tables = new SystemTables({ catalog, fileSystems: fileSystems(), database: 'hive_kafka', location: options.location,
    graceMs: options.graceMs ?? 60_000, log, now: () => clock.ms });
  return { clock, catalog, tables };
}

function snapshot(at: number, events = 1): SystemSnapshot {
  return {
    at,
    streams: [{ db: 'sales', table: 'orders', tableId: 7, owner: 'me', state: 'running', tasks: 1, restarts: 0, recordsPerSecond: 3 }],
    partitions: [{ db: 'sales', table: 'orders', topic: 'orders', partition: 0, committed: 10, logEnd: 12, lagRecords: 2 }],
    history: Array.from({ length: events }, (_, i) => ({ db: 'sales', table: 'orders', tableId: 7, eventId: i + 1, at: Date.UTC(2024, 0, 1) + i, event: i === 0 ? 'created' : 'altered' })),
  };
}

const locationOf = (catalog: MemoryCatalog, table: string) => catalog.tables.get(`hive_kafka.${table}`)!.location;
const versionsIn = async (dir: string) => (await readdir(dir)).filter((n) => n.startsWith('v')).sort();

test('ensure creates the database and the four JSON tables, each once', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables } = setup(dir);
  await tables.ensure();
  await tables.ensure();
  assert.deepEqual(catalog.databases.get('hive_kafka')?.locationUri, `file:${dir}/warehouse/hive_kafka.db`);
  assert.equal(catalog.calls.filter((c) => c.startsWith('createDatabase')).length, 1);
  assert.deepEqual(catalog.calls.filter((c) => c.startsWith('createTable')),
    ['createTable hive_kafka.streams', 'createTable hive_kafka.partitions', 'createTable hive_kafka.history', 'createTable hive_kafka.deadletters']);
  for (const def of [STREAMS, PARTITIONS, HISTORY, DEADLETTERS]) {
    const table = catalog.tables.get(`hive_kafka.${def.name}`)!;
    assert.equal(table.tableType, 'EXTERNAL_TABLE');
    assert.equal(table.parameters.EXTERNAL, 'TRUE');
    assert.equal(table.location, `file:${dir}/warehouse/hive_kafka.db/${def.name}`);
    assert.ok(existsSync(`${dir}/warehouse/hive_kafka.db/${def.name}`));
    assert.equal(table.inputFormat, 'org.apache.hadoop.mapred.TextInputFormat');
    assert.equal(table.outputFormat, 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat');
    assert.equal(table.serde.serializationLib, 'org.apache.hadoop.hive.serde2.JsonSerDe');
    assert.deepEqual(table.columns.map((c) => c.name), def.columns.map((c) => c.name));
    assert.ok(table.columns.every((c) => c.comment));
  }
  assert.deepEqual(catalog.tables.get('hive_kafka.streams')!.columns.slice(0, 4).map((c) => `${c.name} ${c.type}`),
    ['db_name string', 'table_name string', 'table_id bigint', 'owner string']);
  assert.deepEqual(catalog.tables.get('hive_kafka.deadletters')!.partitionKeys.map((c) => `${c.name} ${c.type}`), ['db_name string', 'table_name string']);
  assert.deepEqual(catalog.tables.get('hive_kafka.deadletters')!.columns.map((c) => `${c.name} ${c.type}`), [
    'topic string', 'kafka_partition int', 'kafka_offset bigint', 'reason string', 'value string', 'value_base64 string',
    'produced_at timestamp', 'rejected_at timestamp']);
  assert.deepEqual(catalog.tables.get('hive_kafka.streams')!.partitionKeys, []);
});

test('ensure puts a new database at the configured location, and keeps an existing one where it is', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables } = setup(dir, { location: `file:${dir}/system/` });
  await tables.ensure();
  assert.equal(catalog.databases.get('hive_kafka')?.locationUri, `file:${dir}/system/`);
  assert.equal(locationOf(catalog, 'history'), `file:${dir}/system/history`);

  const other = setup(dir, { location: `file:${dir}/elsewhere`, catalog });
  await other.tables.ensure();
  assert.equal(catalog.databases.get('hive_kafka')?.locationUri, `file:${dir}/system/`);
});

test('publish writes a version directory per table and switches the location in one call', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables, clock } = setup(dir);
  const snap = snapshot(clock.ms);
  await tables.publish(snap); // ensures first
  const expected = systemRows(snap);
  for (const table of ['streams', 'partitions', 'history'] as const) {
    const location = locationOf(catalog, table);
    assert.match(location, new RegExp(`^file:${dir}/warehouse/hive_kafka\\.db/${table}/v${String(clock.ms).padStart(13, '0')}-\\d+$`));
    const versionDir = location.slice('file:'.length);
    // Only the published file: the hidden staging name is gone.
    assert.deepEqual(await readdir(versionDir), ['data.json']);
    assert.equal(await readFile(join(versionDir, 'data.json'), 'utf8'), expected[table]);
  }
  assert.equal(catalog.calls.filter((c) => c.startsWith('setTableLocation')).length, 3);
  // deadletters is not published: its partitions carry the data.
  assert.equal(locationOf(catalog, 'deadletters'), `file:${dir}/warehouse/hive_kafka.db/deadletters`);
});

test('unchanged content is not rewritten, also after a restart', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables, clock } = setup(dir);
  await tables.publish(snapshot(clock.ms));
  const before = { streams: locationOf(catalog, 'streams'), history: locationOf(catalog, 'history') };

  clock.ms += 10_000;
  await tables.publish(snapshot(clock.ms)); // snapshot_at moved: streams and partitions change, history does not
  assert.notEqual(locationOf(catalog, 'streams'), before.streams);
  assert.equal(locationOf(catalog, 'history'), before.history);
  assert.equal((await versionsIn(`${dir}/warehouse/hive_kafka.db/history`)).length, 1);
  const streamsNow = locationOf(catalog, 'streams');

  // A new service on the same metastore and files reads back what is published.
  const restarted = setup(dir, { catalog });
  restarted.clock.ms = clock.ms;
  const switches = catalog.calls.filter((c) => c.startsWith('setTableLocation')).length;
  await restarted.tables.publish(snapshot(clock.ms));
  assert.equal(catalog.calls.filter((c) => c.startsWith('setTableLocation')).length, switches);
  assert.equal(locationOf(catalog, 'streams'), streamsNow);
});

test('a replaced version stays for graceMs after its successor was created, then goes; the current one never', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables, clock } = setup(dir, { graceMs: 5_000 });
  const root = `${dir}/warehouse/hive_kafka.db/streams`;
  const t0 = clock.ms;
  await tables.publish(snapshot(t0));
  const v1 = (await versionsIn(root))[0]!;
  clock.ms = t0 + 1_000;
  await tables.publish(snapshot(clock.ms));
  assert.equal((await versionsIn(root)).length, 2);
  clock.ms = t0 + 5_000; // v2 created 4 s ago: v1 may still be read
  await tables.publish(snapshot(clock.ms));
  assert.ok((await versionsIn(root)).includes(v1));
  assert.equal((await versionsIn(root)).length, 3);

  clock.ms = t0 + 6_001; // v2 created 5.001 s ago: v1 goes; v2's successor (v3) is 1 s old: it stays
  await tables.publish(snapshot(clock.ms));
  const now = await versionsIn(root);
  assert.ok(!now.includes(v1));
  assert.equal(now.length, 3);
  assert.ok(locationOf(catalog, 'streams').endsWith(now.at(-1)!));

  // A restarted service, long after, with nothing new to publish: cleans up by the names alone,
  // all but the current version.
  const restarted = setup(dir, { catalog, graceMs: 5_000 });
  restarted.clock.ms = clock.ms + 60_000;
  await restarted.tables.publish(snapshot(clock.ms));
  assert.deepEqual(await versionsIn(root), [now.at(-1)]);
  assert.ok(existsSync(locationOf(catalog, 'streams').slice('file:'.length)));
  // history never changed: its only version is current and stays.
  assert.equal((await versionsIn(`${dir}/warehouse/hive_kafka.db/history`)).length, 1);
});

test('a failed switch throws, leaves the table as it was, and its version is removed next round', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables, clock } = setup(dir, { graceMs: 60_000 });
  const root = `${dir}/warehouse/hive_kafka.db/streams`;
  await tables.publish(snapshot(clock.ms));
  const published = locationOf(catalog, 'streams');

  clock.ms += 1_000;
  catalog.failOnce.add('setTableLocation');
  await assert.rejects(tables.publish(snapshot(clock.ms)), /setTableLocation failed/);
  assert.equal(locationOf(catalog, 'streams'), published);
  // The other tables still published in that round.
  assert.equal((await versionsIn(`${dir}/warehouse/hive_kafka.db/partitions`)).length, 2);
  const orphan = (await versionsIn(root)).at(-1)!;
  assert.ok(!published.endsWith(orphan));

  clock.ms += 1_000;
  await tables.publish(snapshot(clock.ms));
  const versions = await versionsIn(root);
  // Never visible, so no grace: gone. The one readers may be on stays for the grace.
  assert.ok(!versions.includes(orphan));
  assert.equal(versions.length, 2);
  assert.ok(published.endsWith(versions[0]!));
});

test('a dropped system table is created again on the next round', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables, clock } = setup(dir);
  await tables.publish(snapshot(clock.ms));
  catalog.tables.delete('hive_kafka.history');
  await assert.rejects(tables.publish(snapshot(clock.ms + 1)), /hive_kafka\.history does not exist/);
  await tables.publish(snapshot(clock.ms + 2));
  assert.match(locationOf(catalog, 'history'), /\/history\/v\d{13}-\d+$/);
});

test('dead-letter partitions follow the live streams, at <table location>/_hive_kafka_deadletter/records; files are never deleted', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables } = setup(dir);
  const orders = { db: 'Sales', table: 'Orders', location: `file:${dir}/warehouse/sales.db/orders` };
  const clicks = { db: 'web', table: 'clicks', location: `file:${dir}/warehouse/web.db/clicks/` };
  await tables.syncDeadLetterPartitions([orders, clicks]);
  const parts = () => catalog.partitions.get('hive_kafka.deadletters')!.map((p) => `${p.values.join('/')} ${p.location}`).sort();
  assert.deepEqual(parts(), [
    `sales/orders file:${dir}/warehouse/sales.db/orders/_hive_kafka_deadletter/records`,
    `web/clicks file:${dir}/warehouse/web.db/clicks/_hive_kafka_deadletter/records`,
  ]);
  // Made before the partition, so Hive never meets a missing directory.
  assert.ok(existsSync(`${dir}/warehouse/sales.db/orders/_hive_kafka_deadletter/records`));
  assert.ok(existsSync(`${dir}/warehouse/web.db/clicks/_hive_kafka_deadletter/records`));

  // Nothing to do: no metastore writes.
  const writes = () => catalog.calls.filter((c) => /^(addPartitions|dropPartition)/.test(c)).length;
  const before = writes();
  await tables.syncDeadLetterPartitions([clicks, orders]);
  assert.equal(writes(), before);

  // clicks is gone: its partition is dropped, its dead letters stay on disk.
  await tables.syncDeadLetterPartitions([orders]);
  assert.deepEqual(parts(), [`sales/orders file:${dir}/warehouse/sales.db/orders/_hive_kafka_deadletter/records`]);
  assert.ok(existsSync(`${dir}/warehouse/web.db/clicks/_hive_kafka_deadletter/records`));

  // orders moved (or was created again elsewhere): the partition follows it.
  await tables.syncDeadLetterPartitions([{ ...orders, location: `file:${dir}/other/orders` }]);
  assert.deepEqual(parts(), [`sales/orders file:${dir}/other/orders/_hive_kafka_deadletter/records`]);

  // HMS may give the same place in another spelling: not a move.
  catalog.partitions.get('hive_kafka.deadletters')![0]!.location = `file://${dir}/other/orders/_hive_kafka_deadletter/records/`;
  const again = writes();
  await tables.syncDeadLetterPartitions([{ ...orders, location: `file:${dir}/other/orders` }]);
  assert.equal(writes(), again);
});

test('dead-letter sync: a stream whose location cannot be served fails alone; the others are synced', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables } = setup(dir);
  const good = { db: 'a', table: 'b', location: `file:${dir}/a.db/b` };
  await assert.rejects(tables.syncDeadLetterPartitions([{ db: 'x', table: 'y', location: 's3a://bucket/y' }, good]), /scheme "s3a:"/);
  assert.deepEqual(catalog.partitions.get('hive_kafka.deadletters')!.map((p) => p.values.join('/')), ['a/b']);
});
