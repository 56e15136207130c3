// Freshness: a steady rate into a 4-partition topic with kafka.max.batch.period.ms=period. A record
// is visible once the ledger marks its batch committed, which the protocol does after its files are
// published and its Hive partitions registered. Latency = that moment - the moment it was sent.
import { SendLog, benchName, benchService, committedBatches, createTableSql, createTopics, eventually, hive, paceProducer, percentile, producer, round, sleep } from '../lib.ts';

export interface Freshness { period_ms: number; rate_msgs_per_s: number; seconds: number; records: number; p50_ms: number; p95_ms: number; p99_ms: number; max_ms: number; target_ms: number; within_target: boolean }

export async function freshness(opts: { perSecond: number; seconds: number; periodMs: number }): Promise<Freshness> {
  const table = benchName('fresh');
  const topic = table;
  await createTopics([{ topic, partitions: 4 }]);
  const service = await benchService(`^default\\.${table}$`);
  const session = await hive();
  const p = await producer();
  try {
    await session.execute(createTableSql(table, topic, { 'kafka.max.batch.period.ms': opts.periodMs }));
    await eventually(`a task for ${table}`, async () => ((await service.status()).tables.find((t) => t.table === `default.${table}`)?.tasks.length ? true : undefined), 120_000, 100);
    const log = new SendLog();
    const pace = paceProducer(p, [{ topic, partitions: 4 }], opts.perSecond, log);
    // The first seconds include the consumer's group join; the window starts after them.
    const warmUpMs = 5000;
    const from = Date.now() + warmUpMs;
    await sleep(warmUpMs + opts.seconds * 1000);
    const to = Date.now();
    const sent = await pace.stop();
    await eventually(`${table} to commit all ${sent} records`, async () => {
      const n = committedBatches(service.ledgerPath).reduce((s, b) => s + b.records, 0);
      return n >= sent ? true : undefined;
    }, opts.periodMs * 3 + 30_000, 200);
    const { latencies, unseen } = log.latencies(() => topic, committedBatches(service.ledgerPath), from, to);
    if (unseen > 0) throw new Error(`${unseen} records sent in the window are not in any committed batch of ${table}`);
    latencies.sort((a, b) => a - b);
    await session.execute(`DROP TABLE ${table}`);
    const p99 = percentile(latencies, 99);
    return {
      period_ms: opts.periodMs, rate_msgs_per_s: round(latencies.length / ((to - from) / 1000)), seconds: opts.seconds, records: latencies.length,
      p50_ms: percentile(latencies, 50), p95_ms: percentile(latencies, 95), p99_ms: p99, max_ms: latencies[latencies.length - 1]!,
      target_ms: opts.periodMs + 2000, within_target: p99 <= opts.periodMs + 2000,
    };
  } finally {
    await p.disconnect();
    await session.close();
    await service.stop();
  }
}
