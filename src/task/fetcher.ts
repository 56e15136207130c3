// One fetch loop per Kafka connection, shared by every task of a worker thread that reads that cluster
// the same way (architecture seam 4, after kafkajs's consumer/fetchManager.js and fetcher.js). A task
// registers a source: some partitions of one topic, their next offsets, its onRecords. The loop sends
// one Fetch per partition leader naming every registered partition of that leader that is idle, each
// at its own next offset, and hands each partition's records to its registration. A partition whose
// onRecords has not resolved is left out of the following requests while the others go on being
// fetched: a slow task holds back its own partitions only (kafkajs's fetcher instead waits until the
// whole response is processed before it fetches from that broker again).
//
// Memory: a partition holds at most one undelivered slice of a response, of at most
// FETCH_SETTINGS.maxBytesPerPartition (or one record batch, which the broker sends whole even when it
// is larger), and a leader has at most one response in flight, of at most FETCH_SETTINGS.maxBytes. So
// the fetch memory is about partitions × maxBytesPerPartition + leaders × maxBytes, whatever the tasks'
// speed (a slice's record values are views into its partition's bytes of the response, kept as long as
// it is).
//
// It sends Fetch requests through raw-fetch.ts (the records stay bytes) and decodes them with
// record-batches.ts; source-platformatic.ts says why neither a consumer group nor the library's
// MessagesStream is used.
import { Admin, FetchIsolationLevels, ListOffsetTimestamps, protocolErrors, protocolErrorsCodesById, type Broker } from '@platformatic/kafka';
import type { KafkaAuth } from './kafka-auth.ts';
import { RawFetcher, type FetchRequestTopic, type RawFetchResponse } from './raw-fetch.ts';
import { decodeCommittedRecords } from './record-batches.ts';
import { BatchReadError } from './errors.ts';
import { describe, platformaticConnection } from './source-platformatic.ts';
import { FETCH_SETTINGS, type PartitionSource, type SourceOptions, type SourceRecord } from './source.ts';

/**
 * Failed attempts of one partition (fetch, metadata, offset lookup) before its registration fails.
 * With the backoff below that is about 10 s, what a per-task source allowed (4 rounds of 4 client tries).
 */
const ATTEMPTS = 8;
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 2000;

export interface FetcherConnection { brokers: string[]; auth: KafkaAuth; clientOverrides: Record<string, string>; readUncommitted: boolean }

/** Topic id (Fetch names topics by id) and leader node per partition index, -1 while it has none. */
export interface TopicLayout { id: string; leaders: number[] }

export class UnknownTopicError extends Error {
  constructor(topic: string) { super(`unknown topic ${topic}`); }
}

/** The few Kafka calls a fetcher makes: `platformaticClient` below, or an in-memory twin in tests. */
export interface FetchClient {
  /** Fresh metadata of one topic; UnknownTopicError when the cluster does not have it. */
  topic(name: string): Promise<TopicLayout>;
  /**
   * One Fetch to `node`. Resolves even when partitions carry error codes; rejects when the request failed as a whole.
   * `answerAtOnce`: minBytes 1 and no wait, for a probe that wants what is there now (the lag probe), not a stream.
   */
  fetch(node: number, topics: FetchRequestTopic[], answerAtOnce?: boolean): Promise<RawFetchResponse>;
  /** Log start ('earliest') or log end, the high watermark ('latest'), per partition. */
  listOffsets(topic: string, partitions: readonly number[], at: 'earliest' | 'latest'): Promise<Map<number, bigint>>;
  /** Group offsets for lag monitoring, written as a group without members. */
  commitGroupOffsets(groupId: string, topic: string, offsets: ReadonlyMap<number, number>): Promise<void>;
  close(): Promise<void>;
}

export interface FetcherOptions {
  clientFactory?: (connection: FetcherConnection) => FetchClient;
  /** First delay after a failed attempt, doubling up to 2 s; tests shorten it. */
  backoffMs?: number;
  /** The last user went away: no registration, no log start lookup (the registry closes the fetcher). */
  onEmpty?: () => void;
}

