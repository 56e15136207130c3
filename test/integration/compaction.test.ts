// Small-file compaction under load, with kill -9 of the service forced at each compaction step: at
// every Hive query taken during the run count(*) = count(DISTINCT id), never above what was produced
// and never below an earlier answer; at the end exactly what was produced. The partitions end with
// files near kafka.compaction.target.file.size, and the bucketed table with one file per bucket, so
// TABLESAMPLE counts each bucket exactly. An unpartitioned table is compacted too (its own location
// moves). Then a fresh ledger (`ledger rebuild`, as on a new host) takes the tables over: its records
// land where Hive reads each partition, once, and its own compactions, numbered from 1 again, do not
// collide with the earlier ledger's. On file: tables and on hdfs: tables.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { MetastoreClient } from '../../src/metastore/client.ts';
import { readPlanMarker } from '../../src/sink/compact.ts';
import { LocalFileSystem } from '../../src/sink/fs.ts';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';
import { locationClause, WAREHOUSES, type Warehouse, stackFileSystems } from './helpers/warehouse.ts';

const steps = ['compaction-planned', 'compaction-between-outputs', 'compaction-written', 'compaction-switched', 'compaction-cleaned'];
const TARGET = 96 * 1024;
const BUCKETS = 4;
const suffix = randomUUID().slice(0, 8);
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-compaction', logLevel: logLevel.NOTHING });
const tablesOf = (kind: Warehouse) => ({ plain: `cmp_${kind}_${suffix}`, bucketed: `cmpb_${kind}_${suffix}`, flat: `cmpf_${kind}_${suffix}` });
let configFile: string;
const runCli = (args: string[], env: Record<string, string>) =>
  promisify(execFile)(process.execPath, ['bin/hive-kafka.mjs', ...args], { env: { ...process.env, HIVE_KAFKA_HMS_URI: stack.metastoreUri, ...env } });

before(async () => {
  await requireStack();
  const dir = mkdtempSync(join(tmpdir(), 'hive-kafka-compaction-'));
  configFile = join(dir, 'config.json');
  // The grace outlasts the test's slowest query: with a map task per small file in Hive's local job
  // runner, a count over the bucketed table took up to 64 s on 2 cores (2026-12-02), and one planned
  // on a directory whose grace ended meanwhile fails reading its files (README, "Limits").
  writeFileSync(configFile, JSON.stringify({ compaction: { periodMs: 1000, graceMs: 120_000 }, systemTables: { enabled: false } }));
});

