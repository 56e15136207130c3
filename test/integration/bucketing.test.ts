// Bucketed tables: rows of a table CLUSTERED BY (userid) INTO 8 BUCKETS land in the file Hive expects
// for their bucket, judged by Hive itself. First Hive's own INSERT placement confirms the HiveQL
// expression for a row's bucket; then every row the service wrote is checked with that expression
// against the bucket in its file's name (INPUT__FILE__NAME), and Hive's bucket pruning
// (TABLESAMPLE ... ON userid) is shown to pick our files by the bucket in their names.
//
// Hive 4.0.1 gives tables with a storage handler no virtual columns (SemanticAnalyzer adds
// INPUT__FILE__NAME only to native tables), so the files are read through a "twin": a plain external
// Parquet table with the same columns and bucketing over the same location, which never purges it.
//
// The service's tables run once in the file: warehouse and once on HDFS (helpers/warehouse.ts); the
// twin of an HDFS table has the same hdfs:// LOCATION. Hive's own INSERT only pins down the bucket
// expression, which does not depend on where a table lives, so it runs once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { requireHdfs, requireHiveServer2, requireKafka, requireMetastore, stack, producerFor } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';
import { locationClause, WAREHOUSES, type Warehouse } from './helpers/warehouse.ts';
import { publishedNameParser } from '../../src/sink/published-names.ts';
import { MetastoreClient } from '../../src/metastore/client.ts';

const numBuckets = 8;
/** Hive's bucket of a row, as a HiveQL expression: murmur_hash is Hive's bucketing hash (version 2). */
const bucketExpr = `(murmur_hash(userid) & 2147483647) % ${numBuckets}`;
const suffix = randomUUID().slice(0, 8);
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-bucketing', logLevel: logLevel.NOTHING });
const streamedOn = (kind: Warehouse) => ({ topic: `bucketed-${kind}-${suffix}`, table: `bucketed_${kind}_${suffix}`, kind, records: 1200, partitions: 3 });
const oneBatchOn = (kind: Warehouse) => ({ topic: `bucketed-one-${kind}-${suffix}`, table: `bucketed_one_${kind}_${suffix}`, kind, records: 400, partitions: 1 });
const streamedTables = WAREHOUSES.map(streamedOn);
const oneBatchTables = WAREHOUSES.map(oneBatchOn);
const streamedRecords = streamedTables[0]!.records;
const nativeTable = `bucketed_hive_${suffix}`;
const twins: string[] = [];
let service: RunningService;

// Edge values (NULL, sign, int and 2^53 boundaries, the BIGINT extremes), then a spread of others.
const special = [null, '0', '1', '-1', '42', '2147483647', '2147483648', '-2147483649', '9007199254740993',
  '-9223372036854775808', '9223372036854775807'];
const userid = (id: number): string | null => id < special.length ? special[id]! : String(((id * 7919) % 2000) - 1000);

/** JSON written by hand: userid keeps every digit (the service parses numbers losslessly); NULL is a missing field. */
function record(id: number): string {
  const u = userid(id);
  return `{"id":${id},${u === null ? '' : `"userid":${u},`}"page_url":"/p/${id}","dt":"2024-01-0${1 + (id % 2)}","country":"${['FR', 'DE'][Math.floor(id / 2) % 2]}"}`;
}

/** Records with ids from `first` up to (not including) `end`, round-robin over the partitions. */
async function produce(topic: string, first: number, end: number, partitions: number): Promise<void> {
  const producer = producerFor(kafka);
  await producer.connect();
  const messages = Array.from({ length: end - first }, (_, i) => ({ partition: (first + i) % partitions, value: record(first + i) }));
  for (let i = 0; i < messages.length; i += 500) await producer.send({ topic, messages: messages.slice(i, i + 500) });
  await producer.disconnect();
}

// Hive 4.0.1's Utilities.getBucketIdFromFile: the bucket is the leading number before the first '_'.
function hiveBucketIdFromFile(name: string): number {
  const m = /^(0*([0-9]+))_([0-9]+).*/.exec(name);
  if (!m) return -1;
  return m[2] === '' ? (m[1] === '' ? -1 : 0) : Number(m[2]);
}

interface PlacedRow { id: number; userid: string; file: string; hiveBucket: number }

