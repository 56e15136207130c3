// ALTER of kafka.max.num.tasks re-plans a running table at a batch boundary: tasks go from 1 to 4
// while records keep arriving, and every id lands exactly once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';

const suffix = randomUUID().slice(0, 8);
const topic = `replan-${suffix}`;
const table = `replan_${suffix}`;
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-replan', logLevel: logLevel.NOTHING });
let service: RunningService;

before(async () => {
  await requireStack();
  await createTopics([{ topic, partitions: 4 }]);
  service = await startService({ tables: suffix });
});

after(async () => {
  await runBeeline(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  await service?.stop();
});

test('kafka.max.num.tasks 1 -> 4 re-plans live, with no loss and no duplicate', async () => {
  await runBeeline(`CREATE TABLE ${table} (id BIGINT) STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='300', 'kafka.max.num.tasks'='1')`);
  const tasksOf = async () => (await service.status()).tables.find((t) => t.table === `default.${table}`)?.tasks ?? [];
  await eventually('one task', async () => ((await tasksOf()).length === 1 ? true : undefined), 30_000, 200);

  // Produce in the background while the ALTER lands.
  const producer = producerFor(kafka);
  await producer.connect();
  let id = 0;
  const producing = (async () => {
    for (let round = 0; round < 20; round++) {
      await producer.send({ topic, messages: Array.from({ length: 50 }, () => ({ value: JSON.stringify({ id: id++ }) })) });
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  await new Promise((r) => setTimeout(r, 1500));
  await runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.max.num.tasks'='4')`);
  await eventually('four running tasks', async () => {
    const tasks = await tasksOf();
    return tasks.length === 4 && tasks.every((t) => t.state === 'running') ? tasks : undefined;
  }, 30_000, 200);
  await producing;
  await producer.disconnect();

  const out = await eventually(`${id} rows`, async () => {
    const c = (await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`)).trim();
    return c.startsWith(`${id}\t`) ? c : undefined;
  }, 90_000, 1500);
  assert.equal(out, `${id}\t${id}`);
  assert.deepEqual((await tasksOf()).map((t) => t.partitions), [[0], [1], [2], [3]]);
});
