// Cluster: three instances of one cluster on this one machine (so they share its 2 cores), tables
// on 1-partition topics at `perSecond` records/s each, kafka.max.batch.period.ms=period.
// 1. Hand-over: with the first step's tables under load, kill -9 of one instance, then (restarted)
//    SIGTERM of one: the time until every table runs again (each on one live instance), `tries` each.
// 2. Tables per instance within the freshness target: for each step (tables added between steps),
//    the p99 of produce-to-visible over all tables and the three instances' total RSS.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SendLog, benchName, benchService, committedBatches, createTableSql, createTopics, eventually, hive, median, paceProducer, percentile, procStats, producer, round, rssSampler, sleep, stack, type RunningService } from '../lib.ts';

export interface ClusterStep { tables: number; per_instance: number; error?: string; total_rss_mb: number; p50_ms: number; p99_ms: number; records: number; within_target: boolean }
export interface ClusterBench {
  instances: number; session_timeout_ms: number; handover_kill9_ms: number[]; handover_sigterm_ms: number[];
  handover_kill9_median_ms: number; handover_sigterm_median_ms: number; steps: ClusterStep[]; tables_per_instance_within_target: number;
  per_table_msgs_per_s: number; period_ms: number; target_p99_ms: number;
}

const SESSION_MS = 10_000;