/** Every row with the file it was read from and the bucket Hive computes for its userid. */
async function placedRows(table: string): Promise<PlacedRow[]> {
  const out = await runBeeline(`SELECT id, userid, INPUT__FILE__NAME, ${bucketExpr} FROM ${table}`);
  return out.trim().split('\n').map((line) => {
    const [id, u, file, bucket] = line.split('\t');
    return { id: Number(id), userid: u!, file: file!, hiveBucket: Number(bucket) };
  });
}

const tableShape = `(id BIGINT, userid BIGINT, page_url STRING)
    PARTITIONED BY (dt STRING, country STRING)
    CLUSTERED BY (userid) INTO ${numBuckets} BUCKETS`;

function createTableSql(t: { topic: string; table: string; kind: Warehouse }, extra: string): string {
  return `CREATE TABLE ${t.table} ${tableShape}
    STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    ${locationClause(t.kind, t.table)}
    TBLPROPERTIES ("kafka.topic" = "${t.topic}", "kafka.broker.list" = "${stack.kafkaBrokers}", ${extra})`;
}

/** A native external table over `table`'s files and partitions (file: or hdfs:), for INPUT__FILE__NAME; returns its name. */
async function nativeTwin(table: string): Promise<string> {
  const metastore = await MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 30_000 });
  const location = (await metastore.getTable('default', table)).storage.location!;
  const names = await metastore.getPartitionNames('default', table); // as SHOW PARTITIONS prints them, one beeline call fewer
  metastore.close();
  const twin = `${table}_twin`;
  twins.push(twin);
  const partitions = names.map((p) =>
    `PARTITION (${p.split('/').map((kv) => kv.replace(/^([^=]+)=(.*)$/, "$1='$2'")).join(', ')})`);
  await runBeeline(`CREATE EXTERNAL TABLE ${twin} ${tableShape} STORED AS PARQUET LOCATION '${location}'
    TBLPROPERTIES ('external.table.purge'='false');
    ALTER TABLE ${twin} ADD ${partitions.join(' ')}`);
  return twin;
}

async function waitForRows(table: string, expected: number): Promise<void> {
  const total = await eventually(`${expected} rows in ${table}`, async () => {
    const n = Number((await runBeeline(`SELECT count(*) FROM ${table}`)).trim());
    return n >= expected ? n : undefined;
  }, 120_000, 2000);
  assert.equal(total, expected);
}

before(async () => {
  await requireKafka();
  await requireMetastore();
  await requireHiveServer2();
  await requireHdfs();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [...streamedTables, ...oneBatchTables].map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: 1 })),
    waitForLeaders: true,
  });
  await admin.disconnect();
  service = await startService({ tables: suffix });
  // Every table ingests while Hive's own INSERT runs in the first test; `streamed` gets its second half later.
  for (const t of streamedTables) await produce(t.topic, 0, t.records / 2, t.partitions);
  for (const t of oneBatchTables) await produce(t.topic, 0, t.records, t.partitions);
  await runBeeline([
    ...streamedTables.map((t) => createTableSql(t, '"kafka.batch.maxSize" = "150", "kafka.max.batch.period.ms" = "1000", "kafka.max.num.tasks" = "2"')),
    ...oneBatchTables.map((t) => createTableSql(t, `"kafka.batch.maxSize" = "${t.records}", "kafka.max.batch.period.ms" = "10000"`)),
  ].join(';\n'));
});