/** What a task reads through: the PartitionSource contract plus its partitions' log start offsets. */
export type FetcherSource = PartitionSource & { logStartOffsets(partitions: readonly number[]): Promise<Map<number, number>> };

/**
 * The real client: raw Fetch requests on a connection pool of their own, and an Admin for metadata,
 * broker addresses, offsets and group offsets. Nothing retries a Fetch inside the client: the fetcher
 * retries per partition, so one partition's retriable error does not hold back the others.
 */
export function platformaticClient(connection: FetcherConnection): FetchClient {
  const options = platformaticConnection(connection);
  const admin = new Admin({ ...options, clientId: 'hive-kafka-fetcher-admin' });
  const brokers = new Map<number, Broker>();
  const fetcher = new RawFetcher('hive-kafka-fetcher', options, async () => (await admin.listApis()).find((a) => a.name === 'Fetch'));
  const isolationLevel = connection.readUncommitted ? FetchIsolationLevels.READ_UNCOMMITTED : FetchIsolationLevels.READ_COMMITTED;
  return {
    async topic(name) {
      try {
        const metadata = await admin.metadata({ topics: [name], forceUpdate: true });
        for (const [id, b] of metadata.brokers) brokers.set(id, { host: b.host, port: b.port });
        const t = metadata.topics.get(name);
        if (!t) throw new UnknownTopicError(name);
        return { id: t.id, leaders: Array.from({ length: t.partitionsCount }, (_, p) => t.partitions[p]?.leader ?? -1) };
      } catch (e) {
        // The client turns UNKNOWN_TOPIC_OR_PARTITION into this UserError, known by its message only.
        if (e instanceof Error && e.message === `Unknown topic ${name}.`) throw new UnknownTopicError(name);
        throw e;
      }
    },
    async fetch(node, topics, answerAtOnce = false) {
      // An unknown node fails the request; the fetcher then reads fresh metadata, with the broker's address.
      const broker = brokers.get(node);
      if (!broker) throw new Error(`broker ${node} is not in the metadata read so far`);
      return fetcher.fetch(broker, { topics, minBytes: answerAtOnce ? 1 : FETCH_SETTINGS.minBytes, maxBytes: FETCH_SETTINGS.maxBytes,
        maxWaitMs: answerAtOnce ? 0 : FETCH_SETTINGS.maxWaitMs, isolationLevel });
    },
    async listOffsets(topic, partitions, at) {
      const timestamp = at === 'earliest' ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST;
      // Admin lists with read_uncommitted: 'latest' is the high watermark, the end OFFSET_OUT_OF_RANGE means.
      const listed = await admin.listOffsets({ topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }] });
      return new Map(listed.flatMap((t) => t.partitions.map((p) => [p.partitionIndex, p.offset] as const)));
    },
    async commitGroupOffsets(groupId, topic, offsets) {
      await admin.alterConsumerGroupOffsets({ groupId, topics: [{ name: topic, partitionOffsets: [...offsets].map(([partition, offset]) => ({ partition, offset: BigInt(offset) })) }] });
    },
    async close() {
      await Promise.allSettled([fetcher.close(), admin.close()]);
    },
  };
}

interface Slot {
  readonly owner: Registration;
  readonly partition: number;
  /** Next offset to fetch: everything below it was handed over, or skipped (control and aborted records). */
  next: bigint;
  /** fetching: in a request in flight; delivering: its onRecords has not resolved; checking: an OFFSET_OUT_OF_RANGE is looked into. */
  state: 'idle' | 'fetching' | 'delivering' | 'checking';
  /** Consecutive failed attempts, and when the next one may start. */
  failures: number;
  retryAt: number;
  /** When it last went into a request: the longest waiting go first. */
  requestedAt: number;
}

interface TopicState { layout?: TopicLayout; stale: boolean; refreshing?: Promise<TopicLayout> }

