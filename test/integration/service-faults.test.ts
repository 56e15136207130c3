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
  await eventually('1000 rows', async () => ((await counts()) === '1000\t1000' ? true : undefined), 90_000, 1500);
  await restart('kafka');
  await produce(1000);
  await eventually('2000 rows after the broker restart', async () => ((await counts()) === '2000\t2000' ? true : undefined), 180_000, 2000);
  assert.equal(await counts(), '2000\t2000');
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
  await eventually(`${nextId} rows after the metastore restart`, async () => ((await counts()) === `${nextId}\t${nextId}` ? true : undefined), 180_000, 2000);
  const parts = (await runBeeline(`SHOW PARTITIONS ${table}`)).trim().split('\n');
  assert.ok(parts.includes('dt=new0') && parts.includes('dt=new1'), `partitions registered after the restart: ${parts.join(', ')}`);
  const status = (await service.status()).tables.find((t) => t.table === `default.${table}`)!;
  assert.equal(status.state, 'running');
});