after(async () => {
  for (const kind of WAREHOUSES) for (const t of Object.values(tablesOf(kind))) await runBeeline(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
});

/** Records with these ids: two dt values, incompressible payloads. */
const recordsOf = (ids: number[]) => ids.map((id) => ({ key: String(id), value: JSON.stringify({ id, dt: `2024-06-0${1 + (id % 2)}`, payload: randomBytes(60).toString('hex') }) }));

/**
 * Sends 20 records every 100 ms (ids from 0) until stopped. At twice that, the bucketed hdfs: table
 * (8 files a batch through WebHDFS) fell 14,000 records behind on 2 cores (2026-12-02).
 */
function load(producer: Producer, topic: string) {
  let produced = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const ids = Array.from({ length: 20 }, (_, i) => produced + i);
      await producer.send({ topic, messages: recordsOf(ids) });
      produced += ids.length;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return { produced: () => produced, stop: async () => { stopped = true; await done; } };
}

/** Stops the traffic, then waits until Hive counts every record it produced once; returns that count. */
async function allOnceInHive(traffic: ReturnType<typeof load>, table: string, service: RunningService | undefined): Promise<number> {
  await traffic.stop();
  const produced = traffic.produced();
  let seen = '';
  await eventually(`${table}: all ${produced} records in Hive, once`, async () => {
    seen = (await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`)).trim();
    const [count, distinct] = seen.split('\t').map(Number);
    assert.equal(count, distinct, `${table}: a record seen twice (${seen})`);
    assert.ok(count! <= produced, `${table}: ${count} rows, more than the ${produced} produced`);
    return count === produced ? true : undefined;
  }, 300_000, 3000).catch((e: Error) => { throw new Error(`${e.message} (last: ${seen}); the service's log ends:\n${service?.output().slice(-3000)}`); });
  return produced;
}

/** Files Hive reads in each partition of the table (an unpartitioned one: '' for the table), from the metastore's locations. */
async function partitionFiles(table: string): Promise<Map<string, { name: string; size: number }[]>> {
  const m = await MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 30_000 });
  try {
    const out = new Map<string, { name: string; size: number }[]>();
    const t = await m.getTable('default', table);
    const places = t.partitionKeys.length === 0 ? [{ name: '', location: t.storage.location! }]
      : (await m.getPartitions('default', table)).map((p) => ({ name: p.values.join('/'), location: p.storage.location! }));
    for (const p of places) {
      const { fs, path } = stackFileSystems.for(p.location);
      const names = (await fs.list(path)).filter((n) => !n.startsWith('.') && !n.startsWith('_'));
      out.set(p.name, await Promise.all(names.map(async (name) => ({ name, size: (await fs.readFile(`${path}/${name}`)).byteLength }))));
    }
    return out;
  } finally {
    m.close();
  }
}

for (const kind of WAREHOUSES) test(`compaction under load with kill -9 at each of its ${steps.length} steps: Hive never sees a record twice or loses one; files end near the target, one per bucket (${kind}:)`, async () => {
  const topic = `compaction-${kind}-${suffix}`;
  await createTopics([{ topic, partitions: 2 }]);
  const { plain, bucketed, flat } = tablesOf(kind);
  const props = `'kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='2000', 'kafka.max.num.tasks'='2',
    'kafka.batch.maxSize'='300', 'kafka.compaction.target.file.size'='${TARGET}', 'kafka.compaction.min.files'='4', 'kafka.compaction.min.age.ms'='0'`;
  const producer = producerFor(kafka);
  await producer.connect();
  const traffic = load(producer, topic);
  const ledgerPath = join(mkdtempSync(join(tmpdir(), 'hive-kafka-compaction-ledger-')), 'ledger.db');
  let service: RunningService | undefined;
  const last = { [plain]: 0, [bucketed]: 0, [flat]: 0 };
  let producedAfterLoad = 0;
  const checkHive = async (when: string) => {
    // A query per table: Hive lists a partition's files when its job starts and reads them until it
    // ends, so one query over all three outlasted the 120 s grace here (2026-12-02) and found a
    // compacted directory gone (README, "Limits").
    for (const table of [plain, bucketed, flat]) {
      // Hive 4.0.1's MR path fails a query on a bucketed table without partitions (NPE in Context.getCS).
      if ((await partitionFiles(table)).size === 0) continue;
      const [count, distinct] = (await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`)).trim().split('\t').map(Number) as [number, number];
      const ceiling = traffic.produced() + producedAfterLoad; // after the query: what it could have read
      assert.equal(count, distinct, `${table} ${when}: a record seen twice (${count} rows, ${distinct} ids)`);
      assert.ok(count <= ceiling, `${table} ${when}: ${count} rows, more than the ${ceiling} produced`);
      if (count < last[table]!) {
        const db = new Database(ledgerPath, { readonly: true });
        const rows = db.prepare('SELECT * FROM compactions').all();
        db.close();
        const files = [...(await partitionFiles(table))].map(([p, fs]) => `${p}: ${fs.length} files`);
        assert.fail(`${table} ${when}: ${count} rows, fewer than the ${last[table]} an earlier query saw\n${JSON.stringify(rows, null, 1)}\n${files.join('\n')}\n${service?.output().slice(-3000)}`);
      }
      last[table] = count;
    }
  };
  /** Hive's counts once the service has committed every partition of the three tables to its log end: a query before that only waits. */
  const allInHive = async (total: number, when: string) => {
    await eventually(`${when}: every partition of the three tables committed to its log end`, async () => {
      const st = await service!.status();
      const mine = st.tables.filter((t) => [plain, bucketed, flat].some((x) => t.table === `default.${x}`));
      return mine.length === 3 && mine.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.lag === 0)) ? true : undefined;
    }, 480_000, 500);
    await eventually(`${when}: all ${total} records in Hive, in each table`, async () => {
      await checkHive(when);
      return [plain, bucketed, flat].every((t) => last[t] === total) ? true : undefined;
    }, 240_000, 1000);
  };
  const started = Date.now();
  const phase = (what: string) => console.log(`[compaction ${kind}: ${Math.round((Date.now() - started) / 1000)} s] ${what}`);
  try {
    await runBeeline(`CREATE TABLE ${plain} (id BIGINT, payload STRING) PARTITIONED BY (dt STRING)
      STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler' ${locationClause(kind, plain)} TBLPROPERTIES (${props})`);
    await runBeeline(`CREATE TABLE ${bucketed} (id BIGINT, payload STRING) PARTITIONED BY (dt STRING) CLUSTERED BY (id) INTO ${BUCKETS} BUCKETS
      STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler' ${locationClause(kind, bucketed)} TBLPROPERTIES (${props})`);
    // Unpartitioned: compaction moves the table itself (alter_table), a notice the lifecycle must know for the service's own.
    await runBeeline(`CREATE TABLE ${flat} (id BIGINT, payload STRING, dt STRING)
      STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler' ${locationClause(kind, flat)} TBLPROPERTIES (${props})`);

    for (const step of steps) {
      service = await startService({ tables: suffix, ledgerPath, configFile, env: { HIVE_KAFKA_CRASH_AT: step }, waitUntilServing: false });
      const died = service;
      await eventually(`the service killed at ${step}`, async () => (died.child.signalCode !== null || died.child.exitCode !== null ? true : undefined), 240_000, 200)
        .catch((e: Error) => { died.child.kill('SIGKILL'); throw new Error(`${e.message}; the service's log ends:\n${died.output().slice(-4000)}`); });
      assert.match(died.output(), new RegExp(`killing the service at ${step}`), `died at ${step}, not elsewhere:\n${died.output().slice(-2000)}`);
      await checkHive(`after kill -9 at ${step}`);
      phase(`killed at ${step}, Hive checked`);
    }

    service = await startService({ tables: suffix, ledgerPath, configFile });
    await checkHive('with the service back');
    await traffic.stop();
    const produced = traffic.produced();
    // Compact whatever the last batches left, then wait for every old directory to go. Neither a
    // compaction setting nor kafka.start.offset is read by a running task: this ALTER restarts none.
    for (const table of [plain, bucketed, flat]) await runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.compaction.min.files'='1', 'kafka.start.offset'='latest')`);
    phase('load stopped, last compactions asked for');
    await allInHive(produced, 'while it catches up');
    phase('every record in Hive');
    const settled = async (table: string, isBucketed: boolean) => {
      const files = await partitionFiles(table);
      const compacted = [...files.values()].every((fs) => fs.length > 0 && fs.every((f) => (isBucketed ? /^\d{6}_0_compacted-\d+-[0-9a-f]{8}\.parquet$/ : /^compacted-\d+-[0-9a-f]{8}-\d{4}\.parquet$/).test(f.name)));
      return compacted ? files : undefined;
    };
    const plainFiles = await eventually(`${plain}: only compacted files`, () => settled(plain, false), 90_000, 1000);
    const bucketedFiles = await eventually(`${bucketed}: only compacted files`, () => settled(bucketed, true), 90_000, 1000);
    const flatFiles = await eventually(`${flat}: only compacted files`, () => settled(flat, false), 90_000, 1000);
    await checkHive('after the last compaction');
    phase('only compacted files');
    assert.equal(last[plain], produced);
    assert.doesNotMatch(service.output(), /restarting its tasks/, 'an ALTER of kafka.compaction.min.files and kafka.start.offset restarted tasks');
    const ledger = new Database(ledgerPath, { readonly: true });
    const altered = ledger.prepare(`SELECT count(*) AS n FROM stream_history h JOIN streams s USING (table_id)
      WHERE s.table_name = ? AND h.event = 'altered' AND h.detail_json LIKE '%kafka.compaction.min.files%'`);
    for (const table of [plain, bucketed, flat]) assert.equal((altered.get(table) as { n: number }).n, 1, `${table}: the ALTER is in the history`);
    // The table's own switches are no event of its life: only created and the one ALTER.
    const events = ledger.prepare('SELECT h.event FROM stream_history h JOIN streams s USING (table_id) WHERE s.table_name = ? ORDER BY h.id').pluck().all(flat);
    assert.deepEqual(events, ['created', 'altered'], `${flat}: history ${events.join(', ')}`);
    ledger.close();
    assert.equal(last[flat], produced);
    const m = await MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 30_000 });
    try {
      assert.match((await m.getTable('default', flat)).storage.location!, /\/_hive_kafka_compacted\/\d+-[0-9a-f]{8}$/, `${flat}: Hive reads the table from a compacted directory`);
    } finally { m.close(); }
    assert.equal(last[bucketed], produced);

    // Near the target: batches are smaller than half of it (kafka.batch.maxSize), so every merged file
    // is between half the target and the target, but at most one remainder per partition.
    const near = [...[...plainFiles].map(([p, f]) => [`${plain} ${p}`, f] as const), ...[...flatFiles].map(([, f]) => [flat, f] as const)];
    for (const [where, files] of near) {
      const sizes = files.map((f) => f.size);
      assert.ok(sizes.every((s) => s <= TARGET * 1.05), `${where}: file sizes ${sizes.join(', ')} within ${TARGET}`);
      assert.ok(sizes.filter((s) => s < TARGET / 2).length <= 1, `${where}: file sizes ${sizes.join(', ')}: one remainder at most below half of ${TARGET}`);
    }
    // One file per bucket, and TABLESAMPLE then counts each bucket exactly.
    for (const [partition, files] of bucketedFiles) {
      const buckets = files.map((f) => f.name.slice(0, 6));
      assert.equal(new Set(buckets).size, buckets.length, `${bucketed} ${partition}: one file per bucket (${files.map((f) => f.name).join(', ')})`);
    }
    const sampled = (await runBeeline(Array.from({ length: BUCKETS }, (_, b) => `SELECT ${b}, count(*) FROM ${bucketed} TABLESAMPLE(BUCKET ${b + 1} OUT OF ${BUCKETS} ON id)`).join(' UNION ALL ')))
      .trim().split('\n').map((l) => l.split('\t').map(Number) as [number, number]).sort(([a], [b]) => a - b);
    const expected = (await runBeeline(`SELECT (murmur_hash(id) & 2147483647) % ${BUCKETS}, count(*) FROM ${bucketed} GROUP BY (murmur_hash(id) & 2147483647) % ${BUCKETS}`))
      .trim().split('\n').map((l) => l.split('\t').map(Number) as [number, number]).sort(([a], [b]) => a - b);
    assert.deepEqual(sampled, expected, 'TABLESAMPLE(BUCKET k OUT OF n ON id) = the rows Hive hashes to bucket k-1');
    assert.equal(sampled.reduce((n, [, c]) => n + c, 0), produced);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`hive_kafka_compactions_total\\{table="default\\.${plain}"\\} [1-9]`));

    // A fresh ledger takes over, rebuilt from the published files. Hive reads every partition (and
    // the flat table) from the earlier ledger's compacted directories: new batches must go there, and
    // this ledger's compactions, numbered from 1 again, must not take those directories for theirs.
    await service.stop();
    const freshLedger = join(mkdtempSync(join(tmpdir(), 'hive-kafka-compaction-fresh-')), 'ledger.db');
    for (const table of [plain, bucketed, flat]) {
      const { stdout } = await runCli(['ledger', 'rebuild', `default.${table}`], { HIVE_KAFKA_LEDGER: freshLedger });
      assert.match(stdout, /next offsets rebuilt/, `ledger rebuild of ${table}`);
    }
    service = await startService({ tables: suffix, ledgerPath: freshLedger, configFile });
    const moreIds = Array.from({ length: 400 }, (_, i) => produced + i);
    producedAfterLoad = moreIds.length; // before the send: the ceiling of what a query may see
    for (let i = 0; i < moreIds.length; i += 40) await producer.send({ topic, messages: recordsOf(moreIds.slice(i, i + 40)) });
    const total = produced + moreIds.length;
    await allInHive(total, 'on the fresh ledger');
    phase('the fresh ledger\'s records in Hive');
    await eventually(`the fresh ledger compacting ${plain}`, async () => {
      const m = await (await fetch(`${service!.url}/metrics`)).text();
      return new RegExp(`hive_kafka_compactions_total\\{table="default\\.${plain}"\\} [1-9]`).test(m) ? true : undefined;
    }, 90_000, 1000);
    await eventually(`${plain}: only compacted files again`, () => settled(plain, false), 90_000, 1000);
    await checkHive('after the fresh ledger\'s compactions');
    for (const table of [plain, bucketed, flat]) assert.equal(last[table], total, `${table}: every record once, after the fresh ledger's compactions`);
    phase('done');
  } finally {
    await traffic.stop().catch(() => undefined);
    await producer.disconnect();
    await service?.stop();
    // Else the next warehouse's service (same table filter, fresh ledger) takes these on too.
    await runBeeline([plain, bucketed, flat].map((t) => `DROP TABLE IF EXISTS ${t}`).join(';\n')).catch(() => undefined);
  }
});

