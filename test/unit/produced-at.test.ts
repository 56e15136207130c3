// The produced-at probe against an in-memory twin of the Kafka calls it makes (metadata of a topic and
// Fetch): which record's timestamp answers, markers and aborted records skipped, the cache, one Fetch
// per leader; and lagSeconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordsBatch } from '@platformatic/kafka';
import type { FetchRequestTopic, RawFetchResponse } from '../../src/task/raw-fetch.ts';
import { encodeBatches } from './helpers/record-batches.ts';
import { UnknownTopicError, type FetchClient, type TopicLayout } from '../../src/task/fetcher.ts';
import { ProducedAt } from '../../src/observe/produced-at.ts';
import { lagSeconds, NOTHING_READABLE } from '../../src/observe/lag-seconds.ts';

const LOG_APPEND_TIME = 0x08;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
const OFFSET_OUT_OF_RANGE = 1;

/** A batch at `firstOffset` whose records were produced at firstTimestamp + the given deltas. */
function batch(firstOffset: bigint, firstTimestamp: number, deltas: number[], o: { attributes?: number; producerId?: bigint; maxTimestamp?: number } = {}): RecordsBatch {
  return {
    firstOffset, length: 0, partitionLeaderEpoch: 0, magic: 2, crc: 0, attributes: o.attributes ?? 0,
    lastOffsetDelta: deltas.length - 1, firstTimestamp: BigInt(firstTimestamp), maxTimestamp: BigInt(o.maxTimestamp ?? firstTimestamp + Math.max(...deltas)),
    producerId: o.producerId ?? -1n, producerEpoch: 0, firstSequence: 0,
    records: deltas.map((d, i) => ({ length: 0, attributes: 0, timestampDelta: BigInt(d), offsetDelta: i, key: null, value: Buffer.from(`v${i}`), headers: [] })),
  };
}

/** A transaction marker; type 0 aborts, 1 commits. */
function marker(offset: bigint, producerId: bigint, type: 0 | 1): RecordsBatch {
  const b = batch(offset, 0, [0], { attributes: TRANSACTIONAL | CONTROL, producerId });
  b.records[0]!.key = Buffer.from([0, 0, 0, type]);
  return b;
}

interface Log { batches: RecordsBatch[]; aborted: { producerId: bigint; firstOffset: bigint }[]; lastStable?: bigint; errorCode?: number }
const logEnd = (log: Log) => { const last = log.batches[log.batches.length - 1]; return last ? last.firstOffset + BigInt(last.lastOffsetDelta) + 1n : 0n; };

/** The Kafka the probe sees; fetches are recorded as topic:partition@offset, one entry per request. */
class KafkaTwin implements FetchClient {
  readonly topics = new Map<string, { id: string; leaders: number[]; logs: Log[] }>();
  readonly fetches: string[][] = [];
  metadataCalls = 0;
  /** Batches per partition in one answer, as a small partitionMaxBytes would give. */
  batchesPerAnswer = Infinity;
  failFetch: Error | undefined;
  /** Answers without records whatever the log holds. */
  emptyAnswers = false;
  /** Answers with high watermark and last stable offset -1. */
  endsUnknown = false;
  closed = false;

  addTopic(name: string, leaders: number[]): Log[] {
    const logs = leaders.map(() => ({ batches: [], aborted: [] }));
    this.topics.set(name, { id: `id-${name}`, leaders, logs });
    return logs;
  }

  async topic(name: string): Promise<TopicLayout> {
    this.metadataCalls++;
    const t = this.topics.get(name);
    if (!t) throw new UnknownTopicError(name);
    return { id: t.id, leaders: [...t.leaders] };
  }

