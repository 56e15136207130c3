// The cluster's portable, fenced state: one compacted Kafka topic holding, per table, who claimed it
// last, per Kafka partition, the next offset and the batch recorded but maybe not published, and the
// id of the Kafka cluster those offsets belong to.
// Every write is a Kafka transaction of the table's own transactional.id
// (hive-kafka.<cluster>.table.<id>): a new owner's first transaction bumps the producer epoch, and
// from then on every write of an earlier owner fails (INVALID_PRODUCER_EPOCH), even one already
// begun. That is the fence: an instance that lost a table can no longer record an intent, so it can
// never publish a file, register a partition or move an offset for it (README, "Several instances").
import { hostname } from 'node:os';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { PortablePartition } from '../ledger/ledger.ts';

/** Raised where a write of a table this instance no longer owns was refused. Not retriable here. */
export class OwnershipLostError extends Error {
  override readonly name = 'OwnershipLostError';
  readonly retriable = false;
  constructor(readonly tableId: number, detail: string) {
    super(`table ${tableId}: this instance no longer owns it (${detail}); its new owner goes on from the last committed offset`);
  }
}

export interface Claim { owner: string; generation: number; at: number }

type Entry = { kind: 'claim'; claim: Claim } | { kind: 'partition'; partition: number; state: PortablePartition; owner: string }
  | { kind: 'source'; kafkaCluster: string };

const claimKey = (tableId: number) => `t${tableId}`;
const partitionKey = (tableId: number, partition: number) => `t${tableId}/p${partition}`;
const sourceKey = (tableId: number) => `t${tableId}/source`;
const keyRe = /^t(\d+)(?:\/p(\d+)|\/(source))?$/;

const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', 'INVALID_PRODUCER_ID_MAPPING']);

interface Held { token: number; producer: Producer; chain: Promise<unknown> }

export interface StateLogOptions {
  brokers: string[];
  cluster: string;
  instanceId: string;
  topic: string;
  log: Logger;
  /** A transaction left open by an owner that froze mid-write holds readers back at most this long. */
  transactionTimeoutMs?: number;
}

export class StateLog {
  private readonly kafka: Kafka;
  private readonly held = new Map<number, Held>();
  private readonly claims = new Map<number, Claim>();
  private readonly partitions = new Map<number, Map<number, PortablePartition>>();
  private readonly sources = new Map<number, string>();
  private tail: Consumer | undefined;
  /** Offsets of our own claim records still to be seen by the tail, and who waits for them. */
  private readonly waiting = new Map<number, () => void>();
  private nextToken = 1;
  private applied = -1;

  constructor(private readonly opts: StateLogOptions) {
    // Short retries: a transaction begun right after the last one commits meets CONCURRENT_TRANSACTIONS
    // until the broker wrote the markers (milliseconds); kafkajs's default first wait is 300 ms.
    this.kafka = new Kafka({ clientId: `hive-kafka-${opts.instanceId}`, brokers: opts.brokers, logLevel: logLevel.NOTHING,
      retry: { initialRetryTime: 20, maxRetryTime: 2000, retries: 10 } });
  }

