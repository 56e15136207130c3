// Memory: a sweep over kafka.batch.maxSize. For each size, a 1-partition topic is filled with exactly
// that many records (fill.ts), then a FRESH service (so the RSS high-water mark of one step cannot
// carry into the next) ingests it into a table with kafka.max.batch.period.ms=3,600,000, so the one
// batch fills by size, not by time, and is encoded and committed. Reported per step: the service's
// peak RSS (VmHWM) minus its RSS when idle with no table, i.e. what the task and its batch cost, and
// the seconds from the CREATE TABLE to the batch committed. Since the service decodes records straight
// into the column arrays of the batch's Parquet writers and encodes them a row group at a time, a
// task's memory should not follow kafka.batch.maxSize: the sweep shows whether it does.
import { benchName, benchService, committedBatches, createTableSql, deleteTopics, hive, procStats, round, sleep, type RunningService } from '../lib.ts';
import { fill } from './fill.ts';

export interface MemoryStep {
  batch_records: number; task_rss_mb: number; peak_service_rss_mb: number; idle_service_rss_mb: number; commit_s: number;
  /** The service's threads when the batch was committed. */
  threads: number;
  error?: string;
}

export interface Memory {
  /** The step the per-task target is judged on (500,000 records unless the sweep lacks it: then the nearest). */
  batch_records: number; task_rss_mb_500k: number; idle_service_rss_mb: number; peak_service_rss_mb: number; target_mb: number; within_target: boolean;
  steps: MemoryStep[];
  /** Largest task_rss_mb over the smallest, over the steps that completed. */
  flat_ratio: number;
  /** The definition used: every step completed and largest task_rss_mb − smallest ≤ flat_tolerance_mb. */
  flat: boolean;
  flat_spread_mb: number;
  flat_tolerance_mb: number;
  kafka_client?: string;
}

/** "Flat" RSS across the sweep: the largest and smallest per-task figures at most this far apart. */
const FLAT_TOLERANCE_MB = 64;
const TARGET_MB = 256;

/** Waits for the table's first batch; fails at once if the service exits or the batch is not the size asked for. */
async function batchCommitted(service: RunningService, table: string, records: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (service.child.exitCode !== null || service.child.signalCode !== null) {
      throw new Error(`the service exited (${service.child.exitCode ?? service.child.signalCode}) before ${table} committed; its last output:\n${service.output().slice(-4000)}`);
    }
    let b;
    try { b = committedBatches(service.ledgerPath).find((x) => x.tableName === table); } catch { /* the ledger not created yet */ }
    if (b) {
      if (b.records !== records) throw new Error(`${table}'s first batch has ${b.records} records, not ${records}`);
      return b.committedAt;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${table} to commit its ${records}-record batch; the service's last output:\n${service.output().slice(-4000)}`);
    await sleep(200);
  }
}

async function step(batchSize: number): Promise<MemoryStep & { kafkaClient?: string }> {
  const table = benchName('mem', `_${batchSize}`);
  await fill(table, 1, batchSize); // before the service starts: the fill's own memory is not the service's
  try {
    const service = await benchService(`^default\\.${table}$`);
    const session = await hive();
    try {
      const kafkaClient = (await service.status()).kafkaClient;
      await sleep(3000); // let the idle service settle
      const pid = service.child.pid!;
      const idle = procStats(pid).rssMb;
      const createdAt = Date.now();
      await session.execute(createTableSql(table, table, { 'kafka.batch.maxSize': batchSize, 'kafka.max.batch.period.ms': 3_600_000 }));
      // One task ingests about 50,000 records/s on these machines (0.02 ms each): allow 0.1 ms a record, and 5 minutes more.
      const committedAt = await batchCommitted(service, table, batchSize, 300_000 + batchSize / 10);
      const { hwmMb: peak, threads } = procStats(pid);
      await session.execute(`DROP TABLE ${table}`);
      return {
        batch_records: batchSize, task_rss_mb: Math.round(peak - idle), peak_service_rss_mb: Math.round(peak), idle_service_rss_mb: Math.round(idle),
        commit_s: round((committedAt - createdAt) / 1000, 1), threads, kafkaClient,
      };
    } finally {
      await session.close();
      await service.stop();
    }
  } finally {
    await deleteTopics([table]).catch(() => undefined); // millions of records on the broker's disk otherwise
  }
}

export async function memory(opts: { batches: number[]; targetBatch: number }): Promise<Memory> {
  const steps: MemoryStep[] = [];
  let kafkaClient: string | undefined;
  for (const batchSize of opts.batches) {
    try {
      const { kafkaClient: client, ...s } = await step(batchSize);
      kafkaClient ??= client;
      steps.push(s);
    } catch (e) {
      // A step that fails (out of memory, say) is a result; the next, each in its own service, still runs.
      steps.push({ batch_records: batchSize, task_rss_mb: NaN, peak_service_rss_mb: NaN, idle_service_rss_mb: NaN, commit_s: NaN, threads: NaN, error: (e as Error).message.slice(0, 2000) });
    }
  }
  const ran = steps.filter((s) => !s.error);
  const target = steps.find((s) => s.batch_records === opts.targetBatch)
    ?? [...steps].sort((a, b) => Math.abs(a.batch_records - opts.targetBatch) - Math.abs(b.batch_records - opts.targetBatch))[0]!;
  const rss = ran.map((s) => s.task_rss_mb);
  const largest = rss.length > 0 ? Math.max(...rss) : NaN;
  const smallest = rss.length > 0 ? Math.min(...rss) : NaN;
  const spread = largest - smallest;
  return {
    batch_records: target.batch_records, task_rss_mb_500k: target.task_rss_mb, idle_service_rss_mb: target.idle_service_rss_mb, peak_service_rss_mb: target.peak_service_rss_mb,
    target_mb: TARGET_MB, within_target: !target.error && target.task_rss_mb <= TARGET_MB,
    steps,
    // Over a smallest figure near zero the ratio says little; the spread decides "flat".
    flat_ratio: round(largest / Math.max(smallest, 1), 2),
    flat: ran.length === steps.length && ran.length > 1 && spread <= FLAT_TOLERANCE_MB,
    flat_spread_mb: spread,
    flat_tolerance_mb: FLAT_TOLERANCE_MB,
    ...(kafkaClient ? { kafka_client: kafkaClient } : {}),
  };
}
