// Scale: N tables, each on its own 1-partition topic at `perSecond` records/s, in one service, with
// kafka.max.batch.period.ms=period. For each N (tables are added, not re-created, between steps):
// total RSS (largest sample in the window), CPU (cores busy), the service's threads, and the p99 of
// produce-to-visible. The target (RSS ≤ 2 GB, p99 ≤ period + 2 s) is judged per step; the result names
// the largest step that met it. A step that fails ends the sweep and is reported with its error.
import { SendLog, benchName, benchService, committedBatches, createTableSql, createTopicsInGroups, eventually, hive, hostCpuS, paceProducer, percentile, procStats, producer, round, rssSampler, sleep, type RunningService } from '../lib.ts';

export interface ScaleStep {
  tables: number; error?: string; total_rss_mb: number; cpu_cores: number; p50_ms: number; p99_ms: number; records: number; within_target: boolean; create_s: number;
  /** The service's threads (/proc/<pid>/status) at the end of the window: the main thread, its worker threads, libuv's. */
  threads: number;
  /**
   * What else the step measured, to tell the service's share of the latency from the host's: p99 from the
   * broker's acknowledgement of each produce request (not from its start), the produce requests' p50 and
   * p99, the records per table and second the producer achieved (the target is `per_table_msgs_per_s`),
   * and the whole guest's CPU in the window (every process: broker, producer, service) and steal.
   */
  p99_after_ack_ms?: number; produce_request_p50_ms?: number; produce_request_p99_ms?: number;
  produced_per_table_s?: number; host_cpu_cores?: number; host_steal_cores?: number;
}
export interface Scale {
  steps: ScaleStep[]; tables: number; total_rss_mb: number; p99_ms: number; period_ms: number; per_table_msgs_per_s: number; target_rss_mb: number; target_p99_ms: number;
  /** The largest step (table count) that met the target; 0 if none did. */
  largest_within_target: number;
  kafka_client?: string;
}

/** The waits of a step grow with its table count: creating 200 tables through HiveServer2 and starting their tasks takes minutes. */
const stepTimeoutMs = (tables: number) => Math.max(300_000, 60_000 + 2_000 * tables);

/** The tables the service logged 'task consuming' for, read incrementally: its output grows long at 200 tables. */
function consumingTables(service: RunningService): () => Set<string> {
  const seen = new Set<string>();
  let read = 0;
  return () => {
    const out = service.output();
    const end = out.lastIndexOf('\n') + 1; // whole lines only
    for (const line of out.slice(read, end).split('\n')) {
      if (!line.startsWith('{') || !line.includes('"task consuming"')) continue;
      try {
        const l = JSON.parse(line) as { msg?: string; table?: string };
        if (l.msg === 'task consuming' && l.table) seen.add(l.table);
      } catch { /* not one of the service's JSON lines */ }
    }
    read = Math.max(read, end);
    return seen;
  };
}

