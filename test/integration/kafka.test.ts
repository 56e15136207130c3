// The real broker: kafkajs writes and reads back, and kcat, an independent librdkafka client, reads
// exactly what kafkajs wrote.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { requireKafka, stack, producerFor } from './helpers/services.ts';

const run = promisify(execFile);
const topic = `it-roundtrip-${randomUUID().slice(0, 8)}`;
const records = Array.from({ length: 1000 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ id: i, at: Date.now() }) }));
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'hive-kafka-it', logLevel: logLevel.NOTHING });

before(async () => {
  await requireKafka();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = producerFor(kafka);
  await producer.connect();
  await producer.send({ topic, messages: records });
  await producer.disconnect();
});

after(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

test('kafkajs consumes every record it produced, once', async () => {
  const consumer = kafka.consumer({ groupId: `it-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Map<string, string>();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${seen.size} of ${records.length} records within 30s`)), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        const key = message.key!.toString();
        assert.equal(seen.has(key), false, `record ${key} delivered twice`);
        seen.set(key, message.value!.toString());
        if (seen.size === records.length) { clearTimeout(timer); resolve(); }
      },
    });
  });
  await consumer.disconnect();
  for (const r of records) assert.equal(seen.get(r.key), r.value);
});

test('kcat reads exactly the records kafkajs wrote', async () => {
  const { stdout } = await run('kcat', ['-C', '-b', stack.kafkaBrokers, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k\t%s\n'],
    { maxBuffer: 64 * 1024 * 1024 });
  const lines = stdout.split('\n').filter(Boolean);
  assert.equal(lines.length, records.length);
  const byKey = new Map(lines.map((l) => l.split('\t') as [string, string]));
  for (const r of records) assert.equal(byKey.get(r.key), r.value);
});
