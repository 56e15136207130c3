// kafka.value.format=avro: Confluent wire-format values encoded with avsc, read into field trees, and
// those trees through the Hive converters the task applies (columnConverter), so the final values are
// checked exact; the Avro -> Hive type mapping; schema changes per kafka.schema.compatibility; errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import {
  avroReader, compileAvro, decimalText, hiveTypeOfAvro, schemaChangeFor, unscaledOf, type Compatibility, type WriterSchemaSource,
} from '../../src/format/avro.ts';
import { TableFormatError, type ValueReader } from '../../src/format/format.ts';
import { SchemaRegistryError } from '../../src/format/schema-registry.ts';
import { columnConverter, RecordDecodeError } from '../../src/hive/convert.ts';
import { formatDate, formatTimestamp, toBinary } from '../../src/hive/scalars.ts';

// ---- encoding, independently of the reader ----

/** A long that takes bigint, so that the test can write any long (avsc's default stops at 2^53). */
const bigLongs = avro.types.LongType.__with({
  fromBuffer: (b: Buffer) => b.readBigInt64LE(),
  toBuffer: (n: bigint | number) => { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(n)); return b; },
  fromJSON: BigInt, toJSON: Number,
  isValid: (n: unknown) => typeof n === 'bigint' || Number.isInteger(n),
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

/** avsc's writer for a schema; logical types are written from their underlying values (the test states the bytes it means). */
function encoder(schema: unknown): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, {
    typeHook: (s: unknown) => (s === 'long' || (s !== null && typeof s === 'object' && !Array.isArray(s) && (s as { type?: unknown }).type === 'long') ? bigLongs : undefined),
  } as never);
}

/** The Confluent wire format: magic 0, the schema id (big-endian), the Avro body. */
function wire(id: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(id, 1);
  return Buffer.concat([header, body]);
}

/** Two's complement, big-endian: minimal length, or exactly `size` bytes (fixed). */
function twos(unscaled: bigint, size?: number): Buffer {
  let length = size ?? 1;
  if (size === undefined) while (unscaled < -(1n << BigInt(8 * length - 1)) || unscaled >= 1n << BigInt(8 * length - 1)) length++;
  const mod = unscaled < 0n ? (1n << BigInt(8 * length)) + unscaled : unscaled;
  return Buffer.from(mod.toString(16).padStart(2 * length, '0'), 'hex');
}

/** A registry twin: schemas by id, counting lookups. */
function registryOf(schemas: Record<number, unknown>, subjects: Record<number, string> = {}) {
  const calls: number[] = [];
  const source: WriterSchemaSource & { calls: number[] } = {
    calls,
    async schemaById(id) {
      calls.push(id);
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (!(id in schemas)) throw Object.assign(new Error(`schema id ${id} is unknown`), { retriable: false });
      const s = schemas[id];
      return typeof s === 'string' ? s : JSON.stringify(s);
    },
    async subjectsOf(id) {
      return subjects[id] === undefined ? [] : [{ subject: subjects[id]! }];
    },
  };
  return source;
}

function readerOf(schemas: Record<number, unknown>, columns: { name: string; type: string }[] = [], compatibility: Compatibility = 'NONE'): ValueReader {
  return avroReader({ registry: registryOf(schemas), table: 'db.t', columns, compatibility });
}

/** Writes one record with `schema` (id 1), reads it back as the task does (prepare, then read). */
async function roundTrip(schema: unknown, value: unknown): Promise<unknown> {
  const reader = readerOf({ 1: schema });
  const bytes = wire(1, encoder(schema).toBuffer(value));
  assert.equal(await reader.prepare!([bytes]), undefined);
  return reader.read(bytes);
}

/** The field `v` of a one-field record of type `type`. */
async function one(type: unknown, value: unknown): Promise<unknown> {
  const tree = await roundTrip({ type: 'record', name: 'R', fields: [{ name: 'v', type }] }, { v: value });
  assert.equal(Object.getPrototypeOf(tree), Object.prototype, 'records are plain objects');
  return (tree as { v: unknown }).v;
}

/** What Hive stores for the field tree value in a column of `hiveType`. */
const hive = (hiveType: string, value: unknown) => columnConverter(hiveType)(value);

function decodeError(reader: ValueReader, bytes: Buffer, reason: RegExp): void {
  assert.throws(() => reader.read(bytes), (error: unknown) => {
    assert.ok(error instanceof RecordDecodeError, String(error));
    assert.equal(error.column, undefined);
    assert.equal(error.retriable, false);
    assert.match(error.reason, reason);
    return true;
  });
}

// ---- primitives ----

