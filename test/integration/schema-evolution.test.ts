// Schema evolution and the DDL a stream table refuses, through beeline on a running table: ADD COLUMNS
// and CHANGE COLUMN under load, a change kafka.schema.compatibility forbids, INSERT from Hive, and a
// kafka.topic change. Expected messages come from src/properties/schema-change.ts, the text the Java
// meta hook fills from the same templates. Rows are checked by id through Hive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, requireStack, stack, producerFor } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';
import { hiveWriteRefusal, schemaChangeProblems, topicChangeProblem } from '../../src/properties/schema-change.ts';

const suffix = randomUUID().slice(0, 8);
const topic = `evolve-${suffix}`;
const otherTopic = `evolve-other-${suffix}`;
const table = `evolve_${suffix}`;
const qualified = `default.${table}`;
const partitions = 2;
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-schema-evolution', logLevel: logLevel.NOTHING });
let service: RunningService;

/** What was produced to `topic`, by id: the values Hive must show. */
interface Produced { userid: bigint; referrer?: string }
const produced = new Map<number, Produced>();
let nextId = 0;
// What the next records carry; the test flips these between phases.
let withReferrer = false;
let bigUserids = false;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Three Hive partitions that keep receiving rows across every ALTER: a column change must reach them too.
const dayOf = (id: number) => `2024-01-0${1 + (id % 3)}`;

function nextRecords(n: number): { value: string; partition: number }[] {
  return Array.from({ length: n }, () => {
    const id = nextId++;
    const row: Produced = { userid: bigUserids ? 5_000_000_000n + BigInt(id) : BigInt(id % 97) };
    if (withReferrer) row.referrer = `ref-${id}`;
    produced.set(id, row);
    const json = { id, userid: Number(row.userid), page_url: `/p/${id}`, clicks: id % 7, dt: dayOf(id), ...(row.referrer ? { referrer: row.referrer } : {}) };
    // Explicit partitions keep each partition's records in id order, so offsets order them too.
    return { value: JSON.stringify(json), partition: id % partitions };
  });
}

async function produce(n: number): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic, messages: nextRecords(n) });
  await producer.disconnect();
}

/** Keeps producing 10 records every 50 ms until stopped: the load an ALTER lands in. */
async function startLoad(): Promise<{ stop: () => Promise<void> }> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      await producer.send({ topic, messages: nextRecords(10) });
      await sleep(50);
    }
  })();
  return { stop: async () => { stopped = true; await running; await producer.disconnect(); } };
}

async function counts(): Promise<string> {
  return (await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`)).trim();
}

async function allProducedInHive(): Promise<void> {
  const want = `${nextId}\t${nextId}`;
  const got = await eventually(`${nextId} rows in Hive`, async () => {
    const c = await counts();
    return Number(c.split('\t')[0]) >= nextId ? c : undefined;
  }, 60_000, 1500);
  assert.equal(got, want, 'count(*) and count(DISTINCT id) equal the records produced');
}

/** Hive's rows as [id, ...columns], by id. */
async function rows(columns: string): Promise<Map<number, string[]>> {
  const out = await runBeeline(`SELECT id, ${columns} FROM ${table}`);
  const byId = new Map<number, string[]>();
  for (const line of out.trim().split('\n')) {
    const [id, ...rest] = line.split('\t');
    byId.set(Number(id), rest);
  }
  return byId;
}

interface TaskEpoch { state: string; ownerEpoch?: number }

async function tableStatus(): Promise<{ state: string; tasks: TaskEpoch[] } | undefined> {
  return (await service.status()).tables.find((x) => x.table === qualified && x.state !== 'dropped');
}

/** The highest owner epoch among the table's tasks: a task restarted with new settings claims a higher one. */
async function currentEpoch(): Promise<number> {
  const tasks = (await tableStatus())?.tasks ?? [];
  assert.ok(tasks.length > 0 && tasks.every((t) => t.ownerEpoch !== undefined), `running tasks with owner epochs: ${JSON.stringify(tasks)}`);
  return Math.max(...tasks.map((t) => t.ownerEpoch!));
}

/** Waits until every task of the table runs under an epoch above `epoch`: the service has picked the change up. */
async function restartedAfter(epoch: number): Promise<void> {
  await eventually(`the table's tasks to restart with the new columns (owner epoch above ${epoch})`, async () => {
    const tasks = (await tableStatus())?.tasks ?? [];
    return tasks.length > 0 && tasks.every((t) => t.state === 'running' && (t.ownerEpoch ?? 0) > epoch) ? true : undefined;
  }, 30_000, 100);
}

