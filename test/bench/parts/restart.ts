// Restart: a table with `files` published Parquet files (100 Hive partitions, small batches), then the
// service is stopped, more records arrive, and it is started again on the same ledger. Reported: the
// time from spawning the service to its task consuming again, the median of `tries` restarts.
import { readdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import { fileSystemFor } from '../../../src/sink/fs.ts';
import { benchName, benchService, committedBatches, createTableSql, createTopics, eventually, hive, median, producer, serviceLog, waitForLog } from '../lib.ts';

export interface Restart {
  ms: number; samples: number[];
  /** Of each sample, spawn → "hive-kafka is serving" (process start, ledger, worker threads): what no table's size changes. */
  serving_ms: number[];
  published_files: number; hive_partitions: number; target_ms: number; within_target: boolean;
}

const HIVE_PARTITIONS = 100;

async function produce(topic: string, from: number, count: number): Promise<void> {
  const p = await producer();
  try {
    for (let start = from; start < from + count; start += 5000) {
      const n = Math.min(5000, from + count - start);
      await p.send({ topic, acks: 1, messages: Array.from({ length: n }, (_, i) => {
        const id = start + i;
        return { partition: id % 4, value: JSON.stringify({ id, userid: id % 1000, url: `https://shop.example.com/p/${id}`, ts: Date.now(), country: `C${String(Math.floor(id / 4) % HIVE_PARTITIONS).padStart(2, '0')}` }) };
      }) });
    }
  } finally {
    await p.disconnect();
  }
}

function tableLocation(ledgerPath: string, table: string): string {
  const db = new Database(ledgerPath, { readonly: true });
  try {
    const row = db.prepare('SELECT layout_json FROM streams WHERE table_name = ?').get(table) as { layout_json: string };
    return fileSystemFor((JSON.parse(row.layout_json) as { location: string }).location).path;
  } finally {
    db.close();
  }
}

function publishedFiles(dir: string): number {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.parquet') && !f.split('/').some((part) => part.startsWith('.') || part.startsWith('_'))).length;
}

export async function restart(opts: { files: number; tries: number }): Promise<Restart> {
  const table = benchName('restart');
  const topic = table;
  await createTopics([{ topic, partitions: 4 }]);
  // Every batch of 2,000 records of a Kafka partition spans all 100 Hive partitions: 100 files per batch.
  const batchSize = 2000;
  const records = (opts.files / HIVE_PARTITIONS) * batchSize;
  await produce(topic, 0, records);
  const filter = `^default\\.${table}$`;
  let service = await benchService(filter);
  const ledgerPath = service.ledgerPath;
  const session = await hive();
  const samples: number[] = [];
  const serving: number[] = [];
  let produced = records;
  try {
    await session.execute(createTableSql(table, topic, { 'kafka.batch.maxSize': batchSize, 'kafka.max.batch.period.ms': 1000 },
      { columns: 'id BIGINT, userid BIGINT, url STRING, ts BIGINT', partitionedBy: 'country STRING' }));
    await eventually(`${table} to commit ${records} records`, async () => {
      const n = committedBatches(ledgerPath).reduce((s, b) => s + b.records, 0);
      return n >= records ? true : undefined;
    }, 900_000, 500);
    const files = publishedFiles(tableLocation(ledgerPath, table));
    if (files < opts.files) throw new Error(`${table} has ${files} published files, fewer than the ${opts.files} planned`);
    for (let i = 0; i < opts.tries; i++) {
      await service.stop();
      await produce(topic, produced, 1000);
      produced += 1000;
      const t0 = Date.now();
      service = await benchService(filter, {}, ledgerPath);
      samples.push((await waitForLog(service, 'task consuming', table, t0)) - t0);
      serving.push(serviceLog(service, 'hive-kafka is serving')[0]!.time - t0);
    }
    await session.execute(`DROP TABLE ${table}`);
    const ms = median(samples);
    return { ms, samples, serving_ms: serving, published_files: files, hive_partitions: HIVE_PARTITIONS, target_ms: 3000, within_target: ms <= 3000 };
  } finally {
    await session.close();
    await service.stop();
  }
}
