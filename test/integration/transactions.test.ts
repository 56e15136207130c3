// Read committed: records of aborted transactions never reach the table (offset gaps from
// transaction markers are normal), unless the table sets kafka.read_uncommited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, requireStack, stack } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';

const suffix = randomUUID().slice(0, 8);
const topic = `txn-${suffix}`;
const committedTable = `txn_committed_${suffix}`;
const uncommittedTable = `txn_uncommitted_${suffix}`;
const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'it-txn', logLevel: logLevel.NOTHING });
let service: RunningService;
const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

const clients = ['shared', 'kafkajs', 'platformatic'] as const;
const markerTopic = (client: string) => `txn-marker-${client}-${suffix}`;
const markerTable = (client: string) => `txn_marker_${client}_${suffix}`;

async function transaction(idsToSend: number[], outcome: 'commit' | 'abort', to = topic): Promise<void> {
  const producer = kafka.producer({ transactionalId: `it-${suffix}-${outcome}-${idsToSend[0]}`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const txn = await producer.transaction();
  await txn.send({ topic: to, messages: idsToSend.map((id) => ({ value: JSON.stringify({ id }) })) });
  await (outcome === 'commit' ? txn.commit() : txn.abort());
  await producer.disconnect();
}

before(async () => {
  await requireStack();
  await createTopics([{ topic, partitions: 2 }, ...clients.map((c) => ({ topic: markerTopic(c), partitions: 1 }))]);

  await transaction(ids(0, 100), 'commit');
  await transaction(ids(1000, 100), 'abort');
  // kcat, an independent client, commits a transaction when its input ends.
  const file = join(mkdtempSync(join(tmpdir(), 'txn-')), 'records.jsonl');
  writeFileSync(file, ids(100, 100).map((id) => JSON.stringify({ id })).join('\n') + '\n');
  await promisify(execFile)('kcat', ['-P', '-b', stack.kafkaBrokers, '-t', topic, '-X', `transactional.id=it-kcat-${suffix}`, '-l', file]);
  await transaction(ids(2000, 50), 'abort');
  service = await startService({ tables: suffix });
});

after(async () => {
  for (const t of [committedTable, uncommittedTable, ...clients.map(markerTable)]) await runBeeline(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  await service?.stop();
});

const create = (table: string, extra = '', from = topic) => runBeeline(`CREATE TABLE ${table} (id BIGINT)
  STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
  TBLPROPERTIES ('kafka.topic'='${from}', 'kafka.broker.list'='${stack.kafkaBrokers}', 'kafka.max.batch.period.ms'='500'${extra})`);

test('only records of committed transactions reach a table (kafka.read_uncommited defaults to false)', async () => {
  await create(committedTable);
  const out = await eventually('200 committed rows', async () => {
    const c = (await runBeeline(`SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ${committedTable}`)).trim();
    return c.startsWith('200\t') ? c : undefined;
  }, 90_000, 1500);
  assert.equal(out, '200\t200\t0\t199');
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal((await runBeeline(`SELECT count(*) FROM ${committedTable} WHERE id >= 1000`)).trim(), '0', 'no aborted record, ever');
});

test('kafka.read_uncommited=true ingests aborted records too', async () => {
  await create(uncommittedTable, ", 'kafka.read_uncommited'='true'");
  const out = await eventually('350 rows', async () => {
    const c = (await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${uncommittedTable}`)).trim();
    return c.startsWith('350\t') ? c : undefined;
  }, 90_000, 1500);
  assert.equal(out, '350\t350');
});

for (const client of clients) {
  test(`a table that read up to a transaction's marker goes on when retention deletes the marker: no record was lost, so no offset gap (${client})`, async () => {
    // A service of its own, reading with this client; the file's service leaves these tables alone from here on.
    await service?.stop();
    const table = markerTable(client);
    const env = { HIVE_KAFKA_CLIENT: client };
    let own = await startService({ tables: table, env });
    try {
      await transaction(ids(0, 20), 'commit', markerTopic(client)); // offsets 0-19, the commit marker at 20
      await create(table, '', markerTopic(client));
      const statusOf = async () => (await own.status()).tables.find((t) => t.table === `default.${table}`);
      await eventually('20 rows', async () => ((await runBeeline(`SELECT count(*) FROM ${table}`)).trim() === '20' ? true : undefined), 90_000, 1500);
      // The ledger moves past the marker (before, it stayed at 20, the marker's offset).
      await eventually('committed past the marker', async () => ((await statusOf())?.partitions[0]?.committed === 21 ? true : undefined), 30_000, 300);
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.fetchTopicMetadata({ topics: [markerTopic(client)] }); // kafkajs's deleteTopicRecords needs it loaded
        await admin.deleteTopicRecords({ topic: markerTopic(client), partitions: [{ partition: 0, offset: '21' }] }); // as retention would: the marker too
      } finally {
        await admin.disconnect();
      }
      // A restart looks at the log start before reading: before, "offsets 20..20 deleted" failed the table here.
      await own.stop();
      own = await startService({ tables: table, env, ledgerPath: own.ledgerPath });
      await transaction(ids(20, 5), 'commit', markerTopic(client)); // offsets 21-25
      const out = await eventually('25 rows', async () => {
        const t = await statusOf();
        if (t?.state === 'failed') throw new Error(`${table} failed: ${t.failure}`);
        const c = (await runBeeline(`SELECT count(*), count(DISTINCT id), min(id), max(id) FROM ${table}`)).trim();
        return c.startsWith('25\t') ? c : undefined;
      }, 90_000, 1500);
      assert.equal(out, '25\t25\t0\t24');
      const t = await statusOf();
      assert.equal(t?.state, 'running');
      assert.deepEqual(t?.gaps, []);
      assert.equal((await own.status()).kafkaClient, client);
    } finally {
      await own.stop();
    }
  });
}