  async fetch(node: number, request: FetchRequestTopic[]): Promise<RawFetchResponse> {
    const byId = new Map([...this.topics].map(([name, t]) => [t.id, { name, ...t }]));
    this.fetches.push(request.flatMap((t) => t.partitions.map((p) => `${byId.get(t.topicId)?.name}:${p.partition}@${p.fetchOffset}`)));
    if (this.failFetch) throw this.failFetch;
    return {
      throttleTimeMs: 0, errorCode: 0,
      responses: request.map(({ topicId, partitions }) => ({
        topicId,
        partitions: partitions.map(({ partition, fetchOffset }) => {
          const t = byId.get(topicId)!;
          assert.equal(t.leaders[partition], node, 'asked at the leader');
          const log = t.logs[partition]!;
          const end = logEnd(log);
          const stable = log.lastStable ?? end;
          // read_committed: whole batches from the one holding fetchOffset, up to the last stable offset.
          const batches = log.batches.filter((b) => b.firstOffset + BigInt(b.lastOffsetDelta) >= fetchOffset && b.firstOffset < stable).slice(0, this.emptyAnswers ? 0 : this.batchesPerAnswer);
          const errorCode = log.errorCode ?? 0;
          return {
            partitionIndex: partition, errorCode, highWatermark: this.endsUnknown ? -1n : end, lastStableOffset: this.endsUnknown ? -1n : stable, logStartOffset: 0n, preferredReadReplica: -1,
            abortedTransactions: errorCode === 0 ? log.aborted : [], records: errorCode === 0 && batches.length > 0 ? encodeBatches(batches) : undefined,
          };
        }),
      })),
    };
  }

  async listOffsets(): Promise<Map<number, bigint>> { throw new Error('not used by the probe'); }
  async commitGroupOffsets(): Promise<void> { throw new Error('not used by the probe'); }
  async close(): Promise<void> { this.closed = true; }
}

function probeOn(leaders = [1]): { twin: KafkaTwin; logs: Log[]; probe: ProducedAt } {
  const twin = new KafkaTwin();
  const logs = twin.addTopic('t', leaders);
  return { twin, logs, probe: new ProducedAt(twin) };
}

test('the timestamp of the record at the offset, at the start or in the middle of a batch', async () => {
  const { logs, probe } = probeOn();
  logs[0]!.batches.push(batch(0n, 1000, [0, 10, 20]), batch(3n, 2000, [0, 5]));
  assert.equal(await probe.at('t', 0, 0), 1000);
  assert.equal(await probe.at('t', 0, 2), 1020, 'the broker sends the whole batch; records below the offset are skipped');
  assert.equal(await probe.at('t', 0, 4), 2005);
});

test('LogAppendTime batches answer the broker time (maxTimestamp) for every record', async () => {
  const { logs, probe } = probeOn();
  logs[0]!.batches.push(batch(0n, 1000, [0, 10, 20], { attributes: LOG_APPEND_TIME, maxTimestamp: 9000 }));
  assert.equal(await probe.at('t', 0, 1), 9000);
});

test('transaction markers and aborted records are skipped, fetching on past them when an answer holds nothing else', async () => {
  const { twin, logs, probe } = probeOn();
  const log = logs[0]!;
  log.batches.push(batch(0n, 1000, [0, 1], { attributes: TRANSACTIONAL, producerId: 7n }), marker(2n, 7n, 1));
  log.aborted.push({ producerId: 8n, firstOffset: 3n });
  log.batches.push(batch(3n, 1500, [0], { attributes: TRANSACTIONAL, producerId: 8n }), marker(4n, 8n, 0));
  log.batches.push(batch(5n, 3000, [0, 7]));
  assert.equal(await probe.at('t', 0, 1), 1001, 'a committed transaction\'s record');
  assert.equal(await probe.at('t', 0, 2), 3000, 'commit marker, aborted record and abort marker skipped');
  twin.batchesPerAnswer = 1;
  twin.fetches.length = 0;
  assert.equal(await probe.at('t', 0, 3), 3000);
  assert.deepEqual(twin.fetches, [['t:0@3'], ['t:0@4'], ['t:0@5']], 'each answer held one batch: fetched on past it');
});

test('caught up but for a commit marker: NOTHING_READABLE, a lag of 0', async () => {
  const { logs, probe } = probeOn();
  logs[0]!.batches.push(batch(0n, 1000, [0], { attributes: TRANSACTIONAL, producerId: 7n }), marker(1n, 7n, 1));
  const answer = await probe.at('t', 0, 1); // a table's committed offset is its last record + 1: the marker
  assert.equal(answer, NOTHING_READABLE);
  assert.equal(lagSeconds(5000, answer, 1, 2), 0);
});

test('an open transaction at the offset: nothing readable yet (read_committed stops at the last stable offset)', async () => {
  const { logs, probe } = probeOn();
  const log = logs[0]!;
  log.batches.push(batch(0n, 1000, [0, 1]), batch(2n, 2000, [0], { attributes: TRANSACTIONAL, producerId: 9n }));
  log.lastStable = 2n;
  assert.equal(await probe.at('t', 0, 2), NOTHING_READABLE);
  assert.equal(await probe.at('t', 0, 1), 1001);
});

