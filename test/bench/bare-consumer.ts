// Bare consumers for the client benchmark: read the given partitions of a topic from the start with
// the service's fetch settings (FETCH_SETTINGS in src/task/source.ts, read_committed), count the
// records and their value bytes, nothing else, and stop at `expected` records. Time runs from the
// start of connecting to the last record.
//   kafkajs:      consumer.run/eachBatch in a group of its own whose assigner hands it the partitions,
//                 as the kafkajs source does (kafkajs has no assign()).
//   platformatic: Consumer.fetch() per partition leader from offsets it keeps, as the platformatic
//                 source does; `platformaticApi: 'stream'` reads through the library's MessagesStream
//                 instead (consume(), mode earliest), for comparison only: it reads every partition.
//
//   tsx test/bench/bare-consumer.ts --client kafkajs|platformatic --topic T --expected N
//       [--brokers 127.0.0.1:9092] [--partitions 0,1,2,3] [--api fetch|stream]
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { FETCH_SETTINGS } from '../../src/task/source.ts';

export interface FetchConfig { maxBytesPerPartition: number; maxBytes: number; minBytes: number; maxWaitMs: number }

export interface BareOptions {
  client: 'kafkajs' | 'platformatic';
  brokers: string[];
  topic: string;
  partitions: number[];
  expected: number;
  fetch: FetchConfig;
  /** platformatic only: the low-level fetch the service uses (default), or the library's MessagesStream. */
  platformaticApi?: 'fetch' | 'stream';
  /** Fails the run when `expected` records have not arrived by then. Default 10 minutes. */
  timeoutMs?: number;
}

export interface BareResult {
  records: number;
  bytes: number;
  /** From the start of connecting to the last record. */
  ms: number;
  /** From the start of connecting to the first record: connection, group join, first fetch. */
  firstRecordMs: number;
}

const CONTROL = 0x20;

export async function bareConsume(opts: BareOptions): Promise<BareResult> {
  const timeoutMs = opts.timeoutMs ?? 600_000;
  if (opts.client === 'kafkajs') return kafkajsConsume(opts, timeoutMs);
  return opts.platformaticApi === 'stream' ? platformaticStream(opts, timeoutMs) : platformaticFetch(opts, timeoutMs);
}

/** Counts; resolves `done` at `expected` records. */
function counter(expected: number) {
  const start = performance.now();
  let first = 0;
  let last = 0;
  let resolve!: () => void;
  const c = {
    records: 0, bytes: 0, done: new Promise<void>((r) => { resolve = r; }),
    add(value: Buffer | null | undefined) {
      if (c.records === expected) return; // past the end: a fetch can bring more than asked for
      if (c.records === 0) first = performance.now();
      c.records++;
      c.bytes += value?.length ?? 0;
      if (c.records === expected) { last = performance.now(); resolve(); }
    },
    result: (): BareResult => ({ records: c.records, bytes: c.bytes, ms: last - start, firstRecordMs: first - start }),
  };
  return c;
}

