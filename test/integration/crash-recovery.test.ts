// kill -9 of the service inside the commit path, forced once at every step and then at random steps,
// many times over, on a file: table and on an hdfs: table; afterwards Hive and Parquet readers of the
// published files (read back through WebHDFS for hdfs:) see every id once.
// HIVE_KAFKA_CRASH_RECORDS and HIVE_KAFKA_CRASH_CYCLES scale it (the full run: 200000 and 20).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parquetReadObjects } from 'hyparquet';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService } from './helpers/service.ts';
import { MetastoreClient } from '../../src/metastore/client.ts';
import { duckdbQuery } from './helpers/duckdb.ts';
import { locationClause, readableCopy, WAREHOUSES, type Warehouse } from './helpers/warehouse.ts';

const records = Number(process.env.HIVE_KAFKA_CRASH_RECORDS ?? 40_000);
const randomCycles = Number(process.env.HIVE_KAFKA_CRASH_CYCLES ?? 10);
const forcedSteps = ['after-hidden-write', 'after-intent', 'between-renames', 'after-publish', 'after-register'];
const suffix = randomUUID().slice(0, 8);
const topic = `crash-${suffix}`;
const tableOf = (kind: Warehouse) => `crash_${kind}_${suffix}`;
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-crash', logLevel: logLevel.NOTHING });
const ledgerDir = `/tmp/hive-kafka-crash-${suffix}`;
// The HDFS run repeats the forced steps and fewer random ones: the file: run covers the randomness.
const cyclesOf = (kind: Warehouse) => (kind === 'file' ? randomCycles : Math.ceil(randomCycles / 3));

before(async () => {
  await requireStack();
  await createTopics([{ topic, partitions: 4 }]);
  const producer = producerFor(kafka);
  await producer.connect();
  for (let start = 0; start < records; start += 5000) {
    const n = Math.min(5000, records - start);
    await producer.send({
      topic,
      messages: Array.from({ length: n }, (_, i) => {
        const id = start + i;
        return { key: String(id), value: JSON.stringify({ id, dt: `2024-05-0${1 + (id % 3)}`, country: ['FR', 'DE', 'US', 'BR'][id % 4] }) };
      }),
    });
  }
  await producer.disconnect();
});

after(async () => {
  for (const kind of WAREHOUSES) await runBeeline(`DROP TABLE IF EXISTS ${tableOf(kind)}`).catch(() => undefined);
});

for (const kind of WAREHOUSES) test(`${forcedSteps.length} forced and ${cyclesOf(kind)} random kill -9 inside the commit path lose and double nothing (${kind}:)`, async () => {
  const table = tableOf(kind);
  const cycles = cyclesOf(kind);
  await runBeeline(`CREATE TABLE ${table} (id BIGINT) PARTITIONED BY (dt STRING, country STRING)
    STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler' ${locationClause(kind, table)}
    TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}',
                   'kafka.batch.maxSize'='${Math.max(500, Math.floor(records / 80))}', 'kafka.max.batch.period.ms'='400', 'kafka.max.num.tasks'='2')`);
  const ledgerPath = join(ledgerDir, kind, 'ledger.db');
  const crashes: string[] = [];
  for (const setting of [...forcedSteps, ...Array.from({ length: cycles }, () => 'random:0.15')]) {
    const service = await startService({ tables: suffix, ledgerPath, env: { HIVE_KAFKA_CRASH_AT: setting }, waitUntilServing: false });
    const exit = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('no crash within 60s'), 60_000);
      service.child.once('exit', (_code, signal) => { clearTimeout(timer); resolve(signal ?? 'exit'); });
    });
    if (exit !== 'SIGKILL') { await service.stop(); }
    const at = /killing the service at (\S+)/.exec(service.output())?.[1];
    crashes.push(at ?? exit);
  }
  for (const step of forcedSteps) assert.ok(crashes.includes(step), `the service was never killed ${step}: ${crashes.join(', ')}`);
  const kills = crashes.filter((c) => forcedSteps.includes(c)).length;
  assert.ok(kills >= forcedSteps.length + Math.floor(cycles / 2), `too few kills to prove anything: ${crashes.join(', ')}`);
  console.log(`kill -9 at: ${crashes.join(', ')}`);

  // Recovery without any manual step: start once more, without crashes, and let it catch up.
  const service = await startService({ tables: suffix, ledgerPath });
  try {
    await eventually(`${records} rows in Hive`, async () => {
      const total = Number((await runBeeline(`SELECT count(*) FROM ${table}`)).trim());
      return total >= records ? total : undefined;
    }, 240_000, 3000);
  } finally {
    await service.stop();
  }
  assert.equal((await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`)).trim(), `${records}\t${records}`);

  // Independent readers of the published files: DuckDB (its glob skips the staging *.tmp files), and
  // hyparquet file by file, skipping what Hive skips.
  const metastore = await MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 30_000 });
  const stored = (await metastore.getTable('default', table)).storage.location!;
  metastore.close();
  assert.ok(stored.startsWith(`${kind}:`), `the table is on ${kind}: (${stored})`);
  const location = await readableCopy(stored);
  const [duck] = await duckdbQuery(`SELECT count(*)::BIGINT, count(DISTINCT id)::BIGINT FROM read_parquet('${location}/**/*.parquet')`);
  assert.deepEqual(duck!.map(Number), [records, records], 'DuckDB over the files sees each id once');
  const ids = new Map<number, number>();
  const visit = async (dir: string): Promise<void> => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.') || name.startsWith('_')) continue; // what Hive skips, we skip
      const path = join(dir, name);
      if (statSync(path).isDirectory()) { await visit(path); continue; }
      const bytes = readFileSync(path);
      const rows = await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
      for (const r of rows) { const id = Number(r.id); ids.set(id, (ids.get(id) ?? 0) + 1); }
    }
  };
  await visit(location);
  assert.equal(ids.size, records, 'every id is in some published file');
  assert.deepEqual([...ids.values()].filter((n) => n !== 1), [], 'no id is in two files');
});
