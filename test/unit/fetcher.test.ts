// The shared fetch loop against an in-memory twin of the calls it makes to Kafka (metadata of a topic,
// Fetch, ListOffsets, group offsets): routing, backpressure per partition, failures that belong to one
// registration, stop, and one client per connection. The real-broker side is
// test/integration/shared-fetcher.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordsBatch } from '@platformatic/kafka';
import { FetcherRegistry, SharedFetcher, UnknownTopicError, type FetchClient, type FetcherConnection, type FetcherSource, type TopicLayout } from '../../src/task/fetcher.ts';
import type { SourceOptions, SourceRecord } from '../../src/task/source.ts';
import type { FetchRequestTopic, RawFetchPartition, RawFetchResponse } from '../../src/task/raw-fetch.ts';
import { encodeBatch } from './helpers/record-batches.ts';

const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
/** OFFSET_OUT_OF_RANGE, UNKNOWN_TOPIC_ID, NOT_LEADER_OR_FOLLOWER */
const OUT_OF_RANGE = 1;
const UNKNOWN_TOPIC_ID = 100;
const NOT_LEADER = 6;

function batch(firstOffset: bigint, values: string[], producerId = -1n, attributes = 0): RecordsBatch {
  return {
    firstOffset, length: 0, partitionLeaderEpoch: 0, magic: 2, crc: 0, attributes,
    lastOffsetDelta: values.length - 1, firstTimestamp: 1000n, maxTimestamp: 1000n, producerId, producerEpoch: 0, firstSequence: 0,
    records: values.map((v, i) => ({ length: 0, attributes: 0, timestampDelta: 0n, offsetDelta: i, key: null, value: Buffer.from(v), headers: [] })),
  };
}

/** `unreadableAt`: the batch at this offset goes out in message format v1, which the decoder refuses. */
interface Log { start: bigint; batches: RecordsBatch[]; aborted: { producerId: bigint; firstOffset: bigint }[]; unreadableAt?: bigint }
const logEnd = (log: Log) => { const last = log.batches[log.batches.length - 1]; return last ? last.firstOffset + BigInt(last.lastOffsetDelta) + 1n : log.start; };

/** The Kafka a fetcher sees: topics with ids, leaders and logs; requests are recorded as topic:partition@offset. */
class KafkaTwin implements FetchClient {
  readonly topics = new Map<string, { id: string; leaders: number[]; logs: Log[] }>();
  readonly requests: { node: number; partitions: string[] }[] = [];
  readonly groupCommits: { groupId: string; topic: string; offsets: [number, number][] }[] = [];
  readonly down = new Set<number>();
  closed = 0;
  private nextId = 1;
  private readonly waiting = new Set<() => void>();

  addTopic(name: string, partitions: number, leader = 1): void {
    this.topics.set(name, { id: `id-${this.nextId++}`, leaders: Array(partitions).fill(leader), logs: Array.from({ length: partitions }, () => ({ start: 0n, batches: [], aborted: [] })) });
  }

  produce(topic: string, partition: number, values: string[]): void {
    this.append(topic, partition, (at) => [batch(at, values)]);
  }

  /** A transaction of `values`, then its abort marker. */
  produceAborted(topic: string, partition: number, values: string[], producerId = 7n): void {
    this.append(topic, partition, (at, log) => {
      log.aborted.push({ producerId, firstOffset: at });
      const marker = batch(at + BigInt(values.length), ['x'], producerId, TRANSACTIONAL | CONTROL);
      marker.records[0]!.key = Buffer.from([0, 0, 0, 0]); // version 0, type 0: abort
      return [batch(at, values, producerId, TRANSACTIONAL), marker];
    });
  }

  deleteRecordsBefore(topic: string, partition: number, offset: bigint): void {
    const log = this.log(topic, partition);
    log.start = offset;
    log.batches = log.batches.filter((b) => b.firstOffset + BigInt(b.lastOffsetDelta) >= offset);
  }

  log(topic: string, partition: number): Log { return this.topics.get(topic)!.logs[partition]!; }

  async topic(name: string): Promise<TopicLayout> {
    const t = this.topics.get(name);
    if (!t) throw new UnknownTopicError(name);
    return { id: t.id, leaders: [...t.leaders] };
  }