test('primitives: boolean, int, float, double, string, bytes, enum, fixed', async () => {
  assert.equal(await one('boolean', true), true);
  assert.equal(await one('int', -2147483648), -2147483648);
  assert.equal(hive('int', await one('int', 2147483647)), 2147483647);
  assert.equal(await one('float', 1.1), Math.fround(1.1));
  assert.equal(hive('float', await one('float', 1.1)), Math.fround(1.1));
  assert.equal(await one('double', -0.1), -0.1);
  assert.equal(await one('string', 'héllo 😀'), 'héllo 😀');
  assert.equal(hive('varchar(3)', await one('string', 'héllo')), 'hél');
  const bytes = await one('bytes', Buffer.from([0, 1, 255]));
  assert.ok(bytes instanceof Uint8Array);
  assert.deepEqual(hive('binary', bytes), new Uint8Array([0, 1, 255]));
  assert.deepEqual(hive('binary', await one('bytes', Buffer.alloc(0))), new Uint8Array([]));
  assert.equal(await one({ type: 'enum', name: 'Color', symbols: ['RED', 'GREEN'] }, 'GREEN'), 'GREEN');
  assert.equal(hive('string', await one({ type: 'enum', name: 'Color', symbols: ['RED', 'GREEN'] }, 'RED')), 'RED');
  assert.deepEqual(hive('binary', await one({ type: 'fixed', name: 'Four', size: 4 }, Buffer.from([9, 8, 7, 6]))), new Uint8Array([9, 8, 7, 6]));
});

test('NaN and infinities arrive as the strings the float and double converters take', async () => {
  assert.equal(await one('double', NaN), 'NaN');
  assert.equal(await one('double', Infinity), 'Infinity');
  assert.equal(await one('float', -Infinity), '-Infinity');
  assert.ok(Number.isNaN(hive('double', await one('double', NaN))));
  assert.equal(hive('double', await one('double', -Infinity)), -Infinity);
  assert.equal(hive('float', await one('float', Infinity)), Infinity);
  assert.equal(await one(['null', 'double'], NaN), 'NaN');
});

test('long is exact: a number while safe, a bigint beyond 2^53, the full 64-bit range', async () => {
  const cases: bigint[] = [
    0n, 1n, -1n, 2n ** 52n - 1n, -(2n ** 52n) + 1n, 2n ** 52n, -(2n ** 52n), 2n ** 53n - 1n, -(2n ** 53n) + 1n,
    2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 9007199254740993n, 2n ** 62n + 12345n, 2n ** 63n - 1n, -(2n ** 63n),
  ];
  const schema = { type: 'record', name: 'L', fields: cases.map((_, i) => ({ name: `l${i}`, type: i % 2 ? 'long' : { type: 'long' } })) };
  const tree = await roundTrip(schema, Object.fromEntries(cases.map((n, i) => [`l${i}`, n]))) as Record<string, unknown>;
  cases.forEach((n, i) => {
    const got = tree[`l${i}`];
    const safe = n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER);
    assert.equal(typeof got, safe ? 'number' : 'bigint', String(n));
    assert.equal(BigInt(got as number | bigint), n);
    assert.equal(hive('bigint', got), n);
    assert.equal(hive('string', got), n.toString());
  });
  // Inside arrays, maps and unions too.
  assert.deepEqual(await one({ type: 'array', items: 'long' }, [1n, 2n ** 60n]), [1, 2n ** 60n]);
  assert.deepEqual(await one({ type: 'map', values: ['null', 'long'] }, { a: -(2n ** 63n), b: null }), { a: -(2n ** 63n), b: null });
});

// ---- logical types ----

const dec38 = { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 18 };

test('decimal(38,18): exact text at the schema scale, and exact through the Hive converter', async () => {
  const max = 10n ** 38n - 1n;
  const cases: [bigint, string][] = [
    [max, '99999999999999999999.999999999999999999'],
    [-max, '-99999999999999999999.999999999999999999'],
    [0n, '0.000000000000000000'],
    [1n, '0.000000000000000001'],
    [-1n, '-0.000000000000000001'],
    [-12345678000000000000000n, '-12345.678000000000000000'],
    [1500000000000000000n, '1.500000000000000000'],
    [127n, '0.000000000000000127'], [128n, '0.000000000000000128'], [-128n, '-0.000000000000000128'], [-129n, '-0.000000000000000129'],
  ];
  for (const [unscaled, text] of cases) {
    const got = await one(dec38, twos(unscaled));
    assert.equal(got, text, String(unscaled));
    assert.equal(hive('decimal(38,18)', got), unscaled, text);
  }
  // Longer than needed (sign extension) reads the same value.
  assert.equal(await one(dec38, Buffer.from([0xff, 0xff, 0xff, 0xfe])), '-0.000000000000000002');
  assert.equal(await one(dec38, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 5])), '0.000000000000000005');
  // Zero bytes is zero.
  assert.equal(await one(dec38, Buffer.alloc(0)), '0.000000000000000000');
  // A column of a smaller type converts as Hive does (rounding half up), or refuses what does not fit.
  assert.equal(hive('decimal(10,2)', await one(dec38, twos(12345678000000000000000n))), 1234568n);
  assert.throws(() => hive('decimal(10,2)', '99999999999999999999.999999999999999999'), /more than 10 digits/);
});

