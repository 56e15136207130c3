// DROP TABLE during ingestion leaves nothing behind: no task, no directory, no file, on a file: table
// and on an hdfs: table. Hive purges the location when the DROP runs; the service hears of it a poll
// later, and a batch committed in between re-creates the directory, which the service then removes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { MetastoreClient } from '../../src/metastore/client.ts';
import { createTopics, requireHdfs, requireStack, stack, producerFor } from './helpers/services.ts';
import { stackFileSystems } from './helpers/warehouse.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';

const suffix = randomUUID().slice(0, 8);
const topic = `drop-${suffix}`;
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-drop', logLevel: logLevel.NOTHING });
let service: RunningService;

before(async () => {
  await requireStack();
  await requireHdfs();
  await createTopics([{ topic, partitions: 2 }]);
  service = await startService({ tables: suffix });
});

after(async () => {
  await service?.stop();
});

/** Produces small batches until stopped, so that commits keep happening while the DROP runs. */
function keepProducing(): { stop(): Promise<number> } {
  let running = true;
  let sent = 0;
  const done = (async () => {
    const producer = producerFor(kafka);
    await producer.connect();
    while (running) {
      await producer.send({ topic, messages: Array.from({ length: 20 }, () => ({ value: JSON.stringify({ id: sent++, dt: `d${sent % 3}` }) })) });
      await new Promise((r) => setTimeout(r, 20));
    }
    await producer.disconnect();
  })();
  return { async stop() { running = false; await done; return sent; } };
}

async function dropWhileIngesting(table: string, location: string | undefined): Promise<string> {
  await runBeeline(`CREATE TABLE ${table} (id BIGINT) PARTITIONED BY (dt STRING)
    STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    ${location ? `LOCATION '${location}'` : ''}
    TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='100', 'kafka.max.num.tasks'='2')`);
  const metastore = await MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 30_000 });
  const stored = (await metastore.getTable('default', table)).storage.location!;
  metastore.close();
  const producer = keepProducing();
  try {
    await eventually(`${table} ingesting`, async () => ((await service.status()).tables.find((t) => t.table === `default.${table}`)?.partitions.some((p) => p.committed > 0) ? true : undefined), 60_000, 200);
    await runBeeline(`DROP TABLE ${table}`);
    // Tasks stopped and the location cleaned up: the status says when (a fixed wait after the DROP
    // was seen failed once on a slow host, 2026-12-07: the clean-up had not run yet).
    await eventually(`${table} dropped and cleaned up in the service`, async () => {
      const t = (await service.status()).tables.find((x) => x.table === `default.${table}`);
      return t?.state === 'dropped' && t.tasks.length === 0 && t.cleanup === 'done' ? true : undefined;
    }, 30_000, 100);
  } finally {
    await producer.stop();
  }
  return stored;
}

async function assertGone(location: string): Promise<void> {
  const { fs, path } = stackFileSystems.for(location);
  // Give a late commit every chance to show up: nothing may appear afterwards either.
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(await fs.exists(path), false, `${location} is still there after the DROP`);
}

test('DROP TABLE during ingestion of a file: table leaves no task, directory or file', async () => {
  const location = await dropWhileIngesting(`drop_local_${suffix}`, undefined);
  assert.match(location, /^file:/);
  await assertGone(location);
});

test('DROP TABLE during ingestion of an hdfs: table leaves no task, directory or file', async () => {
  const location = await dropWhileIngesting(`drop_hdfs_${suffix}`, `${stack.hdfs}/hive-kafka-it/drop_hdfs_${suffix}`);
  assert.match(location, /^hdfs:/);
  await assertGone(location);
});

/** Files under `path` whose names start with `prefix`, hidden directories left out. */
async function filesNamed(location: string, prefix: string): Promise<string[]> {
  const { fs, path } = stackFileSystems.for(location);
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    if (!(await fs.exists(dir))) return;
    for (const name of await fs.list(dir)) {
      if (name.startsWith('.')) continue;
      const child = `${dir}/${name}`;
      if (name.startsWith(prefix)) found.push(child);
      else if (!name.includes('.')) await walk(child);
    }
  };
  await walk(path);
  return found;
}

