import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { fileSystems } from '../../src/sink/fs.ts';
import { MemoryCatalog } from '../../src/system/memory-catalog.ts';
import { instanceDirName, SystemTables } from '../../src/system/publisher.ts';
import { systemRows, type SystemSnapshot } from '../../src/system/rows.ts';
import { DEADLETTERS, HISTORY, PARTITIONS, STREAMS } from '../../src/system/tables.ts';

async function scratch(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hive-kafka-system-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const log = pino({ level: 'silent' });

function setup(dir: string, options: { location?: string; graceMs?: number; catalog?: MemoryCatalog; instance?: string } = {}) {
  const clock = { ms: Date.UTC(2024, 5, 1) };
  const catalog = options.catalog ?? new MemoryCatalog(`file:${dir}/warehouse`);
  const tables = new SystemTables({ catalog, fileSystems: fileSystems(), database: 'hive_kafka', location: options.location,
    graceMs: options.graceMs ?? 60_000, instance: options.instance ?? 'me', refreshMs: 10_000, staleMs: 60_000, log, now: () => clock.ms });
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

/** Where Hive reads `instance`'s rows of a published table (deadletters: the table's own location). */
const locationOf = (catalog: MemoryCatalog, table: string, instance = 'me') => (table === 'deadletters'
  ? catalog.tables.get(`hive_kafka.${table}`)!.location
  : catalog.partitions.get(`hive_kafka.${table}`)?.find((p) => p.values[0] === instance)?.location) ?? '';
/** The directory of `instance`'s versions of a published table. */
const rootOf = (dir: string, table: string, instance = 'me') => `${dir}/warehouse/hive_kafka.db/${table}/${instanceDirName(instance)}`;
const switches = (catalog: MemoryCatalog) => catalog.calls.filter((c) => /^(setPartitionLocation|addPartitions) hive_kafka\.(streams|partitions|history)$/.test(c)).length;
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
  for (const name of ['streams', 'partitions', 'history']) {
    assert.deepEqual(catalog.tables.get(`hive_kafka.${name}`)!.partitionKeys.map((c) => `${c.name} ${c.type}`), ['instance string']);
  }
});

test('ensure puts a new database at the configured location, and keeps an existing one where it is', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables } = setup(dir, { location: `file:${dir}/system/` });
  await tables.ensure();
  assert.equal(catalog.databases.get('hive_kafka')?.locationUri, `file:${dir}/system/`);
  assert.equal(catalog.tables.get('hive_kafka.history')!.location, `file:${dir}/system/history`);

  const other = setup(dir, { location: `file:${dir}/elsewhere`, catalog });
  await other.tables.ensure();
  assert.equal(catalog.databases.get('hive_kafka')?.locationUri, `file:${dir}/system/`);
});

test('publish writes a version directory per table into its instance partition and switches the location in one call', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables, clock } = setup(dir);
  const snap = snapshot(clock.ms);
  await tables.publish(snap); // ensures first
  const expected = systemRows(snap);
  for (const table of ['streams', 'partitions', 'history'] as const) {
    const location = locationOf(catalog, table);
    assert.match(location, new RegExp(`^file:${dir}/warehouse/hive_kafka\\.db/${table}/instance=me-[0-9a-f]{8}/v${String(clock.ms).padStart(13, '0')}-\\d+$`));
    const versionDir = location.slice('file:'.length);
    // Only the published file: the hidden staging name is gone.
    assert.deepEqual(await readdir(versionDir), ['data.json']);
    assert.equal(await readFile(join(versionDir, 'data.json'), 'utf8'), expected[table]);
  }
  assert.equal(switches(catalog), 3);
  // The tables themselves stay where they are: their partitions move.
  assert.equal(catalog.tables.get('hive_kafka.streams')!.location, `file:${dir}/warehouse/hive_kafka.db/streams`);
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
  assert.equal((await versionsIn(rootOf(dir, 'history'))).length, 1);
  const streamsNow = locationOf(catalog, 'streams');

  // A new service on the same metastore and files reads back what is published.
  const restarted = setup(dir, { catalog });
  restarted.clock.ms = clock.ms;
  const before2 = switches(catalog);
  await restarted.tables.publish(snapshot(clock.ms));
  assert.equal(switches(catalog), before2);
  assert.equal(locationOf(catalog, 'streams'), streamsNow);
});

