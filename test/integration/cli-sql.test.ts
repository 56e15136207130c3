// hive-kafka sql: local checks first (nothing runs when they fail), then HiveServer2 through hive-driver.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { requireHiveServer2 } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';

const table = `cli_sql_${randomUUID().slice(0, 8)}`;
const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/hive-kafka.mjs', ...args], { encoding: 'utf8', timeout: 120_000 });
const ddl = (brokers: string) => `CREATE TABLE ${table} (id BIGINT)
STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
TBLPROPERTIES ('kafka.topic' = 't', 'kafka.broker.list' = '${brokers}')`;

before(async () => { await requireHiveServer2(); });

test('a syntax error is reported with line and column, and nothing runs', () => {
  const r = cli('sql', '-e', `SELECT 1;\nCREATE TABLE ${table} (id BIGINT`);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /-e:2:\d+: syntax error/);
  assert.match(r.stderr, /nothing was executed/);
  assert.equal(r.stdout, '', 'not even the valid first statement ran');
});

test('bad TBLPROPERTIES are refused locally, naming the property, and no table is created', async () => {
  const r = cli('sql', '-e', ddl('nohost'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`table ${table}: property 'kafka.broker.list' = 'nohost' is invalid`));
  assert.equal((await runBeeline(`SHOW TABLES LIKE '${table}'`)).trim(), '');
});

test('valid SQL runs through HiveServer2 and query rows print as tab-separated lines', async () => {
  const r = cli('sql', '-e', `${ddl('127.0.0.1:9092')};\nSHOW TABLES LIKE '${table}';\nDROP TABLE ${table}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), table);
  assert.equal((await runBeeline(`SHOW TABLES LIKE '${table}'`)).trim(), '');
});