after(async () => {
  for (const t of [...twins, ...streamedTables.map((x) => x.table), ...oneBatchTables.map((x) => x.table), nativeTable]) await runBeeline(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  await service?.stop();
});

test(`Hive's own INSERT puts each userid in bucket ${bucketExpr}`, async () => {
  await runBeeline(`CREATE TABLE ${nativeTable} (userid BIGINT) CLUSTERED BY (userid) INTO ${numBuckets} BUCKETS STORED AS PARQUET`);
  const values = [...new Set(Array.from({ length: streamedRecords }, (_, id) => userid(id)))];
  await runBeeline(`INSERT INTO ${nativeTable} VALUES ${values.map((u) => (u === null ? '(NULL)' : `(CAST(${u} AS BIGINT))`)).join(', ')}`);
  const out = await runBeeline(`SELECT userid, INPUT__FILE__NAME, ${bucketExpr} FROM ${nativeTable}`);
  const rows = out.trim().split('\n').map((line) => line.split('\t'));
  assert.equal(rows.length, values.length);
  for (const [u, file, bucket] of rows) {
    assert.equal(hiveBucketIdFromFile(posix.basename(file!)), Number(bucket), `userid ${u}: Hive wrote it to ${file}, the expression says bucket ${bucket}`);
  }
});

for (const streamed of streamedTables) test(`the service writes every row into the file named for its bucket, over several batches and Kafka partitions (${streamed.kind})`, async () => {
  // Two rounds, so every Kafka partition is committed in more than one batch.
  await waitForRows(streamed.table, streamed.records / 2);
  await produce(streamed.topic, streamed.records / 2, streamed.records, streamed.partitions);
  await waitForRows(streamed.table, streamed.records);
  assert.equal((await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${streamed.table}`)).trim(), `${streamed.records}\t${streamed.records}`);

  const rows = await placedRows(await nativeTwin(streamed.table));
  assert.equal(rows.length, streamed.records);
  const parse = publishedNameParser(streamed.topic);
  const batches = new Set<string>();
  const kafkaPartitions = new Set<number>();
  for (const r of rows) {
    const name = posix.basename(r.file);
    assert.equal(r.userid, userid(r.id) ?? 'NULL', `row ${r.id} kept its userid`);
    assert.equal(hiveBucketIdFromFile(name), r.hiveBucket, `row ${r.id} (userid ${r.userid}) is in ${name}; Hive computes bucket ${r.hiveBucket}`);
    const published = parse(name);
    assert.ok(published, `${name} is readable by ledger rebuild`);
    assert.equal(published.bucket, r.hiveBucket);
    batches.add(`${published.partition}+${published.first}`);
    kafkaPartitions.add(published.partition);
  }
  assert.equal(kafkaPartitions.size, streamed.partitions);
  assert.ok(batches.size > streamed.partitions, `several batches per Kafka partition were committed (${batches.size})`);
});

for (const oneBatch of oneBatchTables) test(`Hive prunes TABLESAMPLE(BUCKET k OUT OF 8 ON userid) to our file of bucket k-1 and finds exactly its rows there (${oneBatch.kind})`, async () => {
  // One Kafka partition, one batch: one file per bucket per partition, the layout Hive's pruning assumes.
  await waitForRows(oneBatch.table, oneBatch.records);
  const twin = await nativeTwin(oneBatch.table);
  const rows = await placedRows(twin);
  const batchNames = new Set(rows.map((r) => posix.basename(r.file).replace(/^\d+_0_/, '')));
  assert.deepEqual([...batchNames], [`${oneBatch.topic}+0+0+${oneBatch.records - 1}.parquet`], 'all rows came in one batch');

  const buckets = Array.from({ length: numBuckets }, (_, b) => b);
  const plans = (await runBeeline(buckets.map((b) =>
    `EXPLAIN EXTENDED SELECT count(*) FROM ${oneBatch.table} TABLESAMPLE(BUCKET ${b + 1} OUT OF ${numBuckets} ON userid);`).join('\n')))
    .split('STAGE DEPENDENCIES:').slice(1);
  assert.equal(plans.length, numBuckets);
  const counts = (await runBeeline(buckets.map((b) =>
    `SELECT ${b}, count(*) FROM ${oneBatch.table} TABLESAMPLE(BUCKET ${b + 1} OUT OF ${numBuckets} ON userid)`).join(' UNION ALL ')))
    .trim().split('\n').map((line) => line.split('\t').map(Number) as [number, number]);
  const sampled = new Map(counts);

  for (const b of buckets) {
    const ours = new Set(rows.filter((r) => r.hiveBucket === b).map((r) => r.file));
    const plan = plans[b]!;
    const section = plan.slice(plan.indexOf('Path -> Alias:'), plan.indexOf('Path -> Partition:'));
    const read = new Set([...section.matchAll(/((?:file|hdfs):\S+) \[/g)].map((m) => m[1]!));
    assert.ok(ours.size > 0, `bucket ${b} has rows`);
    assert.deepEqual([...read].sort(), [...ours].sort(), `TABLESAMPLE(BUCKET ${b + 1} OUT OF ${numBuckets}) reads exactly our files of bucket ${b}`);
    assert.equal(sampled.get(b), rows.filter((r) => r.hiveBucket === b).length, `rows Hive samples from bucket ${b}`);
  }
  assert.equal([...sampled.values()].reduce((a, n) => a + n, 0), oneBatch.records);
});