  async fetch(node: number, request: FetchRequestTopic[]): Promise<RawFetchResponse> {
    const nameOf = (id: string) => [...this.topics].find(([, t]) => t.id === id)?.[0] ?? id;
    this.requests.push({ node, partitions: request.flatMap((t) => t.partitions.map((p) => `${nameOf(t.topicId)}:${p.partition}@${p.fetchOffset}`)) });
    await new Promise((resolve) => setImmediate(resolve)); // an answer comes in a later turn of the event loop, as from a socket
    if (this.down.has(node)) throw new Error(`broker ${node} is down`);
    let response = this.answer(node, request);
    // Like the broker's maxWaitMs: an answer with nothing in it waits a little for records.
    if (response.responses.every((t) => t.partitions.every((p) => p.errorCode === 0 && !p.records))) {
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(timer); this.waiting.delete(done); resolve(); };
        const timer = setTimeout(done, 20);
        this.waiting.add(done);
      });
      response = this.answer(node, request);
    }
    return response;
  }

  async listOffsets(topic: string, partitions: readonly number[], at: 'earliest' | 'latest'): Promise<Map<number, bigint>> {
    if (!this.topics.has(topic)) throw new Error(`unknown topic ${topic}`);
    return new Map(partitions.map((p) => { const log = this.log(topic, p); return [p, at === 'earliest' ? log.start : logEnd(log)]; }));
  }

  async commitGroupOffsets(groupId: string, topic: string, offsets: ReadonlyMap<number, number>): Promise<void> {
    this.groupCommits.push({ groupId, topic, offsets: [...offsets] });
  }

  async close(): Promise<void> { this.closed++; }

  private append(topic: string, partition: number, make: (at: bigint, log: Log) => RecordsBatch[]): void {
    const log = this.log(topic, partition);
    log.batches.push(...make(logEnd(log), log));
    for (const wake of [...this.waiting]) wake();
  }

  private answer(node: number, request: FetchRequestTopic[]): RawFetchResponse {
    // The broker's answer: the batches as bytes.
    const partition = (partitionIndex: number, errorCode: number, records?: RecordsBatch[], log?: Log): RawFetchPartition => ({
      partitionIndex, errorCode, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, abortedTransactions: records ? log!.aborted : [], preferredReadReplica: -1,
      records: records && Buffer.concat(records.map((b) => withMagic(encodeBatch(b), b.firstOffset === log?.unreadableAt ? 1 : 2))),
    });
    return {
      throttleTimeMs: 0, errorCode: 0,
      responses: request.map(({ topicId, partitions }) => {
        const t = [...this.topics.values()].find((x) => x.id === topicId);
        return {
          topicId,
          partitions: partitions.map(({ partition: p, fetchOffset }) => {
            const log = t?.logs[p];
            if (!t || !log) return partition(p, UNKNOWN_TOPIC_ID);
            if (t.leaders[p] !== node) return partition(p, NOT_LEADER);
            if (fetchOffset < log.start || fetchOffset > logEnd(log)) return partition(p, OUT_OF_RANGE);
            const batches = log.batches.filter((b) => b.firstOffset + BigInt(b.lastOffsetDelta) >= fetchOffset);
            return partition(p, 0, batches.length > 0 ? batches : undefined, log);
          }),
        };
      }),
    };
  }
}

/** The batch's magic byte (after baseOffset, batchLength and partitionLeaderEpoch) set to `magic`. */
function withMagic(bytes: Buffer, magic: number): Buffer {
  bytes.writeInt8(magic, 16);
  return bytes;
}

const connection: FetcherConnection = { brokers: ['kafka-a:9092', 'kafka-b:9092'], auth: {}, clientOverrides: {}, readUncommitted: false };

/** A fetcher on a twin with short backoffs, and the number of clients it made. */
function fetcherOn(twin: KafkaTwin): { fetcher: SharedFetcher; clients: () => number } {
  let clients = 0;
  const fetcher = new SharedFetcher(connection, { clientFactory: () => { clients++; return twin; }, backoffMs: 1 });
  return { fetcher, clients: () => clients };
}

