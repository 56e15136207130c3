// Operating it from Hive: after a scripted table life (create, ingest, a bad record under
// deadletter, pause under load, resume), beeline reads the service's system tables (streams,
// partitions, history, deadletters) with the right rows; lag in seconds grows while the table is
// paused and falls back after resume, in status and on /metrics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';

const suffix = randomUUID().slice(0, 8);
const topic = `sys-${suffix}`;
const table = `sys_${suffix}`;
const database = `hk_sys_${suffix}`;
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-sys', logLevel: logLevel.NOTHING });
const badValue = 'this is {not json';
let service: RunningService;
let producer: Producer;

const send = (ids: number[]) => producer.send({ topic, messages: ids.map((id) => ({ value: JSON.stringify({ id }) })) });
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const rows = async (sql: string) => (await runBeeline(sql)).trim().split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
const partition0 = async () => (await service.status()).tables.find((t) => t.table === `default.${table}`)?.partitions[0] as
  { committed: number; lag?: number; lagSeconds?: number } | undefined;
const metric = async (name: string) => {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const m = new RegExp(`^${name}\\{table="default\\.${table}",partition="0"\\} ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

before(async () => {
  await requireStack();
  await createTopics([{ topic, partitions: 1 }]);
  producer = producerFor(kafka);
  await producer.connect();
  await send(range(0, 20));
  await producer.send({ topic, messages: [{ value: badValue }] }); // offset 20
  await send(range(20, 40));
  const dir = mkdtempSync(join(tmpdir(), 'hive-kafka-sys-'));
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ systemTables: { database, periodMs: 1000, graceMs: 3000 } }));
  service = await startService({ tables: suffix, configFile });
});

after(async () => {
  await producer?.disconnect();
  await runBeeline(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  await service?.stop();
  for (const t of ['streams', 'partitions', 'history', 'deadletters']) await runBeeline(`DROP TABLE IF EXISTS ${database}.${t}`).catch(() => undefined);
  await runBeeline(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
});

test('a table life, then beeline reads streams, partitions, history and deadletters; lag in seconds grows while paused', async () => {
  await runBeeline(`CREATE TABLE ${table} (id BIGINT)
    STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='300', 'kafka.error.policy'='deadletter')`);
  await eventually('41 offsets committed', async () => ((await partition0())?.committed === 41 ? true : undefined), 90_000, 300);
  assert.equal((await partition0())?.lagSeconds, 0, 'caught up: lag 0 s');

  // Pause, then keep producing: the oldest unread record ages.
  await runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.ingestion.paused'='true')`);
  await eventually('paused', async () => ((await service.status()).tables.find((t) => t.table === `default.${table}`)?.state === 'paused' ? true : undefined), 30_000, 300);
  let next = 40;
  const load = setInterval(() => { void send(range(next, next + 5)); next += 5; }, 250);
  try {
    const first = await eventually('lag seconds while paused', async () => {
      const p = await partition0();
      return p?.lag !== undefined && p.lag > 0 && p.lagSeconds !== undefined ? p.lagSeconds : undefined;
    }, 30_000, 300);
    await new Promise((r) => setTimeout(r, 3000));
    const later = (await partition0())!;
    assert.equal(later.committed, 41, 'nothing committed while paused');
    assert.ok(later.lagSeconds! >= first + 2.5, `lag in seconds grows while paused: ${first} then ${later.lagSeconds}`);
    const scraped = await metric('hive_kafka_lag_seconds');
    assert.ok(scraped !== undefined && scraped >= first + 2.5, `/metrics shows the paused table's lag in seconds (${scraped})`);
    assert.ok((await metric('hive_kafka_lag_records'))! > 0);
  } finally {
    clearInterval(load);
  }
  await new Promise((r) => setTimeout(r, 300));
  const produced = next; // good records: ids 0 .. next-1

  await runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.ingestion.paused'='false')`);
  await eventually(`${produced + 1} offsets committed`, async () => ((await partition0())?.committed === produced + 1 ? true : undefined), 90_000, 300);
  assert.equal((await partition0())?.lagSeconds, 0, 'lag falls back to 0 s after resume');
  assert.equal(await metric('hive_kafka_lag_seconds'), 0);
  assert.equal((await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`)).trim(), `${produced}\t${produced}`);

  // The system tables, as any Hive user reads them (rewritten every second here).
  const streams = await eventually('streams row caught up', async () => {
    const r = await rows(`SELECT state, tasks, restarts, owner, lag_records, lag_seconds, records_per_second > 0, snapshot_at IS NOT NULL, instance FROM ${database}.streams WHERE table_name = '${table}'`);
    return r.length === 1 && r[0]![4] === '0' && r[0]![0] === 'running' ? r[0] : undefined;
  }, 30_000, 1000);
  assert.deepEqual(streams, ['running', '1', '0', `it-${suffix}`, '0', '0.0', 'true', 'true', `it-${suffix}`]);

  const parts = await rows(`SELECT topic, kafka_partition, committed_offset, log_end_offset, lag_records, lag_seconds, last_commit_at IS NOT NULL FROM ${database}.partitions WHERE table_name = '${table}'`);
  assert.deepEqual(parts, [[topic, '0', String(produced + 1), String(produced + 1), '0', '0.0', 'true']]);

  const history = (await rows(`SELECT event FROM ${database}.history WHERE table_name = '${table}' ORDER BY event_id`)).map((r) => r[0]);
  const order = ['created', 'paused', 'resumed'].map((e) => history.indexOf(e));
  assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)), `history has created, paused, resumed in order: ${history.join(', ')}`);

  const letters = await rows(`SELECT topic, kafka_partition, kafka_offset, value, reason IS NOT NULL, produced_at IS NOT NULL, rejected_at IS NOT NULL FROM ${database}.deadletters WHERE db_name = 'default' AND table_name = '${table}'`);
  assert.deepEqual(letters, [[topic, '0', '20', badValue, 'true', 'true', 'true']]);
  const base64 = await rows(`SELECT value_base64 FROM ${database}.deadletters WHERE table_name = '${table}'`);
  assert.equal(Buffer.from(base64[0]![0]!, 'base64').toString('utf8'), badValue, 'the raw value, exactly as produced');
});
