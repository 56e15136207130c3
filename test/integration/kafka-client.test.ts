// The service with kafkaClient 'platformatic' (HIVE_KAFKA_CLIENT): 20,000 records over 4 partitions
// and 2 tasks, a pause and a resume through beeline, a kill -9 of the service mid-stream and a
// restart on the same ledger; then Hive and DuckDB see every id exactly once. Transactions of one
// transactional producer (committed, aborted twice in a row: the case @platformatic/kafka 1.35's own
// read_committed filter lets through) are in the same topic; no aborted record may reach the table,
// and a second table with kafka.read_uncommited=true gets all of them. Restarting a table's task again
// and again leaves no Kafka connection behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';
import { duckdbQuery } from './helpers/duckdb.ts';
import { MetastoreClient } from '../../src/metastore/client.ts';
import { localPath } from '../../src/sink/fs.ts';

const suffix = randomUUID().slice(0, 8);
const topic = `client-${suffix}`;
const table = `client_${suffix}`;
const uncommittedTable = `client_uncommitted_${suffix}`;
const restartedTopic = `client-restarted-${suffix}`;
const restartedTable = `client_restarted_${suffix}`;
const PARTITIONS = 4;
const PLAIN = 20_000;
const COMMITTED_BASE = 500_000; // ids of records in committed transactions
const ABORTED_BASE = 1_000_000; // ids of records in aborted transactions: never in the table
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-client', logLevel: logLevel.NOTHING });
const env = { HIVE_KAFKA_CLIENT: 'platformatic' };
let service: RunningService | undefined;
let producer: Producer;
let txProducer: Producer;
let nextId = 0;
let nextCommitted = COMMITTED_BASE;
let nextAborted = ABORTED_BASE;

const json = (id: number) => ({ partition: id % PARTITIONS, value: JSON.stringify({ id }) });

async function produce(n: number): Promise<void> {
  for (let sent = 0; sent < n; sent += 1000) {
    await producer.send({ topic, messages: Array.from({ length: Math.min(1000, n - sent) }, () => json(nextId++)) });
  }
}

/** One transactional producer: a committed transaction, then two aborted ones back to back. */
async function transactions(): Promise<void> {
  for (const outcome of ['commit', 'abort', 'abort'] as const) {
    const txn = await txProducer.transaction();
    const ids = Array.from({ length: 100 }, () => (outcome === 'commit' ? nextCommitted++ : nextAborted++));
    await txn.send({ topic, messages: ids.map(json) });
    await (outcome === 'commit' ? txn.commit() : txn.abort());
  }
}

const tableStatus = async (name = table) => (await service!.status()).tables.find((t) => t.table === `default.${name}` && t.state !== 'dropped');
const committedSum = async () => (await tableStatus())?.partitions.reduce((n, p) => n + p.committed, 0) ?? 0;

before(async () => {
  await requireStack();
  await createTopics([{ topic, partitions: PARTITIONS }, { topic: restartedTopic, partitions: 1 }]);
  producer = producerFor(kafka);
  await producer.connect();
  txProducer = kafka.producer({ transactionalId: `it-client-${suffix}`, idempotent: true, maxInFlightRequests: 1 });
  await txProducer.connect();
  service = await startService({ tables: suffix, env });
});

after(async () => {
  for (const t of [table, uncommittedTable, restartedTable]) await runBeeline(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  await service?.stop();
  await producer?.disconnect();
  await txProducer?.disconnect();
});

test('platformatic client: pause, resume, kill -9 mid-stream and restart; every id once, no aborted record', async () => {
  assert.equal((await service!.status()).kafkaClient, 'platformatic', 'the service reports the client it reads with');

  await produce(5000);
  await transactions();
  await produce(1000);
  await runBeeline(`CREATE TABLE ${table} (id BIGINT)
    STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.num.tasks'='2',
                   'kafka.batch.maxSize'='700', 'kafka.max.batch.period.ms'='500')`);
  // Every partition ends with a plain record, so lag 0 means everything before it is committed.
  await eventually('the first 6000 records and the transactions committed', async () => {
    const t = await tableStatus();
    return t && t.partitions.length === PARTITIONS && t.partitions.every((p) => p.lag === 0) ? t : undefined;
  }, 60_000, 250);
  assert.deepEqual((await tableStatus())!.tasks.map((k) => k.partitions.length), [2, 2], 'two tasks, two partitions each');

  await runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.ingestion.paused'='true')`);
  await eventually('the table paused with no task', async () => {
    const t = await tableStatus();
    return t?.state === 'paused' && t.tasks.length === 0 ? t : undefined;
  }, 20_000, 100);
  const pausedAt = await committedSum();
  await produce(4000);
  await transactions();
  await produce(1000);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await committedSum(), pausedAt, 'nothing is committed while paused');

  await runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.ingestion.paused'='false')`);
  await eventually('commits again after the resume', async () => ((await committedSum()) > pausedAt ? true : undefined), 30_000, 100);
  // The rest arrives while the service runs (about 3 s); it is killed half-way through.
  const producing = (async () => {
    for (let i = 0; i < 30; i++) { await produce(300); await new Promise((r) => setTimeout(r, 100)); }
  })();
  const halfWay = nextId + 4500;
  await eventually('half of the last records produced, and records committed after the resume', async () =>
    (nextId >= halfWay && (await committedSum()) > pausedAt + 1500 ? true : undefined), 60_000, 50);
  const producedAtKill = nextId;
  await service!.stop('SIGKILL');
  await producing;
  assert.ok(producedAtKill < PLAIN, `killed mid-stream: ${producedAtKill} of ${PLAIN} plain records produced at the kill`);
  assert.equal(nextId, PLAIN);

  service = await startService({ tables: suffix, ledgerPath: service!.ledgerPath, env });
  const done = await eventually(`all ${PLAIN} plain records committed after the restart`, async () => {
    const t = await tableStatus();
    return t && t.state === 'running' && t.partitions.every((p) => p.lag === 0) ? t : undefined;
  }, 60_000, 250);
  assert.equal(done.restarts, 0, `no task failed after the restart: ${done.lastError ?? ''}`);

  const expected = PLAIN + (nextCommitted - COMMITTED_BASE);
  const hive = (await runBeeline(`SELECT count(*), count(DISTINCT id), sum(CASE WHEN id >= ${ABORTED_BASE} THEN 1 ELSE 0 END) FROM ${table}`)).trim();
  assert.equal(hive, `${expected}\t${expected}\t0`, 'Hive: every id once, no aborted record');

  const metastore = await MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 30_000 });
  const location = localPath((await metastore.getTable('default', table)).storage.location!);
  metastore.close();
  const [duck] = await duckdbQuery(`SELECT count(*)::BIGINT, count(DISTINCT id)::BIGINT,
      count(*) FILTER (WHERE id < ${PLAIN})::BIGINT, count(*) FILTER (WHERE id >= ${ABORTED_BASE})::BIGINT
    FROM read_parquet('${location}/**/*.parquet')`);
  assert.deepEqual(duck!.map(Number), [expected, expected, PLAIN, 0], 'DuckDB over the published files: every id once, no aborted record');
});