test('decimal on fixed, scale 0, and invalid decimals falling back to their bytes', async () => {
  const fixed = { type: 'fixed', name: 'Money', size: 16, logicalType: 'decimal', precision: 38, scale: 2 };
  assert.equal(await one(fixed, twos(-1n, 16)), '-0.01');
  assert.equal(await one(fixed, twos(10n ** 38n - 1n, 16)), '999999999999999999999999999999999999.99');
  assert.equal(hive('decimal(38,2)', await one(fixed, twos(-(10n ** 38n) + 1n, 16))), -(10n ** 38n) + 1n);
  const small = { type: 'fixed', name: 'Small', size: 4, logicalType: 'decimal', precision: 9, scale: 0 };
  assert.equal(await one(small, twos(-999999999n, 4)), '-999999999');
  assert.equal(await one({ type: 'bytes', logicalType: 'decimal', precision: 5 }, twos(-42n)), '-42');
  // Invalid by the Avro spec (scale above precision, a fixed too small): the logical type is ignored.
  assert.deepEqual(await one({ type: 'bytes', logicalType: 'decimal', precision: 2, scale: 3 }, Buffer.from([1])), Buffer.from([1]));
  const tooSmall = { type: 'fixed', name: 'Tiny', size: 2, logicalType: 'decimal', precision: 10, scale: 0 };
  assert.deepEqual(await one(tooSmall, Buffer.from([1, 2])), Buffer.from([1, 2]));
  assert.equal(hiveTypeOfAvro(tooSmall), 'binary');
  assert.equal(hiveTypeOfAvro({ type: 'bytes', logicalType: 'decimal', precision: 2, scale: 3 }), 'binary');
});

test('decimal text and unscaled values on their own', () => {
  assert.equal(unscaledOf(new Uint8Array([0x80])), -128n);
  assert.equal(unscaledOf(new Uint8Array([0x00, 0x80])), 128n);
  assert.equal(unscaledOf(twos(-(2n ** 100n))), -(2n ** 100n));
  assert.equal(unscaledOf(Buffer.concat([Buffer.alloc(100, 0xff), Buffer.from([0xfe])])), -2n, 'long sign extension');
  assert.throws(() => unscaledOf(Buffer.concat([Buffer.from([0x01]), Buffer.alloc(100)])), /more digits than any decimal/);
  assert.equal(decimalText(5n, 3), '0.005');
  assert.equal(decimalText(-5000n, 3), '-5.000');
  assert.equal(decimalText(-7n, 0), '-7');
});

test('date: days since 1970, before 1970 and at Hive\'s range ends', async () => {
  const date = { type: 'int', logicalType: 'date' };
  for (const [days, text] of [[-719162, '0001-01-01'], [-1, '1969-12-31'], [0, '1970-01-01'], [19723, '2024-01-01'], [2932896, '9999-12-31']] as const) {
    const got = await one(date, days);
    assert.equal(got, days);
    assert.equal(hive('date', got), days);
    assert.equal(formatDate(hive('date', got) as number), text);
  }
  assert.throws(() => hive('date', -719163), /outside Hive's date range/);
});

test('timestamp-micros: exact UTC wall clock, before 1970, with micros, beyond 2^53', async () => {
  const micros = { type: 'long', logicalType: 'timestamp-micros' };
  const cases: [bigint, string][] = [
    [-62135596800000000n, '0001-01-01 00:00:00'],
    [-1n, '1969-12-31 23:59:59.999999'],
    [-1000001n, '1969-12-31 23:59:58.999999'],
    [-86400000000n + 123456n, '1969-12-31 00:00:00.123456'],
    [0n, '1970-01-01 00:00:00'],
    [1700000000123456n, '2023-11-14 22:13:20.123456'],
    [1700000000120000n, '2023-11-14 22:13:20.12'],
    [2n ** 53n + 1n, '2255-06-05 23:47:34.740993'],
    [253402300799999999n, '9999-12-31 23:59:59.999999'],
  ];
  for (const [n, text] of cases) {
    const got = await one(micros, n);
    assert.equal(got, text, String(n));
    assert.equal(hive('timestamp', got), n, text);
    assert.equal(formatTimestamp(n), text);
  }
  assert.equal(await one({ type: 'long', logicalType: 'local-timestamp-micros' }, -1n), '1969-12-31 23:59:59.999999');
  // Nanoseconds are cut to microseconds, toward the past (the wall clock's fraction is never negative).
  assert.equal(await one({ type: 'long', logicalType: 'timestamp-nanos' }, -1n), '1969-12-31 23:59:59.999999');
  assert.equal(await one({ type: 'long', logicalType: 'local-timestamp-nanos' }, 1700000000123456789n), '2023-11-14 22:13:20.123456');
});

test('timestamp-millis and local-timestamp-millis: epoch milliseconds; time-millis and time-micros: numbers', async () => {
  for (const logicalType of ['timestamp-millis', 'local-timestamp-millis']) {
    const got = await one({ type: 'long', logicalType }, -1n);
    assert.equal(got, -1);
    assert.equal(hive('timestamp', got), -1000n);
    assert.equal(hive('timestamp', await one({ type: 'long', logicalType }, 1700000000123n)), 1700000000123000n);
    assert.equal(hive('timestamp', await one({ type: 'long', logicalType }, -62135596800000n)), -62135596800000000n);
  }
  assert.equal(await one({ type: 'int', logicalType: 'time-millis' }, 86399999), 86399999);
  assert.equal(await one({ type: 'long', logicalType: 'time-micros' }, 86399999999n), 86399999999);
});

test('uuid on string and on fixed(16) is its text', async () => {
  assert.equal(await one({ type: 'string', logicalType: 'uuid' }, '123e4567-e89b-12d3-a456-426614174000'), '123e4567-e89b-12d3-a456-426614174000');
  const fixed = { type: 'fixed', name: 'Uuid', size: 16, logicalType: 'uuid' };
  assert.equal(await one(fixed, Buffer.from('123e4567e89b12d3a456426614174000', 'hex')), '123e4567-e89b-12d3-a456-426614174000');
  assert.equal(hiveTypeOfAvro(fixed), 'string');
});

// ---- complex types ----

const address = { type: 'record', name: 'Address', namespace: 'com.acme', fields: [
  { name: 'Street', type: 'string' }, { name: 'zip', type: ['null', 'int'], default: null },
] };

const order = {
  type: 'record', name: 'Order', namespace: 'com.acme', fields: [
    { name: 'id', type: 'long' },
    { name: 'home', type: address },
    { name: 'other', type: ['null', 'Address'], default: null },
    { name: 'lines', type: { type: 'array', items: { type: 'record', name: 'Line', fields: [
      { name: 'sku', type: 'string' }, { name: 'price', type: dec38 }, { name: 'tags', type: { type: 'map', values: { type: 'array', items: 'string' } } },
    ] } } },
    { name: 'attrs', type: { type: 'map', values: ['null', 'long', 'string'] } },
    { name: 'choice', type: ['null', 'int', 'long', 'Address', 'Line'] },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'DONE'] } },
    { name: 'hash', type: { type: 'fixed', name: 'Hash', size: 2 } },
  ],
};