interface Reader {
  source: FetcherSource;
  /** Values received per partition, in order. */
  received: Map<number, string[]>;
  crashes: Error[];
  calls: number;
}

function reader(register: (o: SourceOptions) => FetcherSource, topic: string, partitions: number[], opts: {
  from?: number; onRecords?: (partition: number, records: SourceRecord[], readTo?: number) => Promise<void>; readUncommitted?: boolean;
  onLogStartMoved?: (partition: number, logStart: number) => Promise<void>;
  onUnreadable?: (partition: number, error: Error) => Promise<void>;
} = {}): Reader {
  const r: Reader = { received: new Map(), crashes: [], calls: 0 } as unknown as Reader;
  r.source = register({
    ...connection, readUncommitted: opts.readUncommitted ?? false, topic, partitions, groupId: `g-${topic}`,
    startOffsets: new Map(partitions.map((p) => [p, opts.from ?? 0])),
    onRecords: async (partition, records, readTo) => {
      r.calls++;
      r.received.set(partition, [...(r.received.get(partition) ?? []), ...records.map((x) => x.value!.toString())]);
      await opts.onRecords?.(partition, records, readTo);
    },
    ...(opts.onLogStartMoved ? { onLogStartMoved: opts.onLogStartMoved } : {}),
    ...(opts.onUnreadable ? { onUnreadable: opts.onUnreadable } : {}),
    onCrash: (e) => { r.crashes.push(e); },
  });
  return r;
}

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An onRecords that stays pending until released. */
function gate(): { wait: () => Promise<void>; release: () => void } {
  let release!: () => void;
  const opened = new Promise<void>((r) => { release = r; });
  return { wait: () => opened, release };
}

test('one request per leader names the partitions of every topic; each partition reaches its own registration', async () => {
  const twin = new KafkaTwin();
  twin.addTopic('a', 1);
  twin.addTopic('b', 2);
  twin.produce('a', 0, ['a0', 'a1']);
  twin.produce('b', 0, ['b0']);
  twin.produce('b', 1, ['b1']);
  const { fetcher } = fetcherOn(twin);
  const ra = reader((o) => fetcher.source(o), 'a', [0]);
  const rb = reader((o) => fetcher.source(o), 'b', [0, 1]);
  await Promise.all([ra.source.start(), rb.source.start()]);
  await until('both registrations read', () => ra.received.size === 1 && rb.received.size === 2);
  assert.deepEqual([...ra.received], [[0, ['a0', 'a1']]]);
  assert.deepEqual([...rb.received].sort(), [[0, ['b0']], [1, ['b1']]]);
  assert.deepEqual(twin.requests[0]!.partitions.sort(), ['a:0@0', 'b:0@0', 'b:1@0'], 'one request for both topics');
  await fetcher.close();
  assert.deepEqual([ra.crashes, rb.crashes], [[], []]);
});

test('a partition whose onRecords is pending is left out of the next requests; the others go on', async () => {
  const twin = new KafkaTwin();
  twin.addTopic('slow', 1);
  twin.addTopic('fast', 1);
  const { fetcher } = fetcherOn(twin);
  const slowGate = gate();
  const slow = reader((o) => fetcher.source(o), 'slow', [0], { onRecords: () => slowGate.wait() });
  const fast = reader((o) => fetcher.source(o), 'fast', [0]);
  await Promise.all([slow.source.start(), fast.source.start()]);
  twin.produce('slow', 0, ['s0']);
  await until('the slow partition busy', () => slow.calls === 1);
  const busySince = twin.requests.length;
  for (let i = 0; i < 5; i++) { twin.produce('fast', 0, [`f${i}`]); twin.produce('slow', 0, [`s${i + 1}`]); await sleep(5); }
  await until('the fast partition read on', () => fast.received.get(0)?.length === 5);
  const later = twin.requests.slice(busySince).flatMap((r) => r.partitions);
  assert.ok(later.length > 0 && later.every((p) => p.startsWith('fast:')), `requests while slow was busy: ${later.join(' ')}`);
  assert.equal(slow.calls, 1);
  slowGate.release();
  await until('the slow partition read on', () => slow.received.get(0)?.length === 6);
  assert.deepEqual(slow.received.get(0), ['s0', 's1', 's2', 's3', 's4', 's5']);
  assert.ok(twin.requests.some((q) => q.partitions.includes('slow:0@1')), 'fetched again from where its delivery ended');
  await fetcher.close();
});