export async function clusterBench(opts: { steps: number[]; perSecond: number; periodMs: number; seconds: number; tries: number }): Promise<ClusterBench> {
  const base = benchName('cluster');
  const cluster = base.replace(/_/g, '-');
  const dir = mkdtempSync(join(tmpdir(), 'hive-kafka-bench-cluster-'));
  const ids = ['bench-a', 'bench-b', 'bench-c'];
  const services = new Map<string, RunningService>();
  const start = async (id: string) => services.set(id, await benchService(`^default\\.${base}_\\d+$`, {
    HIVE_KAFKA_CLUSTER: cluster, HIVE_KAFKA_CLUSTER_BOOTSTRAP: stack.kafkaBrokers, HIVE_KAFKA_CLUSTER_SESSION_TIMEOUT_MS: String(SESSION_MS), HIVE_KAFKA_INSTANCE_ID: id,
  }, join(dir, `${id}.db`)));
  for (const id of ids) await start(id);
  const session = await hive();
  const p = await producer();
  const tables: string[] = [];
  const steps: ClusterStep[] = [];
  const kill9: number[] = [];
  const sigterm: number[] = [];
  let pace: { stop(): Promise<number> } | undefined;
  let totalSent = 0;

  /** Every table running on exactly one of `on`. */
  const allRunning = async (on: string[], what: string) => eventually(what, async () => {
    const owners = new Map<string, number>();
    for (const id of on) {
      for (const t of (await services.get(id)!.status()).tables) {
        if (!t.notHere && t.tasks.some((k) => k.state === 'running')) owners.set(t.table, (owners.get(t.table) ?? 0) + 1);
      }
    }
    return tables.every((t) => owners.get(`default.${t}`) === 1) ? true : undefined;
  }, 120_000, 100);
  /** Committed batches of all three ledgers; a batch a new owner finished for the old one is in both, once counted. */
  /** `id` runs at least its fair share (floor of tables / instances): a hand-over measured before that would move nothing. */
  const hasShare = async (id: string) => eventually(`${id} back with its share`, async () => {
    const mine = (await services.get(id)!.status()).tables.filter((t) => !t.notHere && t.tasks.some((k) => k.state === 'running')).length;
    return mine >= Math.floor(tables.length / ids.length) ? true : undefined;
  }, 120_000, 200);
  const committed = () => {
    const seen = new Set<string>();
    return ids.flatMap((id) => committedBatches(join(dir, `${id}.db`))).filter((b) => {
      const key = `${b.tableName}/${b.partition}/${b.first}`;
      return !seen.has(key) && Boolean(seen.add(key));
    });
  };

  try {
    for (const n of opts.steps) {
      try {
        const added = Array.from({ length: n - tables.length }, (_, i) => `${base}_${tables.length + i}`);
        await createTopics(added.map((topic) => ({ topic, partitions: 1 })));
        for (const table of added) await session.execute(createTableSql(table, table, { 'kafka.max.batch.period.ms': opts.periodMs }));
        tables.push(...added);
        const log = new SendLog();
        pace = paceProducer(p, tables.map((topic) => ({ topic, partitions: 1 })), opts.perSecond, log);
        await allRunning(ids, `all ${n} tables running on the cluster`);
        if (kill9.length === 0) {
          // Hand-overs, once, at the first step's size.
          for (let i = 0; i < opts.tries; i++) {
            const victim = ids[i % ids.length]!;
            await hasShare(victim);
            const t0 = Date.now();
            await services.get(victim)!.stop('SIGKILL');
            await allRunning(ids.filter((x) => x !== victim), `tables on the others after kill -9 of ${victim}`);
            kill9.push(Date.now() - t0);
            await start(victim);
            await allRunning(ids, 'all tables running on three again');
            await hasShare(victim);
            const t1 = Date.now();
            await services.get(victim)!.stop('SIGTERM');
            await allRunning(ids.filter((x) => x !== victim), `tables on the others after SIGTERM of ${victim}`);
            sigterm.push(Date.now() - t1);
            await start(victim);
            await allRunning(ids, 'all tables running on three again');
            await hasShare(victim);
          }
        }
        await sleep(opts.periodMs);
        const pids = ids.map((id) => services.get(id)!.child.pid!);
        const rss = pids.map((pid) => rssSampler(pid, 500));
        const from = Date.now();
        await sleep(opts.seconds * 1000);
        const to = Date.now();
        const totalRss = rss.reduce((s, r) => s + r.stop(), 0);
        totalSent += (await pace.stop()) * tables.length;
        pace = undefined;
        await eventually(`the ${n} tables to commit all ${totalSent} records sent`, async () =>
          (committed().reduce((s, b) => s + b.records, 0) >= totalSent ? true : undefined), 300_000, 1000);
        const { latencies, unseen } = log.latencies((b) => b.tableName, committed(), from, to);
        if (unseen > 0) throw new Error(`${unseen} records sent in the ${n}-table window are in no committed batch`);
        latencies.sort((a, b) => a - b);
        const p99 = percentile(latencies, 99);
        steps.push({ tables: n, per_instance: round(n / ids.length, 1), total_rss_mb: Math.round(totalRss), p50_ms: percentile(latencies, 50), p99_ms: p99,
          records: latencies.length, within_target: p99 <= opts.periodMs + 2000 });
      } catch (e) {
        await pace?.stop().catch(() => undefined);
        pace = undefined;
        steps.push({ tables: n, per_instance: round(n / ids.length, 1), error: (e as Error).message.slice(0, 300),
          total_rss_mb: Math.round(ids.reduce((s, id) => s + (services.get(id)?.child.pid ? procStats(services.get(id)!.child.pid!).rssMb : 0), 0)), p50_ms: NaN, p99_ms: NaN, records: 0, within_target: false });
        break;
      }
    }
    for (const table of tables) await session.execute(`DROP TABLE ${table}`);
    const best = steps.filter((s) => s.within_target).reduce((m, s) => Math.max(m, s.per_instance), 0);
    return {
      instances: ids.length, session_timeout_ms: SESSION_MS, handover_kill9_ms: kill9, handover_sigterm_ms: sigterm,
      handover_kill9_median_ms: median(kill9), handover_sigterm_median_ms: median(sigterm), steps, tables_per_instance_within_target: best,
      per_table_msgs_per_s: opts.perSecond, period_ms: opts.periodMs, target_p99_ms: opts.periodMs + 2000,
    };
  } finally {
    await pace?.stop().catch(() => undefined);
    await p.disconnect();
    await session.close();
    for (const s of services.values()) await s.stop().catch(() => undefined);
  }
}