test('nested records, arrays, maps, unions (unwrapped to the branch value), enum and fixed', async () => {
  const value = {
    id: 2n ** 60n,
    home: { Street: 'Main', zip: { int: 12345 } },
    other: null,
    lines: [
      { sku: 'a', price: twos(-1500000000000000000n), tags: { k: ['x', 'y'], empty: [] } },
      { sku: 'b', price: twos(0n), tags: {} },
    ],
    attrs: { n: { long: 2n ** 55n }, s: { string: 'v' }, z: null },
    choice: { 'com.acme.Line': { sku: 'c', price: twos(1n), tags: {} } },
    status: 'DONE',
    hash: Buffer.from([0xab, 0xcd]),
  };
  const encoded = avro.Type.forSchema(order as avro.Schema, { wrapUnions: true, registry: { long: bigLongs } });
  const reader = readerOf({ 9: order });
  const bytes = wire(9, encoded.toBuffer(value));
  await reader.prepare!([bytes]);
  const tree = reader.read(bytes) as Record<string, unknown>;
  assert.deepEqual(tree, {
    id: 2n ** 60n,
    home: { Street: 'Main', zip: 12345 },
    other: null,
    lines: [
      { sku: 'a', price: '-1.500000000000000000', tags: { k: ['x', 'y'], empty: [] } },
      { sku: 'b', price: '0.000000000000000000', tags: {} },
    ],
    attrs: { n: 2n ** 55n, s: 'v', z: null },
    choice: { sku: 'c', price: '0.000000000000000001', tags: {} },
    status: 'DONE',
    hash: Buffer.from([0xab, 0xcd]),
  });
  for (const nested of [tree.home, (tree.lines as object[])[0], tree.attrs, tree.choice]) assert.equal(Object.getPrototypeOf(nested), Object.prototype);
  // Through the Hive converters of the columns hiveTypeOfAvro gives.
  const types = Object.fromEntries(order.fields.map((f) => [f.name, ['choice', 'other'].includes(f.name) ? undefined : hiveTypeOfAvro(f.type)]));
  assert.equal(types.home, 'struct<street:string,zip:int>');
  const two = { type: 'record', name: 'Two', namespace: 'com.acme', fields: [order.fields[1], order.fields[2]] };
  assert.equal(hiveTypeOfAvro(two), 'struct<home:struct<street:string,zip:int>,other:struct<street:string,zip:int>>', 'a reference to a named type');
  assert.equal(types.lines, 'array<struct<sku:string,price:decimal(38,18),tags:map<string,array<string>>>>');
  assert.equal(types.attrs, 'map<string,string>', 'a union of long and string reads as string');
  assert.deepEqual(hive(types.home!, tree.home), { street: 'Main', zip: 12345 });
  assert.deepEqual(hive(types.lines!, tree.lines), [
    { sku: 'a', price: -1500000000000000000n, tags: new Map([['k', ['x', 'y']], ['empty', []]]) },
    { sku: 'b', price: 0n, tags: new Map() },
  ]);
  assert.deepEqual(hive(types.attrs!, tree.attrs), new Map([['n', String(2n ** 55n)], ['s', 'v'], ['z', null]]));
  assert.equal(hive('bigint', tree.id), 2n ** 60n);
  assert.equal(hive('string', tree.status), 'DONE');
  assert.deepEqual(hive('binary', tree.hash), new Uint8Array([0xab, 0xcd]));
  // The other branches of the union that avsc cannot tell apart by value.
  const withChoice = (choice: unknown) => wire(9, encoded.toBuffer({ ...value, choice }));
  const choices = [withChoice({ int: 7 }), withChoice({ long: 2n ** 62n }), withChoice({ 'com.acme.Address': { Street: 'S', zip: null } }), withChoice(null)];
  await reader.prepare!(choices);
  assert.deepEqual(choices.map((b) => (reader.read(b) as { choice: unknown }).choice), [7, 2n ** 62n, { Street: 'S', zip: null }, null]);
});

