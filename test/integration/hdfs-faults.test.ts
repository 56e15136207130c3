// A DataNode restart and a NameNode restart while records stream into an hdfs: table: ingestion
// recovers by itself, with no loss and no duplicate. Restarts the stack's own HDFS nodes
// (test/stack/hdfs-restart.sh) while a producer keeps sending.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';
import { locationClause } from './helpers/warehouse.ts';

const run = promisify(execFile);
const suffix = randomUUID().slice(0, 8);
const topic = `hdfs-faults-${suffix}`;
const table = `hdfs_faults_${suffix}`;
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-hdfs-faults', logLevel: logLevel.NOTHING });
let service: RunningService;
let nextId = 0;

/** Sends 100 records every 100 ms until stopped, so batches are being committed while a node restarts. */
function keepProducing(): { stop(): Promise<void> } {
  let running = true;
  const done = (async () => {
    const producer = producerFor(kafka);
    await producer.connect();
    while (running) {
      await producer.send({ topic, messages: Array.from({ length: 100 }, () => { const id = nextId++; return { value: JSON.stringify({ id, dt: `d${id % 4}` }) }; }) });
      await new Promise((r) => setTimeout(r, 100));
    }
    await producer.disconnect();
  })();
  return { async stop() { running = false; await done; } };
}

const counts = async () => (await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`)).trim();

before(async () => {
  await requireStack();
  await createTopics([{ topic, partitions: 2 }]);
  service = await startService({ tables: suffix });
  await runBeeline(`CREATE TABLE ${table} (id BIGINT) PARTITIONED BY (dt STRING)
    STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler' ${locationClause('hdfs', table)}
    TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='300', 'kafka.max.num.tasks'='2')`);
});

after(async () => {
  await runBeeline(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  await service?.stop();
});

for (const node of ['datanode', 'namenode'] as const) {
  test(`an HDFS ${node} restart mid-stream: no loss, no duplicate, no manual step`, async () => {
    const producing = keepProducing();
    try {
      await new Promise((r) => setTimeout(r, 2000)); // commits in flight when the node goes
      await run('bash', ['test/stack/hdfs-restart.sh', node], { maxBuffer: 16 << 20 });
      await new Promise((r) => setTimeout(r, 2000)); // and while it comes back
    } finally {
      await producing.stop();
    }
    await eventually(`${nextId} rows after the ${node} restart`, async () => ((await counts()) === `${nextId}\t${nextId}` ? true : undefined), 180_000, 2000);
    assert.equal(await counts(), `${nextId}\t${nextId}`);
    const status = (await service.status()).tables.find((t) => t.table === `default.${table}`)!;
    assert.equal(status.state, 'running');
  });
}