/** What a registration needs of its fetcher. */
interface Hub {
  readonly client: FetchClient;
  layout(topic: string): Promise<TopicLayout>;
  logStartOffsets(topic: string, partitions: readonly number[]): Promise<Map<number, number>>;
  wake(): void;
  remove(registration: Registration): void;
}

class Registration implements FetcherSource {
  readonly slots: Slot[];
  /** The topic's id when the registration started; another id later means the topic was recreated. */
  topicId = '';
  private status: 'new' | 'starting' | 'running' | 'crashed' | 'stopped' = 'new';
  private readonly deliveries = new Set<Promise<void>>();
  private stopped: Promise<void> | undefined;
  /** Group offsets waiting to be written, latest per partition; one admin request at a time. */
  private readonly groupOffsets = new Map<number, number>();
  private groupCommit: Promise<void> | undefined;

  constructor(private readonly o: SourceOptions, private readonly hub: Hub) {
    this.slots = o.partitions.map((partition) => ({
      owner: this, partition, next: BigInt(o.startOffsets.get(partition) ?? 0), state: 'idle', failures: 0, retryAt: 0, requestedAt: 0,
    }));
  }

  get topic(): string { return this.o.topic; }
  get running(): boolean { return this.status === 'running'; }

  async start(): Promise<void> {
    if (this.status !== 'new') return;
    this.status = 'starting';
    const { topic, partitions, brokers } = this.o;
    let layout: TopicLayout;
    try {
      layout = await this.hub.layout(topic);
    } catch (e) {
      this.hub.remove(this);
      throw e instanceof UnknownTopicError ? new Error(`topic ${topic} is not in the metadata of ${brokers.join(',')}`)
        : new Error(`@platformatic/kafka: reading the metadata of ${topic} from ${brokers.join(',')}: ${describe(e)}`);
    }
    for (const p of partitions) {
      const leader = layout.leaders[p];
      const problem = leader === undefined ? `topic ${topic} has no partition ${p} (it has ${layout.leaders.length})`
        : leader < 0 ? `partition ${p} of ${topic} has no leader` : undefined;
      if (problem) { this.hub.remove(this); throw new Error(problem); }
    }
    if (this.status !== 'starting') return; // stopped meanwhile
    this.topicId = layout.id;
    this.status = 'running';
    this.hub.wake();
  }

  async committed(partition: number, nextOffset: number): Promise<void> {
    if (!this.running) return;
    this.groupOffsets.set(partition, nextOffset);
    // Not awaited: a slow or failing group commit must not hold the next batch back.
    this.groupCommit ??= this.writeGroupOffsets().finally(() => { this.groupCommit = undefined; });
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.status = 'stopped';
      this.hub.remove(this);
      // onRecords is never called again; a call running now is waited for.
      await Promise.allSettled([...this.deliveries]);
    })();
    return this.stopped;
  }

  logStartOffsets(partitions: readonly number[]): Promise<Map<number, number>> {
    return this.hub.logStartOffsets(this.o.topic, partitions);
  }

  /**
   * Hands records over; the slot is fetched again once onRecords resolved. `unreadable`: the batch
   * after them cannot be read; the task hears of it after the records, then this registration stops.
   */
  deliver(slot: Slot, records: SourceRecord[], unreadable?: BatchReadError, readTo?: bigint): void {
    slot.state = 'delivering';
    const delivery: Promise<void> = (async () => {
      if (records.length > 0 || readTo !== undefined) await this.o.onRecords(slot.partition, records, readTo === undefined ? undefined : Number(readTo));
      if (!unreadable) return;
      if (this.running) await this.o.onUnreadable?.(slot.partition, unreadable);
      this.crash(unreadable);
    })()
      .then(() => { slot.state = 'idle'; }, (e: unknown) => this.crash(e instanceof Error ? e : new Error(String(e))))
      .finally(() => { this.deliveries.delete(delivery); this.hub.wake(); });
    this.deliveries.add(delivery);
  }

  /** The slot's next offsets were deleted: it goes on from the log start once its task has heard of it. */
  async logStartMoved(slot: Slot, logStart: bigint): Promise<void> {
    slot.next = logStart;
    slot.failures = 0;
    if (!this.running || !this.o.onLogStartMoved) return;
    const told: Promise<void> = this.o.onLogStartMoved(slot.partition, Number(logStart))
      .catch((e: unknown) => this.crash(e instanceof Error ? e : new Error(String(e))))
      .finally(() => { this.deliveries.delete(told); });
    this.deliveries.add(told);
    await told;
  }

  /** Fails this registration alone: nothing more is fetched for it; its task is told once. */
  crash(error: Error): void {
    if (!this.running) return;
    this.status = 'crashed';
    this.o.onCrash(error);
  }

  private async writeGroupOffsets(): Promise<void> {
    while (this.groupOffsets.size > 0 && this.running) {
      const offsets = new Map(this.groupOffsets);
      this.groupOffsets.clear();
      await this.hub.client.commitGroupOffsets(this.o.groupId, this.o.topic, offsets).catch(() => undefined); // monitoring only
    }
  }
}