test('hiveTypeOfAvro: every Avro type', () => {
  const cases: [unknown, string][] = [
    ['boolean', 'boolean'], ['int', 'int'], ['long', 'bigint'], [{ type: 'long' }, 'bigint'], ['float', 'float'], ['double', 'double'],
    ['bytes', 'binary'], ['string', 'string'], [{ type: 'fixed', name: 'F', size: 3 }, 'binary'],
    [{ type: 'enum', name: 'E', symbols: ['A'] }, 'string'],
    [{ type: 'string', logicalType: 'uuid' }, 'string'],
    [dec38, 'decimal(38,18)'], [{ type: 'bytes', logicalType: 'decimal', precision: 10 }, 'decimal(10,0)'],
    [{ type: 'bytes', logicalType: 'decimal', precision: 40, scale: 2 }, 'string'],
    [{ type: 'int', logicalType: 'date' }, 'date'],
    [{ type: 'long', logicalType: 'timestamp-millis' }, 'timestamp'], [{ type: 'long', logicalType: 'timestamp-micros' }, 'timestamp'],
    [{ type: 'long', logicalType: 'local-timestamp-micros' }, 'timestamp'], [{ type: 'long', logicalType: 'timestamp-nanos' }, 'timestamp'],
    [{ type: 'int', logicalType: 'time-millis' }, 'int'], [{ type: 'long', logicalType: 'time-micros' }, 'bigint'],
    [{ type: 'long', logicalType: 'date' }, 'bigint'], [{ type: 'int', logicalType: 'something-else' }, 'int'],
    [{ type: 'array', items: 'int' }, 'array<int>'], [{ type: 'map', values: ['null', 'double'] }, 'map<string,double>'],
    [['null', 'string'], 'string'], [['string', 'null'], 'string'], [['null', 'int', 'long'], 'bigint'], [['float', 'double'], 'double'],
    [['int', 'string', 'boolean'], 'string'],
    [{ type: 'record', name: 'R', fields: [{ name: 'A', type: 'int' }, { name: 'b', type: { type: 'array', items: 'R2' } }] }, ''],
  ];
  for (const [schema, expected] of cases.slice(0, -1)) assert.equal(hiveTypeOfAvro(schema), expected, JSON.stringify(schema));
  assert.throws(() => hiveTypeOfAvro(cases.at(-1)![0]), /"R2" is not defined/);
  // Recursion and unions mixing records with other types have no Hive type.
  assert.throws(() => hiveTypeOfAvro(order), /union of int, bigint, struct<street:string,zip:int>, struct<sku:string.*has no Hive type/);
  const list = { type: 'record', name: 'Node', fields: [{ name: 'v', type: 'int' }, { name: 'next', type: ['null', 'Node'] }] };
  assert.throws(() => hiveTypeOfAvro(list), /record "Node" contains itself/);
  assert.throws(() => hiveTypeOfAvro('null'), /no Hive type/);
  assert.throws(() => hiveTypeOfAvro({ type: 'record', name: 'E', fields: [] }), /no fields/);
  // Names resolve through namespaces, and a full name is its own namespace.
  const spaced = { type: 'record', name: 'a.b.Outer', fields: [
    { name: 'x', type: { type: 'enum', name: 'Kind', symbols: ['K'] } },
    { name: 'y', type: 'Kind' }, { name: 'z', type: 'a.b.Kind' },
    { name: 'w', type: { type: 'fixed', name: 'Inner', namespace: 'c', size: 1 } }, { name: 'v', type: 'c.Inner' },
  ] };
  assert.equal(hiveTypeOfAvro(spaced), 'struct<x:string,y:string,z:string,w:binary,v:binary>');
});

// ---- schema changes ----

const v1 = { type: 'record', name: 'User', namespace: 'com.acme', fields: [{ name: 'id', type: 'long' }, { name: 'name', type: 'string' }] };
const v2 = { ...v1, fields: [...v1.fields, { name: 'Email', type: ['null', 'string'], default: null }] };
const v2NoDefault = { ...v1, fields: [...v1.fields, { name: 'email', type: 'string' }] };
const userColumns = [{ name: 'id', type: 'bigint' }, { name: 'name', type: 'string' }];
const modes: Compatibility[] = ['NONE', 'BACKWARD', 'FORWARD', 'FULL'];
const context = { table: 'db.users', schemaId: 42, subject: 'users-value' };

