// Partition directories for hostile values, on the real stack:
// 1. our escaping is Hive's: for each value, HMS's own partition name (ALTER TABLE ... ADD PARTITION)
//    equals partitionDir, and HMS created exactly that directory;
// 2. files written into partitionDir directories and registered with MetastoreClient.addPartitions
//    come back from Hive SELECT with the original values, and nothing lands outside the table location.
// Both run on a table in the file: warehouse and on one on HDFS (helpers/warehouse.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { MetastoreClient } from '../../src/metastore/client.ts';
import type { Table } from '../../src/metastore/types.ts';
import { fileSystemFor } from '../../src/sink/fs.ts';
import { encodeParquet } from '../../src/sink/parquet.ts';
import { defaultPartitionName, partitionDir, partitionLocation } from '../../src/sink/partition-path.ts';
import { makeRowDecoder, parseRecordJson, partitionValueOf } from '../../src/hive/convert.ts';
import { runBeeline } from './helpers/beeline.ts';
import { requireHdfs, requireHiveServer2, requireMetastore, stack } from './helpers/services.ts';
import { locationClause, locationExists, readableCopy, WAREHOUSES, type Warehouse } from './helpers/warehouse.ts';

const suffix = randomUUID().slice(0, 8);
const tableOf = (kind: Warehouse) => `it_sink_parts_${kind}_${suffix}`;
const columns = [{ name: 'id', type: 'int' }, { name: 'payload', type: 'string' }];
const keys = [{ name: 'dt', type: 'string' }, { name: 'tag', type: 'string' }];

// Every character Hive escapes that can travel through a SQL literal, path tricks, and what Hive
// leaves alone (spaces, non-ASCII). '' and NULL both go to Hive's default partition.
const hostileTags = [
  '../x', '../../../x', 'a/b', '=', '%', '%2F', 'ünï', ' spaced ', '..', '.', 'k=v/../..',
  `"#*:?\\{[]^'`, 'ctl\u0001\u001f\u007fend', '日本/東京',
];

let metastore: MetastoreClient;
const hiveTables = new Map<Warehouse, Table>();

function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function walkFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walkFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

before(async () => {
  await requireHiveServer2();
  await requireMetastore();
  await requireHdfs();
  await runBeeline(WAREHOUSES.map((kind) =>
    `CREATE EXTERNAL TABLE default.${tableOf(kind)} (id INT, payload STRING) PARTITIONED BY (dt STRING, tag STRING) ` +
      `STORED AS PARQUET ${locationClause(kind, tableOf(kind))} TBLPROPERTIES ('external.table.purge'='true')`).join(';\n'));
  metastore = await MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 10_000 });
  for (const kind of WAREHOUSES) {
    const hiveTable = await metastore.getTable('default', tableOf(kind));
    assert.ok(hiveTable.storage.location, `${tableOf(kind)} has no location`);
    if (kind === 'hdfs') assert.match(hiveTable.storage.location, /^hdfs:/);
    hiveTables.set(kind, hiveTable);
  }
});

after(async () => {
  await runBeeline(WAREHOUSES.map((kind) => `DROP TABLE IF EXISTS default.${tableOf(kind)}`).join(';\n'));
  metastore?.close();
});

for (const kind of WAREHOUSES) test(`partitionDir names each partition exactly as Hive's metastore does (${kind})`, async () => {
  const table = tableOf(kind);
  const location = hiveTables.get(kind)!.storage.location!;
  const partitionSpecs = hostileTags.map((tag) => `PARTITION (dt='hive', tag=${sqlString(tag)})`).join(' ');
  await runBeeline(`ALTER TABLE default.${table} ADD ${partitionSpecs}`);

  const hiveNames = new Set((await metastore.getPartitionNames('default', table)).filter((n) => n.startsWith('dt=hive/')));
  for (const tag of hostileTags) {
    const ours = partitionDir(['dt', 'tag'], ['hive', tag]);
    assert.ok(hiveNames.has(ours), `Hive's partition name for tag ${JSON.stringify(tag)} is not ${ours}; Hive has: ${[...hiveNames].join(' | ')}`);
    assert.ok(await locationExists(partitionLocation(location, ours)), `Hive did not create the directory ${ours}`);
  }
  assert.equal(hiveNames.size, hostileTags.length);
});

