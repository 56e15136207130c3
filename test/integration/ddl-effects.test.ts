// What DDL and Kafka do to a running table, each with a defined, visible effect: offsets Kafka deleted
// before the table read them (kafka.offset.gap.policy), partitions added to the topic, and the
// history of a table's whole life as `hive-kafka history` prints it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { stackFileSystems } from './helpers/warehouse.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';
import { MetastoreClient } from '../../src/metastore/client.ts';

const suffix = randomUUID().slice(0, 8);
const elsewhere = randomUUID().slice(0, 8); // names outside the service's table filter
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-ddl-effects', logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const tables = { gapFail: `gap_fail_${suffix}`, gapSkip: `gap_skip_${suffix}`, gapRunning: `gap_running_${suffix}`, grow: `grow_${suffix}`,
  renameFrom: `rename_from_${suffix}`, renameTo: `rename_to_${suffix}`, renameFromP: `rename_from_${suffix}_p`, renameToP: `rename_to_${suffix}_p`,
  renameFromH: `rename_from_${suffix}_h`, renameToH: `rename_to_${suffix}_h` };
const topics = { gapFail: `gap-fail-${suffix}`, gapSkip: `gap-skip-${suffix}`, gapRunning: `gap-running-${suffix}`, grow: `grow-${suffix}`, rename: `rename-${suffix}` };
let service: RunningService;

before(async () => {
  await requireStack();
  await createTopics(Object.values(topics).map((topic) => ({ topic, partitions: 1 })));
  await admin.connect();
  service = await startService({ tables: suffix });
});

after(async () => {
  for (const t of Object.values(tables)) await runBeeline(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  for (const db of [`ddl_db_${suffix}`, `hk_elsewhere_${elsewhere}`]) await runBeeline(`DROP DATABASE IF EXISTS ${db} CASCADE`).catch(() => undefined);
  await admin.disconnect();
  await service?.stop();
});

async function produce(topic: string, ids: number[], partition?: number, value = (id: number): object => ({ id })): Promise<void> {
  const producer = producerFor(kafka);
  await producer.connect();
  await producer.send({ topic, messages: ids.map((id) => ({ value: JSON.stringify(value(id)), ...(partition === undefined ? {} : { partition }) })) });
  await producer.disconnect();
}
/** Records with a `grp` column too, in `groups` values. */
const produceGrouped = (topic: string, ids: number[], groups: number) => produce(topic, ids, undefined, (id) => ({ id, grp: `g${id % groups}` }));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

const create = (table: string, topic: string, props = '') => runBeeline(`CREATE TABLE ${table} (id BIGINT)
  STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
  TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='300'${props})`);
const alter = (table: string, props: string) => runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES (${props})`);
const qualified = (table: string) => (table.includes('.') ? table : `default.${table}`);
const statusOf = async (table: string) => (await service.status()).tables.find((t) => t.table === qualified(table));
const counts = async (table: string) => (await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`)).trim();
const committed = (table: string, offset: number) => eventually(`${table} committed up to ${offset}`,
  async () => ((await statusOf(table))?.partitions[0]?.committed === offset ? true : undefined), 60_000, 300);
const paused = (table: string) => eventually(`${table} paused`, async () => ((await statusOf(table))?.state === 'paused' && (await statusOf(table))!.tasks.length === 0 ? true : undefined), 30_000, 200);

/** A paused table at offset 100, 100 more records, Kafka deletes up to offset 150, then resume. */
async function gapWhilePaused(table: string, topic: string): Promise<void> {
  await produce(topic, range(0, 100));
  await committed(table, 100);
  await alter(table, "'kafka.ingestion.paused'='true'");
  await paused(table);
  await produce(topic, range(100, 200));
  await admin.fetchTopicMetadata({ topics: [topic] }); // kafkajs's deleteTopicRecords needs it loaded
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '150' }] });
  await alter(table, "'kafka.ingestion.paused'='false'");
}

