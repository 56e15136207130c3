// A record batch the service cannot read (here: zstd, which Node 20's zlib lacks; kcat, librdkafka,
// writes it) stops its own table with the partition, offset and way out, while another table fetched
// by the same shared fetcher, from the same broker, goes on. On a Node.js that reads zstd the same
// batch is simply ingested, and the test says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import zlib from 'node:zlib';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';

const suffix = randomUUID().slice(0, 8);
const topics = { zstd: `zstd-${suffix}`, plain: `plain-${suffix}` };
const tables = { zstd: `unread_zstd_${suffix}`, plain: `unread_plain_${suffix}` };
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-unreadable', logLevel: logLevel.NOTHING });
const nodeReadsZstd = typeof (zlib as { zstdDecompressSync?: unknown }).zstdDecompressSync === 'function';
let service: RunningService;

async function produce(topic: string, ids: number[]): Promise<void> {
  const producer = producerFor(kafka);
  await producer.connect();
  await producer.send({ topic, messages: ids.map((id) => ({ value: JSON.stringify({ id }) })) });
  await producer.disconnect();
}

before(async () => {
  await requireStack();
  await createTopics([{ topic: topics.zstd, partitions: 1 }, { topic: topics.plain, partitions: 1 }]);
  await produce(topics.zstd, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // Offsets 10-14 in one zstd batch.
  const child = execFile('kcat', ['-P', '-b', stack.kafkaBrokers, '-t', topics.zstd, '-p', '0', '-z', 'zstd', '-X', 'linger.ms=50']);
  const done = once(child, 'exit').then(([code]) => code as number);
  child.stdin!.end([10, 11, 12, 13, 14].map((id) => JSON.stringify({ id })).join('\n') + '\n');
  assert.equal(await done, 0, 'kcat wrote the zstd batch');
  await produce(topics.plain, [0, 1, 2]);
  service = await startService({ tables: suffix });
});

after(async () => {
  for (const t of Object.values(tables)) await runBeeline(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  await service?.stop();
});

const create = (table: string, topic: string) => runBeeline(`CREATE TABLE ${table} (id BIGINT)
  STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
  TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='300')`);
const statusOf = async (table: string) => (await service.status()).tables.find((t) => t.table === `default.${table}`);
const rows = async (table: string) => (await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`)).trim();

test('a zstd batch on a Node.js without zstd fails its table naming the offset and the way out; the other table goes on', async () => {
  await create(tables.plain, topics.plain);
  await create(tables.zstd, topics.zstd);
  await eventually('3 rows in the plain table', async () => ((await rows(tables.plain)) === '3\t3' ? true : undefined), 90_000, 1000);
  if (nodeReadsZstd) {
    await eventually('15 rows in the zstd table', async () => ((await rows(tables.zstd)) === '15\t15' ? true : undefined), 90_000, 1000);
    assert.equal((await statusOf(tables.zstd))?.state, 'running', `Node.js ${process.version} reads zstd: the batch is ingested`);
    return;
  }
  const failed = await eventually('the zstd table failed', async () => {
    const t = await statusOf(tables.zstd);
    return t?.state === 'failed' ? t : undefined;
  }, 60_000, 300);
  assert.match(failed.lastError!, new RegExp(`partition 0 of ${topics.zstd} at offset 10: record batch at offset 10 is compressed with zstd and cannot be read: .*run the service on Node\\.js 22\\.15 or later, or have the producers use compression\\.type gzip, snappy or lz4`));
  assert.equal(failed.partitions[0]?.committed, 10, 'everything before the batch is committed');
  assert.equal(await rows(tables.zstd), '10\t10');
  await new Promise((r) => setTimeout(r, 3000));
  const later = (await statusOf(tables.zstd))!;
  assert.deepEqual([later.state, later.tasks.length, later.restarts], ['failed', 0, 1], 'not fetched or restarted in a loop');
  // The plain table shares the fetcher and the broker with it, and reads on.
  await produce(topics.plain, [3, 4]);
  await eventually('5 rows in the plain table', async () => ((await rows(tables.plain)) === '5\t5' ? true : undefined), 60_000, 1000);
  assert.equal((await statusOf(tables.plain))?.state, 'running');
});
