// Throughput over one filled topic, every reader in the same run:
//   (a) Kafka's Java ConsumerPerformance (fetch.nMsg.sec),
//   (b) a bare consumer per client library (kafkajs, @platformatic/kafka) that only counts records,
//       with the service's fetch settings (FETCH_SETTINGS, which the Java consumer gets too),
//   (c) the service: from the CREATE TABLE to the last record published, 1 task and 4 tasks, per
//       service client (kafkaClient: 'shared', one @platformatic/kafka fetch loop per worker thread and
//       cluster shared by its tasks; 'kafkajs' and 'platformatic', a client per task), and once more
//       into a table on the stack's HDFS (WebHDFS), to compare with the local disk.
// A service run compares with the bare consumer of its own library ('shared' is @platformatic/kafka),
// and every run also with bare kafkajs (the issue's yardstick) and with Java.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bareConsume } from '../bare-consumer.ts';
import { FETCH_SETTINGS as FETCH } from '../../../src/task/source.ts';
import { benchName, benchService, brokers, committedBatches, createTableSql, eventually, hive, kafkaTool, procStats, round, rssSampler, serviceLog } from '../lib.ts';
import type { Filled } from './fill.ts';
import { stack } from '../../integration/helpers/services.ts';

/** The service's kafkaClient values. */
export type Client = 'shared' | 'kafkajs' | 'platformatic';
export const CLIENTS: Client[] = ['shared', 'kafkajs', 'platformatic'];
/** The client libraries a bare consumer reads with. */
export type BareClient = 'kafkajs' | 'platformatic';
export const BARE_CLIENTS: BareClient[] = ['kafkajs', 'platformatic'];
/** The library a service client reads with: its "same client" bare consumer. */
export const bareOf = (client: Client): BareClient => (client === 'shared' ? 'platformatic' : client);

export interface Rate { msgsPerS: number; mbPerS: number; ms: number }
export interface ServiceRun extends Rate {
  client: Client; tasks: number; fileSystem: 'file' | 'hdfs'; steadyMsgsPerS: number; cpuS: number; peakRssMb: number;
  /** How long HiveServer2 took to answer the CREATE TABLE (part of the timed run). */
  createMs: number;
  /** The service's threads (main, worker threads, libuv's) when the last batch was published. */
  threads: number;
  /** Set for the format runs: 'avro', or 'mapping' (JSON through a kafka.mapping). */
  variant?: string;
}

function rate(records: number, bytes: number, ms: number): Rate {
  return { msgsPerS: round(records / (ms / 1000)), mbPerS: round(bytes / 2 ** 20 / (ms / 1000), 1), ms: Math.round(ms) };
}

/** `group`: a consumer group of its own for each run, since ConsumerPerformance commits its offsets. */
export async function javaConsumer(filled: Filled, group = `${filled.topic}-java`): Promise<Rate & { fetchMsgsPerS: number }> {
  const config = join(mkdtempSync(join(tmpdir(), 'hive-kafka-bench-')), 'consumer.properties');
  writeFileSync(config, [
    `max.partition.fetch.bytes=${FETCH.maxBytesPerPartition}`, `fetch.max.bytes=${FETCH.maxBytes}`, `fetch.min.bytes=${FETCH.minBytes}`, `fetch.max.wait.ms=${FETCH.maxWaitMs}`,
    'isolation.level=read_committed', 'auto.offset.reset=earliest',
  ].join('\n'));
  const out = await kafkaTool('org.apache.kafka.tools.ConsumerPerformance', [
    '--bootstrap-server', brokers.join(','), '--topic', filled.topic, '--messages', String(filled.records),
    '--group', group, '--timeout', '120000', '--consumer.config', config,
  ]);
  // A CSV header line and one line of values.
  const lines = out.trim().split('\n').filter((l) => l.includes(','));
  const header = lines.findIndex((l) => l.includes('fetch.nMsg.sec'));
  if (header < 0 || !lines[header + 1]) throw new Error(`ConsumerPerformance printed no result:\n${out.slice(-2000)}`);
  const names = lines[header]!.split(',').map((s) => s.trim());
  const values = lines[header + 1]!.split(',').map((s) => s.trim());
  const get = (n: string) => Number(values[names.indexOf(n)]);
  if (get('data.consumed.in.nMsg') !== filled.records) throw new Error(`ConsumerPerformance consumed ${get('data.consumed.in.nMsg')} of ${filled.records} records`);
  return { msgsPerS: round(get('fetch.nMsg.sec')), mbPerS: round(get('fetch.MB.sec'), 1), ms: get('fetch.time.ms'), fetchMsgsPerS: round(get('fetch.nMsg.sec')) };
}

export async function bareConsumer(filled: Filled, client: BareClient): Promise<Rate> {
  const r = await bareConsume({ client, brokers, topic: filled.topic, partitions: [...Array(filled.partitions).keys()], expected: filled.records, fetch: FETCH });
  if (r.records !== filled.records) throw new Error(`bare ${client} consumer read ${r.records} of ${filled.records} records`);
  return rate(r.records, r.bytes, r.ms);
}

