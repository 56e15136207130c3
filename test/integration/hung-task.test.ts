// A task that blocks its worker thread (in a test build) stops the thread's heartbeat. The task the
// thread ran last is killed and replaced; its neighbour on the same thread (one worker thread here) is
// restarted elsewhere without being called hung. Both tables end with every record once, and the
// ledger shows that no two writers ever committed overlapping offsets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';

const suffix = randomUUID().slice(0, 8);
const topic = `hung-${suffix}`;
const table = `hung_${suffix}`;
const neighbourTopic = `hungnb-${suffix}`;
const neighbour = `hung_nb_${suffix}`;
const marker = join(mkdtempSync(join(tmpdir(), 'hung-')), 'hung-once');
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-hung', logLevel: logLevel.NOTHING });
const producer = producerFor(kafka);
let service: RunningService;

const send = (t: string, from: number, count: number) => producer.send({ topic: t, messages: Array.from({ length: count }, (_, i) => ({ value: JSON.stringify({ id: from + i }) })) });
const ddl = (name: string, t: string) => `CREATE TABLE ${name} (id BIGINT) STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
  TBLPROPERTIES ('kafka.topic'='${t}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.batch.maxSize'='200', 'kafka.max.batch.period.ms'='300')`;

before(async () => {
  await requireStack();
  await createTopics([{ topic, partitions: 2 }, { topic: neighbourTopic, partitions: 1 }]);
  await producer.connect();
  await send(topic, 0, 2000);
  await send(neighbourTopic, 0, 2000);
  service = await startService({
    tables: suffix,
    env: { HIVE_KAFKA_HANG_ONCE: `after-intent:${marker}:default.${table}`, HIVE_KAFKA_HUNG_TASK_MS: '3000', HIVE_KAFKA_WORKER_THREADS: '1', HIVE_KAFKA_CLIENT: 'shared' },
  });
});

after(async () => {
  await producer.disconnect();
  await runBeeline(`DROP TABLE IF EXISTS ${table}; DROP TABLE IF EXISTS ${neighbour}`).catch(() => undefined);
  await service?.stop();
});

test('a task that blocks its shared thread is replaced; its neighbour moves on; every record lands once; writers never overlap', async () => {
  // The neighbour first, so that it is consuming on the one thread when the other table blocks it.
  await runBeeline(ddl(neighbour, neighbourTopic));
  await eventually('the neighbour to commit its first records', async () => ((await service.status()).tables.find((x) => x.table === `default.${neighbour}`)?.partitions[0]?.committed ?? 0) > 0 || undefined, 60_000, 200);
  await runBeeline(ddl(table, topic));
  const hung = await eventually('the hung task to be replaced', async () => {
    const t = (await service.status()).tables.find((x) => x.table === `default.${table}`);
    return t?.lastError?.startsWith('hung:') ? t : undefined;
  }, 60_000, 300);
  assert.ok(existsSync(marker), 'a task really hung');
  assert.equal(JSON.parse(readFileSync(marker, 'utf8')).tableId, hung.tableId, 'the table that blocked the thread is the one called hung');
  assert.ok(hung.restarts >= 1, `the hung table counts a restart; its status: ${JSON.stringify(hung)}\nservice log:\n${service.output().slice(-6000)}`);
  await send(neighbourTopic, 2000, 2000); // the neighbour keeps ingesting after the thread was replaced

  const nb = (await service.status()).tables.find((x) => x.table === `default.${neighbour}`)!;
  assert.ok(!nb.lastError?.startsWith('hung:'), `the neighbour was not called hung (its last error: ${nb.lastError})`);
  assert.match(nb.lastError ?? '', /worker thread was replaced after task .* blocked it/, 'the neighbour was moved off the blocked thread, and says why');
  for (const [name, n] of [[table, 2000], [neighbour, 4000]] as const) {
    await eventually(`${n} rows in ${name}`, async () => ((await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${name}`)).trim() === `${n}\t${n}` ? true : undefined), 90_000, 1500);
  }

  const db = new Database(service.ledgerPath, { readonly: true });
  const batches = db.prepare(`SELECT table_id AS t, kafka_partition AS p, first_offset AS f, last_offset AS l, owner_epoch AS e FROM batches
    WHERE state = 'committed' ORDER BY table_id, kafka_partition, first_offset`).all() as { t: number; p: number; f: number; l: number; e: number }[];
  db.close();
  for (let i = 1; i < batches.length; i++) {
    const [a, b] = [batches[i - 1]!, batches[i]!];
    if (a.t === b.t && a.p === b.p) assert.ok(b.f > a.l, `table ${a.t} partition ${a.p}: batches ${a.f}..${a.l} (epoch ${a.e}) and ${b.f}..${b.l} (epoch ${b.e}) overlap`);
  }
  assert.ok(new Set(batches.filter((b) => b.t === hung.tableId).map((b) => b.e)).size >= 2, 'the hung table\'s batches were committed by more than one owner epoch');
});
