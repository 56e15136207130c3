// What every benchmark part shares: the stack's endpoints, a HiveServer2 session for DDL, the service
// as a child process, its memory and CPU from /proc, the ledger (read-only) as the record of when
// each batch became visible, a paced producer, and percentiles.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { openHiveSession, type HiveSession } from '../../src/cli/sql.ts';
import { createTopics, requireStack, stack } from '../integration/helpers/services.ts';
import { eventually, startService, type RunningService } from '../integration/helpers/service.ts';

export { createTopics, eventually, stack };
export type { RunningService };

export const brokers = stack.kafkaBrokers.split(',');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const run = promisify(execFile);


/** Names unique to this run, so a run never meets a previous run's topics, tables or groups. */
export const runId = new Date().toISOString().replace(/\D/g, '').slice(2, 14);
export const benchName = (part: string, suffix = '') => `bench_${part}_${runId}${suffix}`;

/** The columns every bench record has: about 200 bytes of JSON. */
export const BENCH_COLUMNS = 'id BIGINT, userid BIGINT, url STRING, ts BIGINT, country STRING';
const COUNTRIES = ['US', 'FR', 'DE', 'JP', 'BR', 'IN', 'GB', 'CA', 'ES', 'IT', 'NL', 'SE', 'PL', 'MX', 'KR'];

export function benchRecord(id: number, now = Date.now()): string {
  const userid = (id * 2654435761) % 1_000_000;
  const path = `products/${(id * 40503) % 100_000}/reviews?page=${id % 50}&sort=recent&ref=campaign-${id % 997}`;
  return JSON.stringify({ id, userid, url: `https://shop.example.com/${path}&utm_source=newsletter&utm_medium=email&session=${(id * 7919).toString(36)}`, ts: now, country: COUNTRIES[id % COUNTRIES.length] });
}

export async function preflight(): Promise<void> {
  await requireStack();
  for (const v of ['HIVE_KAFKA_BENCH_KAFKA_CP', 'HIVE_KAFKA_BENCH_JAVA']) {
    if (!process.env[v]) throw new Error(`${v} is not set: run the benchmark with npm run bench (test/bench/run.sh sets it)`);
  }
}

/** Runs one of Kafka's Java tools (ProducerPerformance, ConsumerPerformance) on the stack's jars. */
export async function kafkaTool(mainClass: string, args: string[]): Promise<string> {
  const { stdout } = await run(process.env.HIVE_KAFKA_BENCH_JAVA!, ['-Xmx1g', '-cp', process.env.HIVE_KAFKA_BENCH_KAFKA_CP!, mainClass, ...args],
    { maxBuffer: 64 << 20, env: { ...process.env, KAFKA_LOG4J_OPTS: '' } });
  return stdout;
}

export function hive(): Promise<HiveSession> {
  return openHiveSession({ url: `jdbc:hive2://${stack.hiveServer2}/default`, user: process.env.USER ?? 'hive', password: undefined });
}

export function createTableSql(table: string, topic: string, props: Record<string, string | number>, opts: { partitionedBy?: string; columns?: string; location?: string } = {}): string {
  const all = { 'kafka.topic': topic, 'kafka.broker.list': stack.kafkaBrokers, ...props };
  const tblprops = Object.entries(all).map(([k, v]) => `"${k}"="${v}"`).join(', ');
  return `CREATE TABLE ${table} (${opts.columns ?? BENCH_COLUMNS})${opts.partitionedBy ? ` PARTITIONED BY (${opts.partitionedBy})` : ''} `
    + `STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler' ${opts.location ? `LOCATION '${opts.location}' ` : ''}TBLPROPERTIES (${tblprops})`;
}

/**
 * The service on a fresh ledger, managing only the tables whose name matches `tables`, once it has
 * started (its HTTP answers first): what a user's CREATE TABLE meets on a running service, worker
 * threads up, so timings from a DDL do not include the service's own start.
 */
export async function benchService(tables: string, env: Record<string, string> = {}, ledgerPath?: string): Promise<RunningService> {
  const service = await startService({ tables, env, ...(ledgerPath ? { ledgerPath } : {}) });
  await eventually('the service to log "hive-kafka is serving"', async () => (serviceLog(service, 'hive-kafka is serving').length > 0 ? true : undefined), 60_000, 20);
  return service;
}

