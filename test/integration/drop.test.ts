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
    await eventually(`${table} dropped in the service`, async () => {
      const t = (await service.status()).tables.find((x) => x.table === `default.${table}`);
      return t?.state === 'dropped' && t.tasks.length === 0 ? true : undefined;
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
        return tables.some((t) => t.state === 'dropped' && t.tasks.length === 0) && tables.some((t) => t.state === 'running' && t.tasks.length > 0) ? true : undefined;
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