test('no request while every partition is busy, nor while nothing is registered', async () => {
  const twin = new KafkaTwin();
  twin.addTopic('t', 1);
  const { fetcher } = fetcherOn(twin);
  await sleep(30);
  assert.equal(twin.requests.length, 0, 'nothing registered: no request');
  const blocked = gate();
  const r = reader((o) => fetcher.source(o), 't', [0], { onRecords: () => blocked.wait() });
  await r.source.start();
  twin.produce('t', 0, ['x']);
  await until('the only partition busy', () => r.calls === 1);
  await sleep(10); // a request that ended with the delivery is counted
  const sent = twin.requests.length;
  await sleep(60);
  assert.equal(twin.requests.length, sent, 'all partitions busy: the loop waits');
  blocked.release();
  await r.source.stop();
  const afterStop = twin.requests.length;
  await sleep(60);
  assert.ok(twin.requests.length <= afterStop + 1, 'the last registration gone: at most the request in flight');
  await fetcher.close();
});

test('start fails for an unknown topic naming it and the brokers, and does not stay registered', async () => {
  const twin = new KafkaTwin();
  const { fetcher } = fetcherOn(twin);
  const r = reader((o) => fetcher.source(o), 'nope', [0]);
  await assert.rejects(r.source.start(), /topic nope is not in the metadata of kafka-a:9092,kafka-b:9092/);
  assert.equal(fetcher.size, 0);
  twin.addTopic('small', 2);
  const missing = reader((o) => fetcher.source(o), 'small', [0, 5]);
  await assert.rejects(missing.source.start(), /topic small has no partition 5 \(it has 2\)/);
  await fetcher.close();
});

test('a topic deleted under a registration fails that registration alone', async () => {
  const twin = new KafkaTwin();
  twin.addTopic('gone', 1);
  twin.addTopic('stay', 1);
  const { fetcher } = fetcherOn(twin);
  const gone = reader((o) => fetcher.source(o), 'gone', [0]);
  const stay = reader((o) => fetcher.source(o), 'stay', [0]);
  await Promise.all([gone.source.start(), stay.source.start()]);
  twin.produce('gone', 0, ['g0']);
  twin.produce('stay', 0, ['s0']);
  await until('both read', () => gone.calls === 1 && stay.calls === 1);
  twin.topics.delete('gone');
  await until('the registration of the deleted topic failed', () => gone.crashes.length === 1);
  assert.match(gone.crashes[0]!.message, /topic gone is no longer in the metadata of kafka-a:9092,kafka-b:9092/);
  twin.produce('stay', 0, ['s1']);
  await until('the other one reads on', () => stay.received.get(0)?.length === 2);
  assert.deepEqual(stay.crashes, []);
  await fetcher.close();
});

test('OFFSET_OUT_OF_RANGE beyond the log end fails that registration alone; below the log start it moves to the log start', async () => {
  const twin = new KafkaTwin();
  for (const t of ['ahead', 'deleted', 'plain']) twin.addTopic(t, 1);
  for (let i = 0; i < 10; i++) { twin.produce('ahead', 0, [`a${i}`]); twin.produce('deleted', 0, [`d${i}`]); }
  twin.deleteRecordsBefore('deleted', 0, 6n);
  const { fetcher } = fetcherOn(twin);
  const ahead = reader((o) => fetcher.source(o), 'ahead', [0], { from: 100 });
  const deleted = reader((o) => fetcher.source(o), 'deleted', [0], { from: 2 });
  const plain = reader((o) => fetcher.source(o), 'plain', [0]);
  await Promise.all([ahead.source.start(), deleted.source.start(), plain.source.start()]);
  twin.produce('plain', 0, ['p0']);
  await until('the outcomes', () => ahead.crashes.length === 1 && deleted.received.get(0)?.length === 4 && plain.calls === 1);
  assert.match(ahead.crashes[0]!.message, /partition 0 of ahead: the next offset 100 is beyond the log end 10; was the topic recreated\?/);
  assert.deepEqual(deleted.received.get(0), ['d6', 'd7', 'd8', 'd9'], 'read on from the log start');
  assert.deepEqual([deleted.crashes, plain.crashes], [[], []]);
  assert.deepEqual(await deleted.source.logStartOffsets([0]), new Map([[0, 6]]));
  await fetcher.close();
});