interface LogLine { time: number; msg: string; table?: string; taskId?: string }

/** The service's pino lines with this message, parsed. */
export function serviceLog(service: RunningService, msg: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of service.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const l = JSON.parse(line) as LogLine;
      if (l.msg === msg) lines.push(l);
    } catch { /* a partial line still being written */ }
  }
  return lines;
}

export async function waitForLog(service: RunningService, msg: string, table: string, after: number, timeoutMs = 120_000): Promise<number> {
  try {
    return await eventually(`"${msg}" for ${table}`, async () => serviceLog(service, msg).find((l) => l.table === `default.${table}` && l.time >= after)?.time, timeoutMs, 20);
  } catch (e) {
    throw new Error(`${(e as Error).message}; the service's last output:\n${service.output().slice(-4000)}`);
  }
}

/** Resident and peak memory of a process, its CPU seconds so far and its thread count, from /proc. */
export function procStats(pid: number): { rssMb: number; hwmMb: number; cpuS: number; threads: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024, cpuS: ticks / 100, threads: kb('Threads') };
}

/**
 * CPU time of the whole guest so far (all processes, every core), in seconds, from /proc/stat's first
 * line; `stealS`: time the hypervisor gave the guest's cores to others (a busy host).
 */
export function hostCpuS(): { busyS: number; stealS: number } {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  return { busyS: (user! + nice! + system! + irq! + softirq!) / 100, stealS: steal! / 100 };
}

/** Samples a process's RSS until stopped; returns the largest sample. */
export function rssSampler(pid: number, everyMs = 100): { stop(): number } {
  let max = 0;
  const timer = setInterval(() => { try { max = Math.max(max, procStats(pid).rssMb); } catch { /* exited */ } }, everyMs);
  return { stop() { clearInterval(timer); return max; } };
}

export interface CommittedBatch { tableId: number; partition: number; first: number; last: number; records: number; committedAt: number; tableName: string }

/** The committed batches the service recorded, read-only (the ledger is SQLite in WAL mode). */
export function committedBatches(ledgerPath: string): CommittedBatch[] {
  const db = new Database(ledgerPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`SELECT b.table_id AS tableId, b.kafka_partition AS partition, b.first_offset AS first, b.last_offset AS last,
        b.record_count AS records, b.committed_at AS committedAt, s.table_name AS tableName
      FROM batches b JOIN streams s USING (table_id) WHERE b.state = 'committed' ORDER BY b.committed_at`).all() as CommittedBatch[];
  } finally {
    db.close();
  }
}

export function recordsCommitted(ledgerPath: string, table: string): number {
  return committedBatches(ledgerPath).filter((b) => b.tableName === table).reduce((n, b) => n + b.records, 0);
}

