// kill -9 of the whole service, then a restart on the same ledger: every table resumes in its state
// (running stays running, paused stays paused) and every record lands exactly once. Then `ledger
// rebuild` restores the next offsets from the published files, of a file: table and of an hdfs: one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Ledger } from '../../src/ledger/ledger.ts';
import { locationClause, type Warehouse } from './helpers/warehouse.ts';

const runCli = (args: string[], env: Record<string, string>) =>
  promisify(execFile)(process.execPath, ['bin/hive-kafka.mjs', ...args], { env: { ...process.env, HIVE_KAFKA_HMS_URI: stack.metastoreUri, ...env } });

const suffix = randomUUID().slice(0, 8);
const running = { topic: `restart-run-${suffix}`, table: `restart_run_${suffix}` };
const paused = { topic: `restart-pause-${suffix}`, table: `restart_pause_${suffix}` };
/** On HDFS, for the ledger rebuild: created with the running table, so it ingests while that one does. */
const onHdfs = { topic: `restart-hdfs-${suffix}`, table: `restart_hdfs_${suffix}`, kind: 'hdfs' as const, records: 100 };
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-restart', logLevel: logLevel.NOTHING });
let service: RunningService;
let nextId = 0;

async function produce(topic: string, n: number): Promise<void> {
  const producer = producerFor(kafka);
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: n }, () => ({ value: JSON.stringify({ id: nextId++ }) })) });
  await producer.disconnect();
}

const count = async (table: string) => (await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`)).trim();
const createSql = (t: { topic: string; table: string; kind?: Warehouse }, extra = '') => `CREATE TABLE ${t.table} (id BIGINT)
  STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
  ${locationClause(t.kind ?? 'file', t.table)}
  TBLPROPERTIES ('kafka.topic'='${t.topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='500'${extra})`;
const createTable = (t: { topic: string; table: string }, extra = '') => runBeeline(createSql(t, extra));

before(async () => {
  await requireStack();
  await createTopics([running, paused, onHdfs].map((t) => ({ topic: t.topic, partitions: 2 })));
  service = await startService({ tables: suffix });
});

after(async () => {
  for (const t of [running, paused, onHdfs]) await runBeeline(`DROP TABLE IF EXISTS ${t.table}`).catch(() => undefined);
  await service?.stop();
});

test('after kill -9 and a restart, running stays running, paused stays paused, nothing is lost or doubled', async () => {
  await produce(running.topic, 200);
  await produce(paused.topic, 50);
  await produce(onHdfs.topic, onHdfs.records);
  await runBeeline(`${createSql(running)};\n${createSql(onHdfs)}`); // one beeline call for both
  await createTable(paused, ", 'kafka.ingestion.paused'='true'");
  await eventually('200 rows in the running table', async () => ((await count(running.table)) === '200\t200' ? true : undefined), 90_000, 1500);

  await service.stop('SIGKILL');
  // With the service down, status answers from the ledger: states, what each task was doing, offsets.
  const down = await runCli(['status', '--url', service.url], { HIVE_KAFKA_LEDGER: service.ledgerPath }).then(
    () => assert.fail('status must exit 2 when the service cannot be reached'), (e: { code: number; stdout: string; stderr: string }) => e);
  assert.equal(down.code, 2);
  assert.match(down.stderr, /cannot be reached.*\n.*showing the ledger at/s);
  assert.match(down.stdout, new RegExp(`default\\.${running.table}  RUNNING  tasks: task-0\\[0,1\\]=running@e1`));
  assert.match(down.stdout, new RegExp(`default\\.${paused.table}  PAUSED  tasks: none`));
  assert.match(down.stdout, /partition 0: committed \d+/);
  await produce(running.topic, 100);
  service = await startService({ tables: suffix, ledgerPath: service.ledgerPath });

  await eventually('300 rows after the restart', async () => ((await count(running.table)) === '300\t300' ? true : undefined), 90_000, 1500);
  const view = await service.status();
  assert.equal(view.tables.find((t) => t.table === `default.${running.table}`)?.state, 'running');
  const p = view.tables.find((t) => t.table === `default.${paused.table}`);
  assert.equal(p?.state, 'paused');
  assert.equal(p?.tasks.length, 0);
  assert.equal(await count(paused.table), '0\t0', 'a paused table ingests nothing, before or after the restart');
});

test('hive-kafka ledger rebuild on a deleted ledger restores the next offsets exactly, on file: and on hdfs:', async () => {
  // The HDFS table's records all committed first (the running table's are: the first test saw them
  // in Hive), so that no batch is in flight when the service stops.
  const tables = await eventually(`${onHdfs.records} records committed in ${onHdfs.table}`, async () => {
    const all = (await service.status()).tables;
    const hdfs = all.find((t) => t.table === `default.${onHdfs.table}`);
    const committed = hdfs?.partitions.reduce((n, p) => n + p.committed, 0);
    return committed === onHdfs.records ? all : undefined;
  }, 60_000, 500);
  const expected = new Map([running, onHdfs].map((t) => {
    const view = tables.find((x) => x.table === `default.${t.table}`)!;
    return [t.table, Object.fromEntries(view.partitions.map((p) => [p.partition, p.committed]))];
  }));
  await service.stop();
  const fresh = `${service.ledgerPath}.rebuilt`;
  for (const table of expected.keys()) {
    const { stdout } = await runCli(['ledger', 'rebuild', `default.${table}`], { HIVE_KAFKA_LEDGER: fresh });
    assert.match(stdout, /next offsets rebuilt/);
  }
  const ledger = Ledger.open(fresh);
  try {
    for (const [table, offsets] of expected) {
      const stream = ledger.listStreams().find((s) => s.tableName === table)!;
      assert.deepEqual(Object.fromEntries(ledger.nextOffsets(stream.tableId)), offsets, `next offsets of ${table}`);
      assert.equal(stream.desiredState, 'running');
      if (table === onHdfs.table) assert.match((JSON.parse(stream.layoutJson) as { location: string }).location, /^hdfs:/);
    }
  } finally {
    ledger.close();
  }
});
