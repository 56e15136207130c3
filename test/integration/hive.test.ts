// HiveServer2 runs queries that need execution (local MapReduce), because later tests verify
// ingested data with exactly such queries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { requireHiveServer2, requireMetastore } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';

const table = `it_exec_${randomUUID().slice(0, 8)}`;

before(async () => {
  await requireHiveServer2();
  await requireMetastore();
  await runBeeline(`CREATE TABLE ${table} (id INT, country STRING) STORED AS PARQUET`);
  await runBeeline(`INSERT INTO ${table} VALUES (1,'fr'),(2,'fr'),(3,'de'),(4,'us'),(5,'us'),(6,'us')`);
});

after(async () => { await runBeeline(`DROP TABLE IF EXISTS ${table}`); });

test('SELECT count(*) and count(DISTINCT) run and return the inserted rows', async () => {
  const out = await runBeeline(`SELECT count(*), count(DISTINCT id) FROM ${table}`);
  assert.deepEqual(out.trim().split('\n'), ['6\t6']);
});

test('GROUP BY runs and returns one row per group', async () => {
  const out = await runBeeline(`SELECT country, count(*) FROM ${table} GROUP BY country ORDER BY country`);
  assert.deepEqual(out.trim().split('\n'), ['de\t1', 'fr\t2', 'us\t3']);
});

test('a filter on a partition column is pushed to the metastore and answers', async () => {
  const parted = `${table}_p`;
  await runBeeline(`CREATE TABLE ${parted} (id INT) PARTITIONED BY (dt STRING) STORED AS PARQUET`);
  try {
    await runBeeline(`INSERT INTO ${parted} PARTITION (dt='a') VALUES (1),(2)`);
    await runBeeline(`INSERT INTO ${parted} PARTITION (dt='b') VALUES (3)`);
    assert.equal((await runBeeline(`SELECT count(*) FROM ${parted} WHERE dt = 'a'`)).trim(), '2');
  } finally {
    await runBeeline(`DROP TABLE IF EXISTS ${parted}`);
  }
});