test('offset gap under fail (the default): the table stops, naming the partition and the lost range; skip then goes on', async () => {
  await create(tables.gapFail, topics.gapFail);
  await gapWhilePaused(tables.gapFail, topics.gapFail);
  const failed = await eventually('the table failed on the gap', async () => {
    const t = await statusOf(tables.gapFail);
    return t?.state === 'failed' ? t : undefined;
  }, 30_000, 300);
  assert.match(failed.failure!, new RegExp(`offsets 100\\.\\.149 of ${topics.gapFail}/0 \\(50 offsets\\)`));
  assert.match(failed.failure!, /kafka\.offset\.gap\.policy'='skip'/);
  assert.deepEqual(failed.gaps.map((g) => [g.partition, g.from, g.to, g.policy]), [[0, 100, 149, 'fail']]);
  assert.equal(failed.tasks.length, 0, 'a failed table runs no task');
  assert.equal(failed.partitions[0]?.committed, 100, 'nothing after the gap was committed');
  assert.equal(await counts(tables.gapFail), '100\t100');

  // The user's answer: accept the loss. The table goes on from the log start, and nothing else is lost.
  await alter(tables.gapFail, "'kafka.offset.gap.policy'='skip'");
  await committed(tables.gapFail, 200);
  assert.equal(await counts(tables.gapFail), '150\t150');
  assert.equal((await runBeeline(`SELECT count(*) FROM ${tables.gapFail} WHERE id >= 100 AND id < 150`)).trim(), '0');
  assert.equal((await statusOf(tables.gapFail))?.state, 'running');
});

test('offset gap under skip: the table goes on, the gap is in status, history and /metrics, Hive has produced minus deleted', async () => {
  await create(tables.gapSkip, topics.gapSkip, ", 'kafka.offset.gap.policy'='skip'");
  await gapWhilePaused(tables.gapSkip, topics.gapSkip);
  await committed(tables.gapSkip, 200);
  assert.equal(await counts(tables.gapSkip), '150\t150', 'produced 200 - deleted 50');
  const s = (await statusOf(tables.gapSkip))!;
  assert.equal(s.state, 'running');
  assert.deepEqual(s.gaps.map((g) => [g.partition, g.from, g.to, g.offsets, g.policy]), [[0, 100, 149, 50, 'skip']]);
  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  assert.match(metrics, new RegExp(`hive_kafka_offset_gap_offsets_total\\{table="default\\.${tables.gapSkip}",partition="0",policy="skip"\\} 50`));

  // The rest of a scripted life, then the whole history through the CLI, in order.
  await alter(tables.gapSkip, "'kafka.batch.maxSize'='500'");
  await runBeeline(`ALTER TABLE ${tables.gapSkip} ADD COLUMNS (referrer STRING)`);
  await eventually('the new column reached the service', async () => (await history(tables.gapSkip)).some((e) => e.event === 'schema-changed') ? true : undefined, 30_000, 300);
  await runBeeline(`DROP TABLE ${tables.gapSkip}`);
  await eventually('the drop reached the service', async () => ((await statusOf(tables.gapSkip))?.state === 'dropped' ? true : undefined), 30_000, 300);
  await eventually(`/metrics forgot ${tables.gapSkip}`, async () => (await metricsText()).includes(tables.gapSkip) ? undefined : true, 30_000, 300);
  const events = (await history(tables.gapSkip)).map((e) => e.event);
  assert.deepEqual(events, ['created', 'paused', 'resumed', 'offset-gap', 'altered', 'schema-changed', 'dropped']);
  const text = await cli(['history', `default.${tables.gapSkip}`]);
  for (const e of events) assert.match(text, new RegExp(`default\\.${tables.gapSkip}\\s+id=\\d+\\s+${e}\\b`), `history text shows ${e}`);
  assert.match(text, /offset-gap.*partition=0.*from=100.*to=149/);
});

test('offsets deleted ahead of a running table, with no record after them: it stops at the gap at once, not at the next record', async () => {
  await create(tables.gapRunning, topics.gapRunning);
  await produce(topics.gapRunning, range(0, 100));
  await committed(tables.gapRunning, 100);
  // An open transaction holds the table (read_committed) at offset 100 while 49 more records follow it;
  // then Kafka deletes up to 150, the log end: the table had not read them, and nothing comes after.
  const producer = kafka.producer({ transactionalId: `it-gap-running-${suffix}`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const txn = await producer.transaction();
  try {
    await txn.send({ topic: topics.gapRunning, messages: [{ value: JSON.stringify({ id: 100 }) }] });
    await produce(topics.gapRunning, range(101, 150));
    await admin.fetchTopicMetadata({ topics: [topics.gapRunning] });
    await admin.deleteTopicRecords({ topic: topics.gapRunning, partitions: [{ partition: 0, offset: '150' }] });
    const failed = await eventually('the running table failed on the gap', async () => {
      const t = await statusOf(tables.gapRunning);
      return t?.state === 'failed' ? t : undefined;
    }, 30_000, 300);
    assert.match(failed.failure!, new RegExp(`offsets 100\\.\\.149 of ${topics.gapRunning}/0 \\(50 offsets\\)`));
    assert.deepEqual(failed.gaps.map((g) => [g.partition, g.from, g.to, g.policy]), [[0, 100, 149, 'fail']]);
    assert.equal(failed.partitions[0]?.committed, 100);
  } finally {
    await txn.abort().catch(() => undefined);
    await producer.disconnect();
  }
  assert.equal(await counts(tables.gapRunning), '100\t100');
});

test('partitions added to a running topic: their records are in Hive within 15 s, from their first offset', async () => {
  await create(tables.grow, topics.grow);
  await produce(topics.grow, range(0, 50));
  await eventually('50 rows', async () => ((await counts(tables.grow)) === '50\t50' ? true : undefined), 60_000, 1000);
  await admin.createPartitions({ topicPartitions: [{ topic: topics.grow, count: 3 }] });
  const t0 = Date.now();
  await produce(topics.grow, range(50, 65), 1);
  await produce(topics.grow, range(65, 80), 2);
  await eventually('80 rows', async () => ((await counts(tables.grow)) === '80\t80' ? true : undefined), 15_000, 500);
  const seconds = (Date.now() - t0) / 1000;
  assert.ok(seconds <= 15, `new partitions' records took ${seconds} s`);
  const events = (await history(tables.grow)).filter((e) => e.event === 'partitions-added');
  assert.equal(events.length, 1);
  assert.deepEqual(events[0]!.detail, { from: 1, to: 3 });
});

// Tables at their default path on the local warehouse, and one with an explicit LOCATION on HDFS.
for (const variant of [{ name: 'an unpartitioned table', tag: '' }, { name: 'a partitioned table', tag: '_p', partitioned: true },
  { name: 'a table with an explicit LOCATION on HDFS', tag: '_h', location: `${stack.hdfs}/hive-kafka-it/rename_${suffix}` },
  // The service's table filter (this test's suffix) picks new tables; one it runs stays its own under any name.
  { name: 'a table into another database, under a name outside the service\'s table filter', tag: '_o', elsewhere: `hk_elsewhere_${elsewhere}.moved` }]) {
  const from = `${tables.renameFrom}${variant.tag}`;
  const to = variant.elsewhere ?? `${tables.renameTo}${variant.tag}`;
  const topic = `${topics.rename}${variant.tag.replace('_', '-')}`;
  test(`RENAME of ${variant.name} while records flow: every record once under the new name, where Hive reads it; the old name leaves status and /metrics`, async (t) => {
    await createTopics([{ topic, partitions: 1 }]);
    const send = (ids: number[]) => produceGrouped(topic, ids, 3);
    await runBeeline(`CREATE TABLE ${from} (id BIGINT${variant.partitioned ? ') PARTITIONED BY (grp STRING)' : ', grp STRING)'}
      STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler' ${variant.location ? `LOCATION '${variant.location}'` : ''}
      TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='300')`);
    await send(range(0, 100));
    await committed(from, 100);
    const oldLocation = await locationOf(from);
    assert.match(await metricsText(), new RegExp(`hive_kafka_records_total\\{table="default\\.${from}"\\} 100`));
    // Batches commit every 300 ms while Hive renames the table (and moves the directory of one at its default path).
    let flowing = true;
    const flow = (async () => {
      for (let next = 100; (flowing || next < 300) && next < 600; next += 10) {
        await send(range(next, next + 10));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    if (variant.elsewhere) await runBeeline(`CREATE DATABASE IF NOT EXISTS ${to.split('.')[0]}`);
    await runBeeline(`ALTER TABLE ${from} RENAME TO ${to}`);
    await eventually('the rename reached the service', async () => ((await statusOf(to)) ? true : undefined), 30_000, 200);
    await new Promise((r) => setTimeout(r, 2000));
    flowing = false;
    await flow;
    const end = Number((await admin.fetchTopicOffsets(topic))[0]!.high);
    await committed(to, end);
    const moves = service.output().split('\n').filter((l) => l.includes('table moved by a RENAME') && l.includes(to));
    t.diagnostic(`files the tasks wrote to the old location after the move, moved by the service: ${moves.map((l) => /"moved":(\d+)/.exec(l)?.[1]).join(', ') || 'no move'}`);
    assert.equal(await counts(to), `${end}\t${end}`, 'each record once, in the renamed table');
    // Hive 4 moves the directory of a table translated to external even from an explicit LOCATION.
    const newLocation = await locationOf(to);
    t.diagnostic(`Hive moved ${oldLocation} to ${newLocation}`);
    assert.notEqual(newLocation, oldLocation, 'Hive moved the table (else this test proves nothing)');
    const old = stackFileSystems.for(oldLocation);
    assert.equal(await old.fs.exists(old.path), false, `nothing left at the old location ${oldLocation}`);
    assert.equal(await statusOf(from), undefined);
    assert.ok((await history(to)).some((e) => e.event === 'renamed'));
    const metrics = await metricsText();
    assert.doesNotMatch(metrics, new RegExp(`table="default\\.${from}"`));
    assert.match(metrics, new RegExp(`hive_kafka_records_total\\{table="${qualified(to).replace('.', '\\.')}"\\} [1-9]`));
  });
}

test('the rest of Hive\'s DDL: ANALYZE and MSCK change nothing, CREATE TABLE LIKE copies no stream, DROP DATABASE CASCADE drops it; TRUNCATE, LOAD and other ALTERs are refused by Hive', async () => {
  const db = `ddl_db_${suffix}`;
  const name = `other_${suffix}`;
  const table = `${db}.${name}`;
  const topic = `other-${suffix}`;
  await createTopics([{ topic, partitions: 1 }]);
  const send = (ids: number[]) => produceGrouped(topic, ids, 2);
  const status = async () => (await service.status()).tables.find((t) => t.table === table);
  const committedTo = (offset: number) => eventually(`${table} committed up to ${offset}`, async () => ((await status())?.partitions[0]?.committed === offset ? true : undefined), 60_000, 300);
  await runBeeline(`CREATE DATABASE ${db}`);
  await runBeeline(`CREATE TABLE ${table} (id BIGINT) PARTITIONED BY (grp STRING)
    STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='300')`);
  await send(range(0, 50));
  await committedTo(50);
  const location = await locationOf(name, db);

  // Statistics (an ALTER_TABLE event of Hive's own parameters) and a partition repair: the table runs on, untouched.
  await runBeeline(`ANALYZE TABLE ${table} PARTITION (grp) COMPUTE STATISTICS; MSCK REPAIR TABLE ${table}`);
  await send(range(50, 100));
  await committedTo(100);
  const after = (await status())!;
  assert.equal(after.restarts, 0);
  assert.deepEqual((await history(name, db)).map((e) => e.event), ['created']);

  // CREATE TABLE LIKE copies the columns, not the storage handler nor the kafka.* properties: a plain table.
  await runBeeline(`CREATE TABLE ${db}.copy_${suffix} LIKE ${table}`);
  assert.doesNotMatch(await runBeeline(`SHOW CREATE TABLE ${db}.copy_${suffix}`), /KafkaStreamStorageHandler|kafka\.topic/);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await service.status()).tables.some((t) => t.table === `${db}.copy_${suffix}`), false, 'the copy is not a stream');

  // What would write or move the files behind the service is refused when the statement compiles.
  for (const [sql, error] of [
    [`TRUNCATE TABLE ${table}`, /Error 10147.*Cannot truncate non-native table/],
    [`LOAD DATA LOCAL INPATH '/etc/hostname' INTO TABLE ${table} PARTITION (grp='g0')`, /Error 10101.*non-native table cannot be used as target for LOAD/],
    [`ALTER TABLE ${table} SET LOCATION 'file:///tmp/elsewhere_${suffix}'`, /Error 10134/],
    [`ALTER TABLE ${table} DROP PARTITION (grp='g0')`, /Error 10134/],
    [`ALTER TABLE ${table} ADD PARTITION (grp='g9')`, /Error 10134/],
    [`ALTER TABLE ${table} SET OWNER USER someone_else`, /Error 10134/],
  ] as const) await assert.rejects(runBeeline(sql), error, sql);
  assert.equal((await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`)).trim(), '100\t100');

  // DROP DATABASE CASCADE writes a DROP_TABLE event per table: the table stops as at a DROP TABLE, its files go.
  await runBeeline(`DROP DATABASE ${db} CASCADE`);
  await eventually(`${table} dropped`, async () => ((await status())?.state === 'dropped' ? true : undefined), 30_000, 300);
  const where = stackFileSystems.for(location);
  await eventually(`${location} removed`, async () => ((await where.fs.exists(where.path)) ? undefined : true), 30_000, 300);
});

async function locationOf(table: string, db = 'default'): Promise<string> {
  const [d, t] = table.includes('.') ? table.split('.') as [string, string] : [db, table];
  const c = await MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 30_000 });
  try { return (await c.getTable(d, t)).storage.location!; } finally { c.close(); }
}
const metricsText = async () => (await fetch(`${service.url}/metrics`)).text();

async function cli(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['bin/hive-kafka.mjs', ...args], { env: { ...process.env, HIVE_KAFKA_LEDGER: service.ledgerPath } });
  return stdout;
}

async function history(table: string, db = 'default'): Promise<{ event: string; detail: unknown }[]> {
  return JSON.parse(await cli(['history', table.includes('.') ? table : `${db}.${table}`, '--json'])) as { event: string; detail: unknown }[];
}

test('RENAME of a paused table, CREATE of its old name, then RESUME of the renamed one: the new table keeps its holder file, and both tables each record once', async () => {
  const [old, renamed, oldTopic, newTopic] = [`reuse_${suffix}`, `reuse_${suffix}_archive`, `reuse-${suffix}`, `reuse-${suffix}-new`];
  await createTopics([{ topic: oldTopic, partitions: 1 }, { topic: newTopic, partitions: 1 }]);
  await create(old, oldTopic);
  await produce(oldTopic, range(0, 100));
  await committed(old, 100);
  await alter(old, "'kafka.ingestion.paused'='true'");
  await paused(old);
  await runBeeline(`ALTER TABLE ${old} RENAME TO ${renamed}`);
  await eventually('the rename reached the service', async () => ((await statusOf(renamed)) ? true : undefined), 30_000, 200);
  // A paused table's relocation waits for its resume; by then a new table of the old name runs at the old location.
  await create(old, newTopic);
  await produce(newTopic, range(0, 50));
  await committed(old, 50);
  const location = await locationOf(old);
  const at = stackFileSystems.for(location);
  assert.ok(await at.fs.exists(`${at.path}/.hive-kafka-holder`), 'the new table holds its location');
  await produce(oldTopic, range(100, 150));
  await alter(renamed, "'kafka.ingestion.paused'='false'");
  await committed(renamed, 150);
  await produce(newTopic, range(50, 100));
  await committed(old, 100);
  // Until 2026-12-07 the renamed table's relocation removed the holder file there as its own (it names the service, not the table).
  assert.ok(await at.fs.exists(`${at.path}/.hive-kafka-holder`), `the new table's holder file at ${location} survives the renamed table's resume`);
  assert.equal(await counts(renamed), '150\t150');
  assert.equal(await counts(old), '100\t100');
  for (const t of [old, renamed]) await runBeeline(`DROP TABLE ${t}`);
});