function deadline<T>(what: string, promise: Promise<T>, ms: number, progress: () => string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms with ${progress()}`)), ms); }),
  ]);
}

async function kafkajsConsume(opts: BareOptions, timeoutMs: number): Promise<BareResult> {
  const { Kafka, logLevel } = await import('kafkajs');
  const { ownedPartitionsAssigner } = await import('../../src/task/source-kafkajs.ts');
  const count = counter(opts.expected);
  const consumer = new Kafka({ brokers: opts.brokers, clientId: 'bare-kafkajs', logLevel: logLevel.NOTHING }).consumer({
    groupId: `bare-kafkajs-${randomUUID()}`,
    partitionAssigners: [ownedPartitionsAssigner(opts.topic, opts.partitions)],
    readUncommitted: false,
    maxBytesPerPartition: opts.fetch.maxBytesPerPartition,
    maxBytes: opts.fetch.maxBytes,
    minBytes: opts.fetch.minBytes,
    maxWaitTimeInMs: opts.fetch.maxWaitMs,
  });
  let crashed: Error | undefined;
  consumer.on(consumer.events.CRASH, ({ payload }) => { crashed = payload.error; });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: opts.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => { for (const m of batch.messages) count.add(m.value); },
    });
    await deadline('bare kafkajs consumer', count.done, timeoutMs, () => `${count.records} of ${opts.expected} records${crashed ? `; crashed: ${crashed.message}` : ''}`);
    return count.result();
  } finally {
    await consumer.disconnect();
  }
}

async function platformaticFetch(opts: BareOptions, timeoutMs: number): Promise<BareResult> {
  const { Consumer, FetchIsolationLevels, ListOffsetTimestamps } = await import('@platformatic/kafka');
  const count = counter(opts.expected);
  const consumer = new Consumer({ clientId: 'bare-platformatic', groupId: `bare-platformatic-${randomUUID()}`, bootstrapBrokers: opts.brokers, retries: 3 });
  const { topic, partitions } = opts;
  let stopped = false;
  const run = async () => {
    // From the log start: 0 on a topic nothing was deleted from.
    const earliest = (await consumer.listOffsets({ topics: [topic], partitions: { [topic]: partitions }, timestamp: ListOffsetTimestamps.EARLIEST })).get(topic)!;
    const next = new Map(partitions.map((p) => [p, earliest[p] ?? 0n]));
    while (!stopped && count.records < opts.expected) {
      const meta = await consumer.metadata({ topics: [topic] });
      const t = meta.topics.get(topic)!;
      const byLeader = new Map<number, number[]>();
      for (const p of partitions) byLeader.set(t.partitions[p]!.leader, [...(byLeader.get(t.partitions[p]!.leader) ?? []), p]);
      const responses = await Promise.all([...byLeader].map(([node, ps]) => consumer.fetch({
        node,
        topics: [{ topicId: t.id, partitions: ps.map((p) => ({ partition: p, fetchOffset: next.get(p)!, partitionMaxBytes: opts.fetch.maxBytesPerPartition, currentLeaderEpoch: -1, lastFetchedEpoch: -1 })) }],
        minBytes: opts.fetch.minBytes, maxBytes: opts.fetch.maxBytes, maxWaitTime: opts.fetch.maxWaitMs, isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      })));
      for (const response of responses) {
        for (const topicResponse of response.responses) {
          for (const part of topicResponse.partitions) {
            const batches = part.records;
            if (!batches || batches.length === 0) continue;
            const from = next.get(part.partitionIndex)!;
            for (const batch of batches) {
              if (batch.attributes & CONTROL) continue;
              for (const r of batch.records) if (batch.firstOffset + BigInt(r.offsetDelta) >= from) count.add(r.value);
            }
            const last = batches[batches.length - 1]!;
            next.set(part.partitionIndex, last.firstOffset + BigInt(last.lastOffsetDelta) + 1n);
          }
        }
      }
    }
  };
  try {
    await deadline('bare platformatic consumer', Promise.all([run(), count.done]), timeoutMs, () => `${count.records} of ${opts.expected} records`);
    return count.result();
  } finally {
    stopped = true;
    await consumer.close();
  }
}

async function platformaticStream(opts: BareOptions, timeoutMs: number): Promise<BareResult> {
  const { Consumer } = await import('@platformatic/kafka');
  const count = counter(opts.expected);
  const consumer = new Consumer({ clientId: 'bare-platformatic-stream', groupId: `bare-platformatic-${randomUUID()}`, bootstrapBrokers: opts.brokers, retries: 3 });
  try {
    const stream = await consumer.consume({
      topics: [opts.topic], mode: 'earliest', autocommit: false,
      maxBytesPerPartition: opts.fetch.maxBytesPerPartition, maxBytes: opts.fetch.maxBytes, minBytes: opts.fetch.minBytes, maxWaitTime: opts.fetch.maxWaitMs,
    });
    const wanted = new Set(opts.partitions);
    stream.on('data', (m: { partition: number; value: Buffer }) => { if (wanted.has(m.partition)) count.add(m.value); });
    const failed = new Promise<never>((_, reject) => stream.once('error', reject));
    await deadline('bare platformatic stream consumer', Promise.race([count.done, failed]), timeoutMs, () => `${count.records} of ${opts.expected} records`);
    await stream.close();
    return count.result();
  } finally {
    await consumer.close(true);
  }
}

async function main(): Promise<void> {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({
    options: {
      client: { type: 'string' }, topic: { type: 'string' }, expected: { type: 'string' },
      brokers: { type: 'string', default: process.env.HIVE_KAFKA_BROKERS ?? '127.0.0.1:9092' },
      partitions: { type: 'string' }, api: { type: 'string', default: 'fetch' },
    },
  });
  const usage = 'usage: tsx test/bench/bare-consumer.ts --client kafkajs|platformatic --topic T --expected N [--brokers host:port] [--partitions 0,1] [--api fetch|stream]';
  if ((values.client !== 'kafkajs' && values.client !== 'platformatic') || !values.topic || !values.expected) throw new Error(usage);
  if (values.api !== 'fetch' && values.api !== 'stream') throw new Error(usage);
  const brokers = values.brokers!.split(',');
  let partitions = values.partitions?.split(',').map(Number);
  if (!partitions) {
    const { Kafka, logLevel } = await import('kafkajs');
    const admin = new Kafka({ brokers, clientId: 'bare-admin', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: [values.topic] });
    await admin.disconnect();
    partitions = meta.topics[0]!.partitions.map((p) => p.partitionId).sort((a, b) => a - b);
  }
  const r = await bareConsume({ client: values.client, brokers, topic: values.topic, partitions, expected: Number(values.expected), fetch: FETCH_SETTINGS, platformaticApi: values.api });
  const s = r.ms / 1000;
  console.log(JSON.stringify({
    client: values.client, ...(values.client === 'platformatic' ? { api: values.api } : {}), ...r, ms: Math.round(r.ms), firstRecordMs: Math.round(r.firstRecordMs),
    msgsPerS: Math.round(r.records / s), mbPerS: Number((r.bytes / 2 ** 20 / s).toFixed(1)),
    steadyMsgsPerS: Math.round(r.records / ((r.ms - r.firstRecordMs) / 1000)),
  }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(() => process.exit(0), (e: Error) => { console.error(e.message); process.exit(1); });
}