  async start(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(this.opts.topic)) {
        // Compacted: the latest record per table and partition is all a new owner needs.
        await admin.createTopics({ waitForLeaders: true, topics: [{ topic: this.opts.topic, numPartitions: 1, configEntries: [
          { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.ms', value: '60000' }, { name: 'min.cleanable.dirty.ratio', value: '0.1' },
        ] }] }).catch((e: Error) => { if (!/already exists/i.test(e.message)) throw e; });
      }
    } finally {
      await admin.disconnect();
    }
    // Every instance follows the whole log: a table it gains is caught up in moments, and status
    // can name the owner of every table. A group of its own, read from the start each time.
    // A short wait: a new owner waits for the tail to read its own claim.
    this.tail = this.kafka.consumer({ groupId: `${this.opts.topic}.reader.${hostname()}.${process.pid}.${Date.now()}`, readUncommitted: false, maxWaitTimeInMs: 100 });
    await this.tail.connect();
    await this.tail.subscribe({ topic: this.opts.topic, fromBeginning: true });
    await this.tail.run({ eachMessage: async ({ message }) => this.apply(message.key?.toString() ?? '', message.value, Number(message.offset)) });
  }

  private apply(key: string, value: Buffer | null, offset: number): void {
    const m = keyRe.exec(key);
    if (m) {
      const tableId = Number(m[1]);
      if (value === null) { if (m[2] === undefined && m[3] === undefined) { this.claims.delete(tableId); this.partitions.delete(tableId); this.sources.delete(tableId); } }
      else {
        const entry = JSON.parse(value.toString()) as Entry;
        if (entry.kind === 'claim') this.claims.set(tableId, entry.claim);
        else if (entry.kind === 'source') this.sources.set(tableId, entry.kafkaCluster);
        else {
          let parts = this.partitions.get(tableId);
          if (!parts) this.partitions.set(tableId, parts = new Map());
          parts.set(entry.partition, entry.state);
        }
      }
    }
    this.applied = offset;
    for (const [at, done] of this.waiting) if (at <= offset) { this.waiting.delete(at); done(); }
  }

  /** The last claim of each table, by instance and group generation. */
  owners(): ReadonlyMap<number, Claim> { return this.claims; }

  /** Partitions the log knows of a table (the leader spreads tables by it). */
  partitionCount(tableId: number): number { return this.partitions.get(tableId)?.size ?? 0; }

  /**
   * Takes the table: a first transaction under its transactional.id fences every earlier owner and
   * aborts a transaction one left open. Resolves once the tail has read up to that claim, so the
   * state returned includes everything any earlier owner committed. Returns the claim's token,
   * which every later write must carry: a write of an earlier claim of this same instance is refused.
   */
  async claim(tableId: number, generation: number): Promise<{ token: number; partitions: Map<number, PortablePartition>; kafkaCluster: string | undefined }> {
    await this.release(tableId);
    const producer = this.kafka.producer({
      transactionalId: `hive-kafka.${this.opts.cluster}.table.${tableId}`, idempotent: true, maxInFlightRequests: 1,
      transactionTimeout: this.opts.transactionTimeoutMs ?? 10_000,
    });
    await producer.connect();
    const held: Held = { token: this.nextToken++, producer, chain: Promise.resolve() };
    this.held.set(tableId, held);
    const claim: Claim = { owner: this.opts.instanceId, generation, at: Date.now() };
    const offset = await this.send(tableId, held, [{ key: claimKey(tableId), entry: { kind: 'claim', claim } }]);
    await new Promise<void>((resolve, reject) => {
      if (offset <= this.applied) { resolve(); return; }
      const timer = setTimeout(() => { this.waiting.delete(offset); reject(new Error(`table ${tableId}: the state log ${this.opts.topic} was not read up to this claim (offset ${offset}) within 60 s`)); }, 60_000);
      this.waiting.set(offset, () => { clearTimeout(timer); resolve(); });
    });
    return { token: held.token, partitions: new Map(this.partitions.get(tableId) ?? []), kafkaCluster: this.sources.get(tableId) };
  }

  /** Records partitions' states in one transaction under the claim `token`; fails with OwnershipLostError once fenced. */
  async write(tableId: number, token: number, states: ReadonlyMap<number, PortablePartition>): Promise<void> {
    const held = this.held.get(tableId);
    if (!held || held.token !== token) throw new OwnershipLostError(tableId, 'its claim was given up or replaced');
    if (states.size === 0) return;
    await this.send(tableId, held, [...states].map(([partition, state]) => ({ key: partitionKey(tableId, partition), entry: { kind: 'partition', partition, state, owner: this.opts.instanceId } })));
  }

  /** Records, under the claim `token`, the id of the Kafka cluster the table's offsets belong to. */
  async writeSource(tableId: number, token: number, kafkaCluster: string): Promise<void> {
    const held = this.held.get(tableId);
    if (!held || held.token !== token) throw new OwnershipLostError(tableId, 'its claim was given up or replaced');
    await this.send(tableId, held, [{ key: sourceKey(tableId), entry: { kind: 'source', kafkaCluster } }]);
  }

  /**
   * After a DROP, under the claim `token`: a tombstone for the table's claim and each of its partitions,
   * so that compaction removes them and no member reads a dropped table's state at every start.
   */
  async forget(tableId: number, token: number): Promise<void> {
    const held = this.held.get(tableId);
    if (!held || held.token !== token) throw new OwnershipLostError(tableId, 'its claim was given up or replaced');
    const partitions = [...(this.partitions.get(tableId)?.keys() ?? [])];
    const source = this.sources.has(tableId) ? [{ key: sourceKey(tableId), entry: null }] : [];
    await this.send(tableId, held, [...partitions.map((p) => ({ key: partitionKey(tableId, p), entry: null })), ...source, { key: claimKey(tableId), entry: null }]);
  }

  /** The token of this instance's current claim of the table, if it holds one. */
  tokenOf(tableId: number): number | undefined { return this.held.get(tableId)?.token; }

  private send(tableId: number, held: Held, records: { key: string; entry: Entry | null }[]): Promise<number> {
    // One transaction at a time per table: a transactional producer allows no other.
    const run = held.chain.then(async () => {
      const tx = await held.producer.transaction();
      try {
        const [meta] = await tx.send({ topic: this.opts.topic, messages: records.map((r) => ({ key: r.key, value: r.entry === null ? null : JSON.stringify(r.entry) })) });
        await tx.commit();
        return Number(meta?.baseOffset ?? -1);
      } catch (e) {
        await tx.abort().catch(() => undefined);
        const type = (e as { type?: string }).type ?? '';
        if (FENCED.has(type)) {
          if (this.held.get(tableId) === held) this.held.delete(tableId);
          void held.producer.disconnect().catch(() => undefined);
          throw new OwnershipLostError(tableId, `another instance claimed it: ${type}`);
        }
        throw e;
      }
    });
    held.chain = run.catch(() => undefined);
    return run;
  }

  /** Gives up this instance's claim (after its tasks stopped): nothing more is written for the table. */
  async release(tableId: number): Promise<void> {
    const held = this.held.get(tableId);
    if (!held) return;
    this.held.delete(tableId);
    await held.chain;
    await held.producer.disconnect().catch(() => undefined);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.held.keys()].map((id) => this.release(id)));
    // Bounded: a reader's disconnect leaves its own group, which nothing else waits for.
    await Promise.race([this.tail?.disconnect().catch(() => undefined), new Promise((r) => setTimeout(r, 3000).unref())]);
  }
}
