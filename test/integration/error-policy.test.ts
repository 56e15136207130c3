// kafka.error.policy: a bad record fails its task (fail), is counted and dropped (skip), or is kept
// with its offset and reason in dead-letter files committed with the batch (deadletter). A batch
// with more bad records than kafka.error.max.ratio fails the task.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { MetastoreClient } from '../../src/metastore/client.ts';
import { localPath } from '../../src/sink/fs.ts';
import { DEADLETTER_DIR } from '../../src/system/tables.ts';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';

const suffix = randomUUID().slice(0, 8);
const topic = `bad-${suffix}`;
const tables = { deadletter: `bad_dl_${suffix}`, fail: `bad_fail_${suffix}`, ratio: `bad_ratio_${suffix}`, skip: `bad_skip_${suffix}` };
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-bad', logLevel: logLevel.NOTHING });
let service: RunningService;
const bad = ['not json at all', '{"id": "forty-two"}', '[1, 2, 3]'];

before(async () => {
  await requireStack();
  await createTopics([{ topic, partitions: 1 }]);
  const producer = producerFor(kafka);
  await producer.connect();
  // 100 good records with the 3 bad ones at offsets 10, 50 and 90.
  const values = Array.from({ length: 100 }, (_, id) => JSON.stringify({ id }));
  values.splice(90, 0, bad[2]!); values.splice(50, 0, bad[1]!); values.splice(10, 0, bad[0]!);
  await producer.send({ topic, messages: values.map((value) => ({ value })) });
  await producer.disconnect();
  service = await startService({ tables: suffix });
});

after(async () => {
  for (const t of Object.values(tables)) await runBeeline(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  await service?.stop();
});

const create = (table: string, props: string) => runBeeline(`CREATE TABLE ${table} (id BIGINT)
  STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
  TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='300', ${props})`);
const statusOf = async (table: string) => (await service.status()).tables.find((t) => t.table === `default.${table}`);

test('deadletter: good rows reach Hive, the bad ones are kept with offset and reason', async () => {
  await create(tables.deadletter, "'kafka.error.policy'='deadletter', 'kafka.error.max.ratio'='0.5'");
  await eventually('100 rows', async () => ((await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${tables.deadletter}`)).trim() === '100\t100' ? true : undefined), 90_000, 1500);
  await eventually('offset 103 committed', async () => ((await statusOf(tables.deadletter))?.partitions[0]?.committed === 103 ? true : undefined), 30_000, 300);
  const m = await MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 30_000 });
  const dir = join(localPath((await m.getTable('default', tables.deadletter)).storage.location!), DEADLETTER_DIR);
  m.close();
  const letters = readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n')).map((l) => JSON.parse(l) as { kafka_offset: number; value: string; reason: string });
  assert.deepEqual(letters.map((l) => l.kafka_offset).sort((a, b) => a - b), [10, 51, 92]);
  assert.deepEqual(letters.map((l) => l.value).sort(), [...bad].sort());
  assert.ok(letters.every((l) => l.reason.length > 0));
});

test('skip with the default kafka.error.max.ratio: bad records are skipped and counted, the good ones are exact', async () => {
  await create(tables.skip, "'kafka.error.policy'='skip'");
  await eventually('100 rows', async () => ((await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${tables.skip}`)).trim() === '100\t100' ? true : undefined), 90_000, 1500);
  await eventually('offset 103 committed', async () => ((await statusOf(tables.skip))?.partitions[0]?.committed === 103 ? true : undefined), 30_000, 300);
  assert.equal((await runBeeline(`SELECT min(id), max(id), sum(id) FROM ${tables.skip}`)).trim(), `0\t99\t${(99 * 100) / 2}`);
  assert.equal((await statusOf(tables.skip))?.state, 'running');
  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  assert.match(metrics, new RegExp(`hive_kafka_records_rejected_total\\{table="default\\.${tables.skip}"\\} 3\\b`));
  // Per-table series of each committed batch, and the lag at the scrape.
  const series = (name: string, labels = '') => {
    const m = new RegExp(`^${name}\\{table="default\\.${tables.skip}"${labels}\\} ([0-9.e+-]+)$`, 'm').exec(metrics);
    assert.ok(m, `${name} for ${tables.skip} in /metrics`);
    return Number(m[1]);
  };
  assert.equal(series('hive_kafka_records_total'), 100);
  const batches = series('hive_kafka_commits_total');
  assert.ok(batches >= 1);
  assert.equal(series('hive_kafka_commit_duration_seconds_count'), batches);
  assert.ok(series('hive_kafka_files_total') >= 1);
  assert.ok(series('hive_kafka_record_bytes_total') > 100 * 8);
  assert.equal(series('hive_kafka_lag_records', ',partition="0"'), 0);
});

test('fail (the default): the table stops at the first bad record, naming topic, partition and offset', async () => {
  await create(tables.fail, "'kafka.batch.maxSize'='5'");
  const s = await eventually('a task failure', async () => {
    const t = await statusOf(tables.fail);
    return t?.lastError?.includes(`${topic}/0@10`) ? t : undefined;
  }, 60_000, 300);
  assert.match(s.lastError!, /cannot be ingested: .*not valid JSON/);
  assert.equal(s.partitions[0]?.committed, 10, 'everything before the bad record is committed, nothing after');
  // Retrying cannot fix a record: the table is failed, with no task, until an ALTER.
  await eventually('the table failed', async () => ((await statusOf(tables.fail))?.state === 'failed' ? true : undefined), 10_000, 200);
  // ANALYZE writes an ALTER_TABLE event (Hive's statistics only): no DDL of the user's, so no retry.
  await runBeeline(`ANALYZE TABLE ${tables.fail} COMPUTE STATISTICS`);
  await new Promise((r) => setTimeout(r, 3000));
  const later = (await statusOf(tables.fail))!;
  assert.equal(later.state, 'failed');
  assert.equal(later.tasks.length, 0);
  assert.equal(later.restarts, 1, 'not restarted in a loop, nor by ANALYZE');
});

test('a batch with more bad records than kafka.error.max.ratio fails the task', async () => {
  await create(tables.ratio, "'kafka.error.policy'='skip', 'kafka.error.max.ratio'='0.01'");
  const s = await eventually('a ratio failure', async () => {
    const t = await statusOf(tables.ratio);
    return t?.lastError?.includes('kafka.error.max.ratio=0.01') ? t : undefined;
  }, 60_000, 300);
  assert.match(s.lastError!, /records in offsets .* were refused/);
});