/**
 * The ledger is lost after a plan and before its switch, while batches went on publishing into the
 * plan's directory, which Hive does not read yet. Without the plan's marker a rebuilt ledger never
 * finished that compaction: those batches stayed invisible (README, "Limits", until 2026-12-02).
 */
test('a ledger lost between a compaction\'s plan and its switch: the rebuilt ledger finishes it, and the batches published into its directory meanwhile reach Hive, once (file:)', async () => {
  const own = randomUUID().slice(0, 8); // its own table filter: the test above's tables are not this service's
  const topic = `compaction-lost-${own}`;
  const table = `cmpl_${own}`;
  await createTopics([{ topic, partitions: 1 }]);
  const dir = mkdtempSync(join(tmpdir(), 'hive-kafka-compaction-lost-'));
  const quickConfig = join(dir, 'quick.json');
  const slowConfig = join(dir, 'slow.json'); // no compaction round for 10 min: the plan stays unswitched
  writeFileSync(quickConfig, JSON.stringify({ compaction: { periodMs: 1000, graceMs: 120_000 }, systemTables: { enabled: false } }));
  writeFileSync(slowConfig, JSON.stringify({ compaction: { periodMs: 600_000, graceMs: 120_000 }, systemTables: { enabled: false } }));
  const producer = producerFor(kafka);
  await producer.connect();
  const traffic = load(producer, topic);
  const lostLedger = join(dir, 'lost.db');
  let service: RunningService | undefined;
  try {
    await runBeeline(`CREATE TABLE ${table} (id BIGINT, payload STRING) PARTITIONED BY (dt STRING)
      STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler' TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}',
      'kafka.max.batch.period.ms'='1000', 'kafka.compaction.min.files'='3', 'kafka.compaction.min.age.ms'='0')`);
    service = await startService({ tables: own, ledgerPath: lostLedger, configFile: quickConfig, env: { HIVE_KAFKA_CRASH_AT: 'compaction-planned' }, waitUntilServing: false });
    const died = service;
    await eventually('the service killed right after a plan', async () => (died.child.signalCode !== null || died.child.exitCode !== null ? true : undefined), 240_000, 200)
      .catch((e: Error) => { died.child.kill('SIGKILL'); throw new Error(`${e.message}; the service's log ends:\n${died.output().slice(-4000)}`); });
    assert.match(died.output(), /killing the service at compaction-planned/);

    const m = await MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 30_000 });
    const tableDir = stackFileSystems.for((await m.getTable('default', table)).storage.location!).path;
    const readsAt = async () => new Map((await m.getPartitions('default', table)).map((p) => [p.values[0]!, p.storage.location!]));
    try {
      const local = new LocalFileSystem();
      const [planned, ...others] = await local.list(join(tableDir, '_hive_kafka_compacted'));
      assert.ok(planned !== undefined && others.length === 0, `one planned compaction directory: ${[planned, ...others].join(', ')}`);
      const plannedDir = join(tableDir, '_hive_kafka_compacted', planned);
      const before = await readsAt();

      // The same ledger, without compaction rounds: the plan holds, and batches publish into its directory.
      service = await startService({ tables: own, ledgerPath: lostLedger, configFile: slowConfig });
      await eventually(`batches published into ${plannedDir}`, async () =>
        ((await local.list(plannedDir)).filter((n) => n.startsWith(`${topic}+`)).length >= 2 ? true : undefined), 120_000, 500);
      await service.stop('SIGKILL');
      assert.deepEqual(await readsAt(), before, 'not switched: Hive does not read those batches yet');

      // The ledger is lost: a fresh one, rebuilt from the warehouse, then the service on it.
      const freshLedger = join(dir, 'fresh.db');
      const { stdout } = await runCli(['ledger', 'rebuild', `default.${table}`], { HIVE_KAFKA_LEDGER: freshLedger });
      assert.ok(stdout.includes(`compaction planned and not switched, finished by the service: ${plannedDir}`), stdout);
      service = await startService({ tables: own, ledgerPath: freshLedger, configFile: quickConfig });
      await new Promise((r) => setTimeout(r, 3000));
      await allOnceInHive(traffic, table, service);
      // Switched by the fresh ledger (and maybe compacted again since): Hive no longer reads the old directory.
      const dt = (await readPlanMarker(local, plannedDir))!.partitionValues[0]!;
      const now = stackFileSystems.for((await readsAt()).get(dt)!).path;
      assert.ok(now !== stackFileSystems.for(before.get(dt)!).path && now.startsWith(`${tableDir}/_hive_kafka_compacted/`), `dt=${dt}: Hive reads ${now}`);
    } finally { m.close(); }
  } finally {
    await traffic.stop().catch(() => undefined);
    await producer.disconnect();
    await service?.stop();
    await runBeeline(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  }
});

