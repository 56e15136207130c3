import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bucketFileName, bucketingVersionOf, makeBucketer, makeRowHash, murmur3, type BucketLayout } from '../../src/sink/bucket.ts';
import { makeRowDecoder } from '../../src/hive/convert.ts';
import { lastPublishedOffsets } from '../../src/ledger/rebuild.ts';
import { publishedNameParser } from '../../src/sink/published-names.ts';
import { LocalFileSystem } from '../../src/sink/fs.ts';

// Where Hive 4.0.1 itself put each value (npm run fixtures:buckets): the bucket from the name of the
// file its INSERT wrote the row into, and murmur_hash(k...) for the same row.
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../../fixtures/bucketing/hive-buckets.json'), 'utf8')) as {
  numBuckets: number;
  rows: { types: string[]; values: (string | boolean | null)[]; hiveHash: number; bucket: number }[];
};

function layoutFor(types: string[], numBuckets: number): BucketLayout {
  const columns = types.map((type, i) => ({ name: `k${i}`, type }));
  return { table: 'db.t', columns: [{ name: 'id', type: 'int' }, ...columns], bucketColumns: columns.map((c) => c.name), numBuckets, bucketingVersion: '2' };
}

/** The row as the task holds it: the record decoded by the table's column types. */
function decodedRow(layout: BucketLayout, values: (string | boolean | null)[]): unknown[] {
  const record = Object.fromEntries([['id', 1], ...values.map((v, i) => [`k${i}`, v])]);
  return makeRowDecoder([...layout.columns])(record);
}

test('every clustering type lands in the bucket Hive 4.0.1 put it in, with Hive\'s own row hash', () => {
  const types = new Set(fixture.rows.map((r) => r.types.join(',')));
  for (const t of ['tinyint', 'smallint', 'int', 'bigint', 'string', 'varchar(4)', 'char(6)', 'date', 'boolean', 'bigint,string']) {
    assert.ok(types.has(t), `the fixture covers ${t}`);
  }
  for (const r of fixture.rows) {
    const layout = layoutFor(r.types, fixture.numBuckets);
    const row = decodedRow(layout, r.values);
    const what = `${r.types.join(',')} ${JSON.stringify(r.values)}`;
    assert.equal(makeRowHash(layout)(row), r.hiveHash, `hash of ${what}`);
    assert.equal(makeBucketer(layout)(row), r.bucket, `bucket of ${what}`);
  }
});

test('the bucket is (hash & 0x7fffffff) % n, not a signed modulo', () => {
  const negative = fixture.rows.find((r) => r.hiveHash < 0 && (r.hiveHash % 13) + 13 !== r.bucket && r.types.length === 1)!;
  assert.ok(negative, 'the fixture has a negative hash where a floor modulo would differ');
  const layout = layoutFor(negative.types, 13);
  assert.equal(makeBucketer(layout)(decodedRow(layout, negative.values)), (negative.hiveHash & 0x7fffffff) % 13);
});

test('Murmur3 sign-extends tail bytes as Hive does: "é" (C3 A9) differs from the reference algorithm', () => {
  // Hive's murmur_hash('é') on HiveServer2 4.0.1 (also in the fixture); reference MurmurHash3 (unsigned
  // tail bytes) with the same seed gives -1372482606.
  assert.equal(murmur3(Buffer.from('é')), -527561221);
  assert.equal(murmur3(new Uint8Array()), -965378730); // murmur_hash('')
});

test('NULL clustering values hash to 0 and still count in a multi-column hash', () => {
  const layout = layoutFor(['bigint', 'string'], 13);
  assert.equal(makeRowHash(layout)(decodedRow(layout, [null, null])), 0);
  const onlyB = fixture.rows.find((r) => r.types.length === 2 && r.values[0] === null && r.values[1] === 'a')!;
  assert.equal(makeRowHash(layout)(decodedRow(layout, [null, 'a'])), onlyB.hiveHash);
});

test('clustering columns are found by name, case-insensitively, wherever they sit in the row', () => {
  const layout: BucketLayout = { table: 'db.t', columns: [{ name: 'Page', type: 'string' }, { name: 'UserId', type: 'bigint' }],
    bucketColumns: ['userid'], numBuckets: 8, bucketingVersion: '2' };
  // murmur_hash(CAST(1 AS BIGINT)) = -913662660 on HiveServer2 4.0.1.
  assert.equal(makeRowHash(layout)(['/x', 1n]), -913662660);
  assert.equal(makeBucketer(layout)(['/x', 1n]), (-913662660 & 0x7fffffff) % 8);
});

test('types whose Hive hash is not implemented fail loudly, naming the table, column and type', () => {
  for (const type of ['double', 'float', 'decimal(10,2)', 'timestamp', 'binary', 'array<int>', 'struct<a:int>']) {
    const layout: BucketLayout = { table: 'db.clicks', columns: [{ name: 'amount', type }], bucketColumns: ['amount'], numBuckets: 4, bucketingVersion: '2' };
    assert.throws(() => makeBucketer(layout), (e: Error) =>
      e.message.includes('db.clicks') && e.message.includes('"amount"') && e.message.includes(type) && e.message.includes('CLUSTERED BY'), type);
  }
});