async function refused(sql: string): Promise<string> {
  const error = await runBeeline(sql).then(() => undefined, (e: Error) => e);
  assert.ok(error, `beeline accepted: ${sql}`);
  return error.message;
}

/** Column name -> type from DESCRIBE, partition columns included (its '#' section headers left out). */
async function columnTypes(): Promise<Record<string, string>> {
  const out = await runBeeline(`DESCRIBE ${table}`);
  const fields = out.split('\n').map((l) => l.split('\t').map((s) => s.trim()));
  return Object.fromEntries(fields.filter(([name]) => name && !name.startsWith('#')).map(([name, type]) => [name!, type!]));
}

before(async () => {
  await requireStack();
  await createTopics([{ topic, partitions }, { topic: otherTopic, partitions: 1 }]);
  service = await startService({ tables: suffix });
  await runBeeline(`CREATE TABLE ${table} (id BIGINT, userid INT, page_url STRING, clicks SMALLINT)
    PARTITIONED BY (dt STRING)
    STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
    TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='500',
                   'kafka.max.num.tasks'='${partitions}', 'kafka.schema.compatibility'='BACKWARD')`);
  await produce(200);
  await allProducedInHive();
});

after(async () => {
  await runBeeline(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
  await service?.stop();
});

test('ADD COLUMNS on a running table under load: old rows read NULL, rows after the pick-up carry their value, nothing lost or repeated', async () => {
  const epoch = await currentEpoch();
  const load = await startLoad();
  let firstWithReferrer: number;
  let pickedUp: number;
  try {
    await sleep(500);
    await runBeeline(`ALTER TABLE ${table} ADD COLUMNS (referrer STRING)`);
    // From here on records carry referrer. Until the tasks restart with the new columns, the old ones
    // decode them without it, so those rows read NULL too: honest, and checked below.
    withReferrer = true;
    firstWithReferrer = nextId;
    await restartedAfter(epoch);
    pickedUp = nextId;
    await sleep(1500);
  } finally {
    await load.stop();
  }
  assert.ok(nextId > pickedUp, 'records were produced after the pick-up');
  await allProducedInHive();

  const byId = await rows('referrer');
  assert.deepEqual([...byId.keys()].sort((a, b) => a - b), [...produced.keys()], 'each produced id once');
  const lastNullByPartition = new Map<number, number>();
  const firstValueByPartition = new Map<number, number>();
  for (const [id, [referrer]] of byId) {
    const want = produced.get(id)!.referrer;
    if (id < firstWithReferrer) assert.equal(referrer, 'NULL', `row ${id}, produced without referrer, reads NULL`);
    else assert.ok(referrer === 'NULL' || referrer === want, `row ${id} reads its own referrer or NULL, not ${referrer}`);
    if (id >= pickedUp) assert.equal(referrer, want, `row ${id}, produced after the service picked the column up, carries it`);
    const p = id % partitions;
    if (referrer === 'NULL' && id >= firstWithReferrer) lastNullByPartition.set(p, Math.max(lastNullByPartition.get(p) ?? -1, id));
    if (referrer !== 'NULL') firstValueByPartition.set(p, Math.min(firstValueByPartition.get(p) ?? Infinity, id));
  }
  // Within a Kafka partition the switch happens once, at a batch boundary: no NULL after the first value.
  for (let p = 0; p < partitions; p++) {
    assert.ok((lastNullByPartition.get(p) ?? -1) < (firstValueByPartition.get(p) ?? Infinity),
      `partition ${p}: rows switch to the new column once (last NULL ${lastNullByPartition.get(p)}, first value ${firstValueByPartition.get(p)})`);
  }
});

test('CHANGE COLUMN userid INT -> BIGINT on a running table: values beyond 2^31 are exact, old rows still read', async () => {
  const epoch = await currentEpoch();
  const load = await startLoad();
  try {
    await sleep(500);
    await runBeeline(`ALTER TABLE ${table} CHANGE COLUMN userid userid BIGINT`);
    await restartedAfter(epoch);
  } finally {
    await load.stop();
  }
  // Only now: an INT task would refuse 5000000000 as a bad record.
  bigUserids = true;
  await produce(300);
  await allProducedInHive();

  assert.equal((await columnTypes()).userid, 'bigint');
  const byId = await rows('userid');
  for (const [id, want] of produced) assert.equal(byId.get(id)?.[0], String(want.userid), `row ${id} userid`);
  const sum = [...produced.values()].reduce((s, r) => s + r.userid, 0n);
  assert.equal((await runBeeline(`SELECT sum(userid), max(userid) FROM ${table}`)).trim(), `${sum}\t${5_000_000_000n + BigInt(nextId - 1)}`);
});

test('a change the table\'s mode forbids is refused in beeline, naming the column, and nothing changes', async () => {
  await runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.schema.compatibility'='FULL')`);
  const [widening] = schemaChangeProblems(qualified, [{ name: 'clicks', type: 'smallint' }], [{ name: 'clicks', type: 'int' }], 'FULL');
  const fullError = await refused(`ALTER TABLE ${table} CHANGE COLUMN clicks clicks INT`);
  assert.ok(fullError.includes(widening!), `FULL refuses a widening:\n${fullError}\nexpected:\n${widening}`);

  await runBeeline(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.schema.compatibility'='BACKWARD')`);
  const [narrowing] = schemaChangeProblems(qualified, [{ name: 'userid', type: 'bigint' }], [{ name: 'userid', type: 'int' }], 'BACKWARD');
  const backwardError = await refused(`ALTER TABLE ${table} CHANGE COLUMN userid userid INT`);
  assert.ok(backwardError.includes(narrowing!), `BACKWARD refuses a narrowing:\n${backwardError}\nexpected:\n${narrowing}`);

  assert.deepEqual(await columnTypes(), { id: 'bigint', userid: 'bigint', page_url: 'string', clicks: 'smallint', referrer: 'string', dt: 'string' });
  assert.equal((await tableStatus())?.state, 'running');
});

test('INSERT from Hive is refused while compiling, saying why, and the table keeps ingesting', async () => {
  const why = hiveWriteRefusal(qualified, topic);
  // (A VALUES list with a column list fails in Hive's parser before any sink exists; a SELECT reaches it.)
  for (const sql of [`INSERT INTO ${table} PARTITION (dt='2024-01-01') SELECT 999999999, userid, page_url, clicks, referrer FROM ${table} LIMIT 1`,
    `INSERT OVERWRITE TABLE ${table} PARTITION (dt='2024-01-01') SELECT id, userid, page_url, clicks, referrer FROM ${table}`]) {
    const error = await refused(sql);
    assert.ok(error.includes(why), `${sql}\n${error}`);
    assert.match(error, /compiling/i, 'refused at compile time');
    assert.doesNotMatch(error, /MapRedTask|Output directory not set/, 'no job ran');
  }
  await produce(50);
  await allProducedInHive(); // exactly the produced ids: the refused INSERT added no row
});

test('ALTER of kafka.topic is refused with what to do instead, and the table keeps reading its own topic exactly', async () => {
  const producer = producerFor(kafka);
  await producer.connect();
  await producer.send({ topic: otherTopic, messages: Array.from({ length: 20 }, (_, i) => ({ value: JSON.stringify({ id: 1_000_000 + i }) })) });
  await producer.disconnect();

  const changed = await refused(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.topic'='${otherTopic}')`);
  assert.ok(changed.includes(topicChangeProblem(qualified, topic, otherTopic)!), changed);
  const removed = await refused(`ALTER TABLE ${table} UNSET TBLPROPERTIES ('kafka.topic')`);
  assert.ok(removed.includes(topicChangeProblem(qualified, topic, undefined)!), removed);
  assert.equal((await runBeeline(`SHOW TBLPROPERTIES ${table}('kafka.topic')`)).trim().split('\t').at(-1), topic);

  await produce(100);
  await allProducedInHive(); // exactly this topic's ids: none of the other topic's 20 records
  assert.equal((await tableStatus())?.state, 'running');
});
