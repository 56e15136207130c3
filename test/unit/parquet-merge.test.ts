// Compaction's merge: files written by the service's own writer, merged, then read back by hyparquet and
// by an independent reader (parquet-wasm, Rust's parquet crate), and the copied bytes compared directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as arrow from 'apache-arrow';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { deserializeTCompactProtocol } from 'hyparquet/src/thrift.js';
import * as parquetWasm from 'parquet-wasm';
import { ParquetFileWriter, parquetLayout, type ParquetColumn } from '../../src/sink/parquet.ts';
import { mergeParquet, parquetRowCount, parquetSchemaKey } from '../../src/sink/parquet-merge.ts';
import { makeRowDecoder } from '../../src/hive/convert.ts';
import type { HiveValue } from '../../src/sink/hive-types.ts';

const columns: ParquetColumn[] = [
  { name: 'id', type: 'bigint' },
  { name: 's', type: 'string' },
  { name: 'amount', type: 'decimal(38,18)' },
  { name: 'ts', type: 'timestamp' },
  { name: 'd', type: 'date' },
  { name: 'nums', type: 'array<int>' },
  { name: 'attrs', type: 'map<string,int>' },
  { name: 'pos', type: 'struct<x:double,label:string>' },
];

const amounts = ['12345678901234567890.123456789012345678', '-99999999999999999999.999999999999999999', '-0.000000000000000001', '0', '3.5'];
const timestamps = ['0001-01-01 00:00:00', '9999-12-31 23:59:59.999999', '1969-12-31 23:59:59.000001', '2024-01-02 03:04:05.123456'];
const dates = ['1000-06-15', '0001-01-01', '2024-02-29', '9999-12-31'];

/** Row n of a test file: every value varies, and each column is NULL in some rows. */
function record(n: number): Record<string, unknown> {
  const r: Record<string, unknown> = {
    id: String(9007199254740993n + BigInt(n)),
    s: n % 3 === 0 ? null : `row ${n} ${'é'.repeat(n % 5)}`,
    amount: n % 4 === 1 ? null : amounts[n % amounts.length],
    ts: n % 5 === 2 ? null : timestamps[n % timestamps.length],
    d: n % 6 === 3 ? null : dates[n % dates.length],
    nums: n % 4 === 0 ? null : Array.from({ length: n % 4 }, (_, i) => (i === 1 ? null : n * 10 + i)),
    attrs: n % 5 === 0 ? null : { [`k${n}`]: n, other: n % 2 ? null : -n },
    pos: n % 7 === 4 ? null : { x: n / 4, label: n % 2 ? null : `p${n}` },
  };
  return r;
}

function writeFile(rows: number[], rowsPerGroup = 1000, fileColumns = columns): Uint8Array {
  const decode = makeRowDecoder(fileColumns);
  const file = new ParquetFileWriter(parquetLayout(fileColumns), { rows: rowsPerGroup, sourceBytes: Number.POSITIVE_INFINITY });
  for (const n of rows) file.append(decode(record(n)) as HiveValue[]);
  return new Uint8Array(Buffer.concat(file.finish()));
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const fileA = writeFile(range(0, 7), 3); // 3 row groups: 3 + 3 + 1
const fileB = writeFile(range(7, 9));
const fileC = writeFile(range(9, 20), 4); // 3 row groups: 4 + 4 + 3

function footer(bytes: Uint8Array) {
  return parquetMetadata(bytes);
}

/** Rows as hyparquet reads them, timestamps and dates as their stored integers. */
async function readRows(bytes: Uint8Array) {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return parquetReadObjects({
    file,
    parsers: { timestampFromMicroseconds: (micros: bigint) => micros, dateFromDays: (days: number) => days },
  });
}

/** Rows as parquet-wasm reads them, every value (decimals as their 128-bit words) made comparable text. */
function readRowsWasm(bytes: Uint8Array): string[] {
  const table = arrow.tableFromIPC(parquetWasm.readParquet(bytes).intoIPCStream());
  return table.toArray().map((row) => JSON.stringify(row, (_, v) =>
    typeof v === 'bigint' ? `${v}n` : ArrayBuffer.isView(v) ? Array.from(v as Uint32Array, String) : v));
}

/** The bytes of every column chunk, in file order, and each chunk's raw Thrift statistics. */
function chunks(bytes: Uint8Array): { data: Buffer; stats: unknown }[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const raw = deserializeTCompactProtocol({ view, offset: bytes.byteLength - 8 - view.getUint32(bytes.byteLength - 8, true) });
  return footer(bytes).row_groups.flatMap((group, g) => group.columns.map((chunk, c) => {
    const meta = chunk.meta_data!;
    const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
    const stats = raw.field_4[g].field_1[c].field_3.field_12;
    return { data: Buffer.from(bytes.subarray(start, start + Number(meta.total_compressed_size))), stats: stats && normalize(stats) };
  }));
}

const normalize = (value: unknown): unknown =>
  value instanceof Uint8Array ? Buffer.from(value).toString('hex')
    : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)])) : value;