test('a replaced version stays for graceMs after its successor was created, then goes; the current one never', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables, clock } = setup(dir, { graceMs: 5_000 });
  const root = rootOf(dir, 'streams');
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

  // A restarted service, long after, with nothing new to publish: cleans up by the names alone, all
  // but the current version, and writes the same rows again as a sign of life (older than refreshMs).
  const restarted = setup(dir, { catalog, graceMs: 5_000 });
  restarted.clock.ms = clock.ms + 60_000;
  await restarted.tables.publish(snapshot(clock.ms));
  const after = await versionsIn(root);
  assert.equal(after.length, 2);
  assert.equal(after[0], now.at(-1), 'the version readers were on stays for the grace');
  assert.ok(locationOf(catalog, 'streams').endsWith(after[1]!));
  assert.ok(existsSync(locationOf(catalog, 'streams').slice('file:'.length)));
  // history never changed: its only version is current and stays.
  assert.equal((await versionsIn(rootOf(dir, 'history'))).length, 1);
});

test('a failed switch throws, leaves the table as it was, and its version is removed next round', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables, clock } = setup(dir, { graceMs: 60_000 });
  const root = rootOf(dir, 'streams');
  await tables.publish(snapshot(clock.ms));
  const published = locationOf(catalog, 'streams');

  clock.ms += 1_000;
  catalog.failOnce.add('setPartitionLocation');
  const adds = () => catalog.calls.filter((c) => c === 'addPartitions hive_kafka.streams').length;
  const addsBefore = adds();
  await assert.rejects(tables.publish(snapshot(clock.ms)), /setPartitionLocation failed/);
  assert.equal(locationOf(catalog, 'streams'), published);
  assert.equal(adds(), addsBefore, 'our partition is still there: the failure is not taken for a drop, nothing re-added');
  // The other tables still published in that round.
  assert.equal((await versionsIn(rootOf(dir, 'partitions'))).length, 2);
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

test('our partition dropped as stale by another instance between our listing and our switch: added again in the same round, with the new version', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables, clock } = setup(dir);
  await tables.publish(snapshot(clock.ms));
  clock.ms += 11_000; // past refreshMs: streams is written again
  // Another instance's expireOthers drops our streams partition after our getPartitions listed it.
  catalog.beforeOnce.set('setPartitionLocation', () => {
    const parts = catalog.partitions.get('hive_kafka.streams')!;
    parts.splice(parts.findIndex((p) => p.values[0] === 'me'), 1);
  });
  await tables.publish(snapshot(clock.ms));
  const location = locationOf(catalog, 'streams');
  const newest = (await versionsIn(rootOf(dir, 'streams'))).at(-1)!;
  assert.ok(location.endsWith(newest), `streams partition re-added at the new version ${newest}, got ${location}`);
  assert.ok(catalog.calls.includes('addPartitions hive_kafka.streams'));
});

test('a dropped system table is created again on the next round', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables, clock } = setup(dir);
  await tables.publish(snapshot(clock.ms));
  catalog.tables.delete('hive_kafka.history');
  await assert.rejects(tables.publish(snapshot(clock.ms + 1)), /hive_kafka\.history does not exist/);
  await tables.publish(snapshot(clock.ms + 2));
  assert.match(locationOf(catalog, 'history'), /\/history\/instance=me-[0-9a-f]{8}\/v\d{13}-\d+$/);
});

test('dead-letter partitions follow the streams run here, at <table location>/_hive_kafka_deadletter/records; a dropped one goes; files are never deleted', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables } = setup(dir);
  const orders = { tableId: 1, db: 'Sales', table: 'Orders', location: `file:${dir}/warehouse/sales.db/orders` };
  const clicks = { tableId: 2, db: 'web', table: 'clicks', location: `file:${dir}/warehouse/web.db/clicks/` };
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

  // clicks no longer runs here (another instance took it): its partition is that instance's, left alone.
  await tables.syncDeadLetterPartitions([orders]);
  assert.equal(catalog.partitions.get('hive_kafka.deadletters')!.length, 2);
  // clicks was dropped: its partition goes, its dead letters stay on disk.
  await tables.syncDeadLetterPartitions([orders], [clicks]);
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

