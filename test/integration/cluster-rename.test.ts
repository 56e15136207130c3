// A RENAME in a cluster whose owner dies before it moved what its tasks published at the old location
// (README, "Limits" before 2026-12-05): Hive moves the table's directory while the topic is quiet; the
// owner, which hears of the rename only at its next poll of the notification log (every 15 s here),
// publishes the next records' batches at the old location, then dies where its own move would begin
// (HIVE_KAFKA_CRASH_AT). The next owner's ledger has those batches' offsets from the state log but not
// their files: it must find them by their names and move them, or they stay committed and unread.
// (A batch staged when Hive moves the directory fails with "batch file lost" instead and is retried
// until the rename is heard, so the topic is quiet at the move: that is when the gap opened.)
// Run twice: with a plain producer, and with a transactional one, whose markers take an offset after
// every transaction, so that batches would not start where the one before ended unless their ranges
// tile the partition (src/task/task.ts); the name walk stopped at the first such hole before.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';
import { MetastoreClient } from '../../src/metastore/client.ts';
import { fileSystems } from '../../src/sink/fs.ts';
import { publishedFilesUnder } from '../../src/sink/published-names.ts';

const dir = mkdtempSync(join(tmpdir(), 'hive-kafka-cluster-rename-'));
const configFile = join(dir, 'config.json');
// A slow poll: the owner goes on publishing at the old location for seconds after Hive's move.
const POLL_MS = 15_000;
writeFileSync(configFile, JSON.stringify({ pollIntervalMs: POLL_MS, systemTables: { enabled: false } }));
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-cluster-rename', logLevel: logLevel.NOTHING });
const resolver = fileSystems();

interface Member { id: string; ledgerPath: string; service?: RunningService }
const exited = (m: Member) => new Promise<void>((r) => {
  const child = m.service!.child;
  if (child.exitCode !== null || child.signalCode !== null) r(); else child.once('exit', () => r());
});
async function locationOf(table: string): Promise<string> {
  const c = await MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 30_000 });
  try { return (await c.getTable('default', table)).storage.location!; } finally { c.close(); }
}

before(requireStack);

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
  console.log(`service logs: ${dir}`);
});

/** Offsets a partition's batches cover, read from the file names: each must start where the one before ended. */
function holes(files: { partition: number; first: number; last: number }[]): string[] {
  const out: string[] = [];
  for (const p of new Set(files.map((f) => f.partition))) {
    const mine = files.filter((f) => f.partition === p).sort((a, b) => a.first - b.first);
    for (let i = 1; i < mine.length; i++) if (mine[i]!.first !== mine[i - 1]!.last + 1) out.push(`partition ${p}: ${mine[i - 1]!.last} then ${mine[i]!.first}`);
  }
  return out;
}