/** One fetch loop over one Kafka connection, shared by every task of a worker thread that reads that cluster the same way. */
export class SharedFetcher {
  private readonly client: FetchClient;
  private readonly registrations = new Set<Registration>();
  private readonly topics = new Map<string, TopicState>();
  /** Leaders with a Fetch in flight: one request per leader at a time. */
  private readonly fetchingFrom = new Set<number>();
  private readonly hub: Hub;
  private readonly backoffMs: number;
  private lookups = 0;
  private closed = false;
  private closing: Promise<void> | undefined;
  private changed = false;
  private wakeUp: (() => void) | undefined;
  private readonly loop: Promise<void>;

  constructor(private readonly connection: FetcherConnection, private readonly options: FetcherOptions = {}) {
    this.client = (options.clientFactory ?? platformaticClient)(connection);
    this.backoffMs = options.backoffMs ?? FIRST_BACKOFF_MS;
    this.hub = {
      client: this.client,
      layout: (topic) => this.refresh(topic),
      logStartOffsets: (topic, partitions) => this.logStartOffsets(topic, partitions),
      wake: () => this.wake(),
      remove: (r) => this.remove(r),
    };
    this.loop = this.run().catch((e: unknown) => {
      // A bug in the loop: no task may wait forever for records that will not come.
      this.closed = true;
      for (const r of this.registrations) r.crash(e instanceof Error ? e : new Error(String(e)));
    });
  }

  /** A source for one task: same contract as PartitionSource (start/committed/stop), plus the log start offsets the task needs. */
  source(o: SourceOptions): FetcherSource {
    if (this.closed) throw new Error('this fetcher is closed');
    if (o.readUncommitted !== this.connection.readUncommitted) throw new Error(`topic ${o.topic}: a fetcher reads with one isolation level only`);
    const registration = new Registration(o, this.hub);
    this.registrations.add(registration);
    return registration;
  }

  /** Number of live registrations; the owner closes the fetcher when it drops to 0. */
  get size(): number { return this.registrations.size; }

  /** First offset Kafka still holds per partition (ListOffsets EARLIEST), through this fetcher's client. */
  async logStartOffsets(topic: string, partitions: readonly number[]): Promise<Map<number, number>> {
    this.lookups++;
    try {
      const offsets = await this.client.listOffsets(topic, partitions, 'earliest');
      return new Map([...offsets].map(([p, offset]) => [p, Number(offset)]));
    } finally {
      this.lookups--;
      this.notifyIfEmpty();
    }
  }