test('schemaChangeFor: the table\'s own schema is no change in any mode; missing fields read NULL', () => {
  for (const mode of modes) {
    assert.equal(schemaChangeFor(v1, userColumns, mode), undefined, mode);
    assert.equal(schemaChangeFor(v1, [{ name: 'ID', type: 'BIGINT' }, { name: 'Name', type: 'string' }], mode), undefined, `${mode}, other spellings`);
    assert.equal(schemaChangeFor(v1, [...userColumns, { name: 'gone', type: 'int' }], mode), undefined, `${mode}, a column the schema lacks`);
  }
});

test('schemaChangeFor: a field added with a default is a new column under BACKWARD and FULL, ignored under FORWARD and NONE', () => {
  for (const mode of ['BACKWARD', 'FULL'] as const) {
    const change = schemaChangeFor(v2, userColumns, mode, context);
    assert.deepEqual(change && { ...change, reason: undefined }, { kind: 'add', columns: [{ name: 'email', type: 'string' }], reason: undefined });
    assert.match(change!.reason, /Avro schema id 42 \(record User, subject users-value\) of table db\.users adds field 'email'/);
    assert.match(change!.reason, new RegExp(mode));
  }
  for (const mode of ['FORWARD', 'NONE'] as const) assert.equal(schemaChangeFor(v2, userColumns, mode, context), undefined, mode);
  // Several at once, with their Hive types.
  const v3 = { ...v1, fields: [...v1.fields, { name: 'tags', type: { type: 'array', items: 'string' }, default: [] },
    { name: 'amount', type: dec38, default: '\u0000' }, { name: 'at', type: { type: 'long', logicalType: 'timestamp-micros' }, default: 0 }] };
  assert.deepEqual((schemaChangeFor(v3, userColumns, 'BACKWARD') as { columns: unknown }).columns,
    [{ name: 'tags', type: 'array<string>' }, { name: 'amount', type: 'decimal(38,18)' }, { name: 'at', type: 'timestamp' }]);
});

test('schemaChangeFor: a field added without a default is refused under BACKWARD and FULL, naming it and the mode', () => {
  for (const mode of ['BACKWARD', 'FULL'] as const) {
    const change = schemaChangeFor(v2NoDefault, userColumns, mode, context);
    assert.equal(change?.kind, 'refuse');
    assert.match(change!.reason, new RegExp(`field 'email' was added without a default, which ${mode} does not allow`));
    assert.match(change!.reason, /schema id 42 .*subject users-value.*table db\.users/);
  }
  for (const mode of ['FORWARD', 'NONE'] as const) assert.equal(schemaChangeFor(v2NoDefault, userColumns, mode), undefined, mode);
  // A field with a default but no Hive type is refused with the reason.
  const nullField = { ...v1, fields: [...v1.fields, { name: 'nothing', type: 'null', default: null }] };
  assert.match(schemaChangeFor(nullField, userColumns, 'BACKWARD')!.reason, /field 'nothing' cannot be added as a column: .*no Hive type/);
});

test('schemaChangeFor: a changed type is refused unless it widens into the column; NONE never refuses', () => {
  const withType = (type: unknown) => ({ ...v1, fields: [{ name: 'id', type }, v1.fields[1]] });
  // Widenings into the column: every value converts exactly.
  const fitting: [unknown, string][] = [
    ['int', 'bigint'], ['int', 'double'], ['float', 'double'], ['long', 'bigint'],
    [{ type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 }, 'decimal(12,2)'],
    [['null', 'int'], 'bigint'], [{ type: 'array', items: 'int' }, 'array<bigint>'],
    [{ type: 'map', values: 'float' }, 'map<string,double>'],
    [{ type: 'record', name: 'P', fields: [{ name: 'X', type: 'int' }] }, 'struct<x:bigint,y:string>'],
    [{ type: 'enum', name: 'E', symbols: ['A'] }, 'string'], [{ type: 'long', logicalType: 'timestamp-micros' }, 'timestamp'],
  ];
  for (const [type, column] of fitting) {
    for (const mode of modes) {
      assert.equal(schemaChangeFor(withType(type), [{ name: 'id', type: column }, userColumns[1]!], mode), undefined, `${JSON.stringify(type)} -> ${column} ${mode}`);
    }
  }
  const refused: [unknown, string][] = [
    ['long', 'int'], ['double', 'float'], ['string', 'bigint'], ['string', 'varchar(10)'], ['long', 'double'],
    [{ type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 }, 'decimal(12,3)'],
    [{ type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 }, 'decimal(10,2)'],
    [{ type: 'array', items: 'long' }, 'array<int>'], ['int', 'array<int>'],
  ];
  for (const [type, column] of refused) {
    for (const mode of ['BACKWARD', 'FORWARD', 'FULL'] as const) {
      const change = schemaChangeFor(withType(type), [{ name: 'id', type: column }, userColumns[1]!], mode, context);
      assert.equal(change?.kind, 'refuse', `${JSON.stringify(type)} -> ${column} ${mode}`);
      assert.match(change!.reason, new RegExp(`field 'id' is .* in the schema but column id is .*, which ${mode} does not allow`));
      assert.match(change!.reason, /Avro schema id 42/);
    }
    assert.equal(schemaChangeFor(withType(type), [{ name: 'id', type: column }, userColumns[1]!], 'NONE'), undefined, `NONE ${column}`);
  }
  // A struct field the column lacks: refused under BACKWARD and FULL, ignored under FORWARD.
  const point = withType({ type: 'record', name: 'P', fields: [{ name: 'x', type: 'int' }, { name: 'z', type: 'int' }] });
  const pointColumns = [{ name: 'id', type: 'struct<x:int>' }];
  assert.match(schemaChangeFor(point, pointColumns, 'BACKWARD')!.reason, /\(at id\.z\)/);
  assert.equal(schemaChangeFor(point, pointColumns, 'FULL')?.kind, 'refuse');
  assert.equal(schemaChangeFor(point, pointColumns, 'FORWARD'), undefined);
});