test('deleted offsets a registration had not read: its task hears of the new log start before the partition is fetched again, with no record after them', async () => {
  const twin = new KafkaTwin();
  twin.addTopic('emptied', 1);
  twin.addTopic('failing', 1);
  for (let i = 0; i < 10; i++) { twin.produce('emptied', 0, [`e${i}`]); twin.produce('failing', 0, [`f${i}`]); }
  twin.deleteRecordsBefore('emptied', 0, 10n); // retention took every record: none follows the gap
  twin.deleteRecordsBefore('failing', 0, 4n);
  const { fetcher } = fetcherOn(twin);
  const told: [number, number][] = [];
  const hearing = gate();
  const emptied = reader((o) => fetcher.source(o), 'emptied', [0], { from: 3, onLogStartMoved: async (p, start) => { told.push([p, start]); await hearing.wait(); } });
  const failing = reader((o) => fetcher.source(o), 'failing', [0], { from: 1, onLogStartMoved: async () => { throw new Error('gap under fail'); } });
  await Promise.all([emptied.source.start(), failing.source.start()]);
  try {
    await until('the task told', () => told.length === 1 && failing.crashes.length === 1);
    assert.deepEqual(told, [[0, 10]]);
    assert.match(failing.crashes[0]!.message, /gap under fail/, 'a task that stops at the gap fails its registration');
    const requestsWhileHearing = twin.requests.length;
    await sleep(50);
    assert.ok(!twin.requests.slice(requestsWhileHearing).some((r) => r.partitions.includes('emptied:0@10')), 'not fetched while the task has not heard');
    hearing.release();
    twin.produce('emptied', 0, ['e10']);
    await until('the next record read from the log start', () => emptied.received.get(0)?.length === 1);
    assert.deepEqual(emptied.received.get(0), ['e10']);
    assert.equal(failing.received.size, 0, 'nothing delivered after a failed hearing');
    assert.deepEqual(emptied.crashes, []);
  } finally {
    hearing.release(); // a failed assertion must not leave the fetcher open
    await fetcher.close();
  }
});

test('a request that fails as a whole is retried with backoff, then fails the registrations on that leader only', async () => {
  const twin = new KafkaTwin();
  twin.addTopic('on1', 1, 1);
  twin.addTopic('on2', 1, 2);
  twin.down.add(1);
  const { fetcher } = fetcherOn(twin);
  const on1 = reader((o) => fetcher.source(o), 'on1', [0]);
  const on2 = reader((o) => fetcher.source(o), 'on2', [0]);
  await Promise.all([on1.source.start(), on2.source.start()]);
  twin.produce('on2', 0, ['x']);
  await until('the registration on the broker that is down failed', () => on1.crashes.length === 1, 10_000);
  assert.match(on1.crashes[0]!.message, /fetching partition 0 of on1 failed 8 times: broker 1 is down/);
  assert.equal(twin.requests.filter((r) => r.node === 1).length, 8);
  twin.produce('on2', 0, ['y']);
  await until('the other leader read on', () => on2.received.get(0)?.length === 2);
  assert.deepEqual(on2.crashes, []);
  await fetcher.close();
});