  /** Stops every registration still there (each after its onRecords in flight), then the loop and the client. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.wake();
      await Promise.all([...this.registrations].map((r) => r.stop()));
      await this.loop;
      await this.client.close().catch(() => undefined);
    })();
    return this.closing;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      this.changed = false;
      const now = Date.now();
      this.refreshDueTopics(now);
      for (const [leader, slots] of this.requests(now)) void this.fetchFrom(leader, slots);
      await this.nextChange(now);
    }
  }

  /** Until something changes (a response, a delivery, a registration, metadata) or a retry falls due; no timer while none waits. */
  private async nextChange(now: number): Promise<void> {
    if (this.changed || this.closed) return;
    let due = Infinity;
    for (const slot of this.liveSlots()) if (slot.state === 'idle' && slot.retryAt > now) due = Math.min(due, slot.retryAt);
    await new Promise<void>((resolve) => {
      const timer = due === Infinity ? undefined : setTimeout(resolve, due - now);
      this.wakeUp = () => { clearTimeout(timer); resolve(); };
    });
    this.wakeUp = undefined;
  }

  private wake(): void {
    this.changed = true;
    this.wakeUp?.();
  }

  private *liveSlots(): Iterable<Slot> {
    for (const r of this.registrations) if (r.running) yield* r.slots;
  }

  /** Per leader without a request in flight: its idle partitions, longest waiting first. */
  private requests(now: number): Map<number, Slot[]> {
    const ready = [...this.liveSlots()].filter((s) => s.state === 'idle' && s.retryAt <= now).sort((a, b) => a.requestedAt - b.requestedAt);
    const byLeader = new Map<number, Slot[]>();
    // Two tables reading one topic register the same partition twice: a request names it once, the
    // other registration's turn is the next request.
    const named = new Set<string>();
    for (const slot of ready) {
      const state = this.topics.get(slot.owner.topic);
      const leader = state?.layout?.leaders[slot.partition] ?? -1;
      const key = `${slot.owner.topicId}:${slot.partition}`;
      if (!state || state.stale || leader < 0 || this.fetchingFrom.has(leader) || named.has(key)) continue;
      named.add(key);
      let slots = byLeader.get(leader);
      if (!slots) byLeader.set(leader, slots = []);
      slots.push(slot);
    }
    return byLeader;
  }

  private async fetchFrom(leader: number, slots: Slot[]): Promise<void> {
    this.fetchingFrom.add(leader);
    const now = Date.now();
    for (const s of slots) { s.state = 'fetching'; s.requestedAt = now; }
    try {
      this.route(await this.client.fetch(leader, requestTopics(slots)), slots);
    } catch (e) {
      // The request failed as a whole (broker down, connection lost): every partition on it retries.
      for (const s of slots) if (s.state === 'fetching') this.failed(s, e);
    } finally {
      for (const s of slots) if (s.state === 'fetching') s.state = 'idle';
      this.fetchingFrom.delete(leader);
      this.wake();
    }
  }

  /** Each partition of a response to its registration: its records, or its own error code. */
  private route(response: RawFetchResponse, slots: Slot[]): void {
    const inRequest = new Map(slots.map((s) => [`${s.owner.topicId}:${s.partition}`, s]));
    for (const topic of response.responses) {
      for (const part of topic.partitions) {
        const slot = inRequest.get(`${topic.topicId}:${part.partitionIndex}`);
        if (!slot || slot.state !== 'fetching' || !slot.owner.running) continue;
        slot.state = 'idle';
        if (part.errorCode !== 0) { this.partitionFailed(slot, part.errorCode); continue; }
        slot.failures = 0;
        if (!part.records) continue;
        const from = slot.next;
        const { records, next, unreadable } = decodeCommittedRecords(part.records, part.abortedTransactions, from);
        // Past the last batch, control batches and aborted records included: the task hears of that
        // too, or its ledger would wait at a transaction's marker, which retention may delete.
        const advanced = next !== undefined && next > from;
        if (advanced) slot.next = next;
        // The same bytes come back on every fetch: that partition's table stops there, the response's others go on.
        const stop = unreadable && new BatchReadError(slot.owner.topic, slot.partition, Number(slot.next), unreadable.reason);
        if (records.length > 0 || stop || advanced) slot.owner.deliver(slot, records, stop, advanced ? slot.next : undefined);
      }
    }
  }

