// npm run bench: every benchmark part in one run on the real stack, then
// test/bench/results/<timestamp>.json and a markdown summary (printed and written beside it).
//
//   npm run bench                              everything, at the sizes the README reports
//   npm run bench -- --only throughput,ddl     some parts (fill runs whenever throughput does)
//
// Sizes can be made smaller for a quick look (the result file records the sizes used):
//   HIVE_KAFKA_BENCH_RECORDS (2000000), HIVE_KAFKA_BENCH_SECONDS (60), HIVE_KAFKA_BENCH_TRIES (10),
//   HIVE_KAFKA_BENCH_SCALE (20,50,100), HIVE_KAFKA_BENCH_BATCH (500000), HIVE_KAFKA_BENCH_FILES (10000),
//   HIVE_KAFKA_BENCH_CLUSTER (15,30,60: tables over three instances), HIVE_KAFKA_BENCH_HANDOVERS (3)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { loadConfig } from '../../src/cli/config.ts';
import { compareParquetWriters } from './parquet-writers.ts';
import { benchName, preflight, round, runId } from './lib.ts';
import type { Client, ServiceRun } from './parts/throughput.ts';

const PARTS = ['parquet', 'throughput', 'freshness', 'ddl', 'memory', 'restart', 'scale', 'client-cost', 'cluster'] as const;
type Part = (typeof PARTS)[number];

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const sizes = {
  records: env('HIVE_KAFKA_BENCH_RECORDS', 2_000_000),
  seconds: env('HIVE_KAFKA_BENCH_SECONDS', 60),
  tries: env('HIVE_KAFKA_BENCH_TRIES', 10),
  scale: (process.env.HIVE_KAFKA_BENCH_SCALE ?? '20,50,100').split(',').map(Number),
  cluster: (process.env.HIVE_KAFKA_BENCH_CLUSTER ?? '15,30,60').split(',').map(Number),
  handovers: env('HIVE_KAFKA_BENCH_HANDOVERS', 3),
  batch: env('HIVE_KAFKA_BENCH_BATCH', 500_000),
  files: env('HIVE_KAFKA_BENCH_FILES', 10_000),
  parquetRows: 500_000,
};

const program = new Command('bench').option('--only <parts>', `comma-separated: ${PARTS.join(',')}`).parse();
const only = (program.opts().only as string | undefined)?.split(',') ?? [...PARTS];
for (const p of only) if (!PARTS.includes(p as Part)) throw new Error(`unknown part "${p}"; the parts are ${PARTS.join(', ')}`);
const wanted = (p: Part) => only.includes(p);

function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}
function optionalVersion(name: string): string {
  try { return packageVersion(name); } catch { return 'not installed'; }
}
function pomProperty(pom: string, property: string): string {
  return new RegExp(`<${property}>([^<]+)</${property}>`).exec(readFileSync(join(root, 'test/stack', pom, 'pom.xml'), 'utf8'))?.[1] ?? 'unknown';
}

const client = ((loadConfig(undefined) as { kafkaClient?: Client }).kafkaClient ?? 'kafkajs');
const results: Record<string, unknown> = {
  run_id: runId,
  started_at: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, memory_gb: round(totalmem() / 2 ** 30, 1), kernel: release(), loadavg_at_start: loadavg().map((l) => round(l, 2)) },
  versions: {
    node: process.version, kafka: pomProperty('kafka', 'kafka.version'), hive_metastore: pomProperty('hive', 'hive.version'), hiveserver2: pomProperty('hs2', 'hive.version'),
    kafkajs: packageVersion('kafkajs'), '@platformatic/kafka': optionalVersion('@platformatic/kafka'), 'hyparquet-writer': packageVersion('hyparquet-writer'), 'parquet-wasm': packageVersion('parquet-wasm'),
  },
  client,
  parquet_writer: 'hyparquet-writer',
  sizes,
};

const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
await preflight();

