// The kafkajs source. Reads a fixed set of partitions of one topic from given offsets. kafkajs has no
// assign(), so the task joins its own consumer group with an assigner that hands the owned partitions
// to every member, and seeks to the ledger's offsets whenever it joins. Group offsets are committed
// after each ledger commit for monitoring tools only; nothing reads them back.
import { AssignerProtocol, Kafka, logLevel, type Consumer, type GroupMember, type KafkaConfig, type PartitionAssigner, type IHeaders } from 'kafkajs';
import { FETCH_SETTINGS, type PartitionSource, type SourceOptions, type SourceRecord } from './source.ts';

const ASSIGNER_NAME = 'HiveKafkaOwnedPartitions';

export function ownedPartitionsAssigner(topic: string, partitions: readonly number[]): PartitionAssigner {
  // Every member gets every owned partition: a hung predecessor still in the group must not be able
  // to take them away from its successor. The ledger's epoch fencing keeps one writer per partition.
  return () => ({
    name: ASSIGNER_NAME,
    version: 1,
    async assign({ members }: { members: GroupMember[] }) {
      return members.map((m) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: { [topic]: [...partitions] }, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }: { topics: string[] }) {
      return { name: ASSIGNER_NAME, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
    },
  });
}

function clientConfig(o: SourceOptions): KafkaConfig {
  const timeout = Number(o.clientOverrides['request.timeout.ms']);
  return {
    brokers: o.brokers,
    clientId: `hive-kafka-${o.groupId}`,
    logLevel: logLevel.NOTHING,
    ...o.auth,
    ...(Number.isFinite(timeout) ? { requestTimeout: timeout } : {}),
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 10_000 },
  };
}

export class KafkajsSource implements PartitionSource {
  private consumer: Consumer | undefined;
  /** Offsets to resume from: the ledger's, moved forward as batches commit. */
  private readonly resumeAt: Map<number, number>;
  /** Next offset not yet handed to the task, per partition. */
  private readonly consumedNext = new Map<number, number>();

  constructor(private readonly o: SourceOptions) {
    this.resumeAt = new Map(o.startOffsets);
  }

  async start(): Promise<void> {
    const o = this.o;
    const session = Number(o.clientOverrides['session.timeout.ms']);
    const consumer = new Kafka(clientConfig(o)).consumer({
      groupId: o.groupId,
      partitionAssigners: [ownedPartitionsAssigner(o.topic, o.partitions)],
      readUncommitted: o.readUncommitted,
      maxBytesPerPartition: FETCH_SETTINGS.maxBytesPerPartition,
      maxBytes: FETCH_SETTINGS.maxBytes,
      minBytes: FETCH_SETTINGS.minBytes,
      maxWaitTimeInMs: FETCH_SETTINGS.maxWaitMs,
      ...(Number.isFinite(session) ? { sessionTimeout: session } : {}),
      // The supervisor restarts a crashed task from the ledger. kafkajs's own restart is scheduled after
      // the CRASH event that our stop() answers, so it brought back a consumer no one could stop.
      retry: { retries: 5, restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const p of o.partitions) {
        const at = Math.max(this.resumeAt.get(p) ?? 0, this.consumedNext.get(p) ?? 0);
        consumer.seek({ topic: o.topic, partition: p, offset: String(at) });
      }
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => o.onCrash(payload.error));
    await consumer.connect();
    await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, isStale, isRunning, resolveOffset }) => {
        if (!isRunning() || isStale()) return;
        const p = batch.partition;
        // Never hand a record over twice: below the resume point it is committed already (a seek may
        // not have landed yet), below the consumed point it is in the task's buffer.
        const expected = Math.max(this.resumeAt.get(p) ?? 0, this.consumedNext.get(p) ?? 0);
        const records = batch.messages
          .map((m): SourceRecord => {
            const record: SourceRecord = { offset: Number(m.offset), value: m.value, timestamp: Number(m.timestamp), key: m.key ?? null };
            if (m.headers && Object.keys(m.headers).length > 0) record.headers = headerMap(m.headers);
            return record;
          })
          .filter((r) => r.offset >= expected);
        // kafkajs calls eachBatch only for a batch with records, and keeps its control records and aborted
        // records in it (filtered out of messages): lastOffset() is the last offset it read, markers included.
        const readTo = Number(batch.lastOffset()) + 1;
        if (records.length > 0 || readTo > expected) {
          await o.onRecords(p, records, readTo > expected ? readTo : undefined);
          this.consumedNext.set(p, readTo); // never below the last record's offset + 1: that record is in the batch
        }
        // Moves kafkajs's in-memory position only; offsets are committed to the group after the ledger.
        resolveOffset(batch.lastOffset());
      },
    });
  }

  /** After a ledger commit: remember where to resume and tell the group, for lag monitoring. */
  async committed(partition: number, nextOffset: number): Promise<void> {
    this.resumeAt.set(partition, Math.max(this.resumeAt.get(partition) ?? 0, nextOffset));
    await this.consumer?.commitOffsets([{ topic: this.o.topic, partition, offset: String(nextOffset) }]).catch(() => undefined);
  }

  async stop(): Promise<void> {
    const c = this.consumer;
    this.consumer = undefined;
    await c?.disconnect();
  }
}

function headerMap(headers: IHeaders): Map<string, Buffer> {
  const map = new Map<string, Buffer>();
  for (const [name, value] of Object.entries(headers)) {
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) map.set(name, Buffer.isBuffer(last) ? last : Buffer.from(last));
  }
  return map;
}