  /** One partition's error code: that partition alone is retried, moved or failed. */
  private partitionFailed(slot: Slot, code: number): void {
    const id = protocolErrorsCodesById[code] ?? `error code ${code}`;
    const known = protocolErrors[id];
    const error = new Error(known ? `${id}: ${known.message}` : id);
    if (id === 'OFFSET_OUT_OF_RANGE') void this.checkOffset(slot);
    else if (known?.canRetry) this.failed(slot, error);
    else slot.owner.crash(new Error(`@platformatic/kafka: fetching partition ${slot.partition} of ${slot.owner.topic}: ${error.message}`));
  }

  /**
   * A failed attempt for one partition: tried again after a backoff, with fresh metadata (a moved
   * leader or a deleted topic shows up there); its registration fails after ATTEMPTS in a row.
   */
  private failed(slot: Slot, error: unknown, doing = 'fetching'): void {
    const { owner } = slot;
    if (!owner.running) return;
    slot.failures++;
    if (slot.failures >= ATTEMPTS) {
      owner.crash(new Error(`@platformatic/kafka: ${doing} partition ${slot.partition} of ${owner.topic} failed ${slot.failures} times: ${describe(error)}`));
      return;
    }
    slot.retryAt = Date.now() + Math.min(this.backoffMs * 2 ** (slot.failures - 1), MAX_BACKOFF_MS);
    const state = this.topics.get(owner.topic);
    if (state) state.stale = true;
  }

  /**
   * OFFSET_OUT_OF_RANGE: a partition whose next offset fell below the log start (retention deleted the
   * records) continues at the log start, as the kafkajs source does. An offset beyond the log end (a
   * topic recreated under the same name, a truncated log) fails the registration: the ledger knows of
   * records Kafka no longer has, and guessing would skip or repeat records.
   */
  private async checkOffset(slot: Slot): Promise<void> {
    const { owner, partition } = slot;
    slot.state = 'checking';
    try {
      const [start, end] = (await Promise.all([
        this.client.listOffsets(owner.topic, [partition], 'earliest'),
        this.client.listOffsets(owner.topic, [partition], 'latest'),
      ])).map((offsets) => offsets.get(partition));
      if (start !== undefined && slot.next < start) {
        await owner.logStartMoved(slot, start);
      } else if (end !== undefined && slot.next > end) {
        owner.crash(new Error(`partition ${partition} of ${owner.topic}: the next offset ${slot.next} is beyond the log end ${end}; was the topic recreated? (OFFSET_OUT_OF_RANGE)`));
      } else {
        this.failed(slot, new Error(`OFFSET_OUT_OF_RANGE at offset ${slot.next}, which is within the log (${start}..${end})`));
      }
    } catch (e) {
      this.failed(slot, e, 'listing the offsets of');
    } finally {
      slot.state = 'idle';
      this.wake();
    }
  }

  /** Stale topics with a partition due for its next attempt get fresh metadata. */
  private refreshDueTopics(now: number): void {
    for (const [topic, state] of this.topics) {
      if (!state.stale || state.refreshing) continue;
      const due = [...this.liveSlots()].some((s) => s.owner.topic === topic && s.retryAt <= now);
      if (due) this.refresh(topic).catch(() => undefined); // applied to the topic's registrations by refresh()
    }
  }

  /** Fresh metadata of a topic, one request at a time per topic, applied to its running registrations. */
  private refresh(topic: string): Promise<TopicLayout> {
    let state = this.topics.get(topic);
    if (!state) this.topics.set(topic, state = { stale: true });
    const s = state;
    s.refreshing ??= this.client.topic(topic).then(
      (layout) => { s.layout = layout; s.stale = false; this.applyLayout(topic, layout); return layout; },
      (e: unknown) => { this.refreshFailed(topic, e); throw e; },
    ).finally(() => { s.refreshing = undefined; this.wake(); });
    return s.refreshing;
  }