test('schemaChangeFor: a schema that is not a record is refused in every mode; partition keys are not columns to add', () => {
  for (const mode of modes) {
    for (const schema of ['string', ['null', 'string'], { type: 'array', items: 'int' }]) {
      const change = schemaChangeFor(schema, userColumns, mode, context);
      assert.equal(change?.kind, 'refuse', `${JSON.stringify(schema)} ${mode}`);
      assert.match(change!.reason, /not a record/);
    }
  }
  const withDt = { ...v1, fields: [...v1.fields, { name: 'dt', type: 'string' }] };
  assert.equal(schemaChangeFor(withDt, userColumns, 'BACKWARD', { partitionKeys: [{ name: 'DT', type: 'string' }] }), undefined);
  assert.equal(schemaChangeFor(withDt, userColumns, 'BACKWARD')?.kind, 'refuse');
});

// ---- the reader: prepare and read ----

test('prepare: fetches each unseen schema id once, and returns the first value whose schema changes the table', async () => {
  const registry = registryOf({ 1: v1, 2: v2 }, { 2: 'users-value' });
  const reader = avroReader({ registry, table: 'db.users', columns: userColumns, compatibility: 'BACKWARD' });
  const t1 = encoder(v1), t2 = encoder(v2);
  const a = wire(1, t1.toBuffer({ id: 1n, name: 'a' }));
  const b = wire(2, t2.toBuffer({ id: 2n, name: 'b', Email: 'b@x' }));
  assert.equal(await reader.prepare!([a, null, a]), undefined);
  assert.deepEqual(registry.calls, [1]);
  assert.deepEqual(reader.read(a), { id: 1, name: 'a' });
  // Concurrent fetches share the lookups.
  const [first, second] = await Promise.all([reader.prepare!([a, null, Buffer.from('{}'), b, b]), reader.prepare!([b])]);
  assert.deepEqual(registry.calls, [1, 2]);
  assert.equal(first?.index, 3);
  assert.equal(second?.index, 0);
  assert.equal(first?.kind, 'add');
  assert.deepEqual((first as { columns: unknown }).columns, [{ name: 'email', type: 'string' }]);
  assert.match(first!.reason, /Avro schema id 2 \(record User, subject users-value\) of table db\.users adds field 'email'/);
  // Judged once: the same answer again without asking the registry.
  assert.equal((await reader.prepare!([b]))?.index, 0);
  assert.deepEqual(registry.calls, [1, 2]);
  // The record itself reads with its writer schema, the new field included.
  assert.deepEqual(reader.read(b), { id: 2, name: 'b', Email: 'b@x' });
});