test('platformatic client with kafka.read_uncommited=true ingests the aborted records too', async () => {
  await runBeeline(`CREATE TABLE ${uncommittedTable} (id BIGINT)
    STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.read_uncommited'='true',
                   'kafka.batch.maxSize'='5000', 'kafka.max.batch.period.ms'='500')`);
  await eventually('the whole topic committed', async () => {
    const t = await tableStatus(uncommittedTable);
    return t && t.partitions.length === PARTITIONS && t.partitions.every((p) => p.lag === 0) ? t : undefined;
  }, 60_000, 250);
  const expected = PLAIN + (nextCommitted - COMMITTED_BASE) + (nextAborted - ABORTED_BASE);
  const hive = (await runBeeline(`SELECT count(*), count(DISTINCT id), sum(CASE WHEN id >= ${ABORTED_BASE} THEN 1 ELSE 0 END) FROM ${uncommittedTable}`)).trim();
  assert.equal(hive, `${expected}\t${expected}\t${nextAborted - ABORTED_BASE}`);
});

/** The process's established TCP connections to the broker's port (its sockets in /proc, matched by inode). */
function brokerConnections(pid: number): number {
  const port = Number(stack.kafkaBrokers.split(',')[0]!.split(':')[1]);
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try { const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`)); if (m) inodes.add(m[1]!); } catch { /* closed meanwhile */ }
  }
  let n = 0;
  for (const file of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${file}`, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 9 && f[3] === '01' && parseInt(f[2]!.split(':')[1]!, 16) === port && inodes.has(f[9]!)) n++;
    }
  }
  return n;
}

test('platformatic client: a task restarted five times (ALTER of a batch-boundary property) leaves no Kafka connection behind', async () => {
  const restarted = producerFor(kafka);
  await restarted.connect();
  try {
    let sent = 0;
    const produceAndCommit = async (what: string) => {
      await restarted.send({ topic: restartedTopic, messages: Array.from({ length: 10 }, () => ({ value: JSON.stringify({ id: sent++ }) })) });
      await eventually(what, async () => ((await tableStatus(restartedTable))?.partitions[0]?.committed === sent ? true : undefined), 60_000, 200);
    };
    await runBeeline(`CREATE TABLE ${restartedTable} (id BIGINT)
      STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
      TBLPROPERTIES ('kafka.topic'='${restartedTopic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='200')`);
    await produceAndCommit('the first records committed');
    const pid = service!.child.pid!;
    const before = brokerConnections(pid);
    const epoch = async () => (await tableStatus(restartedTable))?.tasks[0]?.ownerEpoch ?? 0;
    for (let i = 1; i <= 5; i++) {
      const was = await epoch();
      await runBeeline(`ALTER TABLE ${restartedTable} SET TBLPROPERTIES ('kafka.batch.maxSize'='${1000 + i}')`);
      await eventually(`ALTER ${i} restarted the task (a new owner epoch)`, async () => ((await epoch()) > was ? true : undefined), 30_000, 200);
      await produceAndCommit(`records committed after ALTER ${i}`);
    }
    const after = brokerConnections(pid);
    assert.ok(before > 0, 'the service holds connections to the broker');
    assert.ok(after <= before, `connections to the broker went from ${before} to ${after} over five restarts of one task`);
    assert.equal(await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${restartedTable}`).then((r) => r.trim()), `${sent}\t${sent}`);
  } finally {
    await restarted.disconnect();
  }
});
