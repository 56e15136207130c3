// ALTER TABLE ... SET TBLPROPERTIES ('kafka.broker.list'=...) on the real stack with a second Kafka
// cluster (test/stack/up.sh kafka2): brokers of the same cluster are taken as they are; brokers of
// another cluster fail the table, because the ledger's offsets are positions in the first one. In a
// cluster of services the cluster id travels with the offsets in the state log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, producerFor, requireStack, stack } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';

const run = promisify(execFile);
const suffix = randomUUID().slice(0, 8);
const topic = `broker-list-${suffix}`;
const table = `broker_list_${suffix}`;
/** The cluster test's table and members: a filter of their own, apart from the standalone service's. */
const clusterSuffix = randomUUID().slice(0, 8);
const clusterTable = `broker_list_cl_${clusterSuffix}`;
/** The second cluster's listener (KAFKA2_PORT in test/stack/lib.sh). */
const otherBrokers = '127.0.0.1:9192';
const first = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-broker-list', logLevel: logLevel.NOTHING });
const other = new Kafka({ brokers: [otherBrokers], clientId: 'it-broker-list', logLevel: logLevel.NOTHING });
let service: RunningService;

before(async () => {
  await requireStack();
  await run('bash', ['test/stack/up.sh', 'kafka2'], { maxBuffer: 16 << 20 });
  await createTopics([{ topic, partitions: 1 }]);
  await createTopics([{ topic, partitions: 1 }], otherBrokers); // its broker started a moment ago: the helper's wait for leaders
  service = await startService({ tables: suffix });
});

after(async () => {
  await service?.stop();
  await runBeeline(`DROP TABLE IF EXISTS ${table}; DROP TABLE IF EXISTS ${clusterTable}`).catch(() => undefined);
  await run('bash', ['test/stack/down.sh', 'kafka2'], { maxBuffer: 16 << 20 });
});

async function produce(kafka: Kafka, ids: number[]): Promise<void> {
  const producer = producerFor(kafka);
  await producer.connect();
  await producer.send({ topic, messages: ids.map((id) => ({ value: JSON.stringify({ id }) })) });
  await producer.disconnect();
}
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const view = async () => (await service.status()).tables.find((t) => t.table === `default.${table}`);
const alterBrokers = (brokers: string) => runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.broker.list'='${brokers}')`);

test('ALTER kafka.broker.list to brokers of another Kafka cluster fails the table, naming both clusters; set back, it goes on at its next offset, each record once', async () => {
  await produce(first, range(0, 100));
  await produce(other, range(1000, 300)); // without the guard the table read offsets 100.. of these: 1100..1299, skipping 1000..1099
  await runBeeline(`CREATE TABLE ${table} (id BIGINT) STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='300')`);
  await eventually(`${table}: 100 committed`, async () => ((await view())?.partitions[0]?.committed === 100 ? true : undefined), 60_000, 300);

  // The same cluster under another spelling of its address is the same cluster: the table goes on.
  await alterBrokers(`localhost:${stack.kafkaBrokers.split(':').pop()}`);
  await produce(first, range(100, 20));
  await eventually(`${table}: 120 committed through localhost`, async () => ((await view())?.partitions[0]?.committed === 120 ? true : undefined), 60_000, 300);

  await alterBrokers(otherBrokers);
  const failed = await eventually(`${table} failed`, async () => { const t = await view(); return t?.state === 'failed' ? t : undefined; }, 30_000, 300);
  assert.match(failed.failure ?? '', new RegExp(`table default\\.${table}: kafka\\.broker\\.list \\(${otherBrokers.replace(/\./g, '\\.')}\\) reaches Kafka cluster \\S+, but the table's offsets were read from cluster \\S+; .*Set kafka\\.broker\\.list back`));
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal((await view())?.state, 'failed', 'nothing restarts it but an ALTER');
  assert.equal((await runBeeline(`SELECT count(*) FROM ${table} WHERE id >= 1000`)).trim(), '0', 'nothing read from the other cluster');

  await alterBrokers(stack.kafkaBrokers);
  await produce(first, range(120, 30));
  await eventually(`${table} running again, 150 committed`, async () => { const t = await view(); return t?.state === 'running' && t.partitions[0]?.committed === 150 ? true : undefined; }, 60_000, 300);
  assert.equal((await runBeeline(`SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ${table}`)).trim(), '150\t150\t0\t149');
});

test('in a cluster, a member that never ran the table checks its brokers against the cluster id the state log carries with the offsets', async () => {
  // Table offsets 0..119 of the first cluster are committed above; this table reads the same topic.
  const dir = mkdtempSync(join(tmpdir(), 'hive-kafka-broker-list-'));
  const member = (id: string) => startService({ tables: clusterSuffix, ledgerPath: join(dir, `${id}.db`), env: {
    HIVE_KAFKA_CLUSTER: `it-${clusterSuffix}`, HIVE_KAFKA_CLUSTER_BOOTSTRAP: stack.kafkaBrokers, HIVE_KAFKA_CLUSTER_SESSION_TIMEOUT_MS: '10000', HIVE_KAFKA_INSTANCE_ID: id } });
  const tableIn = async (s: RunningService) => (await s.status()).tables.find((t) => t.table === `default.${clusterTable}`);
  const a = await member('member-a');
  let b: RunningService | undefined;
  try {
    await runBeeline(`CREATE TABLE ${clusterTable} (id BIGINT) STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
      TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='300')`);
    await eventually(`${clusterTable}: 150 committed on member-a`, async () => ((await tableIn(a))?.partitions[0]?.committed === 150 ? true : undefined), 90_000, 300);
    await runBeeline(`ALTER TABLE ${clusterTable} SET TBLPROPERTIES ('kafka.ingestion.paused'='true')`);
    await eventually(`${clusterTable} paused on member-a`, async () => { const t = await tableIn(a); return t?.state === 'paused' && t.tasks.length === 0 ? true : undefined; }, 30_000, 300);
    await a.stop();
    // Nobody runs it while its brokers move to the other cluster and it is resumed; then a member that never ran it takes it.
    await runBeeline(`ALTER TABLE ${clusterTable} SET TBLPROPERTIES ('kafka.broker.list'='${otherBrokers}', 'kafka.ingestion.paused'='false')`);
    b = await member('member-b');
    const failed = await eventually(`${clusterTable} failed on member-b`, async () => { const t = await tableIn(b!); return t?.state === 'failed' ? t : undefined; }, 90_000, 500);
    assert.match(failed.failure ?? '', /reaches Kafka cluster \S+, but the table's offsets were read from cluster \S+/);
    assert.equal((await runBeeline(`SELECT count(*), count(DISTINCT id), max(id) FROM ${clusterTable}`)).trim(), '150\t150\t149', 'nothing read from the other cluster');
  } finally {
    await b?.stop();
    await a.stop();
  }
});
