// Records where Hive itself puts rows of bucketed tables, into fixtures/bucketing/hive-buckets.json,
// for the offline unit tests of src/sink/bucket.ts. For each clustering type, a Parquet table
// CLUSTERED BY (k) INTO 13 BUCKETS gets one INSERT; the bucket is read back from the name of the file
// Hive wrote each row into (INPUT__FILE__NAME, `000007_0`), with murmur_hash(k), Hive's row hash.
// 13 buckets, not a power of two, so `& 0x7fffffff` then `%` is told apart from a plain modulo.
// Run: npm run fixtures:buckets (BEELINE_CMD overrides how beeline is started, as in the tests.)
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { runBeeline } from '../integration/helpers/beeline.ts';

const numBuckets = 13;
const suffix = randomUUID().slice(0, 8);
const outputDir = join(import.meta.dirname, '../../fixtures/bucketing');

type Value = string | boolean | null;
interface Case { types: string[]; values: Value[] }

const around = (min: bigint, max: bigint) =>
  [0n, 1n, -1n, 2n, 3n, 7n, 42n, -42n, 100n, 255n, 300n, 1000n, 65535n, 123456789n, 2n ** 40n, min, max, min + 1n, max - 1n]
    .filter((v) => v >= min && v <= max).map(String);
const texts = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'hello world', 'FR', 'user-17', 'é', 'aé', 'abcdé', 'ünï', '日本', '日本語', 'x€', '😀', 'a b  '];

const single: Record<string, Value[]> = {
  tinyint: around(-128n, 127n),
  smallint: around(-32768n, 32767n),
  int: around(-(2n ** 31n), 2n ** 31n - 1n),
  bigint: [...around(-(2n ** 63n), 2n ** 63n - 1n), '9007199254740993', '12345678901234'],
  string: texts,
  'varchar(4)': ['', 'a', 'abcd', 'abcdef', 'é', '日本'],
  'char(6)': ['a', 'abc', 'abcdef', 'é', ' x', 'a b', '日本'],
  date: ['1970-01-01', '1969-12-31', '2024-01-02', '2000-02-29', '0001-01-01', '9999-12-31', '1582-10-15'],
  boolean: [true, false],
};

function literal(type: string, value: Value): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return String(value);
  if (type === 'date') return `DATE '${value}'`;
  if (/^(string|varchar|char)/.test(type)) return `'${value.replace(/'/g, "\\'")}'`;
  return `CAST(${value} AS ${type})`;
}

interface Probe { table: string; types: string[]; cases: Case[] }
const probes: Probe[] = Object.entries(single).map(([type, values]) => ({
  table: `record_buckets_${type.replace(/\W.*/, '')}_${suffix}`,
  types: [type],
  cases: [...values, null].map((v) => ({ types: [type], values: [v] })),
}));
// Two clustering columns, NULLs included, with a third column that is not hashed.
const multi: Case[] = [];
for (const a of ['1', '-7', '42', null]) for (const b of ['a', '日本', 'FR', null]) multi.push({ types: ['bigint', 'string'], values: [a, b] });
probes.push({ table: `record_buckets_multi_${suffix}`, types: ['bigint', 'string'], cases: multi });

const recorded: { types: string[]; values: Value[]; hiveHash: number; bucket: number }[] = [];
try {
  for (const probe of probes) {
    const keys = probe.types.map((_, i) => `k${i}`);
    await runBeeline(`CREATE TABLE ${probe.table} (id INT, ${probe.types.map((t, i) => `${keys[i]} ${t}`).join(', ')}, other STRING)
      CLUSTERED BY (${keys.join(', ')}) INTO ${numBuckets} BUCKETS STORED AS PARQUET`);
    const rows = probe.cases.map((c, id) => `(${id}, ${c.values.map((v, i) => literal(c.types[i]!, v)).join(', ')}, 'x')`);
    await runBeeline(`INSERT INTO ${probe.table} VALUES ${rows.join(', ')}`);
    const out = await runBeeline(`SELECT id, INPUT__FILE__NAME, murmur_hash(${keys.join(', ')}) FROM ${probe.table}`);
    const placed = new Map<number, { file: string; hash: number }>();
    for (const line of out.trim().split('\n')) {
      const [id, file, hash] = line.split('\t');
      placed.set(Number(id), { file: file!, hash: Number(hash) });
    }
    probe.cases.forEach((c, id) => {
      const p = placed.get(id);
      if (!p) throw new Error(`${probe.table}: row ${id} (${JSON.stringify(c.values)}) did not come back`);
      const m = /\/0*(\d+)_0$/.exec(p.file);
      if (!m) throw new Error(`${probe.table}: unexpected file name ${p.file}`);
      recorded.push({ types: c.types, values: c.values, hiveHash: p.hash, bucket: Number(m[1]) });
    });
  }
} finally {
  for (const probe of probes) await runBeeline(`DROP TABLE IF EXISTS ${probe.table}`).catch(() => undefined);
}

mkdirSync(outputDir, { recursive: true });
const version = (await runBeeline('SELECT version()')).trim();
const recordedWith = `HiveServer2 ${version}: INSERT into Parquet tables CLUSTERED BY (k...) INTO ${numBuckets} BUCKETS ` +
  '(bucketing_version 2), bucket from INPUT__FILE__NAME, hiveHash = murmur_hash(k...)';
// One row per line: diffs of a re-recording stay readable.
writeFileSync(join(outputDir, 'hive-buckets.json'), `{"recordedWith": ${JSON.stringify(recordedWith)},\n "numBuckets": ${numBuckets},\n "rows": [\n` +
  recorded.map((r) => `  ${JSON.stringify(r)}`).join(',\n') + '\n ]}\n');
console.log(`recorded ${recorded.length} rows into ${join(outputDir, 'hive-buckets.json')}`);
