// The @platformatic/kafka source. It joins no consumer group to read: the owned partitions are read
// with the client's low-level Consumer.fetch(), one request per partition leader, from offsets this
// source keeps itself (the ledger's at start). A response is handed over partition by partition, each
// onRecords awaited, before the next fetch is sent, so at most one response (FETCH_SETTINGS.maxBytes)
// is in memory while a batch commits.
//
// Why not the library's MessagesStream (consume() in MANUAL mode with offsets):
// - it reads the group's assignment, and a group's only member is given every partition of the topic
//   whatever the partitionAssigner says (Consumer, "We are the only member of the group"); a task
//   has a group of its own per epoch, so it would read partitions it does not own;
// - its read_committed filter (Consumer #filterUncommittedMessages, 1.35.0) lets aborted records
//   through when the abort marker is not in the same fetch response as the records, and when one
//   producer aborted two transactions within one response (it keeps one range per producer).
// So records are filtered here as the Java consumer does: the response's abortedTransactions, in
// offset order, mark a producer aborted from the transaction's first offset to its abort marker.
// The library's own filter still runs first; it only ever removes records of aborted transactions.
//
// Group offsets are written after each ledger commit for monitoring only, through the admin API as a
// group without members (generation -1, as Java's assign() consumers do); nothing reads them back.
import { Admin, Consumer, FetchIsolationLevels, ListOffsetTimestamps, type ConnectionOptions, type fetchV17, type RecordsBatch, type SASLOptions } from '@platformatic/kafka';
import { FETCH_SETTINGS, type PartitionSource, type SourceOptions, type SourceRecord } from './source.ts';
import { CommittedFilter, TIMESTAMP_LOG_APPEND, type AbortedTransaction } from './record-batches.ts';

type FetchResponse = fetchV17.FetchResponse;

/** Consecutive failed fetch rounds (each after the client's own retries) before the task is failed. */
const ROUND_ATTEMPTS = 4;

/**
 * The records of one partition's fetch response a read_committed consumer sees, from offset `from` on:
 * no control records, no records of aborted transactions. With read_uncommitted the broker sends no
 * aborted transactions, so only control records and records below `from` are dropped.
 */
export function committedRecords(batches: readonly RecordsBatch[], abortedTransactions: readonly AbortedTransaction[], from: bigint): SourceRecord[] {
  const filter = new CommittedFilter(abortedTransactions);
  const out: SourceRecord[] = [];
  for (const batch of batches) {
    if (!filter.keeps(batch.firstOffset + BigInt(batch.lastOffsetDelta), batch.attributes, batch.producerId, () => batch.records[0]?.key)) continue;
    const logAppendTime = (batch.attributes & TIMESTAMP_LOG_APPEND) !== 0;
    for (const r of batch.records) {
      const offset = batch.firstOffset + BigInt(r.offsetDelta);
      if (offset < from) continue; // a fetch starting inside a batch gets the whole batch
      const record: SourceRecord = { offset: Number(offset), value: r.value ?? null, timestamp: Number(logAppendTime ? batch.maxTimestamp : batch.firstTimestamp + r.timestampDelta), key: r.key ?? null };
      if (r.headers.length > 0) record.headers = headerMap(r.headers);
      out.push(record);
    }
  }
  return out;
}

function headerMap(headers: readonly [Buffer | null, Buffer | null][]): Map<string, Buffer> {
  const map = new Map<string, Buffer>();
  for (const [name, value] of headers) if (name) map.set(name.toString('utf8'), value ?? Buffer.alloc(0));
  return map;
}

const MECHANISMS: Record<string, SASLOptions['mechanism']> = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' };

/** Connection settings of both clients this source makes (fetching, and group offsets). */
export function platformaticConnection(o: Pick<SourceOptions, 'brokers' | 'auth' | 'clientOverrides'>): ConnectionOptions & { bootstrapBrokers: string[]; retries: number; retryDelay: (client: unknown, op: string, attempt: number) => number } {
  const { ssl, sasl } = o.auth;
  const options: ReturnType<typeof platformaticConnection> = {
    bootstrapBrokers: o.brokers,
    // Retries inside the client, per request; the fetch loop adds its own rounds on top.
    retries: 3,
    retryDelay: (_client, _op, attempt) => Math.min(250 * 2 ** (attempt - 1), 2000),
  };
  if (ssl) options.tls = {};
  if (sasl) {
    const mechanism = MECHANISMS[sasl.mechanism];
    if (!mechanism || !('username' in sasl) || !('password' in sasl)) {
      throw new Error(`credentials profile: sasl.mechanism '${sasl.mechanism}' cannot be used with kafkaClient 'platformatic' (it takes ${Object.keys(MECHANISMS).join(', ')} with sasl.username and sasl.password); use kafkaClient 'kafkajs'`);
    }
    options.sasl = { mechanism, username: sasl.username, password: sasl.password };
  }
  const timeout = Number(o.clientOverrides['request.timeout.ms']);
  if (Number.isFinite(timeout) && timeout > 0) options.requestTimeout = timeout;
  return options;
}