test('a table Hive reads as bucketing version 1, an unknown column or a bad count is refused', () => {
  const base: BucketLayout = { table: 'db.t', columns: [{ name: 'a', type: 'int' }], bucketColumns: ['a'], numBuckets: 4, bucketingVersion: '2' };
  assert.throws(() => makeBucketer({ ...base, bucketingVersion: '1' }), /db\.t has bucketing_version=1.*version 2 only/);
  assert.throws(() => makeBucketer({ ...base, bucketingVersion: undefined }), /unset, which Hive reads as 1/);
  assert.throws(() => makeBucketer({ ...base, bucketColumns: ['b'] }), /db\.t: clustering column "b" is not a column/);
  assert.throws(() => makeBucketer({ ...base, bucketColumns: [] }), /no CLUSTERED BY columns/);
  assert.throws(() => makeBucketer({ ...base, numBuckets: 0 }), /not a positive bucket count/);
});

test('bucketing_version is read as Hive reads it (Integer.parseInt, else 1)', () => {
  assert.equal(bucketingVersionOf('2'), 2);
  assert.equal(bucketingVersionOf('+2'), 2);
  assert.equal(bucketingVersionOf(undefined), 1);
  assert.equal(bucketingVersionOf(' 2'), 1);
  assert.equal(bucketingVersionOf('two'), 1);
  assert.equal(bucketingVersionOf('99999999999'), 1);
});

// Hive 4.0.1's Utilities.PREFIXED_BUCKET_ID_REGEX and getBucketIdFromFile, restated.
function hiveBucketIdFromFile(name: string): number {
  const m = /^(0*([0-9]+))_([0-9]+).*/.exec(name);
  if (!m) return -1;
  return m[2] === '' ? (m[1] === '' ? -1 : 0) : Number(m[2]);
}

test('bucket file names carry the bucket where Hive reads it and the offsets ledger rebuild reads', () => {
  const parse = publishedNameParser('page.views-1');
  for (const bucket of [0, 3, 7, 12, 999_999, 1_000_000]) {
    const name = bucketFileName(bucket, 'page.views-1+2+100+199.parquet');
    assert.equal(hiveBucketIdFromFile(name), bucket, name);
    assert.deepEqual(parse(name), { bucket, partition: 2, first: 100, last: 199 }, name);
  }
  assert.equal(bucketFileName(3, 't+0+0+9.parquet'), '000003_0_t+0+0+9.parquet');
  assert.equal(hiveBucketIdFromFile('page.views-1+2+100+199.parquet'), -1, 'an unbucketed name has no bucket for Hive');
  assert.deepEqual(parse('page.views-1+2+100+199.parquet'), { bucket: null, partition: 2, first: 100, last: 199 });
});

test('ledger rebuild ignores names of other topics, also when they look bucketed', () => {
  const parse = publishedNameParser('a.b');
  assert.equal(parse('000001_0_axb+0+1+2.parquet'), undefined, "'.' in a topic is literal");
  assert.equal(parse('000001_0_other+0+1+2.parquet'), undefined);
  assert.equal(parse('000001_0'), undefined, "Hive's own bucket file");
  assert.equal(parse('01_0_a.b+0+1+2.parquet'), undefined, 'bucket prefixes have 6 digits or more');
  // A topic that itself looks like a bucket prefix is still told apart.
  const odd = publishedNameParser('000002_0_x');
  assert.deepEqual(odd('000002_0_x+0+1+2.parquet'), { bucket: null, partition: 0, first: 1, last: 2 });
  assert.deepEqual(odd('000005_0_000002_0_x+0+1+2.parquet'), { bucket: 5, partition: 0, first: 1, last: 2 });
});

test('ledger rebuild takes offsets from bucket files in partition directories, beside unbucketed ones', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hive-kafka-rebuild-'));
  const put = (sub: string, name: string) => { mkdirSync(join(dir, sub), { recursive: true }); writeFileSync(join(dir, sub, name), ''); };
  put('dt=2024-01-01', bucketFileName(0, 'pv+0+0+99.parquet'));
  put('dt=2024-01-01', bucketFileName(5, 'pv+0+0+99.parquet'));
  put('dt=2024-01-02', bucketFileName(5, 'pv+0+100+149.parquet'));
  put('dt=2024-01-02', bucketFileName(2, 'pv+1+0+9.parquet'));
  put('dt=2024-01-02', 'pv+2+0+4.parquet'); // written before the table was bucketed by this version
  put('dt=2024-01-02', bucketFileName(1, 'other+3+0+1000.parquet'));
  put('.hive-kafka-staging/0', `150-0-${bucketFileName(1, 'pv+0+150+200.parquet')}.1.tmp`);
  assert.deepEqual(await lastPublishedOffsets(new LocalFileSystem(), dir, 'pv'), new Map([[0, 149], [1, 9], [2, 4]]));
});

test('ledger rebuild counts a batch whose every record went to the dead letters: its records are not read again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hive-kafka-rebuild-'));
  const put = (sub: string, name: string) => { mkdirSync(join(dir, sub), { recursive: true }); writeFileSync(join(dir, sub, name), ''); };
  put('', 'pv+0+0+99.parquet');
  put('_hive_kafka_deadletter/records', 'pv+0+0+99.jsonl'); // some of that batch refused
  put('_hive_kafka_deadletter/records', 'pv+0+100+119.jsonl'); // every record of the next one refused: no Parquet file
  put('_hive_kafka_deadletter/records', 'pv+1+0+4.jsonl');
  put('_hive_kafka_deadletter/records', 'other+2+0+9.jsonl');
  // Before, offsets 100-119 were read again: refused again, their dead letters' file already had that name and the table failed for good.
  assert.deepEqual(await lastPublishedOffsets(new LocalFileSystem(), dir, 'pv'), new Map([[0, 119], [1, 4]]));
});
