// When was the oldest unread record of a partition produced? The service asks Kafka itself (a paused
// table has no task, so no fetch loop to ask): one small Fetch at the table's committed offset, and
// the timestamp of the first record a reader of the table would get there. Partitions asked for in
// the same turn of the event loop share one Fetch per leader.
import type { FetchClient, TopicLayout } from '../task/fetcher.ts';
import type { FetchRequestTopic, RawFetchPartition, RawFetchResponse } from '../task/raw-fetch.ts';
import { decodeCommittedRecords } from '../task/record-batches.ts';
import { NOTHING_READABLE, type ProducedAtAnswer } from './lag-seconds.ts';

/** Enough for a few small batches; the broker still sends a larger first batch whole. */
const PARTITION_MAX_BYTES = 64 << 10;
/** Fetches per question when the answers hold only transaction markers or aborted records. */
const MAX_ROUNDS = 4;
/** Leaders move rarely; a partition error code or a failed request drops the layout sooner. */
const LAYOUT_TTL_MS = 60_000;

interface Question {
  topic: string;
  partition: number;
  /** Asked offset: the cache key. */
  offset: number;
  /** Where the next fetch starts: past the batches of markers and aborted records already seen. */
  from: bigint;
  rounds: number;
  resolve(answer: ProducedAtAnswer): void;
  reject(error: unknown): void;
}

interface Asked { topicId: string; question: Question }

export class ProducedAt {
  /** Last numeric answer per partition: a record's timestamp never changes, a paused table asks the same offset again and again. */
  private readonly answers = new Map<string, { offset: number; producedAtMs: number }>();
  private readonly pending = new Map<string, Promise<ProducedAtAnswer>>();
  private readonly layouts = new Map<string, { layout: Promise<TopicLayout>; fetchedAt: number; id?: string }>();
  private queue: Question[] = [];
  private flushScheduled = false;
  private closed = false;

  /** The client is this probe's own: close() closes it. */
  constructor(private readonly client: FetchClient) {}

  /**
   * Timestamp of the first record at or after `offset` that a reader of the client's isolation level
   * gets (no transaction markers, no aborted records). Rejects when Kafka cannot be asked (unknown topic,
   * no such partition, no leader, failed request).
   */
  at(topic: string, partition: number, offset: number): Promise<ProducedAtAnswer> {
    if (this.closed) return Promise.reject(new Error('ProducedAt is closed'));
    const cached = this.answers.get(partitionKey(topic, partition));
    if (cached?.offset === offset) return Promise.resolve(cached.producedAtMs);
    const key = `${partitionKey(topic, partition)}@${offset}`;
    const asking = this.pending.get(key);
    if (asking) return asking;
    const answer = new Promise<ProducedAtAnswer>((resolve, reject) => {
      this.ask({ topic, partition, offset, from: BigInt(offset), rounds: 0, resolve, reject });
    }).then((a) => {
      if (typeof a === 'number') this.answers.set(partitionKey(topic, partition), { offset, producedAtMs: a });
      return a;
    }).finally(() => this.pending.delete(key));
    this.pending.set(key, answer);
    return answer;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }

  private ask(question: Question): void {
    this.queue.push(question);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    const questions = this.queue;
    this.queue = [];
    this.flushScheduled = false;
    const byLeader = new Map<number, Asked[]>();
    const byTopic = new Map<string, Question[]>();
    for (const q of questions) byTopic.set(q.topic, [...(byTopic.get(q.topic) ?? []), q]);
    await Promise.all([...byTopic].map(async ([topic, qs]) => {
      let layout: TopicLayout;
      try {
        layout = await this.layout(topic);
      } catch (e) {
        for (const q of qs) q.reject(e);
        return;
      }
      for (const q of qs) {
        const leader = layout.leaders[q.partition];
        if (leader === undefined) q.reject(new Error(`topic ${topic} has no partition ${q.partition} (it has ${layout.leaders.length})`));
        else if (leader < 0) q.reject(new Error(`partition ${q.partition} of ${topic} has no leader`));
        else {
          let asked = byLeader.get(leader);
          if (!asked) byLeader.set(leader, asked = []);
          asked.push({ topicId: layout.id, question: q });
        }
      }
    }));
    // A request names a partition once: two offsets of one partition (two tables on one topic) go in two requests.
    const requests: [number, Asked[]][] = [];
    for (const [leader, asked] of byLeader) {
      const rounds: { keys: Set<string>; asked: Asked[] }[] = [];
      for (const a of asked) {
        const key = `${a.topicId}:${a.question.partition}`;
        let round = rounds.find((r) => !r.keys.has(key));
        if (!round) rounds.push(round = { keys: new Set(), asked: [] });
        round.keys.add(key);
        round.asked.push(a);
      }
      for (const round of rounds) requests.push([leader, round.asked]);
    }
    await Promise.all(requests.map(([leader, asked]) => this.fetchFrom(leader, asked)));
  }

