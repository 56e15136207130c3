// Memory: one task buffers a whole batch of `batchSize` records (kafka.batch.maxSize) from a
// 1-partition topic, then encodes and commits it. Reported: the service's peak RSS (VmHWM) minus its
// RSS when idle with no table, i.e. what the task and its batch cost.
import { benchName, benchService, committedBatches, createTableSql, eventually, hive, procStats, sleep } from '../lib.ts';
import { fill } from './fill.ts';

export interface Memory { batch_records: number; task_rss_mb_500k: number; idle_service_rss_mb: number; peak_service_rss_mb: number; target_mb: number; within_target: boolean }

export async function memory(batchSize: number): Promise<Memory> {
  const table = benchName('mem');
  await fill(table, 1, batchSize);
  const service = await benchService(`^default\\.${table}$`);
  const session = await hive();
  try {
    await sleep(3000); // let the idle service settle
    const idle = procStats(service.child.pid!).rssMb;
    await session.execute(createTableSql(table, table, { 'kafka.batch.maxSize': batchSize, 'kafka.max.batch.period.ms': 3_600_000 }));
    await eventually(`${table} to commit its ${batchSize}-record batch`, async () => {
      const b = committedBatches(service.ledgerPath).find((x) => x.tableName === table);
      if (b && b.records !== batchSize) throw new Error(`${table}'s first batch has ${b.records} records, not ${batchSize}`);
      return b ? true : undefined;
    }, 600_000, 200);
    const peak = procStats(service.child.pid!).hwmMb;
    await session.execute(`DROP TABLE ${table}`);
    const perTask = Math.round(peak - idle);
    return { batch_records: batchSize, task_rss_mb_500k: perTask, idle_service_rss_mb: Math.round(idle), peak_service_rss_mb: Math.round(peak), target_mb: 256, within_target: perTask <= 256 };
  } finally {
    await session.close();
    await service.stop();
  }
}