/** The service ingests the whole topic into a new table; timed from the CREATE to the last publish. */
/** `variant`: another value format or a mapping, named in the table and the result. `alternatedRound`: which alternated round, named in the table. */
export async function serviceIngest(filled: Filled, client: Client, tasks: number, fileSystem: 'file' | 'hdfs' = 'file',
  variant?: { label: string; props: Record<string, string | number> }, alternatedRound?: number): Promise<ServiceRun> {
  const table = benchName('tput', `_${client}_${tasks}${fileSystem === 'hdfs' ? '_hdfs' : ''}${variant ? `_${variant.label}` : ''}${alternatedRound === undefined ? '' : `_r${alternatedRound}`}`);
  const location = fileSystem === 'hdfs' ? `${stack.hdfs}/hive-kafka-bench/${table}` : undefined;
  const service = await benchService(`^default\\.${table}$`, { HIVE_KAFKA_CLIENT: client });
  const session = await hive();
  try {
    const cpuBefore = procStats(service.child.pid!).cpuS;
    const rss = rssSampler(service.child.pid!);
    const createdAt = Date.now();
    await session.execute(createTableSql(table, filled.topic, { 'kafka.max.num.tasks': tasks, 'kafka.batch.maxSize': 100_000, 'kafka.max.batch.period.ms': 1000, ...variant?.props }, { location }));
    const createMs = Date.now() - createdAt;
    const lastPublish = await eventually(`${table} to publish ${filled.records} records`, async () => {
      const batches = committedBatches(service.ledgerPath);
      const records = batches.reduce((n, b) => n + b.records, 0);
      if (records > filled.records) throw new Error(`${table} has ${records} records committed, more than the ${filled.records} produced`);
      return records === filled.records ? Math.max(...batches.map((b) => b.committedAt)) : undefined;
    }, 600_000, 100);
    const peakRssMb = rss.stop();
    const after = procStats(service.child.pid!);
    const cpuS = after.cpuS - cpuBefore;
    const consumingAt = Math.min(...serviceLog(service, 'task consuming').map((l) => l.time));
    const run = rate(filled.records, filled.bytes, lastPublish - createdAt);
    await session.execute(`DROP TABLE ${table}`);
    return { ...run, client, tasks, fileSystem, createMs, ...(variant ? { variant: variant.label } : {}), steadyMsgsPerS: round(filled.records / ((lastPublish - consumingAt) / 1000)), cpuS: round(cpuS, 1), peakRssMb: Math.round(peakRssMb), threads: after.threads };
  } finally {
    await session.close();
    await service.stop();
  }
}

/** One alternated round: every reader the headline ratios compare, one right after another. */
export interface AlternatedRound {
  java_msgs_per_s: number; bare_kafkajs_msgs_per_s: number; service_msgs_per_s: number; hdfs_msgs_per_s: number;
  vs_bare: number; vs_java: number; hdfs_vs_local: number;
}

/**
 * The headline ratios again, in `rounds` rounds of Java, bare kafkajs, the service on the local disk
 * and the service on HDFS, one right after another. The part's other runs are minutes apart, and the
 * bare consumers' speed on this shared host moved twofold between runs of one code: the median of
 * adjacent pairs follows the code more than one pair taken minutes apart does.
 */
export async function alternatedRounds(filled: Filled, client: Client, rounds: number, log: (line: string) => void): Promise<AlternatedRound[]> {
  const results: AlternatedRound[] = [];
  for (let i = 1; i <= rounds; i++) {
    log(`alternated round ${i} of ${rounds}: Java, bare kafkajs, service (${client}, 4 tasks) local, then on HDFS`);
    const java = await javaConsumer(filled, `${filled.topic}-java-r${i}`);
    const bare = await bareConsumer(filled, 'kafkajs');
    const local = await serviceIngest(filled, client, 4, 'file', undefined, i);
    const hdfs = await serviceIngest(filled, client, 4, 'hdfs', undefined, i);
    results.push({
      java_msgs_per_s: java.msgsPerS, bare_kafkajs_msgs_per_s: bare.msgsPerS, service_msgs_per_s: local.msgsPerS, hdfs_msgs_per_s: hdfs.msgsPerS,
      vs_bare: round(local.msgsPerS / bare.msgsPerS, 2), vs_java: round(local.msgsPerS / java.msgsPerS, 2), hdfs_vs_local: round(hdfs.msgsPerS / local.msgsPerS, 2),
    });
  }
  return results;
}

/**
 * One CREATE and DROP of a storage-handler table no service ingests: HiveServer2's first DDL after
 * its start took 60 s and more on 2 × AMD EPYC (2026-12-02 13:05, the first timed run then read
 * 25,738 msg/s against 162,153 from its first record on), a cost of HiveServer2 and not of the service.
 */
export async function warmHiveServer2(topic: string): Promise<number> {
  const session = await hive();
  const table = benchName('warm');
  const started = Date.now();
  try {
    await session.execute(createTableSql(table, topic, {}));
    await session.execute(`DROP TABLE ${table}`);
    return Date.now() - started;
  } finally {
    await session.close();
  }
}