test('DROP, then CREATE of the same name before the service applied the DROP: nothing the dropped table wrote stays in the new one', async () => {
  const quiet = `${topic}-quiet`;
  await createTopics([{ topic: quiet, partitions: 1 }]);
  // A service of its own that reads the notification log every 8 s: the dropped table's tasks go on
  // committing (every 100 ms) for up to 8 s after Hive purged its location, as on a slow metastore.
  const configFile = join(mkdtempSync(join(tmpdir(), 'hive-kafka-drop-')), 'config.json');
  writeFileSync(configFile, JSON.stringify({ pollIntervalMs: 8000, systemTables: { enabled: false } }));
  // Whether the dropped table publishes a batch after Hive's purge is a race: its first batch after the
  // purge often fails ("batch file lost": its staging went with the location), and its retry may come
  // after the DROP was applied. The invariant is checked either way; the log says which case ran (one
  // run on 2026-12-07 without the removal left dt=d0/drop-...+0+6650+6759.parquet in the new table).
  {
    const table = `drop_again_${randomUUID().slice(0, 8)}`; // not the shared service's: its filter is the suffix
    const ddl = (t: string) => `CREATE TABLE ${table} (id BIGINT) PARTITIONED BY (dt STRING)
      STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
      TBLPROPERTIES ('kafka.topic'='${t}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='100', 'kafka.max.num.tasks'='2')`;
    const slow = await startService({ tables: table, configFile });
    await runBeeline(ddl(topic));
    const producer = keepProducing();
    try {
      await eventually(`${table} ingesting`, async () => ((await slow.status()).tables.find((t) => t.table === `default.${table}`)?.partitions.some((p) => p.committed > 0) ? true : undefined), 60_000, 200);
      // One beeline session: the CREATE lands a moment after the DROP, both before the service's next poll.
      await runBeeline(`DROP TABLE ${table}; ${ddl(quiet)}`);
      await eventually(`the new ${table} running`, async () => {
        const tables = (await slow.status()).tables.filter((x) => x.table === `default.${table}`);
        return tables.some((t) => t.state === 'dropped' && t.tasks.length === 0 && t.cleanup === 'done') && tables.some((t) => t.state === 'running' && t.tasks.length > 0) ? true : undefined;
      }, 30_000, 100);
    } finally {
      await producer.stop();
      await slow.stop();
    }
    const late = /was created again before the service applied its DROP: (\d+) files/.exec(slow.output());
    console.log(late ? `[drop-again] the dropped table published after the DROP; ${late[1]} removed` : '[drop-again] the dropped table published nothing after the DROP this run');
    const metastore = await MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 30_000 });
    const location = (await metastore.getTable('default', table)).storage.location!;
    metastore.close();
    await new Promise((r) => setTimeout(r, 2000));
    // The new table reads an empty topic: every file named for the old topic is the dropped table's.
    assert.deepEqual(await filesNamed(location, `${topic}+`), [], `files of the dropped table in the new one's location ${location}`);
    // Hive reads the new table without error and finds none of the old topic's rows (count(*) fails on a
    // partitioned storage-handler table with no partition, README "Limits", so the rows are counted here).
    const rows = (await runBeeline(`SELECT id FROM ${table}`)).trim();
    assert.equal(rows, '', `rows of the dropped table read in the new one: ${rows.slice(0, 200)}`);
    await runBeeline(`DROP TABLE ${table}`);
  }
});

/** 500 records in a new one-partition topic, ids 0 to 499. */
async function topicOf500(name: string): Promise<void> {
  await createTopics([{ topic: name, partitions: 1 }]);
  const producer = producerFor(kafka);
  await producer.connect();
  await producer.send({ topic: name, messages: Array.from({ length: 500 }, (_, id) => ({ value: JSON.stringify({ id }) })) });
  await producer.disconnect();
}

/** The running (or failed) table of the name in the shared service: committed offsets and last error. */
async function liveTable(table: string) {
  return (await service.status()).tables.find((x) => x.table === `default.${table}` && x.state !== 'dropped');
}

async function committed(table: string, want: number) {
  try {
    return await eventually(`${table}: ${want} records committed`, async () => {
      const t = await liveTable(table);
      return t?.state === 'running' && t.partitions[0]?.committed === want ? t : undefined;
    }, 60_000, 200);
  } catch (error) {
    const t = await liveTable(table);
    throw new Error(`${(error as Error).message}; the table: ${JSON.stringify({ state: t?.state, partitions: t?.partitions, lastError: t?.lastError, failure: t?.failure })}`);
  }
}

async function dropApplied(table: string): Promise<void> {
  await eventually(`${table} dropped in the service`, async () => {
    const tables = (await service.status()).tables.filter((x) => x.table === `default.${table}`);
    return tables.length > 0 && tables.every((t) => t.state === 'dropped' && t.tasks.length === 0 && t.cleanup === 'done') ? true : undefined;
  }, 30_000, 100);
}