test('an empty answer below the readable end, or with no end known, is undefined', async () => {
  const { twin, logs, probe } = probeOn();
  logs[0]!.batches.push(batch(0n, 1000, [0, 1]));
  twin.emptyAnswers = true;
  assert.equal(await probe.at('t', 0, 0), undefined, 'the log holds records from 0 to 2, the answer none');
  twin.endsUnknown = true;
  assert.equal(await probe.at('t', 0, 5), undefined);
});

test('a partition error code answers undefined; a failed request or an unknown topic rejects', async () => {
  const { twin, logs, probe } = probeOn();
  logs[0]!.batches.push(batch(0n, 1000, [0]));
  logs[0]!.errorCode = OFFSET_OUT_OF_RANGE;
  assert.equal(await probe.at('t', 0, 0), undefined);
  logs[0]!.errorCode = undefined;
  twin.failFetch = new Error('broker 1 is down');
  await assert.rejects(probe.at('t', 0, 0), /broker 1 is down/);
  twin.failFetch = undefined;
  assert.equal(await probe.at('t', 0, 0), 1000);
  await assert.rejects(probe.at('nope', 0, 0), UnknownTopicError);
  await assert.rejects(probe.at('t', 3, 0), /has no partition 3/);
});

test('the same offset again is answered from the cache; a new offset is fetched', async () => {
  const { twin, logs, probe } = probeOn();
  logs[0]!.batches.push(batch(0n, 1000, [0, 10]));
  assert.equal(await probe.at('t', 0, 0), 1000);
  assert.equal(await probe.at('t', 0, 0), 1000);
  assert.equal(twin.fetches.length, 1, 'cache hit');
  assert.equal(await probe.at('t', 0, 1), 1010);
  assert.equal(twin.fetches.length, 2, 'new offset fetched');
  assert.equal(await probe.at('t', 0, 1), 1010);
  assert.equal(twin.fetches.length, 2);
  assert.equal(twin.metadataCalls, 1, 'the layout is cached too');
});

test('an answer that is not a timestamp is not cached: records produced later are found', async () => {
  const { twin, logs, probe } = probeOn();
  assert.equal(await probe.at('t', 0, 0), NOTHING_READABLE);
  logs[0]!.batches.push(batch(0n, 4000, [0]));
  assert.equal(await probe.at('t', 0, 0), 4000);
  assert.equal(twin.fetches.length, 2);
});

test('partitions asked together share one Fetch per leader; one partition at two offsets takes two', async () => {
  const { twin, logs, probe } = probeOn([1, 1, 2]);
  logs[0]!.batches.push(batch(0n, 1000, [0, 1]));
  logs[1]!.batches.push(batch(0n, 2000, [0]));
  logs[2]!.batches.push(batch(0n, 3000, [0]));
  const answers = await Promise.all([probe.at('t', 0, 0), probe.at('t', 1, 0), probe.at('t', 2, 0), probe.at('t', 0, 1), probe.at('t', 0, 1)]);
  assert.deepEqual(answers, [1000, 2000, 3000, 1001, 1001]);
  assert.deepEqual(twin.fetches.map((f) => f.sort().join(' ')).sort(), ['t:0@0 t:1@0', 't:0@1', 't:2@0']);
});

test('close closes the client; later questions reject', async () => {
  const { twin, probe } = probeOn();
  await probe.close();
  assert.equal(twin.closed, true);
  await assert.rejects(probe.at('t', 0, 0), /closed/);
});

test('lagSeconds', () => {
  assert.equal(lagSeconds(10_000, 4000, 5, 9), 6, 'now minus the oldest unread record\'s time');
  assert.equal(lagSeconds(10_000, 4000, 9, 9), 0, 'caught up');
  assert.equal(lagSeconds(10_000, undefined, 9, 9), 0, 'caught up: no probe needed');
  assert.equal(lagSeconds(10_000, undefined, 12, 9), 0, 'past the end (the end was read before the commit)');
  assert.equal(lagSeconds(10_000, undefined, 5, 9), undefined, 'time unknown');
  assert.equal(lagSeconds(10_000, 4000, 5, undefined), undefined, 'log end unknown');
  assert.equal(lagSeconds(10_000, 12_000, 5, 9), 0, 'producer clock ahead: clamped');
  assert.equal(lagSeconds(10_000, 9_750, 5, 9), 0.25);
  assert.equal(lagSeconds(10_000, NOTHING_READABLE, 5, 9), 0, 'only markers or aborted records left');
});
