// Memory: a sweep over kafka.batch.maxSize. For each size, a 1-partition topic is filled with the
// sweep's largest size of records (fill.ts), the same for every step, then a FRESH service (so the
// RSS high-water mark of one step cannot carry into the next) ingests it into a table with
// kafka.max.batch.period.ms=3,600,000, so batches fill by size, not by time: one batch of 2M, or twenty
// of 100k. Only the batch size differs between steps, not the records ingested nor how long the
// service runs (a 100k-record topic alone ends in 2 s, before the heap has grown to what a
// sustained ingest needs). Reported per step: the service's peak RSS (VmHWM) minus its RSS when idle
// with no table, i.e. what the task and its batches cost, taken when the first batch committed and
// again when all had; and the seconds from the CREATE TABLE to the first batch committed. Since the
// service decodes records straight into the column arrays of the batch's Parquet writers and encodes
// them a row group at a time, a task's memory should not follow kafka.batch.maxSize: the sweep shows
// whether it does. Since 2026-12-01 the service starts its worker threads before any table, so its
// idle RSS includes them and peak − idle no longer counts the thread a task runs in, as it did
// before: the part measures what one idle thread costs (services of 1 and of 2 threads, side by side)
// and judges the target on the task plus that thread, as the earlier figures were. Since 2026-12-06 a
// last step ingests the same topic in batches of the target size into a table on the stack's HDFS,
// whose staging files stream to a DataNode past 1 MiB instead of waiting whole in memory.
import { stack } from '../../integration/helpers/services.ts';
import { benchName, benchService, committedBatches, createTableSql, deleteTopics, hive, procStats, round, sleep, type RunningService } from '../lib.ts';
import { fill } from './fill.ts';

export interface MemoryStep {
  /** topic_records: what the step ingested (the sweep's largest batch size); task_rss_mb: after all of it was committed. */
  batch_records: number; topic_records: number; task_rss_mb: number; peak_service_rss_mb: number; idle_service_rss_mb: number; commit_s: number;
  /** Peak RSS minus idle when the first batch had committed (the sweep's only figure before 2026-12-01). */
  task_rss_mb_first_batch: number;
  /** task_rss_mb plus one idle worker thread (idle_thread_mb): what task_rss_mb measured before 2026-12-01. */
  task_rss_mb_with_thread: number;
  /** The service's threads when the batch was committed. */
  threads: number;
  error?: string;
}

export interface Memory {
  /** The step the per-task target is judged on (500,000 records unless the sweep lacks it: then the nearest). */
  batch_records: number; task_rss_mb_500k: number; idle_service_rss_mb: number;
  /** RSS of an idle service with 2 worker threads minus one with 1, each round side by side; the mean judges. */
  idle_thread_mb: number; idle_thread_mb_rounds: number[];
  /** task_rss_mb_500k plus one idle thread: the figure the target is judged on. */
  task_rss_mb_500k_with_thread: number; peak_service_rss_mb: number; target_mb: number; within_target: boolean;
  steps: MemoryStep[];
  /** The target batch size again, into a table on HDFS (WebHDFS); judged on the same target. */
  hdfs?: MemoryStep & { within_target: boolean };
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

/** Waits until the table's batches hold `total` records; fails at once if the service exits or a batch is not the size asked for. */
async function batchesCommitted(service: RunningService, table: string, records: number, total: number, timeoutMs: number): Promise<{ firstAt: number; firstHwmMb: number }> {
  const pid = service.child.pid!;
  let first: { firstAt: number; firstHwmMb: number } | undefined;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (service.child.exitCode !== null || service.child.signalCode !== null) {
      throw new Error(`the service exited (${service.child.exitCode ?? service.child.signalCode}) before ${table} committed; its last output:\n${service.output().slice(-4000)}`);
    }
    let batches: ReturnType<typeof committedBatches> = [];
    try { batches = committedBatches(service.ledgerPath).filter((x) => x.tableName === table); } catch { /* the ledger not created yet */ }
    const wrong = batches.find((b) => b.records !== records);
    if (wrong) throw new Error(`${table}'s batch at offset ${wrong.first} has ${wrong.records} records, not ${records}`);
    if (batches.length > 0 && !first) first = { firstAt: batches[0]!.committedAt, firstHwmMb: procStats(pid).hwmMb };
    if (first && batches.length * records >= total) return first;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${table} to commit ${total / records} batches of ${records} records (${batches.length} so far); the service's last output:\n${service.output().slice(-4000)}`);
    await sleep(200);
  }
}

/** What one idle worker thread adds to the service's RSS: an idle service of 2 threads minus one of 1. */
async function idleThreadMb(): Promise<number> {
  const idleRss = async (threads: number) => {
    const service = await benchService('^default\\.no_table_at_all$', { HIVE_KAFKA_WORKER_THREADS: String(threads) });
    try {
      await sleep(3000); // as the steps let the idle service settle
      return procStats(service.child.pid!).rssMb;
    } finally {
      await service.stop();
    }
  };
  const one = await idleRss(1);
  const two = await idleRss(2);
  return Math.round(two - one);
}