test('dead-letter sync: a table dropped (its location purged) and created again at the same place gets its directory made again', async (t) => {
  const dir = await scratch(t);
  const { tables } = setup(dir);
  const records = `${dir}/warehouse/sales.db/orders/_hive_kafka_deadletter/records`;
  const orders = { tableId: 1, db: 'sales', table: 'orders', location: `file:${dir}/warehouse/sales.db/orders` };
  await tables.syncDeadLetterPartitions([orders]);
  assert.ok(existsSync(records));
  rmSync(`${dir}/warehouse/sales.db/orders`, { recursive: true }); // DROP TABLE of a managed table: its location goes
  await tables.syncDeadLetterPartitions([{ ...orders, tableId: 7 }]); // CREATE TABLE again, same name and place
  assert.ok(existsSync(records), 'Hive fails a query over a partition whose directory is missing');
});

test('dead-letter sync: a stream whose location cannot be served fails alone; the others are synced', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables } = setup(dir);
  const good = { tableId: 1, db: 'a', table: 'b', location: `file:${dir}/a.db/b` };
  await assert.rejects(tables.syncDeadLetterPartitions([{ tableId: 2, db: 'x', table: 'y', location: 's3a://bucket/y' }, good]), /scheme "s3a:"/);
  assert.deepEqual(catalog.partitions.get('hive_kafka.deadletters')!.map((p) => p.values.join('/')), ['a/b']);
});

const empty = (at: number): SystemSnapshot => ({ at, streams: [], partitions: [], history: [] });

test('two instances share the database: each writes only its own partition of each table, and never removes the other\'s versions', async (t) => {
  const dir = await scratch(t);
  const a = setup(dir, { instance: 'node-a' });
  const b = setup(dir, { instance: 'host-b:/var/lib/hive-kafka/ledger.db', catalog: a.catalog });
  for (let round = 0; round < 3; round++) {
    a.clock.ms = b.clock.ms = Date.UTC(2024, 5, 1) + round * 1_000;
    await a.tables.publish(snapshot(a.clock.ms));
    await b.tables.publish(snapshot(b.clock.ms, 2));
  }
  for (const table of ['streams', 'partitions', 'history']) {
    assert.deepEqual(a.catalog.partitions.get(`hive_kafka.${table}`)!.map((p) => p.values[0]).sort(), ['host-b:/var/lib/hive-kafka/ledger.db', 'node-a']);
    const la = locationOf(a.catalog, table, 'node-a');
    const lb = locationOf(a.catalog, table, 'host-b:/var/lib/hive-kafka/ledger.db');
    assert.ok(la.startsWith(`file:${rootOf(dir, table, 'node-a')}/v`), la);
    // An id with ':' and '/' gets a plain directory name; the hash keeps ids apart that read alike.
    assert.match(lb, new RegExp(`/${table}/instance=host-b__var_lib_hive-kafka_ledger\\.db-[0-9a-f]{8}/v\\d{13}-\\d+$`));
    assert.ok(existsSync(la.slice('file:'.length)) && existsSync(lb.slice('file:'.length)));
  }
  assert.equal(await readFile(`${locationOf(a.catalog, 'history', 'node-a').slice('file:'.length)}/data.json`, 'utf8'), systemRows(snapshot(0)).history);
  assert.equal(await readFile(`${locationOf(a.catalog, 'history', 'host-b:/var/lib/hive-kafka/ledger.db').slice('file:'.length)}/data.json`, 'utf8'), systemRows(snapshot(0, 2)).history);
  assert.notEqual(instanceDirName('a/b'), instanceDirName('a:b'));
});

