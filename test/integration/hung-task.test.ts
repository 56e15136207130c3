// A task whose event loop is blocked (in a test build) stops sending heartbeats; the supervisor kills
// its worker and starts a successor, which finishes the half-committed batch. The ledger shows that
// no two writers ever committed overlapping offsets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, requireStack, stack } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';

const suffix = randomUUID().slice(0, 8);
const topic = `hung-${suffix}`;
const table = `hung_${suffix}`;
const marker = join(mkdtempSync(join(tmpdir(), 'hung-')), 'hung-once');
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-hung', logLevel: logLevel.NOTHING });
let service: RunningService;

before(async () => {
  await requireStack();
  await createTopics([{ topic, partitions: 2 }]);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 2000 }, (_, id) => ({ value: JSON.stringify({ id }) })) });
  await producer.disconnect();
  service = await startService({ tables: suffix, env: { HIVE_KAFKA_HANG_ONCE: `after-intent:${marker}`, HIVE_KAFKA_HUNG_TASK_MS: '3000' } });
});

after(async () => {
  await runBeeline(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  await service?.stop();
});

test('a hung task is killed and replaced; every record lands once; writers never overlap', async () => {
  await runBeeline(`CREATE TABLE ${table} (id BIGINT) STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.batch.maxSize'='200', 'kafka.max.batch.period.ms'='300')`);
  const hung = await eventually('the hung task to be replaced', async () => {
    const t = (await service.status()).tables.find((x) => x.table === `default.${table}`);
    return t?.lastError?.startsWith('hung:') ? t : undefined;
  }, 60_000, 300);
  assert.ok(existsSync(marker), 'a task really hung');
  assert.ok(hung.restarts >= 1);
  await eventually('2000 rows', async () => ((await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`)).trim() === '2000\t2000' ? true : undefined), 90_000, 1500);

  const db = new Database(service.ledgerPath, { readonly: true });
  const batches = db.prepare(`SELECT kafka_partition AS p, first_offset AS f, last_offset AS l, owner_epoch AS e FROM batches
    WHERE state = 'committed' ORDER BY kafka_partition, first_offset`).all() as { p: number; f: number; l: number; e: number }[];
  db.close();
  for (let i = 1; i < batches.length; i++) {
    const [a, b] = [batches[i - 1]!, batches[i]!];
    if (a.p === b.p) assert.ok(b.f > a.l, `partition ${a.p}: batches ${a.f}..${a.l} (epoch ${a.e}) and ${b.f}..${b.l} (epoch ${b.e}) overlap`);
  }
  assert.ok(new Set(batches.map((b) => b.e)).size >= 2, 'batches were committed by more than one owner epoch');
});