test('a batch that cannot be read: its task gets the records before it, then hears of it, and its registration stops; the others in the same response go on', async () => {
  const twin = new KafkaTwin();
  twin.addTopic('bad', 1);
  twin.addTopic('good', 1);
  twin.produce('bad', 0, ['b0', 'b1']);
  twin.produce('bad', 0, ['b2']);
  twin.produce('bad', 0, ['b3']);
  twin.log('bad', 0).unreadableAt = 2n;
  twin.produce('good', 0, ['g0']);
  const { fetcher } = fetcherOn(twin);
  const told: string[] = [];
  const bad = reader((o) => fetcher.source(o), 'bad', [0], { onUnreadable: async (p, e) => { told.push(`${p}: ${e.message} after ${bad.received.get(p)?.join(',')}`); } });
  const good = reader((o) => fetcher.source(o), 'good', [0]);
  await Promise.all([bad.source.start(), good.source.start()]);
  await until('the unreadable batch stopped its registration', () => bad.crashes.length === 1 && good.calls === 1);
  assert.deepEqual(bad.received.get(0), ['b0', 'b1'], 'the records before it, none after');
  assert.equal(told.length, 1);
  assert.match(told[0]!, /^0: partition 0 of bad at offset 2: record batch at offset 2 has message format v1; only v2 \(Kafka 0.11 and later\) is read\. The table stops at this offset.* after b0,b1$/);
  assert.equal(bad.crashes[0]!.name, 'BatchReadError');
  assert.equal((bad.crashes[0] as Error & { retriable: boolean }).retriable, false, 'the same bytes come back on every fetch');
  const fetchesOfBad = twin.requests.filter((q) => q.partitions.some((p) => p.startsWith('bad:'))).length;
  twin.produce('good', 0, ['g1']);
  twin.produce('good', 0, ['g2']);
  await until('the other one reads on', () => good.received.get(0)?.length === 3);
  assert.deepEqual(good.crashes, []);
  assert.equal(twin.requests.filter((q) => q.partitions.some((p) => p.startsWith('bad:'))).length, fetchesOfBad, 'a stopped registration is not fetched again');
  await fetcher.close();
});

test('a moved leader: that partition is fetched from the new leader after fresh metadata', async () => {
  const twin = new KafkaTwin();
  twin.addTopic('t', 1, 1);
  const { fetcher } = fetcherOn(twin);
  const r = reader((o) => fetcher.source(o), 't', [0]);
  await r.source.start();
  twin.topics.get('t')!.leaders[0] = 2;
  twin.produce('t', 0, ['x']);
  await until('read from the new leader', () => r.calls === 1);
  assert.equal(twin.requests.at(-1)!.node, 2);
  assert.deepEqual(r.crashes, []);
  await fetcher.close();
});

test('aborted records and control batches are skipped, and the next offset moves past them', async () => {
  const twin = new KafkaTwin();
  twin.addTopic('tx', 1);
  twin.produce('tx', 0, ['c0']);
  twin.produceAborted('tx', 0, ['a1', 'a2']); // offsets 1-2, marker at 3
  const { fetcher } = fetcherOn(twin);
  const r = reader((o) => fetcher.source(o), 'tx', [0]);
  await r.source.start();
  await until('the committed record', () => r.calls === 1);
  await until('a request from past the marker', () => twin.requests.some((q) => q.partitions.includes('tx:0@4')));
  twin.produce('tx', 0, ['c4']);
  await until('the next record', () => r.received.get(0)?.length === 2);
  assert.deepEqual(r.received.get(0), ['c0', 'c4']);
  await fetcher.close();
});

test('the task hears how far past its records a response was read: a marker after the last record, and a marker alone', async () => {
  const twin = new KafkaTwin();
  twin.addTopic('tx', 1);
  twin.produce('tx', 0, ['c0']);
  twin.produceAborted('tx', 0, ['a1', 'a2']); // offsets 1-2, marker at 3
  const { fetcher } = fetcherOn(twin);
  const calls: [number[], number | undefined][] = [];
  const r = reader((o) => fetcher.source(o), 'tx', [0], { onRecords: async (_partition, records, readTo) => { calls.push([records.map((x) => x.offset), readTo]); } });
  try {
    await r.source.start();
    await until('the record, and the offsets after it', () => calls.length >= 1);
    // Before, only [0] was handed over, and nothing said that 1-3 were read: the task's ledger waited at 1.
    assert.deepEqual(calls[0], [[0], 4]);
    twin.produceAborted('tx', 0, ['a4']); // offset 4, marker at 5: no record to hand over
    await until('the aborted transaction read', () => calls.length >= 2);
    assert.deepEqual(calls[1], [[], 6]);
  } finally {
    await fetcher.close();
  }
});