const dir = join(here, 'results');
mkdirSync(dir, { recursive: true });
const stamp = (results.started_at as string).replace(/[:.]/g, '-');
const failed: string[] = [];
/** Written after every part, so a part that fails late leaves the others' figures on disk. */
const save = () => writeFileSync(join(dir, `${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);

async function part(name: Part, what: string, run: () => Promise<unknown>): Promise<void> {
  if (!wanted(name)) return;
  log(`${name}: ${what}`);
  try {
    results[name] = await run();
  } catch (e) {
    // The other parts still run; the run as a whole fails.
    log(`${name} FAILED: ${(e as Error).stack ?? e}`);
    results[name] = { error: (e as Error).message };
    failed.push(name);
  }
  save();
}

await part('parquet', `${sizes.parquetRows} rows with each writer`, async () => compareParquetWriters(sizes.parquetRows));

await part('throughput', `${sizes.records} records, 4 partitions`, async () => {
  const { fill } = await import('./parts/fill.ts');
  const { CLIENTS, bareConsumer, javaConsumer, serviceIngest } = await import('./parts/throughput.ts');
  const filled = await fill(benchName('fill'), 4, sizes.records);
  log(`fill: ${filled.msgsPerS} msg/s; (a) Java ConsumerPerformance`);
  const java = await javaConsumer(filled);
  const bare: Partial<Record<Client, { msgsPerS: number }>> = {};
  for (const c of CLIENTS) { log(`(b) bare ${c} consumer`); bare[c] = await bareConsumer(filled, c); }
  const service: ServiceRun[] = [];
  for (const c of CLIENTS) for (const tasks of [1, 4]) { log(`(c) service, ${c}, ${tasks} task(s)`); service.push(await serviceIngest(filled, c, tasks)); }
  log(`(c) service, ${client}, 4 tasks, into a table on HDFS`);
  const hdfs = await serviceIngest(filled, client, 4, 'hdfs');
  const local = service.find((r) => r.client === client && r.tasks === 4)!;
  const best = service.filter((r) => r.client === client).reduce((a, b) => (b.msgsPerS > a.msgsPerS ? b : a));
  return {
    fill: filled, java, bare, service,
    service_msgs_per_s: best.msgsPerS,
    basis: `${client}, ${best.tasks} task(s): the faster of 1 and 4 tasks with the chosen client, timed from CREATE TABLE to the last publish`,
    ratio_vs_bare: round(best.msgsPerS / bare[client]!.msgsPerS, 2),
    ratio_vs_java: round(best.msgsPerS / java.msgsPerS, 2),
    ratios_by_run: service.map((r) => ({ client: r.client, tasks: r.tasks, vs_bare_same_client: round(r.msgsPerS / bare[r.client]!.msgsPerS, 2), vs_java: round(r.msgsPerS / java.msgsPerS, 2) })),
    target_ratio_vs_bare: 0.9,
    hdfs, hdfs_vs_local: round(hdfs.msgsPerS / local.msgsPerS, 2), target_hdfs_vs_local: 0.8,
  };
});

await part('freshness', `5000 msg/s for ${sizes.seconds} s, period 5000 ms`, async () =>
  (await import('./parts/freshness.ts')).freshness({ perSecond: 5000, seconds: sizes.seconds, periodMs: 5000 }));
await part('ddl', `${sizes.tries} tries each`, async () => (await import('./parts/ddl.ts')).ddlReaction(sizes.tries));
await part('memory', `one task buffering ${sizes.batch} records`, async () => (await import('./parts/memory.ts')).memory(sizes.batch));
await part('restart', `${sizes.files} published files`, async () => (await import('./parts/restart.ts')).restart({ files: sizes.files, tries: 3 }));
await part('scale', `${sizes.scale.join(', ')} tables at 50 msg/s each`, async () =>
  (await import('./parts/scale.ts')).scale({ steps: sizes.scale, perSecond: 50, periodMs: 5000, seconds: sizes.seconds }));
await part('client-cost', '10 quiet tables per Kafka client', async () =>
  (await import('./parts/client-cost.ts')).clientCost({ tables: 10, perSecond: 50, seconds: 20 }));
await part('cluster', `three instances, ${sizes.cluster.join(', ')} tables at 50 msg/s each, hand-overs ${sizes.handovers} times each`, async () =>
  (await import('./parts/cluster.ts')).clusterBench({ steps: sizes.cluster, perSecond: 50, periodMs: 5000, seconds: sizes.seconds, tries: sizes.handovers }));

results.finished_at = new Date().toISOString();
save();
const summary = markdownSummary(results);
writeFileSync(join(dir, `${stamp}.md`), summary);
console.log(summary);
log(`wrote test/bench/results/${stamp}.json and .md`);
if (failed.length > 0) {
  log(`failed parts: ${failed.join(', ')}`);
  process.exitCode = 1;
}

function markdownSummary(all: Record<string, any>): string {
  const r = { ...all };
  const errors = PARTS.filter((p) => r[p]?.error).map((p) => `Part ${p} failed: ${r[p].error}`);
  for (const p of PARTS) if (r[p]?.error) delete r[p];
  const m = r.machine;
  const out = [`Run ${r.started_at.slice(0, 16).replace('T', ' ')} UTC on ${m.cores} × ${m.cpu}, ${m.memory_gb} GiB, Linux ${m.kernel}; `
    + `Node ${r.versions.node}, Kafka ${r.versions.kafka}, client ${r.client}, Parquet writer ${r.parquet_writer}.`, ''];
  const row = (...cells: unknown[]) => out.push(`| ${cells.join(' | ')} |`);
  const ok = (b: boolean) => (b ? 'yes' : '**no**');
  if (r.throughput) {
    const t = r.throughput;
    out.push(`Throughput: ${t.fill.records.toLocaleString('en')} records of ~${Math.round(t.fill.bytes / t.fill.records)} B, 4 partitions (filled at ${t.fill.msgsPerS.toLocaleString('en')} msg/s).`, '');
    row('reader', 'msg/s', 'MB/s', 'vs bare (same client)', 'vs Java');
    row('---', '---:', '---:', '---:', '---:');
    row('(a) Java ConsumerPerformance (fetch.nMsg.sec)', t.java.msgsPerS.toLocaleString('en'), t.java.mbPerS, '', '1.00');
    for (const [c, b] of Object.entries(t.bare) as [string, any][]) row(`(b) bare ${c}`, b.msgsPerS.toLocaleString('en'), b.mbPerS, '1.00', round(b.msgsPerS / t.java.msgsPerS, 2));
    for (const s of t.service) {
      row(`(c) service, ${s.client}, ${s.tasks} task(s), CREATE → last publish`, s.msgsPerS.toLocaleString('en'), s.mbPerS, round(s.msgsPerS / t.bare[s.client].msgsPerS, 2), round(s.msgsPerS / t.java.msgsPerS, 2));
    }
    if (t.hdfs) row(`(c) service, ${t.hdfs.client}, ${t.hdfs.tasks} task(s), table on HDFS (WebHDFS)`, t.hdfs.msgsPerS.toLocaleString('en'), t.hdfs.mbPerS, round(t.hdfs.msgsPerS / t.bare[t.hdfs.client].msgsPerS, 2), round(t.hdfs.msgsPerS / t.java.msgsPerS, 2));
    if (t.hdfs) out.push('', `HDFS against the local disk, same client and tasks, same run: ${t.hdfs_vs_local} (target ≥ 0.8: ${ok(t.hdfs_vs_local >= 0.8)}).`);
    out.push('', `Headline (${t.basis}): ${t.service_msgs_per_s.toLocaleString('en')} msg/s, ratio vs bare ${t.ratio_vs_bare} (target ≥ 0.9: ${ok(t.ratio_vs_bare >= 0.9)}), vs Java ${t.ratio_vs_java}.`, '');
  }
  const targets: [string, string, string, boolean][] = [];
  if (r.freshness) targets.push([`Freshness p50 / p95 / p99 at ${r.freshness.rate_msgs_per_s} msg/s, period ${r.freshness.period_ms} ms`, `${r.freshness.p50_ms} / ${r.freshness.p95_ms} / ${r.freshness.p99_ms} ms`, `p99 ≤ ${r.freshness.target_ms} ms`, r.freshness.within_target]);
  if (r.ddl) {
    targets.push([`CREATE → first record consumed (median of ${r.ddl.tries})`, `${r.ddl.create_ms} ms`, '≤ 2000 ms', r.ddl.create_ms <= 2000]);
    targets.push(['ALTER pause → last publish', `${r.ddl.pause_ms} ms`, '≤ 2000 ms', r.ddl.pause_ms <= 2000]);
    targets.push(['ALTER resume → first record consumed', `${r.ddl.resume_ms} ms`, '≤ 2000 ms', r.ddl.resume_ms <= 2000]);
    targets.push(['DROP → no task left', `${r.ddl.drop_ms} ms`, '≤ 2000 ms', r.ddl.drop_ms <= 2000]);
  }
  if (r.memory) targets.push([`RSS per task buffering ${r.memory.batch_records.toLocaleString('en')} records`, `${r.memory.task_rss_mb_500k} MB (service peak ${r.memory.peak_service_rss_mb} MB, idle ${r.memory.idle_service_rss_mb} MB)`, '≤ 256 MB', r.memory.within_target]);
  if (r.restart) targets.push([`Restart → consuming, ${r.restart.published_files.toLocaleString('en')} files (median of ${r.restart.samples.length})`, `${r.restart.ms} ms`, '≤ 3000 ms', r.restart.within_target]);
  if (r.scale) {
    for (const s of r.scale.steps) {
      targets.push([`${s.tables} tables × ${r.scale.per_table_msgs_per_s} msg/s: total RSS, CPU, p50 / p99`,
        s.error ? `did not complete (${s.error.slice(0, 120)}); RSS then ${s.total_rss_mb} MB` : `${s.total_rss_mb} MB, ${s.cpu_cores} cores, ${s.p50_ms} / ${s.p99_ms} ms`,
        `RSS ≤ 2048 MB, p99 ≤ ${r.scale.target_p99_ms} ms`, s.within_target]);
    }
  }
  if (r.cluster) {
    const c = r.cluster;
    targets.push([`Hand-over after kill -9 of one of ${c.instances} instances (session timeout ${c.session_timeout_ms} ms; ${c.handover_kill9_ms.join(', ')} ms)`, `${c.handover_kill9_median_ms} ms (median)`, `≤ session timeout + 10000 ms`, c.handover_kill9_median_ms <= c.session_timeout_ms + 10_000]);
    targets.push([`Hand-over after SIGTERM (${c.handover_sigterm_ms.join(', ')} ms)`, `${c.handover_sigterm_median_ms} ms (median)`, `< session timeout`, c.handover_sigterm_median_ms < c.session_timeout_ms]);
    for (const s of c.steps) {
      targets.push([`Cluster, ${s.tables} tables (${s.per_instance} per instance) × ${c.per_table_msgs_per_s} msg/s: RSS of the three, p50 / p99`,
        s.error ? `did not complete (${s.error.slice(0, 120)})` : `${s.total_rss_mb} MB, ${s.p50_ms} / ${s.p99_ms} ms`, `p99 ≤ ${c.target_p99_ms} ms`, s.within_target]);
    }
  }
  if (targets.length > 0) {
    row('measure', 'result', 'target', 'met');
    row('---', '---', '---', '---');
    for (const [what, result, target, met] of targets) row(what, result, target, ok(met));
    out.push('');
  }
  if (r['client-cost']) {
    out.push(`Cost of quiet tables per Kafka client (${r['client-cost'].runs[0]?.tables} tables, service CPU with no records, then ${r['client-cost'].per_second} msg/s each): `
      + (r['client-cost'].runs as any[]).map((c) => `${c.client} ${c.idle_cores} / ${c.busy_cores} cores, ${c.rss_mb} MB`).join('; ') + '.', '');
  }
  if (r.parquet) {
    out.push(`Parquet writers, ${sizes.parquetRows.toLocaleString('en')} rows: `
      + (r.parquet as any[]).map((p) => `${p.candidate} ${p.encodeMsMedian} ms (median), +${p.peakRssDeltaMiB} MiB peak`).join('; ') + '.', '');
  }
  out.push(...errors.map((e) => `${e}\n`));
  return `${out.join('\n')}\n`;
}