for (const transactional of [false, true]) {
  test(`RENAME in a cluster, the owner killed before its own move${transactional ? ', a transactional producer' : ''}: the batches it published at the old location reach the new one, each record once`, async (t) => {
    const suffix = randomUUID().slice(0, 8);
    const from = `clr_from_${suffix}`;
    const to = `clr_to_${suffix}`;
    const topic = `clr-${suffix}`;
    const CLUSTER = `itr-${suffix}`;
    await createTopics([{ topic, partitions: 2 }]);
    const members: Member[] = ['node-a', 'node-b'].map((id) => ({ id, ledgerPath: join(dir, `${suffix}-${id}.db`) }));
    const start = async (m: Member, env: Record<string, string> = {}) => {
      m.service = await startService({ tables: suffix, ledgerPath: m.ledgerPath, configFile, env: {
        HIVE_KAFKA_CLUSTER: CLUSTER, HIVE_KAFKA_CLUSTER_BOOTSTRAP: stack.kafkaBrokers, HIVE_KAFKA_CLUSTER_SESSION_TIMEOUT_MS: '6000',
        HIVE_KAFKA_INSTANCE_ID: m.id, ...env,
      } });
      const log = join(dir, `${suffix}-${m.id}.${Date.now()}.log`);
      appendFileSync(log, m.service.output());
      m.service.child.stdout!.on('data', (d: Buffer) => appendFileSync(log, d));
      m.service.child.stderr!.on('data', (d: Buffer) => appendFileSync(log, d));
    };
    let flowing = false; // records sent while true; a failed test stops them here
    let paused = false; // and none while paused
    cleanups.push(async () => {
      flowing = false;
      for (const m of members) await m.service?.stop().catch(() => undefined);
      for (const x of [from, to]) await runBeeline(`DROP TABLE IF EXISTS ${x}`).catch(() => undefined);
    });

    // Both members die where a relocation begins: the owner first, at the rename; the other at its
    // take-over, so that it is then started again with nothing but its ledger and the state log.
    for (const m of members) await start(m, { HIVE_KAFKA_CRASH_AT: 'relocation-started' });
    await runBeeline(`CREATE TABLE ${from} (id BIGINT)
      STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
      TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='300')`);
    const producer = transactional
      ? kafka.producer({ transactionalId: `it-clr-${suffix}`, idempotent: true, maxInFlightRequests: 1 })
      : producerFor(kafka);
    await producer.connect();
    let next = 0;
    // Ten records a send, five to each partition: with a transactional producer both partitions get a
    // marker after every send, so the last offset of each is a marker whenever the topic is quiet.
    const messages = () => Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ id: next++ }) }));
    const send = async () => {
      if (!transactional) { await producer.send({ topic, messages: messages() }); return; }
      const txn = await producer.transaction();
      await txn.send({ topic, messages: messages() });
      await txn.commit();
    };
    /** The next offset a table has committed when it has read everything up to `high`: the last marker included. */
    const end = (high: string) => Number(high);
    flowing = true;
    const flow = (async () => {
      while (flowing) {
        if (paused) { await new Promise((r) => setTimeout(r, 50)); continue; }
        await send();
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const owner = await eventually(`one member running ${from}`, async () => {
      for (const m of members) {
        const mine = (await m.service!.status()).tables.find((x) => x.table === `default.${from}`);
        if (mine && !mine.notHere && mine.tasks.some((k) => k.state === 'running') && mine.partitions.every((p) => p.committed > 0)) return m;
      }
      return undefined;
    }, 90_000, 300);
    const other = members.find((m) => m !== owner)!;
    const oldLocation = await locationOf(from);
    const old = resolver.for(oldLocation);

    // Quiet topic, every batch published: nothing is staged when Hive moves the directory.
    paused = true;
    await new Promise((r) => setTimeout(r, 300));
    const admin = kafka.admin();
    await admin.connect();
    const quiet = await admin.fetchTopicOffsets(topic);
    await eventually(`${owner.id} committed ${from} to the end of the quiet topic`, async () => {
      const st = (await owner.service!.status()).tables.find((x) => x.table === `default.${from}`);
      return st && quiet.every((o) => st.partitions.find((p) => p.partition === o.partition)?.committed === end(o.high)) ? true : undefined;
    }, 30_000, 200);

    // The owner heard of the CREATE right after one of its polls: the RENAME starts just after a later
    // one, so that it has most of a poll interval to publish at the old location before it hears.
    const heard = owner.service!.output().split('\n').find((l) => l.includes('"msg":"table notice"') && l.includes(from));
    assert.ok(heard, `${owner.id} logged the CREATE's notice`);
    const polledAt = (JSON.parse(heard) as { time: number }).time;
    const wait = POLL_MS - ((Date.now() - polledAt) % POLL_MS) + 300;
    await new Promise((r) => setTimeout(r, wait));
    const renamedAt = Date.now();
    await runBeeline(`ALTER TABLE ${from} RENAME TO ${to}`);
    t.diagnostic(`RENAME issued ${Date.now() - renamedAt} ms before beeline returned`);
    paused = false;
    await exited(owner);
    assert.equal(owner.service!.child.signalCode, 'SIGKILL', `${owner.id} died at the crash point:\n${owner.service!.output().slice(-3000)}`);
    const left = await publishedFilesUnder(old.fs, old.path, topic).catch(() => []);
    t.diagnostic(`${owner.id} owned the table and published ${left.length} files at the old location after Hive's move, then died`);
    assert.ok(left.length > 1, 'the owner published batches at the old location after the move (else this test proves nothing)');

    await exited(other); // it took the table over, and died where its relocation began
    flowing = false;
    await flow;
    await producer.disconnect();
    await start(other);
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const produced = next;
    if (!transactional) assert.equal(offsets.reduce((n, o) => n + Number(o.high), 0), produced);
    await eventually(`${to} committed to the end of ${topic} on ${other.id}`, async () => {
      const st = (await other.service!.status()).tables.find((x) => x.table === `default.${to}`);
      return st && !st.notHere && offsets.every((o) => st.partitions.find((p) => p.partition === o.partition)?.committed === end(o.high)) ? true : undefined;
    }, 120_000, 500);
    const moves = other.service!.output().split('\n').filter((l) => l.includes('table moved by a RENAME'));
    t.diagnostic(moves.join('\n'));
    assert.ok(moves.some((l) => Number(/"moved":(\d+)/.exec(l)?.[1]) >= left.length), `${other.id} moved the ${left.length} files the dead owner left`);
    assert.equal((await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${to}`)).trim(), `${produced}\t${produced}`, 'each record once, in the renamed table');
    assert.deepEqual(await publishedFilesUnder(old.fs, old.path, topic).catch(() => []), [], `no published file left at the old location ${oldLocation}`);
    assert.deepEqual(holes(left), [], 'the batches the dead owner left tile their partitions');
  });
}
