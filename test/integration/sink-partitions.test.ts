// Partition directories for hostile values, on the real stack:
// 1. our escaping is Hive's: for each value, HMS's own partition name (ALTER TABLE ... ADD PARTITION)
//    equals partitionDir, and HMS created exactly that directory;
// 2. files written into partitionDir directories and registered with MetastoreClient.addPartitions
//    come back from Hive SELECT with the original values, and nothing lands outside the table location.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { MetastoreClient } from '../../src/metastore/client.ts';
import type { Table } from '../../src/metastore/types.ts';
import { fileSystemFor, localPath } from '../../src/sink/fs.ts';
import { encodeParquet } from '../../src/sink/parquet.ts';
import { defaultPartitionName, partitionDir, partitionLocation } from '../../src/sink/partition-path.ts';
import { makeRowDecoder, parseRecordJson, partitionValueOf } from '../../src/task/decode.ts';
import { runBeeline } from './helpers/beeline.ts';
import { requireHiveServer2, requireMetastore, stack } from './helpers/services.ts';

const table = `it_sink_parts_${randomUUID().slice(0, 8)}`;
const columns = [{ name: 'id', type: 'int' }, { name: 'payload', type: 'string' }];
const keys = [{ name: 'dt', type: 'string' }, { name: 'tag', type: 'string' }];

// Every character Hive escapes that can travel through a SQL literal, path tricks, and what Hive
// leaves alone (spaces, non-ASCII). '' and NULL both go to Hive's default partition.
const hostileTags = [
  '../x', '../../../x', 'a/b', '=', '%', '%2F', 'ünï', ' spaced ', '..', '.', 'k=v/../..',
  `"#*:?\\{[]^'`, 'ctl\u0001\u001f\u007fend', '日本/東京',
];

let metastore: MetastoreClient;
let hiveTable: Table;
let tableDir: string;

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
  await runBeeline(
    `CREATE EXTERNAL TABLE default.${table} (id INT, payload STRING) PARTITIONED BY (dt STRING, tag STRING) ` +
      `STORED AS PARQUET TBLPROPERTIES ('external.table.purge'='true')`,
  );
  metastore = await MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 10_000 });
  hiveTable = await metastore.getTable('default', table);
  assert.ok(hiveTable.storage.location, 'table has no location');
  tableDir = localPath(hiveTable.storage.location);
});

after(async () => {
  await runBeeline(`DROP TABLE IF EXISTS default.${table}`);
  metastore?.close();
});

test("partitionDir names each partition exactly as Hive's metastore does", async () => {
  const partitionSpecs = hostileTags.map((tag) => `PARTITION (dt='hive', tag=${sqlString(tag)})`).join(' ');
  await runBeeline(`ALTER TABLE default.${table} ADD ${partitionSpecs}`);

  const hiveNames = new Set((await metastore.getPartitionNames('default', table)).filter((n) => n.startsWith('dt=hive/')));
  for (const tag of hostileTags) {
    const ours = partitionDir(['dt', 'tag'], ['hive', tag]);
    assert.ok(hiveNames.has(ours), `Hive's partition name for tag ${JSON.stringify(tag)} is not ${ours}; Hive has: ${[...hiveNames].join(' | ')}`);
    assert.ok(existsSync(join(tableDir, ours)), `Hive did not create the directory ${ours}`);
  }
  assert.equal(hiveNames.size, hostileTags.length);
});

test('files in escaped partition directories, registered through the metastore, read back with the original values', async () => {
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
    const location = partitionLocation(hiveTable.storage.location!, dir);
    const { fs, path } = fileSystemFor(location);
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
      storage: { ...hiveTable.storage, location: partitionLocation(hiveTable.storage.location!, dir) },
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
  const ours = walkFiles(tableDir).filter((file) => file.includes('/dt=2024-01-01/'));
  assert.deepEqual(ours.sort(), written.map((f) => resolve(f)).sort());
  for (const escaped of [join(dirname(tableDir), 'x'), join(tableDir, 'x'), join(tableDir, 'dt=2024-01-01', 'x'), join(tableDir, 'dt=2024-01-01', 'tag=a', 'b')]) {
    assert.equal(existsSync(escaped), false, `${escaped} exists: a partition value escaped its directory`);
  }
});