for (const kind of WAREHOUSES) test(`files in escaped partition directories, registered through the metastore, read back with the original values (${kind})`, async () => {
  const table = tableOf(kind);
  const hiveTable = hiveTables.get(kind)!;
  const location = hiveTable.storage.location!.replace(/\/+$/, '');
  const tableDir = fileSystemFor(location).path;
  const decode = makeRowDecoder(columns);
  const tags: (string | null)[] = [...hostileTags, '', null];
  const records = tags.map((tag, id) => JSON.stringify({ id, payload: `row ${id}`, dt: '2024-01-01', tag }));

  // Route each record as the task does: decoded row + Hive partition values -> directory.
  const groups = new Map<string, { values: string[]; rows: unknown[][] }>();
  for (const text of records) {
    const record = parseRecordJson(text);
    const values = keys.map((key) => partitionValueOf(record, key));
    const dir = partitionDir(keys.map((k) => k.name), values);
    const group = groups.get(dir) ?? { values: values.map((v) => v ?? defaultPartitionName), rows: [] };
    group.rows.push(decode(record));
    groups.set(dir, group);
  }
  assert.equal(groups.size, hostileTags.length + 1, "'' and NULL share the default partition");

  const written: string[] = [];
  for (const [dir, group] of groups) {
    const { fs, path } = fileSystemFor(partitionLocation(location, dir));
    await fs.mkdirs(path);
    const file = join(path, 'part-00000.parquet');
    await fs.writeFileDurably(file, encodeParquet(columns, group.rows));
    written.push(file);
  }
  await metastore.addPartitions(
    'default',
    table,
    [...groups].map(([dir, group]) => ({
      values: group.values,
      storage: { ...hiveTable.storage, location: partitionLocation(location, dir) },
    })),
    false,
  );

  // No WHERE on a partition column: this stack's metastore runs DefaultPartitionExpressionProxy, which
  // fails partition pruning (get_partitions_spec_by_expr -> UnsupportedOperationException). The
  // dt='hive' partitions of the first test are empty directories and add no rows.
  const out = await runBeeline(`SELECT id, payload, dt, tag FROM default.${table}`);
  const actual = out.split('\n').filter((line) => line !== '').map((line) => line.split('\t'))
    .sort((a, b) => Number(a[0]) - Number(b[0]));
  // Hive 4.0.1 shows a STRING key of the default partition as the name itself; rows Hive inserts
  // itself with a NULL or '' key show the same (checked with a dynamic-partition INSERT).
  const expected = tags.map((tag, id) => [String(id), `row ${id}`, '2024-01-01', tag === null || tag === '' ? defaultPartitionName : tag]);
  assert.deepEqual(actual, expected);

  // Nothing outside the table location: every file we wrote resolves under it, the table holds
  // exactly those files, and the places a broken escape would have reached do not exist.
  for (const file of written) assert.ok(resolve(file).startsWith(`${tableDir}/`), `${file} is outside ${tableDir}`);
  const copy = await readableCopy(location);
  const ours = walkFiles(copy).filter((file) => file.includes('/dt=2024-01-01/')).map((file) => relative(copy, file));
  assert.deepEqual(ours.sort(), written.map((f) => relative(tableDir, resolve(f))).sort());
  const parent = location.replace(/\/[^/]*$/, '');
  for (const escaped of [`${parent}/x`, `${location}/x`, `${location}/dt=2024-01-01/x`, `${location}/dt=2024-01-01/tag=a/b`]) {
    assert.equal(await locationExists(escaped), false, `${escaped} exists: a partition value escaped its directory`);
  }
});
