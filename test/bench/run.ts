// npm run bench: every benchmark part in one run on the real stack, then
// test/bench/results/<timestamp>.json and a markdown summary (printed and written beside it). A run
// of some parts (--only) goes to results/partial/, so the newest file in results/ is a complete run.
//
//   npm run bench                              everything, at the sizes the README reports
//   npm run bench -- --only throughput,ddl     some parts (fill runs whenever throughput does)
//
// Sizes can be made smaller for a quick look (the result file records the sizes used):
//   HIVE_KAFKA_BENCH_RECORDS (2000000: the throughput topic, 4 partitions)
//   HIVE_KAFKA_BENCH_SECONDS (60: the measuring window of freshness, scale and cluster steps)
//   HIVE_KAFKA_BENCH_TRIES (10: DDL reactions)
//   HIVE_KAFKA_BENCH_SCALE (50,100,200,400,800: tables of one partition at 50 msg/s each, in one service)
//   HIVE_KAFKA_BENCH_BATCHES (100000,500000,1000000,2000000: the memory sweep over kafka.batch.maxSize,
//     each size a fresh service on a 1-partition topic of that many records)
//   HIVE_KAFKA_BENCH_BATCH (500000: the sweep's step the ≤ 256 MB per task target is judged on)
//   HIVE_KAFKA_BENCH_FILES (10000: published files before a restart)
//   HIVE_KAFKA_BENCH_CLUSTER (15,30,60: tables over three instances), HIVE_KAFKA_BENCH_HANDOVERS (3)
//   HIVE_KAFKA_BENCH_LEDGER_BATCHES (2500,25000,100000: one table's committed batches, ledger-age)
//   HIVE_KAFKA_BENCH_HDFS_COMMIT_BATCHES (30: batches per DataNode setting and round, hdfs-commit)
// The service runs with its configured defaults (kafkaClient, workerThreads: HIVE_KAFKA_CLIENT,
// HIVE_KAFKA_WORKER_THREADS) except where a part sets the client: throughput and client-cost run
// every client ('shared', 'kafkajs', 'platformatic').
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { loadConfig } from '../../src/cli/config.ts';
import { compareParquetWriters } from './parquet-writers.ts';
import { benchName, preflight, round, runId } from './lib.ts';
import { stack } from '../integration/helpers/services.ts';
import { PARTS, choose, markdownSummary } from './summary.ts';
import type { BareClient, Client, ServiceRun } from './parts/throughput.ts';

type Part = (typeof PARTS)[number];

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const sizes = {
  records: env('HIVE_KAFKA_BENCH_RECORDS', 2_000_000),
  seconds: env('HIVE_KAFKA_BENCH_SECONDS', 60),
  tries: env('HIVE_KAFKA_BENCH_TRIES', 10),
  scale: (process.env.HIVE_KAFKA_BENCH_SCALE ?? '50,100,200,400,800').split(',').map(Number),
  cluster: (process.env.HIVE_KAFKA_BENCH_CLUSTER ?? '15,30,60').split(',').map(Number),
  handovers: env('HIVE_KAFKA_BENCH_HANDOVERS', 3),
  batch: env('HIVE_KAFKA_BENCH_BATCH', 500_000),
  batches: (process.env.HIVE_KAFKA_BENCH_BATCHES ?? '100000,500000,1000000,2000000').split(',').map(Number),
  files: env('HIVE_KAFKA_BENCH_FILES', 10_000),
  ledgerBatches: (process.env.HIVE_KAFKA_BENCH_LEDGER_BATCHES ?? '2500,25000,100000').split(',').map(Number),
  parquetRows: 500_000,
  hdfsCommitBatches: env('HIVE_KAFKA_BENCH_HDFS_COMMIT_BATCHES', 30),
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

const config = loadConfig(undefined);
/** The client the service reads with unless told otherwise: the throughput headline's. */
const client: Client = config.kafkaClient;
const results: Record<string, unknown> = {
  run_id: runId,
  started_at: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, memory_gb: round(totalmem() / 2 ** 30, 1), kernel: release(), loadavg_at_start: loadavg().map((l) => round(l, 2)) },
  versions: {
    node: process.version, kafka: pomProperty('kafka', 'kafka.version'), hive_metastore: pomProperty('hive', 'hive.version'), hiveserver2: pomProperty('hs2', 'hive.version'),
    kafkajs: packageVersion('kafkajs'), '@platformatic/kafka': optionalVersion('@platformatic/kafka'), 'hyparquet-writer': packageVersion('hyparquet-writer'), 'parquet-wasm': packageVersion('parquet-wasm'),
  },
  client,
  worker_threads: config.workerThreads,
  parquet_writer: 'hyparquet-writer',
  sizes,
};