/**
 * Hive reads a compacted unpartitioned table from `<table>/_hive_kafka_compacted/<n>`, and a RENAME
 * moves that directory (not the table's own) to the new name's path. Here the RENAME comes while a
 * second compaction is planned and not switched: its directory, where batches publish from the plan
 * on, is under the old path, which Hive does not move, and no longer where Hive will ever read.
 */
test('RENAME of an unpartitioned table Hive reads from a compacted directory, while a second compaction is planned, under load: every record once under the new name, and compaction goes on there (file:)', async () => {
  const own = randomUUID().slice(0, 8);
  const topic = `compaction-rename-${own}`;
  const table = `cmpr_${own}`;
  const renamed = `cmpr_${own}_renamed`;
  await createTopics([{ topic, partitions: 1 }]);
  const dir = mkdtempSync(join(tmpdir(), 'hive-kafka-compaction-rename-'));
  const ledgerPath = join(dir, 'ledger.db');
  const slowConfig = join(dir, 'slow.json'); // no compaction round for 10 min: a plan stays unswitched
  writeFileSync(slowConfig, JSON.stringify({ compaction: { periodMs: 600_000, graceMs: 120_000 }, systemTables: { enabled: false } }));
  const producer = producerFor(kafka);
  await producer.connect();
  const traffic = load(producer, topic);
  let service: RunningService | undefined;
  const m = await MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 30_000 });
  const locationOf = async (name: string) => (await m.getTable('default', name)).storage.location!;
  const local = new LocalFileSystem();
  try {
    await runBeeline(`CREATE TABLE ${table} (id BIGINT, dt STRING, payload STRING)
      STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler' TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}',
      'kafka.max.batch.period.ms'='500', 'kafka.compaction.min.files'='3', 'kafka.compaction.min.age.ms'='0')`);
    const tableDir = stackFileSystems.for(await locationOf(table)).path;
    service = await startService({ tables: own, ledgerPath, configFile });
    const compacted = await eventually(`${table} switched to a compacted directory`, async () => {
      const at = await locationOf(table);
      return at.includes('/_hive_kafka_compacted/') ? at : undefined;
    }, 120_000, 500);
    await service.stop();
    // The next compaction is planned, and the service dies right after the plan...
    service = await startService({ tables: own, ledgerPath, configFile, env: { HIVE_KAFKA_CRASH_AT: 'compaction-planned' }, waitUntilServing: false });
    const died = service;
    await eventually('the service killed right after the second plan', async () => (died.child.signalCode !== null || died.child.exitCode !== null ? true : undefined), 240_000, 200)
      .catch((e: Error) => { died.child.kill('SIGKILL'); throw new Error(`${e.message}; the service's log ends:\n${died.output().slice(-4000)}`); });
    assert.match(died.output(), /killing the service at compaction-planned/);
    const plannedName = (await local.list(join(tableDir, '_hive_kafka_compacted'))).find((n) => !compacted.endsWith(`/${n}`));
    assert.ok(plannedName, `a second compaction directory beside ${compacted}`);
    const plannedDir = join(tableDir, '_hive_kafka_compacted', plannedName);
    // ... and runs again without compaction rounds: the plan holds, batches publish into its directory.
    service = await startService({ tables: own, ledgerPath, configFile: slowConfig });
    await eventually(`batches published into ${plannedDir}`, async () =>
      ((await local.list(plannedDir)).filter((n) => n.startsWith(`${topic}+`)).length >= 2 ? true : undefined), 120_000, 500);

    await runBeeline(`ALTER TABLE ${table} RENAME TO ${renamed}`);
    const movedTo = await locationOf(renamed);
    assert.ok(!movedTo.includes('/_hive_kafka_compacted/'), `Hive moved ${compacted} to ${movedTo}`);
    await new Promise((r) => setTimeout(r, 3000));
    const produced = await allOnceInHive(traffic, renamed, service);
    const move = service.output().split('\n').find((l) => l.includes('table moved by a RENAME'));
    assert.match(move ?? 'no move logged', /"compactionsGivenUp":1/, 'the planned compaction was given up');
    assert.equal(await local.exists(plannedDir), false, `${plannedDir}: its batches moved, its copies removed`);

    // The next compaction plans under the new name's directory and switches Hive there.
    await service.stop();
    service = await startService({ tables: own, ledgerPath, configFile });
    await eventually(`${renamed} compacted again under ${movedTo}`, async () =>
      ((await locationOf(renamed)).startsWith(`${movedTo}/_hive_kafka_compacted/`) ? true : undefined), 120_000, 1000)
      .catch((e: Error) => { throw new Error(`${e.message}; the service's log ends:\n${service?.output().slice(-3000)}`); });
    assert.equal((await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${renamed}`)).trim(), `${produced}\t${produced}`);
  } finally {
    m.close();
    await traffic.stop().catch(() => undefined);
    await producer.disconnect();
    await service?.stop();
    for (const t of [table, renamed]) await runBeeline(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  }
});