async function step(batchSize: number, topicRecords: number, fileSystem: 'file' | 'hdfs' = 'file'): Promise<Omit<MemoryStep, 'task_rss_mb_with_thread'> & { kafkaClient?: string }> {
  const table = benchName('mem', `_${batchSize}${fileSystem === 'hdfs' ? '_hdfs' : ''}`);
  const location = fileSystem === 'hdfs' ? `${stack.hdfs}/hive-kafka-bench/${table}` : undefined;
  await fill(table, 1, topicRecords); // before the service starts: the fill's own memory is not the service's
  try {
    const service = await benchService(`^default\\.${table}$`);
    const session = await hive();
    try {
      const kafkaClient = (await service.status()).kafkaClient;
      await sleep(3000); // let the idle service settle
      const pid = service.child.pid!;
      const idle = procStats(pid).rssMb;
      const createdAt = Date.now();
      await session.execute(createTableSql(table, table, { 'kafka.batch.maxSize': batchSize, 'kafka.max.batch.period.ms': 3_600_000 }, { location }));
      // One task ingests about 50,000 records/s on these machines (0.02 ms each): allow 0.1 ms a record, and 5 minutes more.
      const { firstAt, firstHwmMb } = await batchesCommitted(service, table, batchSize, topicRecords, 300_000 + topicRecords / 10);
      const { hwmMb: peak, threads } = procStats(pid);
      await session.execute(`DROP TABLE ${table}`);
      return {
        batch_records: batchSize, topic_records: topicRecords, task_rss_mb: Math.round(peak - idle), task_rss_mb_first_batch: Math.round(firstHwmMb - idle),
        peak_service_rss_mb: Math.round(peak), idle_service_rss_mb: Math.round(idle), commit_s: round((firstAt - createdAt) / 1000, 1), threads, kafkaClient,
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
  const topicRecords = Math.max(...opts.batches);
  const idleThreadRounds = [await idleThreadMb(), await idleThreadMb()];
  const idleThread = Math.round(idleThreadRounds.reduce((a, b) => a + b, 0) / idleThreadRounds.length);
  const measured = async (batchSize: number, fileSystem: 'file' | 'hdfs'): Promise<MemoryStep> => {
    try {
      const { kafkaClient: client, ...s } = await step(batchSize, topicRecords, fileSystem);
      kafkaClient ??= client;
      return { ...s, task_rss_mb_with_thread: s.task_rss_mb + idleThread };
    } catch (e) {
      // A step that fails (out of memory, say) is a result; the next, each in its own service, still runs.
      return { batch_records: batchSize, topic_records: topicRecords, task_rss_mb: NaN, task_rss_mb_with_thread: NaN, task_rss_mb_first_batch: NaN, peak_service_rss_mb: NaN, idle_service_rss_mb: NaN, commit_s: NaN, threads: NaN, error: (e as Error).message.slice(0, 2000) };
    }
  };
  for (const batchSize of opts.batches) steps.push(await measured(batchSize, 'file'));
  const hdfs = await measured(opts.targetBatch, 'hdfs');
  const ran = steps.filter((s) => !s.error);
  const target = steps.find((s) => s.batch_records === opts.targetBatch)
    ?? [...steps].sort((a, b) => Math.abs(a.batch_records - opts.targetBatch) - Math.abs(b.batch_records - opts.targetBatch))[0]!;
  const rss = ran.map((s) => s.task_rss_mb);
  const largest = rss.length > 0 ? Math.max(...rss) : NaN;
  const smallest = rss.length > 0 ? Math.min(...rss) : NaN;
  const spread = largest - smallest;
  return {
    batch_records: target.batch_records, task_rss_mb_500k: target.task_rss_mb, idle_service_rss_mb: target.idle_service_rss_mb, peak_service_rss_mb: target.peak_service_rss_mb,
    idle_thread_mb: idleThread, idle_thread_mb_rounds: idleThreadRounds, task_rss_mb_500k_with_thread: target.task_rss_mb_with_thread,
    target_mb: TARGET_MB, within_target: !target.error && target.task_rss_mb_with_thread <= TARGET_MB,
    steps,
    hdfs: { ...hdfs, within_target: !hdfs.error && hdfs.task_rss_mb_with_thread <= TARGET_MB },
    // Over a smallest figure near zero the ratio says little; the spread decides "flat".
    flat_ratio: round(largest / Math.max(smallest, 1), 2),
    flat: ran.length === steps.length && ran.length > 1 && spread <= FLAT_TOLERANCE_MB,
    flat_spread_mb: spread,
    flat_tolerance_mb: FLAT_TOLERANCE_MB,
    ...(kafkaClient ? { kafka_client: kafkaClient } : {}),
  };
}
