// The shared fetch loop (src/task/fetcher.ts) on the real broker: 50 topics of one partition and one
// topic of 4 partitions registered on one fetcher, one client. A transactional producer commits and
// aborts transactions in between plain records (two aborts in a row: the case @platformatic/kafka
// 1.35's own read_committed filter lets through). Every committed record must arrive exactly once per
// partition, in order; no aborted one ever; and a handler that holds one topic's records must not stop
// the other topics from receiving theirs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { eventually } from './helpers/service.ts';
import { SharedFetcher, platformaticClient, type FetcherSource } from '../../src/task/fetcher.ts';
import type { SourceRecord } from '../../src/task/source.ts';

const suffix = randomUUID().slice(0, 8);
const SMALL = 50;
const WIDE_PARTITIONS = 4;
const small = Array.from({ length: SMALL }, (_, i) => `shared-${suffix}-${i}`);
const wide = `shared-${suffix}-wide`;
/** The topic whose handler is held until every other partition has everything. */
const slowTopic = small[0]!;
const brokers = stack.kafkaBrokers.split(',');
const kafka = new Kafka({ brokers, clientId: 'it-shared-fetcher', logLevel: logLevel.NOTHING });
let producer: Producer;
let txProducer: Producer;
let fetcher: SharedFetcher | undefined;

/** Per topic:partition, the committed values in log order: what a reader must receive, exactly. */
const expected = new Map<string, string[]>();
let seq = 0;
const allPartitions = [...small.map((t) => [t, 0] as const), ...Array.from({ length: WIDE_PARTITIONS }, (_, p) => [wide, p] as const)];

async function producePlain(perPartition: number): Promise<void> {
  for (const [topic, partition] of allPartitions) {
    const values = Array.from({ length: perPartition }, () => `${topic}/${partition}/${seq++}`);
    await producer.send({ topic, messages: values.map((value) => ({ partition, value })) });
    expected.set(`${topic}:${partition}`, [...(expected.get(`${topic}:${partition}`) ?? []), ...values]);
  }
}

/** Transactions over the wide topic and a few small ones: commit, abort, abort, commit. */
async function transactions(): Promise<void> {
  const targets = [...Array.from({ length: WIDE_PARTITIONS }, (_, p) => [wide, p] as const), [slowTopic, 0] as const, [small[1]!, 0] as const, [small[SMALL - 1]!, 0] as const];
  for (const outcome of ['commit', 'abort', 'abort', 'commit'] as const) {
    const txn = await txProducer.transaction();
    const sent: [string, string[]][] = [];
    for (const [topic, partition] of targets) {
      const values = Array.from({ length: 25 }, () => `${outcome === 'abort' ? 'aborted/' : ''}${topic}/${partition}/${seq++}`);
      await txn.send({ topic, messages: values.map((value) => ({ partition, value })) });
      sent.push([`${topic}:${partition}`, values]);
    }
    if (outcome === 'abort') { await txn.abort(); continue; }
    await txn.commit();
    for (const [key, values] of sent) expected.set(key, [...(expected.get(key) ?? []), ...values]);
  }
}

before(async () => {
  await requireStack();
  await createTopics([...small.map((topic) => ({ topic, partitions: 1 })), { topic: wide, partitions: WIDE_PARTITIONS }]);
  producer = producerFor(kafka);
  await producer.connect();
  txProducer = kafka.producer({ transactionalId: `it-shared-fetcher-${suffix}`, idempotent: true, maxInFlightRequests: 1 });
  await txProducer.connect();
});

after(async () => {
  await fetcher?.close();
  await producer?.disconnect();
  await txProducer?.disconnect();
});

test('one fetcher for 51 topics: committed records once and in order per partition, aborted never, a slow topic holds back no other', async () => {
  await producePlain(20);
  await transactions();
  await producePlain(10);

  let clients = 0;
  fetcher = new SharedFetcher({ brokers, auth: {}, clientOverrides: {}, readUncommitted: false }, {
    clientFactory: (c) => { clients++; return platformaticClient(c); },
  });
  const received = new Map<string, SourceRecord[]>();
  const crashes: Error[] = [];
  let releaseSlow!: () => void;
  const slowReleased = new Promise<void>((r) => { releaseSlow = r; });
  let slowDeliveries = 0;
  const sources: FetcherSource[] = [];
  for (const topic of [...small, wide]) {
    const partitions = topic === wide ? Array.from({ length: WIDE_PARTITIONS }, (_, p) => p) : [0];
    sources.push(fetcher.source({
      brokers, topic, partitions, groupId: `it-shared-fetcher-${suffix}-${topic}`, readUncommitted: false, clientOverrides: {}, auth: {},
      startOffsets: new Map(partitions.map((p) => [p, 0])),
      onRecords: async (partition, records) => {
        const key = `${topic}:${partition}`;
        received.set(key, [...(received.get(key) ?? []), ...records]);
        if (topic === slowTopic) { slowDeliveries++; await slowReleased; }
      },
      onCrash: (e) => { crashes.push(e); },
    }));
  }
  await Promise.all(sources.map((s) => s.start()));
  assert.equal(clients, 1, 'one client for every registration');

  // More while the fetcher runs: records arrive in later fetches, transactions span responses.
  await producePlain(5);
  await transactions();
  await producePlain(5);

  const complete = (key: string) => (received.get(key)?.length ?? 0) >= expected.get(key)!.length;
  const others = allPartitions.map(([t, p]) => `${t}:${p}`).filter((key) => key !== `${slowTopic}:0`);
  await eventually('every partition but the held one received everything', async () => (others.every(complete) ? true : undefined), 60_000, 100);
  assert.equal(slowDeliveries, 1, 'the held topic is stuck in its first delivery meanwhile');

  releaseSlow();
  await eventually('the held topic received everything once released', async () => (complete(`${slowTopic}:0`) ? true : undefined), 60_000, 100);
  await new Promise((r) => setTimeout(r, 1000)); // a duplicate would arrive within a few fetches

  for (const [topic, partition] of allPartitions) {
    const key = `${topic}:${partition}`;
    const records = received.get(key) ?? [];
    assert.deepEqual(records.map((r) => r.value!.toString()), expected.get(key), `${key}: every committed record once, in order, no aborted one`);
    assert.ok(records.every((r, i) => i === 0 || r.offset > records[i - 1]!.offset), `${key}: offsets increase`);
  }
  assert.deepEqual(crashes.map((e) => e.message), []);
  await Promise.all(sources.map((s) => s.stop()));
  assert.equal(fetcher.size, 0);
});