export async function scale(opts: { steps: number[]; perSecond: number; periodMs: number; seconds: number }): Promise<Scale> {
  const base = benchName('scale');
  const service = await benchService(`^default\\.${base}_\\d+$`);
  const consuming = consumingTables(service);
  const kafkaClient = (await service.status().catch(() => undefined))?.kafkaClient;
  const session = await hive();
  const p = await producer();
  const tables: string[] = [];
  const steps: ScaleStep[] = [];
  let totalSent = 0;
  let pace: ReturnType<typeof paceProducer> | undefined;
  try {
    for (const n of opts.steps) {
      let stage = 'creating topics';
      try {
        const added = Array.from({ length: n - tables.length }, (_, i) => `${base}_${tables.length + i}`);
        await createTopicsInGroups(added.map((topic) => ({ topic, partitions: 1 })));
        stage = 'CREATE TABLE';
        const createStart = Date.now();
        for (const table of added) await session.execute(createTableSql(table, table, { 'kafka.max.batch.period.ms': opts.periodMs }));
        const createS = (Date.now() - createStart) / 1000;
        tables.push(...added);
        const log = new SendLog();
        stage = 'producing';
        pace = paceProducer(p, tables.map((topic) => ({ topic, partitions: 1 })), opts.perSecond, log);
        // Every table consuming (each reports once per task start), then a window of steady state.
        await eventually(`all ${n} tables consuming`, async () => {
          const seen = consuming();
          return tables.every((t) => seen.has(`default.${t}`)) ? true : undefined;
        }, stepTimeoutMs(n), 500);
        await sleep(opts.periodMs); // queues drained of what piled up while tables were created
        const pid = service.child.pid!;
        const cpu0 = procStats(pid).cpuS;
        const host0 = hostCpuS();
        const requestsBefore = pace.requestMs().length;
        const rss = rssSampler(pid, 500);
        const from = Date.now();
        await sleep(opts.seconds * 1000);
        const to = Date.now();
        const end = procStats(pid);
        const windowS = (to - from) / 1000;
        const cpuCores = (end.cpuS - cpu0) / windowS;
        const host1 = hostCpuS();
        const requests = pace.requestMs().slice(requestsBefore).sort((a, b) => a - b);
        const totalRss = rss.stop();
        totalSent += (await pace.stop()) * tables.length;
        pace = undefined;
        await eventually(`the ${n} tables to commit all ${totalSent} records sent`, async () =>
          (committedBatches(service.ledgerPath).reduce((s, b) => s + b.records, 0) >= totalSent ? true : undefined), stepTimeoutMs(n), 500);
        const { latencies, afterAck, unseen } = log.latencies((b) => b.tableName, committedBatches(service.ledgerPath), from, to);
        if (unseen > 0) throw new Error(`${unseen} records sent in the ${n}-table window are in no committed batch, though the tables committed as many records as were sent`);
        latencies.sort((a, b) => a - b);
        afterAck.sort((a, b) => a - b);
        const p99 = percentile(latencies, 99);
        steps.push({ tables: n, total_rss_mb: Math.round(totalRss), cpu_cores: round(cpuCores, 2), p50_ms: percentile(latencies, 50), p99_ms: p99,
          records: latencies.length, within_target: p99 <= opts.periodMs + 2000 && totalRss <= 2048, create_s: round(createS, 1), threads: end.threads,
          p99_after_ack_ms: percentile(afterAck, 99), produce_request_p50_ms: percentile(requests, 50), produce_request_p99_ms: percentile(requests, 99),
          produced_per_table_s: round(latencies.length / tables.length / windowS, 1),
          host_cpu_cores: round((host1.busyS - host0.busyS) / windowS, 2), host_steal_cores: round((host1.stealS - host0.stealS) / windowS, 2) });
      } catch (e) {
        // A step the machine cannot carry is a result too: the steps that ran, and this one's failure
        // with the service's RSS at that moment.
        await pace?.stop().catch(() => undefined);
        pace = undefined;
        let now = { rssMb: NaN, threads: NaN };
        try { now = procStats(service.child.pid!); } catch { /* the service is gone */ }
        steps.push({ tables: n, error: `${stage}: ${(e as Error).message}`, total_rss_mb: Math.round(now.rssMb), cpu_cores: NaN, p50_ms: NaN, p99_ms: NaN,
          records: 0, within_target: false, create_s: NaN, threads: now.threads });
        break;
      }
    }
    for (const table of tables) await session.execute(`DROP TABLE ${table}`);
    // tables, total_rss_mb and p99_ms: the largest step that ran to the end.
    const last = steps.filter((st) => !st.error).reduce<Pick<ScaleStep, 'tables' | 'total_rss_mb' | 'p99_ms'>>((a, b) => (b.tables > a.tables ? b : a), { tables: 0, total_rss_mb: NaN, p99_ms: NaN });
    const largest = steps.filter((st) => st.within_target).reduce((m, st) => Math.max(m, st.tables), 0);
    return {
      steps, tables: last.tables, total_rss_mb: last.total_rss_mb, p99_ms: last.p99_ms, period_ms: opts.periodMs, per_table_msgs_per_s: opts.perSecond, target_rss_mb: 2048, target_p99_ms: opts.periodMs + 2000,
      largest_within_target: largest, ...(kafkaClient ? { kafka_client: kafkaClient } : {}),
    };
  } finally {
    await pace?.stop().catch(() => undefined);
    await p.disconnect();
    await session.close();
    await service.stop();
  }
}