async function idsIn(table: string): Promise<number[]> {
  return (await runBeeline(`SELECT id FROM ${table}`)).trim().split('\n').filter((l) => l !== '').map(Number).sort((a, b) => a - b);
}

const zeroTo499 = Array.from({ length: 500 }, (_, i) => i);

test('DROP, then CREATE of the same table over the same topic: the new table reads the topic again, every record once', async () => {
  // Re-ingesting from scratch this way cuts the same batches as the dropped table did, under the same
  // names in the same location, while the ledger keeps the dropped table's rows (for audit). Until
  // 2026-12-07 every batch of the new table failed "UNIQUE constraint failed: batch_files.final_path".
  const again = `${topic}-again`;
  await topicOf500(again);
  const table = `drop_same_${suffix}`;
  const ddl = `CREATE TABLE ${table} (id BIGINT)
    STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    TBLPROPERTIES ('kafka.topic'='${again}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.batch.maxSize'='100', 'kafka.max.batch.period.ms'='500')`;
  await runBeeline(ddl);
  await committed(table, 500);
  await runBeeline(`DROP TABLE ${table}`);
  await dropApplied(table);
  await runBeeline(ddl);
  const recreated = await committed(table, 500);
  assert.equal(recreated.failure, undefined, `${table} failed: ${recreated.failure}`);
  assert.deepEqual(await idsIn(table), zeroTo499, 'each of the 500 records once in the table created again');
  await runBeeline(`DROP TABLE ${table}`);
});

test('DROP of a table whose files Hive keeps, then CREATE over them reading the same topic: the new table goes on after the kept files, each record once', async () => {
  const kept = `${topic}-kept`;
  await topicOf500(kept);
  const table = `drop_kept_${suffix}`;
  const location = `${stack.hdfs}/hive-kafka-it/${table}`;
  const ddl = `CREATE EXTERNAL TABLE ${table} (id BIGINT)
    STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler' LOCATION '${location}'
    TBLPROPERTIES ('external.table.purge'='false', 'kafka.topic'='${kept}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.batch.maxSize'='100', 'kafka.max.batch.period.ms'='500')`;
  await runBeeline(ddl);
  await committed(table, 500);
  await runBeeline(`DROP TABLE ${table}`);
  await dropApplied(table);
  const left = await filesNamed(location, `${kept}+`);
  assert.equal(left.length, 5, `the dropped table's 5 files stay where Hive kept them: ${left.join(', ')}`);
  await runBeeline(ddl);
  // The new table's first start finds published files of its topic at its location and no offsets in
  // the ledger: it takes its next offsets from their names (as after `hive-kafka release`).
  await committed(table, 500);
  const producer = producerFor(kafka);
  await producer.connect();
  await producer.send({ topic: kept, messages: Array.from({ length: 100 }, (_, i) => ({ value: JSON.stringify({ id: 500 + i }) })) });
  await producer.disconnect();
  const t = await committed(table, 600);
  assert.equal(t.records?.stored, 100, 'the new table stored only the records after the kept files');
  assert.deepEqual(await idsIn(table), Array.from({ length: 600 }, (_, i) => i), 'each of the 600 records once');
  await runBeeline(`DROP TABLE ${table}`);
  const { fs, path } = stackFileSystems.for(location);
  await fs.removeTree(path);
});

test('ALTER ... SET TBLPROPERTIES (\'external.table.purge\'=\'false\'), then DROP: Hive keeps the files and so does the service', async () => {
  const keep = `${topic}-keep`;
  await topicOf500(keep);
  const table = `drop_keep_${suffix}`;
  await runBeeline(`CREATE TABLE ${table} (id BIGINT)
    STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    TBLPROPERTIES ('kafka.topic'='${keep}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.batch.maxSize'='100', 'kafka.max.batch.period.ms'='500')`);
  await committed(table, 500);
  const metastore = await MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 30_000 });
  const location = (await metastore.getTable('default', table)).storage.location!;
  metastore.close();
  // The service read the table as purged on DROP when it was created; the ALTER must reach its clean-up.
  await runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES ('external.table.purge'='false')`);
  await committed(table, 500);
  await runBeeline(`DROP TABLE ${table}`);
  await dropApplied(table);
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal((await filesNamed(location, `${keep}+`)).length, 5, `the 5 files Hive kept at ${location} are still there`);
  const { fs, path } = stackFileSystems.for(location);
  await fs.removeTree(path);
});