test('merged rows are the inputs\' rows in order, with the row groups, num_rows and key-value metadata', async () => {
  const merged = mergeParquet([fileA, fileB, fileC], { 'hive-kafka.offsets': '0:100-119' });
  const expected = [...await readRows(fileA), ...await readRows(fileB), ...await readRows(fileC)];
  assert.equal(expected.length, 20);
  assert.deepEqual(await readRows(merged), expected);

  const metadata = footer(merged);
  assert.equal(metadata.num_rows, 20n);
  assert.equal(parquetRowCount(merged), 20);
  assert.deepEqual(metadata.row_groups.map((g) => g.num_rows), [3n, 3n, 1n, 2n, 4n, 4n, 3n]);
  assert.deepEqual(metadata.key_value_metadata, [
    { key: 'writer.date.proleptic', value: 'true' },
    { key: 'hive-kafka.offsets', value: '0:100-119' },
  ]);
  assert.equal(metadata.created_by, 'hive-kafka');
  assert.deepEqual(metadata.schema, footer(fileA).schema);
});

test('column chunks and their statistics are copied bit for bit (decimal(38,18), timestamps, nested)', () => {
  const merged = mergeParquet([fileA, fileB, fileC]);
  const inputs = [...chunks(fileA), ...chunks(fileB), ...chunks(fileC)];
  const output = chunks(merged);
  assert.equal(output.length, inputs.length);
  output.forEach((chunk, i) => {
    assert.ok(chunk.data.equals(inputs[i]!.data), `chunk ${i} bytes`);
    assert.deepEqual(chunk.stats, inputs[i]!.stats, `chunk ${i} statistics`);
  });
  // The decimal column's bounds are among them (hyparquet alone would decode them to floats).
  assert.ok(inputs.some((chunk, i) => i % 10 === 2 && chunk.stats && (chunk.stats as Record<string, unknown>).field_5));
});

test('an independent reader (parquet-wasm) reads the merged file as the inputs, decimals exactly', () => {
  const merged = mergeParquet([fileA, fileB, fileC]);
  const expected = [...readRowsWasm(fileA), ...readRowsWasm(fileB), ...readRowsWasm(fileC)];
  assert.equal(expected.length, 20);
  assert.deepEqual(readRowsWasm(merged), expected);
});

test('merging one file gives the same file', async () => {
  const merged = mergeParquet([fileA]);
  assert.deepEqual(await readRows(merged), await readRows(fileA));
  // Small files have no page indexes or bloom filters, so nothing is dropped and the footer comes out the same.
  assert.ok(Buffer.from(merged).equals(Buffer.from(fileA)));
});

test('a merged file merges again; its extra metadata is replaced, not repeated', async () => {
  const once = mergeParquet([fileA, fileB], { 'hive-kafka.offsets': 'first' });
  const twice = mergeParquet([once, fileC], { 'hive-kafka.offsets': 'second' });
  assert.deepEqual(footer(twice).key_value_metadata, [
    { key: 'writer.date.proleptic', value: 'true' },
    { key: 'hive-kafka.offsets', value: 'second' },
  ]);
  assert.deepEqual(await readRows(twice), await readRows(mergeParquet([fileA, fileB, fileC])));
  // Without replacing that key the inputs' metadata disagree: refused, naming the input.
  assert.throws(() => mergeParquet([fileC, once]), /input 1 has different key-value metadata than input 0/);
});

test('an empty file merges into nothing', async () => {
  const empty = writeFile([]);
  const merged = mergeParquet([empty, fileB, empty]);
  assert.equal(parquetRowCount(merged), 2);
  assert.deepEqual(await readRows(merged), await readRows(fileB));
});

test('files of different schemas are refused, naming the first that differs', () => {
  const other = writeFile(range(3, 5), 1000, columns.map((c) => (c.name === 'amount' ? { ...c, type: 'decimal(10,2)' } : c)));
  assert.notEqual(parquetSchemaKey(other), parquetSchemaKey(fileA));
  assert.equal(parquetSchemaKey(fileB), parquetSchemaKey(fileA));
  assert.throws(() => mergeParquet([fileA, fileB, other, other]), /^Error: input 2 has a different Parquet schema than input 0 \(schema element 3: .*amount/);
});

test('an input that is not Parquet, or is truncated, is refused naming its index', () => {
  assert.throws(() => mergeParquet([fileA, new TextEncoder().encode('{"id": 1}')]), /input 1 is not a Parquet file/);
  assert.throws(() => mergeParquet([fileA, fileB, fileC.subarray(0, fileC.length - 1)]), /input 2 is not a Parquet file/);
  assert.throws(() => mergeParquet([fileA, new Uint8Array(0)]), /input 1 is not a Parquet file/);
  // Footer intact, data cut out: the chunks point past what is left.
  const footerLength = new DataView(fileC.buffer, fileC.byteOffset).getUint32(fileC.length - 8, true);
  const gutted = Buffer.concat([fileC.subarray(0, 4), fileC.subarray(fileC.length - 8 - footerLength)]);
  assert.throws(() => mergeParquet([fileA, gutted]), /input 1 row group 0 column 0 lies outside the file's data/);
  // A broken footer.
  const garbled = Buffer.from(fileB);
  garbled.fill(0xff, garbled.length - 8 - 20, garbled.length - 8);
  assert.throws(() => mergeParquet([garbled]), /input 0 is not a Parquet file/);
  assert.throws(() => parquetRowCount(new Uint8Array(20)), /the file is not a Parquet file/);
  assert.throws(() => mergeParquet([]), /at least one input/);
});