/** A readable message out of the client's nested errors (MultipleErrors of ProtocolErrors). */
export function describe(error: unknown, depth = 0): string {
  const e = error as Error & { apiId?: string; errors?: unknown[] };
  const own = e?.apiId ? `${e.apiId}: ${e.message}` : String(e?.message ?? e);
  if (!Array.isArray(e?.errors) || e.errors.length === 0 || depth > 3) return own;
  const causes = [...new Set(e.errors.map((c) => describe(c, depth + 1)))];
  return `${own} (${causes.join('; ')})`;
}

function isOffsetOutOfRange(error: unknown): boolean {
  return Boolean((error as { findBy?: (k: string, v: unknown) => unknown }).findBy?.('apiId', 'OFFSET_OUT_OF_RANGE'));
}

export class PlatformaticSource implements PartitionSource {
  private consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  private admin: Admin | undefined;
  /** Next offset to fetch per owned partition: everything below it has been handed over. */
  private readonly next: Map<number, bigint>;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Ends the wait for a fetch in flight when stopping; the client's retries may take seconds. */
  private abandonFetch: (() => void) | undefined;
  /** Group offsets waiting to be written, latest per partition; one admin request at a time. */
  private readonly groupOffsets = new Map<number, number>();
  private groupCommit: Promise<void> | undefined;

  constructor(private readonly o: SourceOptions) {
    this.next = new Map(o.partitions.map((p) => [p, BigInt(o.startOffsets.get(p) ?? 0)]));
  }

  async start(): Promise<void> {
    const o = this.o;
    const connection = platformaticConnection(o);
    const clientId = `hive-kafka-${o.groupId}`;
    this.consumer = new Consumer({ ...connection, clientId, groupId: o.groupId });
    this.admin = new Admin({ ...connection, clientId: `${clientId}-offsets` });
    // Connects, authenticates and finds the topic now: a wrong broker, profile or topic fails start().
    await this.leaders();
    this.loop = this.run().catch((e: unknown) => {
      // Fetch failures arrive here described; an onRecords failure comes from a task that has
      // usually failed, and stopped this source, already.
      if (!this.stopping) this.o.onCrash(e instanceof Error ? e : new Error(String(e)));
    });
  }

