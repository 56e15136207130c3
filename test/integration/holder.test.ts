// Two services that were never told about each other (no common cluster name) on one metastore:
// one ingests the table, the other refuses it and names the holder in its status; no record twice.
// After `hive-kafka release`, the second one takes the table over where the published files end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';

const suffix = randomUUID().slice(0, 8);
const table = `held_${suffix}`;
const topic = `held-${suffix}`;
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-holder', logLevel: logLevel.NOTHING });
let alpha: RunningService;
let beta: RunningService;
let nextId = 0;

async function produce(n: number): Promise<void> {
  const producer = producerFor(kafka);
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: n }, () => ({ value: JSON.stringify({ id: nextId++ }) })) });
  await producer.disconnect();
}
const count = async () => (await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`)).trim();
const view = async (s: RunningService) => (await s.status()).tables.find((t) => t.table === `default.${table}`);

before(async () => {
  await requireStack();
  await createTopics([{ topic, partitions: 2 }]);
  await runBeeline(`CREATE TABLE ${table} (id BIGINT) STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='500')`);
});

after(async () => {
  await alpha?.stop();
  await beta?.stop();
  await runBeeline(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
});

test('a second service without the same cluster name refuses the table and names the holder; nothing is ingested twice', async () => {
  await produce(300);
  alpha = await startService({ tables: suffix, env: { HIVE_KAFKA_INSTANCE_ID: 'alpha' } });
  await eventually('alpha running the table', async () => ((await view(alpha))?.tasks.some((t) => t.state === 'running') ? true : undefined));
  beta = await startService({ tables: suffix, env: { HIVE_KAFKA_INSTANCE_ID: 'beta' } });
  const refused = await eventually('beta to refuse the table', async () => (await view(beta))?.notHere, 30_000);
  assert.match(refused, /held by instance:alpha/);
  assert.match(refused, /hive-kafka release default\.held_/, 'the refusal says what to do');
  assert.deepEqual((await view(beta))?.tasks, [], 'beta runs no task for it');
  const { stdout } = await promisify(execFile)(process.execPath, ['bin/hive-kafka.mjs', 'status', `default.${table}`, '--url', beta.url]);
  assert.match(stdout, /not run here: held by instance:alpha/, 'hive-kafka status on beta names the holder');
  await produce(300);
  await eventually('600 rows, each once', async () => ((await count()) === '600\t600' ? true : undefined), 120_000, 2000);
});

test('after alpha stops and the table is released, beta takes it over where the published files end: still each record once', async () => {
  await alpha.stop();
  const { stdout } = await promisify(execFile)(process.execPath, ['bin/hive-kafka.mjs', 'release', `default.${table}`], { env: { ...process.env, HIVE_KAFKA_HMS_URI: stack.metastoreUri } });
  assert.match(stdout, /released from instance:alpha/);
  await eventually('beta running the table', async () => ((await view(beta))?.tasks.some((t) => t.state === 'running') ? true : undefined), 30_000);
  await produce(200);
  await eventually('800 rows, each once', async () => ((await count()) === '800\t800' ? true : undefined), 120_000, 2000);
});