/** Deletes topics a part filled and no longer needs (the memory sweep's fill millions of records each), in groups. */
export async function deleteTopics(topics: string[]): Promise<void> {
  const admin = new Kafka({ brokers, clientId: `bench-${runId}-admin`, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    for (let i = 0; i < topics.length; i += 50) await admin.deleteTopics({ topics: topics.slice(i, i + 50), timeout: 60_000 });
  } finally {
    await admin.disconnect();
  }
}

/** createTopics in groups of 50: a few hundred topics in one request can outlast the admin client's timeout. */
export async function createTopicsInGroups(topics: { topic: string; partitions: number }[]): Promise<void> {
  for (let i = 0; i < topics.length; i += 50) await createTopics(topics.slice(i, i + 50));
}

/** Percentile by nearest rank; `sorted` ascending. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export async function producer(): Promise<Producer> {
  // More retries than kafkajs's default 5: the scale part's 200-table step failed on 2 cores with "This
  // server does not host this topic-partition" (2026-12-02 13:15), from this producer's sends to new
  // topics or from the wait for their leaders (createTopics).
  const p = new Kafka({ brokers, clientId: `bench-${runId}`, logLevel: logLevel.NOTHING, retry: { retries: 12, maxRetryTime: 10_000 } })
    .producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await p.connect();
  return p;
}

/** When each produced record was sent: per topic and partition, offset -> send time. */
export class SendLog {
  private readonly sent = new Map<string, { base: number; count: number; at: number; ackedAt: number }[]>();
  /** `at`: when the produce request was started; `ackedAt`: when the broker acknowledged it. */
  add(topic: string, partition: number, baseOffset: number, count: number, at: number, ackedAt: number): void {
    const key = `${topic}/${partition}`;
    let runs = this.sent.get(key);
    if (!runs) this.sent.set(key, (runs = []));
    runs.push({ base: baseOffset, count, at, ackedAt });
  }
  /**
   * Produce-to-visible latency of every record sent in [from, to) that a committed batch covers, and
   * the same from the broker's acknowledgement (what the service adds, without the producer's request).
   */
  latencies(topicOf: (b: CommittedBatch) => string, batches: CommittedBatch[], from = 0, to = Infinity): { latencies: number[]; afterAck: number[]; unseen: number } {
    const latencies: number[] = [];
    const afterAck: number[] = [];
    let seen = 0;
    let total = 0;
    const inWindow = (r: { at: number }) => r.at >= from && r.at < to;
    for (const runs of this.sent.values()) for (const r of runs) if (inWindow(r)) total += r.count;
    const byKey = new Map<string, CommittedBatch[]>();
    for (const b of batches) {
      const key = `${topicOf(b)}/${b.partition}`;
      if (!byKey.has(key)) byKey.set(key, []);
      byKey.get(key)!.push(b);
    }
    for (const [key, runs] of this.sent) {
      const bs = (byKey.get(key) ?? []).sort((a, b) => a.first - b.first);
      let i = 0;
      for (const r of runs) {
        if (!inWindow(r)) continue;
        for (let o = r.base; o < r.base + r.count; o++) {
          while (i < bs.length && bs[i]!.last < o) i++;
          const b = bs[i];
          if (b && b.first <= o) { latencies.push(b.committedAt - r.at); afterAck.push(b.committedAt - r.ackedAt); seen++; }
        }
      }
    }
    return { latencies, afterAck, unseen: total - seen };
  }
}

/**
 * Sends `perSecond` records to each topic (round robin over its partitions) until stopped, in 50 ms
 * ticks that catch up with the clock, and logs the send time of every record.
 */
export function paceProducer(p: Producer, topics: { topic: string; partitions: number }[], perSecond: number, log: SendLog): { stop(): Promise<number>; requestMs(): number[] } {
  const requestMs: number[] = [];
  let running = true;
  let nextId = 0;
  let sentPerTopic = 0;
  const started = Date.now();
  // Failures surface from stop(), never as an unhandled rejection that hides the caller's own error.
  const loop = (async () => {
    while (running) {
      // At most one second's records per topic in a request: after a stall (800 new topics' metadata,
      // say) the whole backlog in one request went over the broker's socket.request.max.bytes (100 MB),
      // which closes the connection (write EPIPE here). The backlog is still sent, a second per request.
      const due = Math.min(perSecond, Math.floor(((Date.now() - started) / 1000) * perSecond) - sentPerTopic);
      if (due > 0) {
        const at = Date.now();
        const topicMessages = topics.map((t) => ({
          topic: t.topic,
          messages: Array.from({ length: due }, (_, i) => ({ partition: (sentPerTopic + i) % t.partitions, value: benchRecord(nextId++, at) })),
        }));
        sentPerTopic += due;
        const meta = await p.sendBatch({ topicMessages, acks: 1 });
        const ackedAt = Date.now();
        requestMs.push(ackedAt - at);
        for (const m of meta) {
          const t = topics.find((x) => x.topic === m.topicName)!;
          const count = topicMessages.find((x) => x.topic === t.topic)!.messages.filter((x) => x.partition === m.partition).length;
          log.add(m.topicName, m.partition, Number(m.baseOffset), count, at, ackedAt);
        }
      }
      await sleep(50);
    }
  })();
  let failure: unknown;
  loop.catch((e: unknown) => { failure = e; running = false; });
  return {
    async stop() {
      running = false;
      await loop.catch(() => undefined);
      if (failure) throw failure;
      return sentPerTopic;
    },
    requestMs: () => requestMs,
  };
}

export function round(n: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