  async committed(partition: number, nextOffset: number): Promise<void> {
    if (this.stopping || !this.admin) return;
    this.groupOffsets.set(partition, nextOffset);
    // Not awaited by the task: a slow or failing group commit must not hold the next batch back.
    this.groupCommit ??= this.writeGroupOffsets().finally(() => { this.groupCommit = undefined; });
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      this.wake?.();
      this.abandonFetch?.();
      // The loop ends at once unless it is handing records over: then after that onRecords.
      await this.loop;
      // A group commit in flight is not waited for (monitoring only; its retries could take seconds).
      await Promise.all([this.consumer?.close(), this.admin?.close()].map((p) => p?.catch(() => undefined)));
    })();
    return this.stopped;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      let responses: FetchResponse[];
      try {
        const round = this.fetchRound();
        round.catch(() => undefined); // abandoned on stop: its failure matters to no one
        const abandoned = new Promise<undefined>((resolve) => { this.abandonFetch = () => resolve(undefined); });
        const fetched = await Promise.race([round, abandoned]);
        this.abandonFetch = undefined;
        if (!fetched) return;
        responses = fetched;
        failures = 0;
      } catch (e) {
        if (this.stopping) return;
        if (isOffsetOutOfRange(e)) {
          await this.skipDeletedRecords(e).catch((x: unknown) => { throw new Error(`@platformatic/kafka: ${describe(x)}`); });
          continue;
        }
        if (++failures >= ROUND_ATTEMPTS) throw new Error(`@platformatic/kafka: fetching ${this.o.topic} failed ${failures} times: ${describe(e)}`);
        this.consumer!.clearMetadata(); // a moved leader shows up in fresh metadata
        await this.sleep(500 * 2 ** (failures - 1));
        continue;
      }
      for (const response of responses) {
        for (const topic of response.responses) {
          for (const part of topic.partitions) {
            const from = this.next.get(part.partitionIndex);
            const batches = part.records;
            if (from === undefined || !batches || batches.length === 0) continue;
            if (this.stopping) return;
            const records = committedRecords(batches, part.abortedTransactions ?? [], from);
            // Past the last batch, control batches and aborted records included.
            const last = batches[batches.length - 1]!;
            const end = last.firstOffset + BigInt(last.lastOffsetDelta) + 1n;
            if (records.length > 0 || end > from) await this.o.onRecords(part.partitionIndex, records, end > from ? Number(end) : undefined);
            if (end > from) this.next.set(part.partitionIndex, end);
          }
        }
      }
    }
  }

  /** Leader node of each owned partition, and the topic's id (fetch names topics by id). */
  private async leaders(): Promise<{ topicId: string; byLeader: Map<number, number[]> }> {
    const { topic, partitions } = this.o;
    const meta = await this.consumer!.metadata({ topics: [topic] });
    const t = meta.topics.get(topic);
    if (!t) throw new Error(`topic ${topic} is not in the metadata of ${this.o.brokers.join(',')}`);
    const byLeader = new Map<number, number[]>();
    for (const p of partitions) {
      const leader = t.partitions[p]?.leader;
      if (leader === undefined) throw new Error(`topic ${topic} has no partition ${p} (it has ${t.partitionsCount})`);
      if (leader < 0) throw new Error(`partition ${p} of ${topic} has no leader`);
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
    }
    return { topicId: t.id, byLeader };
  }

  private async fetchRound(): Promise<FetchResponse[]> {
    const { topicId, byLeader } = await this.leaders();
    const isolationLevel = this.o.readUncommitted ? FetchIsolationLevels.READ_UNCOMMITTED : FetchIsolationLevels.READ_COMMITTED;
    return Promise.all([...byLeader].map(([node, ps]) => this.consumer!.fetch({
      node,
      topics: [{ topicId, partitions: ps.map((p) => ({ partition: p, fetchOffset: this.next.get(p)!, partitionMaxBytes: FETCH_SETTINGS.maxBytesPerPartition, currentLeaderEpoch: -1, lastFetchedEpoch: -1 })) }],
      minBytes: FETCH_SETTINGS.minBytes,
      maxBytes: FETCH_SETTINGS.maxBytes,
      maxWaitTime: FETCH_SETTINGS.maxWaitMs,
      isolationLevel,
    })));
  }

  /**
   * OFFSET_OUT_OF_RANGE: a partition whose next offset fell below the log start (retention deleted the
   * records) continues at the log start, as the kafkajs source does. An offset beyond the log end
   * (a topic recreated under the same name, or a truncated log) fails the task: the ledger knows of
   * records Kafka no longer has, and guessing would skip or repeat records.
   */
  private async skipDeletedRecords(cause: unknown): Promise<void> {
    const { topic, partitions } = this.o;
    const earliest = (await this.consumer!.listOffsets({ topics: [topic], partitions: { [topic]: [...partitions] }, timestamp: ListOffsetTimestamps.EARLIEST })).get(topic) ?? [];
    const latest = (await this.consumer!.listOffsets({ topics: [topic], partitions: { [topic]: [...partitions] }, timestamp: ListOffsetTimestamps.LATEST })).get(topic) ?? [];
    let moved = false;
    for (const p of partitions) {
      const at = this.next.get(p)!;
      const start = earliest[p];
      const end = latest[p];
      if (start !== undefined && at < start) { this.next.set(p, start); moved = true; }
      else if (end !== undefined && at > end) {
        throw new Error(`partition ${p} of ${topic}: the next offset ${at} is beyond the log end ${end}; was the topic recreated? (${describe(cause)})`);
      }
    }
    if (!moved) throw new Error(`@platformatic/kafka: fetching ${topic}: ${describe(cause)}`);
  }

  private async writeGroupOffsets(): Promise<void> {
    while (this.groupOffsets.size > 0 && !this.stopping) {
      const offsets = [...this.groupOffsets];
      this.groupOffsets.clear();
      await this.admin!.alterConsumerGroupOffsets({
        groupId: this.o.groupId,
        topics: [{ name: this.o.topic, partitionOffsets: offsets.map(([partition, offset]) => ({ partition, offset: BigInt(offset) })) }],
      }).catch(() => undefined); // monitoring only
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake = undefined; resolve(); }, ms);
      this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve(); };
    });
  }
}
