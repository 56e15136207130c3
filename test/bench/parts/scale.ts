// Scale: N tables, each on its own 1-partition topic at `perSecond` records/s, in one service, with
// kafka.max.batch.period.ms=period. For each N (tables are added, not re-created, between steps):
// total RSS (largest sample in the window), CPU (cores busy), and the p99 of produce-to-visible.
import { SendLog, benchName, benchService, committedBatches, createTableSql, createTopics, eventually, hive, paceProducer, percentile, procStats, producer, round, rssSampler, serviceLog, sleep } from '../lib.ts';

export interface ScaleStep { tables: number; error?: string; total_rss_mb: number; cpu_cores: number; p50_ms: number; p99_ms: number; records: number; within_target: boolean; create_s: number }
export interface Scale { steps: ScaleStep[]; tables: number; total_rss_mb: number; p99_ms: number; period_ms: number; per_table_msgs_per_s: number; target_rss_mb: number; target_p99_ms: number }

export async function scale(opts: { steps: number[]; perSecond: number; periodMs: number; seconds: number }): Promise<Scale> {
  const base = benchName('scale');
  const service = await benchService(`^default\\.${base}_\\d+$`);
  const session = await hive();
  const p = await producer();
  const tables: string[] = [];
  const steps: ScaleStep[] = [];
  let totalSent = 0;
  let pace: { stop(): Promise<number> } | undefined;
  try {
    for (const n of opts.steps) {
      try {
        const added = Array.from({ length: n - tables.length }, (_, i) => `${base}_${tables.length + i}`);
        await createTopics(added.map((topic) => ({ topic, partitions: 1 })));
        const createStart = Date.now();
        for (const table of added) await session.execute(createTableSql(table, table, { 'kafka.max.batch.period.ms': opts.periodMs }));
        const createS = (Date.now() - createStart) / 1000;
        tables.push(...added);
        const log = new SendLog();
        pace = paceProducer(p, tables.map((topic) => ({ topic, partitions: 1 })), opts.perSecond, log);
        // Every table consuming (each reports once per task start), then a window of steady state.
        await eventually(`all ${n} tables consuming`, async () => {
          const consuming = new Set(serviceLog(service, 'task consuming').map((l) => l.table));
          return tables.every((t) => consuming.has(`default.${t}`)) ? true : undefined;
        }, 300_000, 500);
        await sleep(opts.periodMs); // queues drained of what piled up while tables were created
        const pid = service.child.pid!;
        const cpu0 = procStats(pid).cpuS;
        const rss = rssSampler(pid, 500);
        const from = Date.now();
        await sleep(opts.seconds * 1000);
        const to = Date.now();
        const cpuCores = (procStats(pid).cpuS - cpu0) / ((to - from) / 1000);
        const totalRss = rss.stop();
        totalSent += (await pace.stop()) * tables.length;
        pace = undefined;
        await eventually(`the ${n} tables to commit all ${totalSent} records sent`, async () =>
          (committedBatches(service.ledgerPath).reduce((s, b) => s + b.records, 0) >= totalSent ? true : undefined), 300_000, 500);
        const { latencies, unseen } = log.latencies((b) => b.tableName, committedBatches(service.ledgerPath), from, to);
        if (unseen > 0) throw new Error(`${unseen} records sent in the ${n}-table window are in no committed batch, though the tables committed as many records as were sent`);
        latencies.sort((a, b) => a - b);
        const p99 = percentile(latencies, 99);
        steps.push({ tables: n, total_rss_mb: Math.round(totalRss), cpu_cores: round(cpuCores, 2), p50_ms: percentile(latencies, 50), p99_ms: p99,
          records: latencies.length, within_target: p99 <= opts.periodMs + 2000 && totalRss <= 2048, create_s: round(createS, 1) });
      } catch (e) {
        // A step the machine cannot carry is a result too: the steps that ran, and this one's failure
        // with the service's RSS at that moment.
        await pace?.stop().catch(() => undefined);
        pace = undefined;
        steps.push({ tables: n, error: (e as Error).message, total_rss_mb: Math.round(procStats(service.child.pid!).rssMb), cpu_cores: NaN, p50_ms: NaN, p99_ms: NaN,
          records: 0, within_target: false, create_s: NaN });
        break;
      }
    }
    for (const table of tables) await session.execute(`DROP TABLE ${table}`);
    const ran = steps.filter((st) => !st.error);
    const last = ran[ran.length - 1] ?? { tables: 0, total_rss_mb: NaN, p99_ms: NaN };
    return { steps, tables: last.tables, total_rss_mb: last.total_rss_mb, p99_ms: last.p99_ms, period_ms: opts.periodMs, per_table_msgs_per_s: opts.perSecond, target_rss_mb: 2048, target_p99_ms: opts.periodMs + 2000 };
  } finally {
    await pace?.stop().catch(() => undefined);
    await p.disconnect();
    await session.close();
    await service.stop();
  }
}
