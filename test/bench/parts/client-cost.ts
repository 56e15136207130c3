// What a quiet table costs the service per Kafka client: `tables` tables on 1-partition topics, CPU of
// the service over `seconds` with no records arriving, then at `perSecond` records/s per table. The
// clients run one after the other on the same topics, each in a fresh service.
import { SendLog, benchName, benchService, createTableSql, createTopics, hive, paceProducer, procStats, producer, round, serviceLog, eventually, sleep } from '../lib.ts';
import { CLIENTS, type Client } from './throughput.ts';

export interface ClientCost { client: Client; tables: number; idle_cores: number; busy_cores: number; rss_mb: number }

export async function clientCost(opts: { tables: number; perSecond: number; seconds: number }): Promise<{ runs: ClientCost[]; per_second: number }> {
  const runs: ClientCost[] = [];
  for (const client of CLIENTS) {
    const base = benchName('cost', `_${client}`);
    const tables = Array.from({ length: opts.tables }, (_, i) => `${base}_${i}`);
    await createTopics(tables.map((topic) => ({ topic, partitions: 1 })));
    const service = await benchService(`^default\\.${base}_\\d+$`, { HIVE_KAFKA_CLIENT: client });
    const session = await hive();
    const p = await producer();
    try {
      for (const t of tables) await session.execute(createTableSql(t, t, { 'kafka.max.batch.period.ms': 5000 }));
      await eventually(`${opts.tables} tasks running`, async () => ((await service.status()).tables.every((t) => t.tasks.length === 1) && (await service.status()).tables.length === opts.tables ? true : undefined), 120_000, 500);
      await sleep(5000);
      const pid = service.child.pid!;
      const cores = async () => { const c0 = procStats(pid).cpuS; await sleep(opts.seconds * 1000); return round((procStats(pid).cpuS - c0) / opts.seconds, 2); };
      const idle = await cores();
      const pace = paceProducer(p, tables.map((topic) => ({ topic, partitions: 1 })), opts.perSecond, new SendLog());
      await eventually('every table consuming', async () => (new Set(serviceLog(service, 'task consuming').map((l) => l.table)).size === opts.tables ? true : undefined), 120_000, 500);
      const busy = await cores();
      await pace.stop();
      runs.push({ client, tables: opts.tables, idle_cores: idle, busy_cores: busy, rss_mb: Math.round(procStats(pid).rssMb) });
      for (const t of tables) await session.execute(`DROP TABLE ${t}`);
    } finally {
      await p.disconnect();
      await session.close();
      await service.stop();
    }
  }
  return { runs, per_second: opts.perSecond };
}
