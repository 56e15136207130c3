// Hive DDL drives ingestion end to end: CREATE starts it, ALTER pauses and resumes it, DROP stops it.
// Rows are checked by id through Hive itself.
import Database from 'better-sqlite3';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';

const suffix = randomUUID().slice(0, 8);
const topic = `pageviews-${suffix}`;
const table = `pageviews_${suffix}`;
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-lifecycle', logLevel: logLevel.NOTHING });
let service: RunningService;
let nextId = 0;

async function produce(n: number): Promise<void> {
  const producer = producerFor(kafka);
  await producer.connect();
  const messages = Array.from({ length: n }, () => {
    const id = nextId++;
    return { value: JSON.stringify({ id, userid: id % 97, page_url: `/p/${id}`, dt: `2024-01-0${1 + (id % 3)}`, country: ['FR', 'DE', 'US'][id % 3] }) };
  });
  await producer.send({ topic, messages });
  await producer.disconnect();
}

async function counts(): Promise<[number, number]> {
  const out = await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`);
  const [total, distinct] = out.trim().split('\t').map(Number);
  return [total!, distinct!];
}

before(async () => {
  await requireStack();
  await createTopics([{ topic, partitions: 4 }]);
  service = await startService({ tables: suffix });
});

after(async () => {
  await runBeeline(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  await service?.stop();
});

test("a CREATE TABLE in the seed's style through beeline starts ingestion and the rows reach Hive", async () => {
  await produce(300);
  await runBeeline(`CREATE TABLE ${table} (id BIGINT, userid BIGINT, page_url STRING)
    PARTITIONED BY (dt STRING, country STRING)
    STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    TBLPROPERTIES ("kafka.topic" = "${topic}", "kafka.broker.list" = "${stack.kafkaBrokers}",
                   "kafka.batch.maxSize" = "1000", "kafka.max.batch.period.ms" = "1000", "kafka.max.num.tasks" = "2")`);
  const [total, distinct] = await eventually('300 rows in Hive', async () => {
    const c = await counts();
    return c[0] >= 300 ? c : undefined;
  }, 90_000, 2000);
  assert.equal(total, 300);
  assert.equal(distinct, 300);
  const parts = (await runBeeline(`SHOW PARTITIONS ${table}`)).trim().split('\n').sort();
  assert.deepEqual(parts, ['dt=2024-01-01/country=FR', 'dt=2024-01-02/country=DE', 'dt=2024-01-03/country=US']);
});

test('pause stops commits; resume continues at the exact next offset', async () => {
  await runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.ingestion.paused'='true')`);
  const pausedAt = Date.now();
  await eventually('the table to be paused with no task', async () => {
    const t = (await service.status()).tables.find((x) => x.table === `default.${table}`);
    return t?.state === 'paused' && t.tasks.length === 0 ? t : undefined;
  }, 20_000, 100);
  const reaction = Date.now() - pausedAt;
  assert.ok(reaction <= 2000, `the in-flight batch was committed and consuming stopped ${reaction} ms after the ALTER returned`);
  await produce(200);
  await new Promise((r) => setTimeout(r, 4000));
  assert.deepEqual(await counts(), [300, 300], 'nothing is committed while paused');
  await runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.ingestion.paused'='false')`);
  const after = await eventually('500 rows after resume', async () => {
    const c = await counts();
    return c[0] >= 500 ? c : undefined;
  }, 90_000, 2000);
  assert.deepEqual(after, [500, 500]);
});

test('DROP TABLE stops every task within 2 s, and a re-CREATE of the name starts afresh', async () => {
  const before = (await service.status()).tables.find((x) => x.table === `default.${table}` && x.state === 'running');
  assert.ok(before && before.tasks.length > 0, 'the table runs before the DROP');
  await runBeeline(`DROP TABLE ${table}`);
  const droppedAt = Date.now();
  await eventually('the table to be dropped with no task', async () => {
    const t = (await service.status()).tables.find((x) => x.table === `default.${table}`);
    return t?.state === 'dropped' && t.tasks.length === 0 ? t : undefined;
  }, 20_000, 100);
  const reaction = Date.now() - droppedAt;
  assert.ok(reaction <= 2000, `tasks were gone ${reaction} ms after beeline returned`);

  // Same name, new table id: a new stream that reads the topic from the beginning again. The topic's
  // ~125 records per partition come in one fetch; kafka.batch.maxSize=40 must still split them.
  await runBeeline(`CREATE TABLE ${table} (id BIGINT) STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    TBLPROPERTIES ("kafka.topic" = "${topic}", "kafka.broker.list" = "${stack.kafkaBrokers}", "kafka.max.batch.period.ms" = "500", "kafka.batch.maxSize" = "40")`);
  const again = await eventually('500 rows in the re-created table', async () => {
    const c = await counts();
    return c[0] >= 500 ? c : undefined;
  }, 90_000, 2000);
  assert.deepEqual(again, [500, 500]);
  const streams = (await service.status()).tables.filter((x) => x.table === `default.${table}`);
  assert.deepEqual(streams.map((x) => x.state).sort(), ['dropped', 'running'], 'the dropped stream is kept for audit beside the new one');
  const running = streams.find((x) => x.state === 'running')!;
  const ledger = new Database(service.ledgerPath, { readonly: true });
  const sizes = (ledger.prepare("SELECT record_count AS n FROM batches WHERE table_id = ? AND state = 'committed'").all(running.tableId) as { n: number }[]).map((b) => b.n);
  ledger.close();
  assert.ok(sizes.length >= 13 && sizes.every((n) => n <= 40), `kafka.batch.maxSize=40 is a hard limit: batches of ${sizes.join(', ')}`);
});