test('prepare: a refused schema, and one avsc cannot compile, are refusals naming the table and id', async () => {
  const reader = avroReader({ registry: registryOf({ 1: v1, 3: v2NoDefault, 4: '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "Nope"}]}', 5: 'not json' }),
    table: 'db.users', columns: userColumns, compatibility: 'FULL' });
  const ok = wire(1, encoder(v1).toBuffer({ id: 1n, name: 'a' }));
  const noDefault = wire(3, encoder(v2NoDefault).toBuffer({ id: 1n, name: 'a', email: 'e' }));
  const change = await reader.prepare!([ok, noDefault]);
  assert.deepEqual({ index: change?.index, kind: change?.kind }, { index: 1, kind: 'refuse' });
  assert.match(change!.reason, /Avro schema id 3 \(record User\) of table db\.users: field 'email' was added without a default, which FULL does not allow/);
  const broken = wire(4, Buffer.from([2]));
  const compiled = await reader.prepare!([ok, broken]);
  assert.equal(compiled?.kind, 'refuse');
  assert.match(compiled!.reason, /Avro schema id 4 of table db\.users: the schema cannot be read: avsc cannot compile it \(.*Nope/);
  assert.match((await reader.prepare!([wire(5, Buffer.alloc(0))]))!.reason, /schema id 5 .*is not JSON/);
  decodeError(reader, broken, /schema id 4 cannot be read: avsc cannot compile it/);
});

test('prepare: registry failures propagate and are not remembered', async () => {
  let fail = true;
  const reader = avroReader({
    registry: { schemaById: async () => { if (fail) throw Object.assign(new Error('registry down'), { retriable: true }); return JSON.stringify(v1); } },
    table: 'db.users', columns: userColumns, compatibility: 'BACKWARD',
  });
  const a = wire(1, encoder(v1).toBuffer({ id: 1n, name: 'a' }));
  await assert.rejects(reader.prepare!([a]), /registry down/);
  decodeError(reader, a, /schema id 1 was not loaded/);
  fail = false;
  assert.equal(await reader.prepare!([a]), undefined);
  assert.deepEqual(reader.read(a), { id: 1, name: 'a' });
});

test('prepare: an id the registry does not know makes its records record errors (kafka.error.policy), asked again with the next fetch; a registry that refuses us fails the table', async () => {
  let known = false;
  const asked: number[] = [];
  const reader = avroReader({
    registry: { schemaById: async (id) => {
      asked.push(id);
      if (!known) throw new SchemaRegistryError(`schema id ${id} is unknown to the schema registry at http://r:8081 (GET http://r:8081/schemas/ids/${id}: HTTP 404, error_code 40403: Schema not found)`, false, `http://r:8081/schemas/ids/${id}`, 404, 40403, id);
      return JSON.stringify(v1);
    } },
    table: 'db.users', columns: userColumns, compatibility: 'BACKWARD',
  });
  const a = wire(9, encoder(v1).toBuffer({ id: 1n, name: 'a' }));
  assert.equal(await reader.prepare!([a]), undefined, 'not a schema change of the table');
  decodeError(reader, a, /schema id 9 cannot be read: schema id 9 is unknown to the schema registry at http:\/\/r:8081 .*40403/);
  known = true;
  assert.equal(await reader.prepare!([a]), undefined);
  assert.deepEqual(reader.read(a), { id: 1, name: 'a' });
  assert.deepEqual(asked, [9, 9], 'asked again with the next fetch, then remembered');

  const refusing = avroReader({
    registry: { schemaById: async () => { throw new SchemaRegistryError('schema registry http://r:8081 refused schema id 3 (GET ...: HTTP 401): it needs credentials', false, 'http://r:8081', 401); } },
    table: 'db.users', columns: userColumns, compatibility: 'BACKWARD',
  });
  await assert.rejects(refusing.prepare!([wire(3, Buffer.alloc(0))]), (e: Error) => e instanceof TableFormatError && e.retriable === false &&
    /^table db\.users: kafka\.schema\.registry\.url \(or its profile\) cannot be used to read schema id 3: schema registry http:\/\/r:8081 refused .*HTTP 401/.test(e.message));
});

test('read: values that are not the wire format, or whose body is not of the schema, fail the record naming the byte', async () => {
  const schema = { type: 'record', name: 'R', fields: [{ name: 'n', type: 'long' }, { name: 's', type: 'string' }, { name: 'u', type: ['null', 'int'] }] };
  const reader = readerOf({ 7: schema });
  const good = wire(7, encoder(schema).toBuffer({ n: 5n, s: 'hello', u: 3 }));
  await reader.prepare!([good, Buffer.from([0, 0]), Buffer.from('{"a":1}')]);
  assert.deepEqual(reader.read(good), { n: 5, s: 'hello', u: 3 });
  decodeError(reader, Buffer.from([0, 0, 0]), /3 byte\(s\), too few for the Confluent Avro wire format/);
  decodeError(reader, Buffer.from('{"n": 1}'), /does not start with the Confluent wire format's magic byte 0 \(its first byte is 0x7b\) \(it looks like JSON/);
  decodeError(reader, Buffer.from([1, 0, 0, 0, 7, 0]), /magic byte 0 \(its first byte is 0x01\)$/);
  decodeError(reader, wire(8, Buffer.from([0])), /schema id 8 was not loaded before the record was read/);
  // good: header (bytes 0-4), n (byte 5), s (bytes 6-11: length, then 5 bytes), u (bytes 12-13)
  decodeError(reader, good.subarray(0, 9), /body of schema id 7 ends early: field 's' at byte 6 needs more than the value's 9 bytes/);
  decodeError(reader, good.subarray(0, 13), /ends early: field 'u' at byte 12/);
  decodeError(reader, Buffer.concat([good, Buffer.from([0, 0])]), /ends at byte 14, but the value has 16 bytes \(2 trailing\)/);
  const badUnion = Buffer.from(good);
  badUnion[12] = 0x08; // branch 4 of a 2-branch union
  decodeError(reader, badUnion, /cannot be read: field 'u' at byte 12: invalid union index/);
  decodeError(reader, wire(7, Buffer.alloc(0)), /ends early: field 'n' at byte 5/);
});

test('toBinary takes bytes as they are and base64 text as before', () => {
  const own = new Uint8Array([1, 2, 3]);
  assert.equal(toBinary(own), own);
  const pool = Buffer.from([9, 1, 2, 3, 9]);
  const view = toBinary(pool.subarray(1, 4));
  assert.deepEqual(view, new Uint8Array([1, 2, 3]));
  assert.equal(Object.getPrototypeOf(view), Uint8Array.prototype, 'a Buffer becomes a plain Uint8Array');
  assert.equal(view.buffer.byteLength, 3, 'a view is copied out of its larger buffer');
  assert.deepEqual(toBinary('AAEC/w=='), new Uint8Array([0, 1, 2, 255]));
  assert.throws(() => toBinary('not base64!'), /not base64/);
  assert.throws(() => toBinary(5), /not base64/);
});
