// A broker restart and a metastore restart while records stream in: ingestion recovers by itself,
// with no loss and no duplicate. Restarts the stack's own Kafka and metastore (test/stack scripts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, requireStack, stack } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';

const run = promisify(execFile);
const suffix = randomUUID().slice(0, 8);
const topic = `faults-${suffix}`;
const table = `faults_${suffix}`;
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-faults', logLevel: logLevel.NOTHING, retry: { retries: 30, maxRetryTime: 2000 } });
let service: RunningService;
let nextId = 0;

async function produce(n: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < n; i += 100) {
    await producer.send({ topic, messages: Array.from({ length: Math.min(100, n - i) }, () => {
      const id = nextId++;
      return { value: JSON.stringify({ id, dt: `d${id % 5}` }) };
    }) });
  }
  await producer.disconnect();
}

async function restart(service: 'kafka' | 'metastore'): Promise<void> {
  await run('bash', ['test/stack/down.sh', service]);
  await run('bash', ['test/stack/up.sh'], { maxBuffer: 16 << 20 });
}

const counts = async () => (await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`)).trim();

/** Records in the topic: the sum of its log ends (no transactions here, so every offset is a record). */
async function recordsInTopic(): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until the table holds exactly the topic's records, each id among them: count(*) = records in
 * the topic and count(DISTINCT id) = ids produced. Not count(*) = ids produced: a send the producer
 * retried across the broker restart can be appended twice by Kafka itself (seen: 67 records twice in
 * the topic, each ingested once), and kafkajs's idempotent producer fails there instead
 * (OUT_OF_ORDER_SEQUENCE_NUMBER after the restart). On a timeout the error carries the service's
 * status and the end of its log, so a CI failure says why.
 */
async function rowsReach(what: string, timeoutMs: number): Promise<void> {
  let expected = '';
  let last = '';
  try {
    await eventually(`every record of the topic once in the table ${what}`, async () => {
      expected = `${await recordsInTopic()}\t${nextId}`;
      last = await counts();
      return last === expected ? true : undefined;
    }, timeoutMs, 2000);
  } catch (e) {
    const status = await service.status().then((s) => JSON.stringify(s.tables.find((t) => t.table === `default.${table}`)), (err: Error) => `status failed: ${err.message}`);
    throw new Error(`${(e as Error).message}\ncount(*), count(DISTINCT id): ${last}; expected (records in the topic, ids produced): ${expected}\nstatus: ${status}\nservice log (end):\n${service.output().slice(-8000)}`);
  }
}

/** Exact, once the counts agree: every id occurs in the table as often as in the topic (kcat reads the topic). */
async function assertTableHoldsTheTopic(): Promise<void> {
  const { stdout } = await run('kcat', ['-b', stack.kafkaBrokers, '-C', '-t', topic, '-e', '-q', '-f', '%s\n'], { maxBuffer: 16 << 20 });
  const inTopic = new Map<number, number>();
  for (const line of stdout.split('\n')) if (line) { const id = (JSON.parse(line) as { id: number }).id; inTopic.set(id, (inTopic.get(id) ?? 0) + 1); }
  const repeatedInTopic = [...inTopic].filter(([, n]) => n > 1).map(([id, n]) => `${id}\t${n}`).sort();
  const repeatedInTable = (await runBeeline(`SELECT id, count(*) FROM ${table} GROUP BY id HAVING count(*) > 1`)).trim().split('\n').filter(Boolean).sort();
  assert.deepEqual(repeatedInTable, repeatedInTopic, 'ids the table holds more than once are exactly those the topic holds more than once, as often');
  assert.equal(inTopic.size, nextId, 'every id produced is in the topic');
}

before(async () => {
  await requireStack();
  await createTopics([{ topic, partitions: 3 }]);
  service = await startService({ tables: suffix });
  await runBeeline(`CREATE TABLE ${table} (id BIGINT) PARTITIONED BY (dt STRING)
    STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='300', 'kafka.max.num.tasks'='3')`);
});

after(async () => {
  await runBeeline(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  await service?.stop();
});

test('a Kafka broker restart mid-stream: no loss, no duplicate, no manual step', async () => {
  await produce(1000);
  await rowsReach('before the broker restart', 90_000);
  await restart('kafka');
  await produce(1000);
  await rowsReach('after the broker restart', 180_000);
  await assertTableHoldsTheTopic();
});

test('a metastore restart mid-stream (new Hive partitions needed meanwhile): no loss, no duplicate', async () => {
  const producing = produce(1000);
  await restart('metastore');
  await producing;
  // Records for Hive partitions that do not exist yet: their registration needs the new metastore.
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 100 }, () => { const id = nextId++; return { value: JSON.stringify({ id, dt: `new${id % 2}` }) }; }) });
  await producer.disconnect();
  await rowsReach('after the metastore restart', 180_000);
  await assertTableHoldsTheTopic();
  const parts = (await runBeeline(`SHOW PARTITIONS ${table}`)).trim().split('\n');
  assert.ok(parts.includes('dt=new0') && parts.includes('dt=new1'), `partitions registered after the restart: ${parts.join(', ')}`);
  const status = (await service.status()).tables.find((t) => t.table === `default.${table}`)!;
  assert.equal(status.state, 'running');
});