  private applyLayout(topic: string, layout: TopicLayout): void {
    for (const r of this.registrations) {
      if (r.topic !== topic || !r.running) continue;
      if (r.topicId !== layout.id) {
        r.crash(new Error(`topic ${topic} was deleted and created again (its id changed): the ledger's offsets belong to the old one`));
        continue;
      }
      for (const slot of r.slots) {
        const leader = layout.leaders[slot.partition];
        if (leader === undefined) r.crash(new Error(`topic ${topic} has no partition ${slot.partition} any more (it has ${layout.leaders.length})`));
        else if (leader < 0) this.failed(slot, new Error(`partition ${slot.partition} of ${topic} has no leader`), 'finding the leader of');
      }
    }
  }

  private refreshFailed(topic: string, error: unknown): void {
    for (const r of this.registrations) {
      if (r.topic !== topic || !r.running) continue;
      if (error instanceof UnknownTopicError) r.crash(new Error(`topic ${topic} is no longer in the metadata of ${this.connection.brokers.join(',')}`));
      else for (const slot of r.slots) this.failed(slot, error, 'reading the metadata of');
    }
  }

  private remove(r: Registration): void {
    if (!this.registrations.delete(r)) return;
    if (![...this.registrations].some((x) => x.topic === r.topic)) this.topics.delete(r.topic);
    this.wake();
    this.notifyIfEmpty();
  }

  private notifyIfEmpty(): void {
    if (this.registrations.size === 0 && this.lookups === 0 && !this.closed) this.options.onEmpty?.();
  }
}

/** The request's topics, each partition at its own next offset. */
function requestTopics(slots: Slot[]): FetchRequestTopic[] {
  const topics = new Map<string, FetchRequestTopic>();
  for (const s of slots) {
    let t = topics.get(s.owner.topicId);
    if (!t) topics.set(s.owner.topicId, t = { topicId: s.owner.topicId, partitions: [] });
    t.partitions.push({ partition: s.partition, fetchOffset: s.next, partitionMaxBytes: FETCH_SETTINGS.maxBytesPerPartition, currentLeaderEpoch: -1, lastFetchedEpoch: -1 });
  }
  return [...topics.values()];
}

/** Sources read one cluster the same way when these are equal; the client uses no other override. */
function connectionKey(c: FetcherConnection): string {
  return JSON.stringify([[...c.brokers].sort(), c.auth, c.readUncommitted, c.clientOverrides['request.timeout.ms'] ?? null]);
}

/** Fetchers of one worker thread, keyed by connection (brokers, auth, isolation, request timeout); closes a fetcher once its last source stopped. */
export class FetcherRegistry {
  private readonly fetchers = new Map<string, SharedFetcher>();

  constructor(private readonly options: Omit<FetcherOptions, 'onEmpty'> = {}) {}

  sourceFor(o: SourceOptions): FetcherSource {
    return this.fetcherFor(o).source(o);
  }

  /** Log start offsets for a task that has no source yet (it checks for deleted offsets before reading). */
  logStartOffsets(connection: FetcherConnection, topic: string, partitions: readonly number[]): Promise<Map<number, number>> {
    return this.fetcherFor(connection).logStartOffsets(topic, partitions);
  }

  async closeAll(): Promise<void> {
    const all = [...this.fetchers.values()];
    this.fetchers.clear();
    await Promise.all(all.map((f) => f.close()));
  }

  private fetcherFor(c: FetcherConnection): SharedFetcher {
    const key = connectionKey(c);
    const existing = this.fetchers.get(key);
    if (existing) return existing;
    const connection = { brokers: c.brokers, auth: c.auth, clientOverrides: c.clientOverrides, readUncommitted: c.readUncommitted };
    const fetcher: SharedFetcher = new SharedFetcher(connection, {
      ...this.options,
      onEmpty: () => {
        if (this.fetchers.get(key) === fetcher) this.fetchers.delete(key);
        void fetcher.close();
      },
    });
    this.fetchers.set(key, fetcher);
    return fetcher;
  }
}