test('stop resolves after the onRecords in flight settled, and onRecords is never called again', async () => {
  const twin = new KafkaTwin();
  twin.addTopic('t', 1);
  twin.addTopic('other', 1);
  const { fetcher } = fetcherOn(twin);
  const blocked = gate();
  const r = reader((o) => fetcher.source(o), 't', [0], { onRecords: () => blocked.wait() });
  const other = reader((o) => fetcher.source(o), 'other', [0]);
  await Promise.all([r.source.start(), other.source.start()]);
  twin.produce('t', 0, ['x']);
  await until('delivery in flight', () => r.calls === 1);
  let stopped = false;
  const stopping = r.source.stop().then(() => { stopped = true; });
  twin.produce('t', 0, ['y']);
  twin.produce('other', 0, ['o0']);
  await until('the other registration reads on', () => other.calls === 1);
  assert.equal(stopped, false, 'stop waits for the delivery');
  blocked.release();
  await stopping;
  await sleep(50);
  assert.equal(r.calls, 1, 'no onRecords after stop');
  assert.deepEqual([r.crashes, other.crashes], [[], []]);
  assert.equal(fetcher.size, 1);
  await fetcher.close();
});

test('one client for many registrations, one request for all their partitions, group offsets per registration', async () => {
  const twin = new KafkaTwin();
  const { fetcher, clients } = fetcherOn(twin);
  const readers = Array.from({ length: 20 }, (_, i) => { twin.addTopic(`t${i}`, 1); twin.produce(`t${i}`, 0, [`v${i}`]); return reader((o) => fetcher.source(o), `t${i}`, [0]); });
  await Promise.all(readers.map((r) => r.source.start()));
  await until('every registration read', () => readers.every((r) => r.calls === 1));
  assert.equal(clients(), 1);
  assert.equal(fetcher.size, 20);
  assert.ok(twin.requests.some((q) => q.partitions.length === 20), 'one request named all 20 partitions');
  await readers[3]!.source.committed(0, 1);
  await until('the group offset written', () => twin.groupCommits.length === 1);
  assert.deepEqual(twin.groupCommits[0], { groupId: 'g-t3', topic: 't3', offsets: [[0, 1]] });
  await Promise.all(readers.map((r) => r.source.stop()));
  assert.equal(fetcher.size, 0);
  await fetcher.close();
  assert.equal(twin.closed, 1);
});

test('the registry shares a fetcher between equal connections, separates isolation levels, and closes a fetcher with its last source', async () => {
  const made: { connection: FetcherConnection; twin: KafkaTwin }[] = [];
  const registry = new FetcherRegistry({
    clientFactory: (c) => {
      const twin = new KafkaTwin();
      for (const t of ['x', 'y']) twin.addTopic(t, 1);
      made.push({ connection: c, twin });
      return twin;
    },
    backoffMs: 1,
  });
  const committed1 = reader((o) => registry.sourceFor(o), 'x', [0]);
  const committed2 = reader((o) => registry.sourceFor({ ...o, brokers: [...o.brokers].reverse() }), 'y', [0]);
  const uncommitted = reader((o) => registry.sourceFor(o), 'x', [0], { readUncommitted: true });
  await Promise.all([committed1, committed2, uncommitted].map((r) => r.source.start()));
  assert.deepEqual(made.map((m) => m.connection.readUncommitted), [false, true]);
  made[0]!.twin.produce('x', 0, ['a']);
  made[0]!.twin.produce('y', 0, ['b']);
  await until('both read through the shared fetcher', () => committed1.calls === 1 && committed2.calls === 1);
  await committed1.source.stop();
  assert.equal(made[0]!.twin.closed, 0, 'one source left');
  await committed2.source.stop();
  await until('the fetcher closed with its last source', () => made[0]!.twin.closed === 1);
  assert.deepEqual(await registry.logStartOffsets(connection, 'x', [0]), new Map([[0, 0]]));
  assert.equal(made.length, 3, 'a lookup without a source opens a fetcher again');
  await until('and closes it once answered', () => made[2]!.twin.closed === 1);
  await registry.closeAll();
  assert.equal(made[1]!.twin.closed, 1);
  assert.deepEqual(uncommitted.crashes, []);
});