const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
await preflight();

const dir = join(here, 'results', ...(PARTS.some((p) => !wanted(p)) ? ['partial'] : []));
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

/** Rounds of the headline readers one right after another (parts/throughput.ts alternatedRounds). */
const ALTERNATED_ROUNDS = 3;

await part('throughput', `${sizes.records} records, 4 partitions`, async () => {
  const { fill } = await import('./parts/fill.ts');
  const { BARE_CLIENTS, CLIENTS, alternatedRounds, bareConsumer, bareOf, javaConsumer, serviceIngest, warmHiveServer2 } = await import('./parts/throughput.ts');
  const { median } = await import('./lib.ts');
  const filled = await fill(benchName('fill'), 4, sizes.records);
  const warmUpMs = await warmHiveServer2(filled.topic);
  log(`HiveServer2 warmed up (a CREATE and a DROP: ${warmUpMs} ms)`);
  log(`fill: ${filled.msgsPerS} msg/s; (a) Java ConsumerPerformance`);
  const java = await javaConsumer(filled);
  const bare: Partial<Record<BareClient, { msgsPerS: number }>> = {};
  for (const c of BARE_CLIENTS) { log(`(b) bare ${c} consumer`); bare[c] = await bareConsumer(filled, c); }
  const service: ServiceRun[] = [];
  for (const c of CLIENTS) for (const tasks of [1, 4]) { log(`(c) service, ${c}, ${tasks} task(s)`); service.push(await serviceIngest(filled, c, tasks)); }
  log(`(c) service, ${client}, 4 tasks, into a table on HDFS`);
  const hdfs = await serviceIngest(filled, client, 4, 'hdfs');
  // The same records as Avro from the Schema Registry, and as JSON through a kafka.mapping that keeps every record.
  const { fillAvro } = await import('./parts/fill-avro.ts');
  log('fill: the same records as Avro');
  const avroFilled = await fillAvro(benchName('fill-avro'), 4, sizes.records);
  log(`(d) service, ${client}, 4 tasks, Avro`);
  const avroRun = await serviceIngest(avroFilled, client, 4, 'file', { label: 'avro', props: { 'kafka.value.format': 'avro', 'kafka.schema.registry.url': stack.schemaRegistry } });
  log(`(d) service, ${client}, 4 tasks, JSON through a mapping`);
  const mappingRun = await serviceIngest(filled, client, 4, 'file', { label: 'mapping', props: {
    'kafka.mapping': "SELECT id, userid, lower(url) AS url, ts, upper(country) AS country WHERE id >= 0",
  } });
  const rounds = await alternatedRounds(filled, client, ALTERNATED_ROUNDS, log);
  const alternated = {
    rounds,
    median_vs_bare: median(rounds.map((r) => r.vs_bare)),
    median_vs_java: median(rounds.map((r) => r.vs_java)),
    median_hdfs_vs_local: median(rounds.map((r) => r.hdfs_vs_local)),
    basis: `${ALTERNATED_ROUNDS} rounds of Java, bare kafkajs, the service (${client}, 4 tasks) on the local disk and on HDFS, one right after another; the targets are judged on the medians`,
  };
  // The headline: the configured client with 4 tasks, against bare kafkajs (the yardstick) and Java.
  const headline = service.find((r) => r.client === client && r.tasks === 4)!;
  const best = service.reduce((a, b) => (b.msgsPerS > a.msgsPerS ? b : a));
  const vsKafkajs = (r: ServiceRun) => round(r.msgsPerS / bare.kafkajs!.msgsPerS, 2);
  const vsJava = (r: ServiceRun) => round(r.msgsPerS / java.msgsPerS, 2);
  const vsSame = (r: ServiceRun) => round(r.msgsPerS / bare[bareOf(r.client)]!.msgsPerS, 2);
  return {
    fill: filled, java, bare, service, hive_warm_up_ms: warmUpMs,
    service_msgs_per_s: headline.msgsPerS,
    basis: `${client} (the configured kafkaClient), 4 tasks, timed from CREATE TABLE to the last publish, against bare kafkajs and Java`,
    headline: { client, tasks: 4 },
    ratio_vs_bare: vsKafkajs(headline),
    ratio_vs_bare_basis: 'bare kafkajs',
    ratio_vs_bare_same_client: vsSame(headline),
    ratio_vs_java: vsJava(headline),
    ratios_by_run: service.map((r) => ({
      client: r.client, tasks: r.tasks, msgs_per_s: r.msgsPerS, bare_same_client: bareOf(r.client),
      vs_bare_same_client: vsSame(r), vs_bare_kafkajs: vsKafkajs(r), vs_java: vsJava(r),
    })),
    best: { client: best.client, tasks: best.tasks, msgs_per_s: best.msgsPerS, vs_bare_kafkajs: vsKafkajs(best), vs_bare_same_client: vsSame(best), vs_java: vsJava(best) },
    target_ratio_vs_bare: 0.9,
    target_ratio_vs_java: 0.35,
    alternated,
    within_target_vs_bare: alternated.median_vs_bare >= 0.9,
    within_target_vs_java: alternated.median_vs_java >= 0.35,
    hdfs, hdfs_vs_local: round(hdfs.msgsPerS / headline.msgsPerS, 2), target_hdfs_vs_local: 0.8,
    within_target_hdfs_vs_local: alternated.median_hdfs_vs_local >= 0.8,
    formats: {
      avro_fill: avroFilled, avro: avroRun, mapping: mappingRun,
      avro_vs_json: round(avroRun.msgsPerS / headline.msgsPerS, 2), mapping_vs_json: round(mappingRun.msgsPerS / headline.msgsPerS, 2),
      basis: `${client}, 4 tasks, the same records; ratios against the JSON run above (same machine, same run)`,
    },
  };
});