test('an instance that stops publishing: its streams and partitions rows go after staleMs, their files a grace later; its history stays', async (t) => {
  const dir = await scratch(t);
  const a = setup(dir, { instance: 'node-a', graceMs: 5_000 });
  const b = setup(dir, { instance: 'node-b', graceMs: 5_000, catalog: a.catalog });
  const t0 = a.clock.ms;
  await a.tables.publish(snapshot(t0));
  await b.tables.publish(snapshot(t0));
  const owners = (table: string) => a.catalog.partitions.get(`hive_kafka.${table}`)!.map((p) => p.values[0]).sort();

  // node-b goes on with nothing to show: an unchanged empty snapshot is written again every refreshMs (10 s),
  // so node-a never takes it for gone. node-a's last round is at +30 s; its last version is from +25 s.
  for (let ms = t0 + 5_000; ms <= t0 + 90_000; ms += 5_000) {
    b.clock.ms = ms;
    if (ms <= t0 + 30_000) { a.clock.ms = ms; await a.tables.publish(empty(ms)); }
    await b.tables.publish(empty(ms));
    if (ms < t0 + 90_000) assert.deepEqual(owners('streams'), ['node-a', 'node-b'], `at +${ms - t0} ms both are there`);
  }
  // Stale (older than 60 s) at +90 s: node-b's round drops it.
  assert.deepEqual(owners('streams'), ['node-b']);
  assert.deepEqual(owners('partitions'), ['node-b']);
  assert.deepEqual(owners('history'), ['node-a', 'node-b'], 'history holds what only node-a recorded: kept');
  // Its files stay a grace after the drop (a query may have planned on them), then go.
  assert.ok(existsSync(rootOf(dir, 'streams', 'node-a')));
  b.clock.ms = t0 + 25_000 + 60_000 + 5_001;
  await b.tables.publish(empty(b.clock.ms));
  assert.ok(!existsSync(rootOf(dir, 'streams', 'node-a')));
  assert.ok(!existsSync(rootOf(dir, 'partitions', 'node-a')));
  assert.ok(existsSync(rootOf(dir, 'history', 'node-a')));
  assert.ok(existsSync(rootOf(dir, 'streams', 'node-b')));

  // node-a comes back: its partitions are added again.
  a.clock.ms = b.clock.ms;
  await a.tables.publish(snapshot(a.clock.ms));
  assert.deepEqual(owners('streams'), ['node-a', 'node-b']);
});

test('system tables of the earlier unpartitioned layout are created again partitioned by instance; their old files go after the grace', async (t) => {
  const dir = await scratch(t);
  const { catalog, tables, clock } = setup(dir, { graceMs: 5_000 });
  await tables.ensure();
  // What the earlier layout left: no partition keys, the location on a version directory of the table.
  const old = catalog.tables.get('hive_kafka.streams')!;
  old.partitionKeys = [];
  old.location = `file:${dir}/warehouse/hive_kafka.db/streams/v${String(clock.ms - 1_000).padStart(13, '0')}-0`;
  await (await import('node:fs/promises')).mkdir(old.location.slice('file:'.length), { recursive: true });
  // A table the user changed stays as it is.
  catalog.tables.get('hive_kafka.history')!.columns.push({ name: 'mine', type: 'string', comment: '' });

  const fresh = setup(dir, { graceMs: 5_000, catalog });
  fresh.clock.ms = clock.ms;
  await fresh.tables.publish(snapshot(clock.ms)).catch(() => undefined); // history cannot be partitioned: fails alone
  assert.deepEqual(catalog.calls.filter((c) => c.startsWith('dropTable')), ['dropTable hive_kafka.streams']);
  assert.deepEqual(catalog.tables.get('hive_kafka.streams')!.partitionKeys.map((c) => c.name), ['instance']);
  assert.equal(catalog.tables.get('hive_kafka.streams')!.location, `file:${dir}/warehouse/hive_kafka.db/streams`);
  assert.ok(locationOf(catalog, 'streams').includes('/streams/instance=me-'));
  assert.ok(existsSync(old.location.slice('file:'.length)), 'the old version stays for the grace');
  fresh.clock.ms = clock.ms + 5_000;
  await fresh.tables.publish(snapshot(fresh.clock.ms)).catch(() => undefined);
  assert.ok(!existsSync(old.location.slice('file:'.length)));
  assert.equal(catalog.tables.get('hive_kafka.history')!.columns.at(-1)!.name, 'mine');
});

test('an instance whose switch is slow is not taken for gone: a version it has begun to write counts as a sign of life', async (t) => {
  const dir = await scratch(t);
  const a = setup(dir, { instance: 'node-a' });
  const b = setup(dir, { instance: 'node-b', catalog: a.catalog });
  const t0 = a.clock.ms;
  await a.tables.publish(snapshot(t0));
  // node-a began a version at +50 s and has not switched to it yet (a slow metastore, say).
  await (await import('node:fs/promises')).mkdir(`${rootOf(dir, 'streams', 'node-a')}/v${String(t0 + 50_000).padStart(13, '0')}-9`, { recursive: true });
  b.clock.ms = t0 + 100_000; // node-a's location is 100 s old, its newest version 50 s
  await b.tables.publish(snapshot(b.clock.ms));
  assert.deepEqual(a.catalog.partitions.get('hive_kafka.streams')!.map((p) => p.values[0]).sort(), ['node-a', 'node-b']);
  assert.deepEqual(a.catalog.partitions.get('hive_kafka.partitions')!.map((p) => p.values[0]).sort(), ['node-b'], 'partitions: no sign of life there');
});
