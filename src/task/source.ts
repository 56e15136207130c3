// What a task reads Kafka through: a fixed set of partitions of one topic, from the ledger's offsets,
// each record handed over once. Chosen by the service config's kafkaClient: a fetch loop a worker's
// tasks share (fetcher.ts), or a client per task: source-kafkajs.ts (kafkajs) or source-platformatic.ts.
import type { KafkaAuth } from './kafka-auth.ts';

export interface SourceRecord {
  offset: number;
  value: Buffer | null;
  /** Epoch milliseconds. */
  timestamp: number;
  key: Buffer | null;
  /** Only when the record has headers; the last value wins when a name repeats. */
  headers?: ReadonlyMap<string, Buffer>;
}

export interface SourceOptions {
  brokers: string[];
  topic: string;
  partitions: readonly number[];
  groupId: string;
  readUncommitted: boolean;
  /** Extra client settings from kafka.extra.propertie.*; only the ones the client understands apply. */
  clientOverrides: Record<string, string>;
  /** ssl/sasl from the table's credentials profile. */
  auth: KafkaAuth;
  /** Where each partition starts: the ledger's next offsets. */
  startOffsets: ReadonlyMap<number, number>;
  /**
   * Awaited: nothing more is fetched until it resolves (backpressure while a batch commits).
   * `readTo`: every offset below it was read, the last records' transaction markers and aborted
   * records included (records may then be empty). The kafkajs client passes it only with records:
   * kafkajs hands over no batch without them.
   */
  onRecords(partition: number, records: SourceRecord[], readTo?: number): Promise<void>;
  /**
   * The partition's next offsets were deleted (retention, DeleteRecords) and the source moves on to
   * the log start. Awaited before the partition is fetched again, so the task records the gap (or
   * stops at it) at once, even when no record follows. Only the shared fetch loop calls it; the
   * per-task clients move on silently, and the task sees the gap at the next record.
   */
  onLogStartMoved?(partition: number, logStart: number): Promise<void>;
  /**
   * The partition's next batch cannot be read (src/task/record-batches.ts), after the records before it
   * were handed over; the source stops after it settles. Only the shared fetch loop calls it, so that
   * the task commits what it holds and stops exactly there.
   */
  onUnreadable?(partition: number, error: Error): Promise<void>;
  /** The source gave up (broker or connection failure after its retries); the supervisor restarts the task. */
  onCrash(error: Error): void;
}

export interface PartitionSource {
  start(): Promise<void>;
  /** After a ledger commit: where to resume from, and the group offset for lag monitoring only. */
  committed(partition: number, nextOffset: number): Promise<void>;
  stop(): Promise<void>;
}

/** 'shared': one fetch loop per worker thread and Kafka cluster (fetcher.ts); the others: a client per task. */
export const KAFKA_CLIENTS = ['shared', 'kafkajs', 'platformatic'] as const;
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

/** Fetch settings of both sources, and of the bare consumers the benchmark compares them with. */
export const FETCH_SETTINGS = {
  maxBytesPerPartition: 8 << 20,
  maxBytes: 64 << 20,
  // The broker holds a fetch until 1 MiB or 250 ms: a table receiving a trickle is fetched 4 times a
  // second, not once per produce request (what made 100 quiet tables use both cores).
  minBytes: 1 << 20,
  maxWaitMs: 250,
} as const;

/** Each client is loaded only when a task uses it. */
export async function openSource(client: Exclude<KafkaClientName, 'shared'>, options: SourceOptions): Promise<PartitionSource> {
  if (client === 'platformatic') {
    const { PlatformaticSource } = await import('./source-platformatic.ts');
    return new PlatformaticSource(options);
  }
  const { KafkajsSource } = await import('./source-kafkajs.ts');
  return new KafkajsSource(options);
}