await part('freshness', `5000 msg/s for ${sizes.seconds} s, period 5000 ms`, async () =>
  (await import('./parts/freshness.ts')).freshness({ perSecond: 5000, seconds: sizes.seconds, periodMs: 5000 }));
await part('ddl', `${sizes.tries} tries each`, async () => (await import('./parts/ddl.ts')).ddlReaction(sizes.tries));
await part('memory', `one task, a batch of ${sizes.batches.join(', ')} records, each in a fresh service`, async () =>
  (await import('./parts/memory.ts')).memory({ batches: sizes.batches, targetBatch: sizes.batch }));
await part('ledger-age', `one table's per-round ledger reads at ${sizes.ledgerBatches.join(', ')} committed batches`, async () =>
  (await import('./parts/ledger-age.ts')).ledgerAge({ batches: sizes.ledgerBatches, flatFactor: 2 }));
await part('hdfs-commit', `${sizes.hdfsCommitBatches} batches of one file, twice with each DataNode setting`, async () =>
  (await import('./parts/hdfs-commit.ts')).hdfsCommit({ batches: sizes.hdfsCommitBatches, rounds: 2 }));
await part('restart', `${sizes.files} published files`, async () => (await import('./parts/restart.ts')).restart({ files: sizes.files, tries: 3 }));
await part('scale', `${sizes.scale.join(', ')} tables at 50 msg/s each`, async () =>
  (await import('./parts/scale.ts')).scale({ steps: sizes.scale, perSecond: 50, periodMs: 5000, seconds: sizes.seconds }));
await part('client-cost', '10 quiet tables per Kafka client', async () =>
  (await import('./parts/client-cost.ts')).clientCost({ tables: 10, perSecond: 50, seconds: 20 }));
await part('cluster', `three instances, ${sizes.cluster.join(', ')} tables at 50 msg/s each, hand-overs ${sizes.handovers} times each`, async () =>
  (await import('./parts/cluster.ts')).clusterBench({ steps: sizes.cluster, perSecond: 50, periodMs: 5000, seconds: sizes.seconds, tries: sizes.handovers }));

results.choices = choose(results);
results.finished_at = new Date().toISOString();
save();
const summary = markdownSummary(results);
writeFileSync(join(dir, `${stamp}.md`), summary);
console.log(summary);
log(`wrote ${join(dir, stamp)}.json and .md`);
if (failed.length > 0) {
  log(`failed parts: ${failed.join(', ')}`);
  process.exitCode = 1;
}
