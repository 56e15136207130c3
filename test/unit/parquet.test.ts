// The file layout Hive expects, read back offline with hyparquet. That Hive itself reads every value
// exactly is proven on the real stack by test/integration/sink-types.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { encodeParquet } from '../../src/sink/parquet.ts';
import { makeRowDecoder } from '../../src/hive/convert.ts';

const columns = [
  { name: 'ID', type: 'bigint' },
  { name: 's', type: 'varchar(3)' },
  { name: 'tiny', type: 'tinyint' },
  { name: 'amount', type: 'decimal(10,2)' },
  { name: 'wide', type: 'decimal(38,0)' },
  { name: 'd', type: 'date' },
  { name: 'ts', type: 'timestamp' },
  { name: 'raw', type: 'binary' },
  { name: 'tags', type: 'array<string>' },
  { name: 'attrs', type: 'map<string,int>' },
  { name: 'pos', type: 'struct<x:double,y:double>' },
];

const rows = [
  { id: '9007199254740993', s: 'abcdef', tiny: -5, amount: '123.45', wide: '1', d: '2024-02-29', ts: '2024-01-02 03:04:05.123456',
    raw: 'AAE=', tags: ['a', null], attrs: { k: 1 }, pos: { x: 1.5, y: -2 } },
  {},
].map(makeRowDecoder(columns));

function schemaOf(bytes: Uint8Array) {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return { buffer, metadata: parquetMetadata(buffer) };
}

test('the schema is the one Hive reads: lower-case names, optional columns, 3-level LIST, MAP, local micros timestamps', () => {
  const { metadata } = schemaOf(encodeParquet(columns, rows));
  const elements = metadata.schema.map((e) => ({
    name: e.name,
    type: e.type,
    repetition: e.repetition_type,
    converted: e.converted_type,
    ...(e.logical_type?.type === 'TIMESTAMP' ? { logical: e.logical_type } : {}),
    ...(e.converted_type === 'DECIMAL' ? { length: e.type_length, precision: e.precision, scale: e.scale } : {}),
  }));
  const strip = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  assert.deepEqual(elements.map(strip), [
    { name: 'hive_schema' },
    { name: 'id', type: 'INT64', repetition: 'OPTIONAL' },
    { name: 's', type: 'BYTE_ARRAY', repetition: 'OPTIONAL', converted: 'UTF8' },
    { name: 'tiny', type: 'INT32', repetition: 'OPTIONAL', converted: 'INT_8' },
    { name: 'amount', type: 'FIXED_LEN_BYTE_ARRAY', repetition: 'OPTIONAL', converted: 'DECIMAL', length: 5, precision: 10, scale: 2 },
    { name: 'wide', type: 'FIXED_LEN_BYTE_ARRAY', repetition: 'OPTIONAL', converted: 'DECIMAL', length: 16, precision: 38, scale: 0 },
    { name: 'd', type: 'INT32', repetition: 'OPTIONAL', converted: 'DATE' },
    { name: 'ts', type: 'INT64', repetition: 'OPTIONAL', logical: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' } },
    { name: 'raw', type: 'BYTE_ARRAY', repetition: 'OPTIONAL' },
    { name: 'tags', repetition: 'OPTIONAL', converted: 'LIST' },
    { name: 'list', repetition: 'REPEATED' },
    { name: 'element', type: 'BYTE_ARRAY', repetition: 'OPTIONAL', converted: 'UTF8' },
    { name: 'attrs', repetition: 'OPTIONAL', converted: 'MAP' },
    { name: 'key_value', repetition: 'REPEATED' },
    { name: 'key', type: 'BYTE_ARRAY', repetition: 'REQUIRED', converted: 'UTF8' },
    { name: 'value', type: 'INT32', repetition: 'OPTIONAL' },
    { name: 'pos', repetition: 'OPTIONAL' },
    { name: 'x', type: 'DOUBLE', repetition: 'OPTIONAL' },
    { name: 'y', type: 'DOUBLE', repetition: 'OPTIONAL' },
  ]);
  assert.deepEqual(metadata.key_value_metadata, [{ key: 'writer.date.proleptic', value: 'true' }]);
  assert.equal(metadata.num_rows, 2n);
});

test('values read back as written, NULLs included', async () => {
  const { buffer } = schemaOf(encodeParquet(columns, rows));
  const read = await parquetReadObjects({
    file: buffer,
    utf8: false, // BINARY as bytes; UTF8-annotated columns are still strings
    parsers: { timestampFromMicroseconds: (micros: bigint) => micros, dateFromDays: (days: number) => days },
  });
  assert.equal(read.length, 2);
  const [first, second] = read;
  assert.equal(first!.id, 9007199254740993n);
  assert.equal(first!.s, 'abc');
  assert.equal(first!.tiny, -5);
  assert.equal(first!.amount, 123.45);
  assert.equal(first!.d, 19782);
  assert.equal(first!.ts, 1704164645123456n);
  assert.deepEqual([...first!.raw], [0, 1]);
  assert.deepEqual(first!.tags, ['a', null]);
  assert.deepEqual(first!.attrs, { k: 1 });
  assert.deepEqual(first!.pos, { x: 1.5, y: -2 });
  assert.ok(Object.values(second!).every((value) => value === null || value === undefined), JSON.stringify(second, (_, v) => (typeof v === 'bigint' ? String(v) : v)));
});

test('a row with the wrong number of values is refused, naming the columns', () => {
  assert.throws(() => encodeParquet([{ name: 'a', type: 'int' }, { name: 'b', type: 'int' }], [[1, 2], [1]]),
    /row 1 has 1 values for 2 columns \(a, b\)/);
});

test('zero rows make a valid, empty file', () => {
  const { metadata } = schemaOf(encodeParquet(columns, []));
  assert.equal(metadata.num_rows, 0n);
});