  private async fetchFrom(leader: number, asked: Asked[]): Promise<void> {
    let response: RawFetchResponse;
    try {
      response = await this.client.fetch(leader, requestTopics(asked), true);
    } catch (e) {
      for (const { question } of asked) { this.layouts.delete(question.topic); question.reject(e); }
      return;
    }
    const parts = new Map<string, RawFetchPartition>();
    for (const t of response.responses) for (const p of t.partitions) parts.set(`${t.topicId}:${p.partitionIndex}`, p);
    for (const { topicId, question } of asked) {
      const part = parts.get(`${topicId}:${question.partition}`);
      if (!part || part.errorCode !== 0) {
        // A moved leader, a recreated topic: fresh metadata for the next question.
        if (part) this.layouts.delete(question.topic);
        question.resolve(undefined);
        continue;
      }
      this.read(question, part);
    }
  }

  /** The first readable record's timestamp, or a follow-up fetch past batches that held none. */
  private read(question: Question, part: RawFetchPartition): void {
    // The same filter and timestamp rule as the tasks' sources (LogAppendTime batches give maxTimestamp).
    const { records, next: end } = part.records ? decodeCommittedRecords(part.records, part.abortedTransactions, question.from) : { records: [], next: undefined };
    const first = records[0];
    if (first) { question.resolve(first.timestamp); return; }
    if (end === undefined) {
      // read_committed stops at the last stable offset; before an open transaction nothing is readable yet.
      const readableEnd = part.lastStableOffset >= 0n ? part.lastStableOffset : part.highWatermark;
      question.resolve(readableEnd >= 0n && question.from >= readableEnd ? NOTHING_READABLE : undefined);
      return;
    }
    if (end <= question.from || ++question.rounds >= MAX_ROUNDS) { question.resolve(undefined); return; }
    question.from = end;
    this.ask(question);
  }

  /** Topic id and leaders, cached for a while; a new id (topic recreated) forgets the topic's answers. */
  private layout(topic: string): Promise<TopicLayout> {
    const now = Date.now();
    const cached = this.layouts.get(topic);
    if (cached && now - cached.fetchedAt < LAYOUT_TTL_MS) return cached.layout;
    const entry: { layout: Promise<TopicLayout>; fetchedAt: number; id?: string } = { layout: this.client.topic(topic), fetchedAt: now, id: cached?.id };
    this.layouts.set(topic, entry);
    entry.layout.then((layout) => {
      if (entry.id !== undefined && entry.id !== layout.id) this.forgetTopic(topic);
      entry.id = layout.id;
    }, () => { if (this.layouts.get(topic) === entry) this.layouts.delete(topic); });
    return entry.layout;
  }

  private forgetTopic(topic: string): void {
    for (const key of this.answers.keys()) if (key.startsWith(`${topic}\0`)) this.answers.delete(key);
  }
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

function requestTopics(asked: Asked[]): FetchRequestTopic[] {
  const topics = new Map<string, FetchRequestTopic>();
  for (const { topicId, question } of asked) {
    let t = topics.get(topicId);
    if (!t) topics.set(topicId, t = { topicId, partitions: [] });
    t.partitions.push({ partition: question.partition, fetchOffset: question.from, partitionMaxBytes: PARTITION_MAX_BYTES, currentLeaderEpoch: -1, lastFetchedEpoch: -1 });
  }
  return [...topics.values()];
}
