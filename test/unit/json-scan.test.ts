// The record decoder's fast path against the general path (today's parseRecordJson + makeRowDecoder +
// partitionValueOf): for every record of a corpus over every Hive type, and for random records and
// random corruptions of them, both give deep-equal rows and partition values or the same error
// message, and the same Parquet bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HiveValue } from '../../src/sink/hive-types.ts';
import { encodeParquet } from '../../src/sink/parquet.ts';
import { makeRowDecoder, parseRecordJson, partitionValueOf, type ColumnSpec } from '../../src/hive/convert.ts';
import { makeRecordDecoder } from '../../src/format/json-scan.ts';

type Outcome = { row: HiveValue[]; partitionValues: (string | null)[] } | { error: string };

/** The general path exactly as the task ran it before the fast path existed. */
function generalOutcome(columns: ColumnSpec[], keys: ColumnSpec[], value: Buffer | null): Outcome {
  try {
    const json = value === null ? null : parseRecordJson(value);
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('the value is not a JSON object');
    const row = makeRowDecoder(columns)(json);
    return { row, partitionValues: keys.map((k) => partitionValueOf(json, k) ?? null) };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

const stale = 'stale value of the previous record';

/** Checks one table's records through both paths; returns the path of each record (undefined when it failed). */
function check(columns: ColumnSpec[], keys: ColumnSpec[], values: (Buffer | string | null)[]): ('fast' | 'general' | undefined)[] {
  const decode = makeRecordDecoder(columns, keys);
  const row: HiveValue[] = columns.map(() => stale);
  const partitionValues: (string | null)[] = keys.map(() => stale);
  return values.map((input) => {
    const value = typeof input === 'string' ? Buffer.from(input) : input;
    const expected = generalOutcome(columns, keys, value);
    const label = value === null ? 'null' : JSON.stringify(value.toString('latin1'));
    let path: 'fast' | 'general' | undefined;
    try {
      path = decode(value, row, partitionValues);
    } catch (error) {
      assert.ok('error' in expected, `${label}: the decoder failed (${String(error)}), the general path gave a row`);
      assert.equal(`${(error as Error).name}: ${(error as Error).message}`, expected.error, label);
      return undefined;
    }
    assert.ok(!('error' in expected), `${label}: the decoder took the ${path} path, the general path failed: ${'error' in expected ? expected.error : ''}`);
    assert.deepStrictEqual(row, expected.row, label);
    assert.deepStrictEqual(partitionValues, expected.partitionValues, label);
    row.fill(stale);
    partitionValues.fill(stale);
    return path;
  });
}

const columns: ColumnSpec[] = [
  { name: 'ti', type: 'tinyint' },
  { name: 'si', type: 'smallint' },
  { name: 'i', type: 'int' },
  { name: 'b', type: 'bigint' },
  { name: 'f', type: 'float' },
  { name: 'd', type: 'double' },
  { name: 'wide', type: 'decimal(38,18)' },
  { name: 'money', type: 'decimal(10,2)' },
  { name: 'flag', type: 'boolean' },
  { name: 's', type: 'string' },
  { name: 'vc', type: 'varchar(5)' },
  { name: 'ch', type: 'char(4)' },
  { name: 'day', type: 'date' },
  { name: 'ts', type: 'timestamp' },
  { name: 'raw', type: 'binary' },
  { name: 'arr', type: 'array<int>' },
  { name: 'm', type: 'map<string,int>' },
  { name: 'st', type: 'struct<a:int,b:string>' },
  { name: 'Mixed_Case', type: 'string' },
  { name: 'k', type: 'int' },
];

const keys: ColumnSpec[] = [
  { name: 'p_s', type: 'string' },
  { name: 'p_i', type: 'int' },
  { name: 'p_b', type: 'bigint' },
  { name: 'p_day', type: 'date' },
  { name: 'p_ts', type: 'timestamp' },
  { name: 'p_dec', type: 'decimal(5,2)' },
  { name: 'p_flag', type: 'boolean' },
  { name: 'p_vc', type: 'varchar(3)' },
  { name: 'p_ch', type: 'char(3)' },
  { name: 's', type: 'string' }, // also a column: one field feeds both
];

const integers = [
  '0', '-0', '1', '-1', '127', '128', '-128', '-129', '32767', '32768', '-32768', '-32769', '2147483647', '2147483648',
  '-2147483648', '-2147483649', '999999999999999', '-999999999999999', '1000000000000000', '9007199254740993',
  '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809', '12345678901234567890123',
  '1e2', '1E+2', '1e-0', '1.0', '1.5', '-1.5e3', '1e999999999', '0.0', '-0.0', '1e-7', '123456789012345.0', '"42"', '" 42 "',
  '"-0"', '"9223372036854775807"', '"abc"', '""', 'true', 'false', 'null',
];
const doubles = [
  '3.141592653589793', '0.1', '-2.5', '1e308', '1e309', '-1e309', '1e-400', '5e-324', '3.4028234663852886e38', '3.5e38',
  '123456789012345678', '-0', '-0.0', '0', '"NaN"', '"-Infinity"', '" infinity "', '"1e3"', '"abc"', 'true', '17',
];
const decimals = [
  '1.005', '-1.005', '12345678901234567890.123456789012345678', '12345678901234567890.1234567890123456785', '99999999.995',
  '99999999.994', '-99999999.99', '100000000', '1e-50', '1e20', '1e19', '123456789012345678901', '0.005', '-0.004', '"123.45"',
  '"1,5"', '7', '-0', 'true',
];
const booleans = ['true', 'false', '"TRUE"', '" false "', '"yes"', '1', '0'];
const strings = [
  '"x"', '""', '"a\\"b\\\\c"', '"\\u00e9\\ud83d\\ude00"', '"\\ud800"', '"日本語"', '"😀 emoji"', '"tab\\tnew\\nline\\/"', '"\\u0000"',
  '12345678901234567890.50', '-0', '1E5', '7', 'true', 'false', '"e\u0301"', '"\u2028"',
];
const shortStrings = ['"abcdefgh"', '"😀😀😀😀😀😀"', '"ab"', '"日"', '""', '12345678', '1.5', 'true', '"a\\u0062c\\ud83d\\ude00de"'];
const dates = [
  '"1970-01-01"', '"2024-02-29"', '"2023-02-29"', '"0001-01-01"', '"9999-12-31"', '"10000-01-01"', '-1', '19782', '-719162', '1.5',
  '3000000', '"01/02/2024"', '" 2024-01-01 "', '"19782"', 'true', '"0000-01-01"', '"2024-00-10"', '"2024-13-01"', '"2024-04-31"',
  '"2000-02-29"', '"1900-02-29"', '"2024-1-01"', '"2024-01-1x"', '"2024/01/01"', '"+024-01-01"', '"2024-01-01T00:00:00"',
  '"\\u0032024-01-01"', '"２０２４-01-01"',
];
const timestamps = [
  '"2026-11-30T10:00:00Z"', '"2024-01-02 03:04:05.123456789"', '"1969-12-31 23:59:59.5"', '"1969-12-31T23:59:59.999999-00:30"',
  '"1900-01-01T00:00:00.000001+01:00"', '"0001-01-01 00:00:00"', '"9999-12-31 23:59:59.999999"', '"2024-01-02"', '-1', '-1500',
  '1700000000000', '-62135596800001', '1.5', '1e3', '"2024-01-02T25:00:00"', '"2024-01-02T10:00:00+19:00"', '"bad"',
  '"1700000000000"', 'false', '"2024-01-02t03:04:05z"', '"2024-01-02T03:04:05.1"', '"2024-01-02T03:04:05.123456"',
  '"2024-01-02T03:04:05.1234567890"', '"2024-01-02T03:04:05."', '"2024-01-02T03:04:05.Z"', '"2024-01-02T03:04:05 Z"',
  '"2024-01-02T03:04:05ZZ"', '"2024-01-02T03:04:05x"', '"2024-01-02T03:04"', '"2024-01-02T24:00:00"', '"2024-01-02T23:60:00"',
  '"2024-01-02T23:59:60"', '"2024-02-30T00:00:00"', '"0000-12-31T23:59:59"', '"0001-01-01T00:00:00Z"', '"9999-12-31T23:59:59.999999999Z"',
  '"2024-01-02X03:04:05"', '"2024-01-02T03-04:05"', '"2024-01-02T0a:04:05"', '"2024-01-02T03:04:05+00:00"', '"2024-01-02T03:04:05.5-0130"',
  '" 2024-01-02T03:04:05"', '"1969-12-31T23:59:59.000001"', '"1969-12-31T23:59:59.000001z"', '"1960-06-15 12:00:00.25"',
];
const binaries = ['"aGVsbG8="', '""', '"AAE="', '"not base64!"', '1', 'true'];
const nested = ['[1,null,"3"]', '[]', '[1.5]', '{"a":1,"B":"x"}', '{}', '{"a":"x"}', '1', '"x"', 'true'];

const valuesByColumn: Record<string, string[]> = {
  ti: integers, si: integers, i: integers, b: integers, k: integers, f: doubles, d: doubles, wide: decimals, money: decimals,
  flag: booleans, s: strings, vc: shortStrings, ch: shortStrings, day: dates, ts: timestamps, raw: binaries, arr: nested, m: nested, st: nested,
  mixed_case: strings,
};

const partitionValues: Record<string, string[]> = {
  p_s: ['"DE"', '""', '7', '12345678901234567890', '-0', 'true', `"${'a'.repeat(300)}"`, `"${'%'.repeat(100)}"`, '"\\ud800"', '"a/b=c"', '"日本"'],
  p_i: ['7', '-0', '"7"', '"x"', '1.0', '2147483648', '""'],
  p_b: ['9223372036854775807', '42', '1e2', '""'],
  p_day: ['"2024-02-29"', '19782', '"2023-02-30"'],
  p_ts: ['"2024-01-02T03:04:05.500Z"', '"1969-12-31 23:59:59.000001"', '-1', '"2024-01-02 00:00:00"', '"2024-01-02"', '"2024-02-30 00:00:00"'],
  p_dec: ['1.50', '-0.004', '1000', '"1.005"'],
  p_flag: ['true', 'false', '"False"', '1'],
  p_vc: ['"abcdef"', '"ab"', '5'],
  p_ch: ['"a"', '""', '"abcd"'],
};

const typical = '{"id":123,"userid":45,"url":"https://example.com/articles/2026/11/30/some-long-path?ref=home&utm_source=newsletter","ts":"2026-11-30T10:00:00Z","country":"DE"}';
const typicalColumns: ColumnSpec[] = [
  { name: 'id', type: 'bigint' },
  { name: 'userid', type: 'bigint' },
  { name: 'url', type: 'string' },
  { name: 'ts', type: 'timestamp' },
  { name: 'country', type: 'string' },
];

/** Records that are not simple: structure, duplicates, spellings, whitespace, invalid JSON. */
const structural: (string | Buffer | null)[] = [
  null, '', ' ', '{}', ' {} ', '\t{\n"i" : 1 ,\r\n"s":"x"\t}\n', '{"i":1}', '{"I":1}', '{"MIXED_CASE":"m","mixed_case":"n"}',
  '{"Mixed_Case":"m"}', '{"mixed_CASE":"m","MIXED_case":"n"}', '{"mixed_case":"n","MIXED_CASE":"m"}',
  '{"i":1,"i":2}', '{"i":1,"i":2,"d":1.5}', '{"i":1,"i":1,"d":1.5}', '{"x":1,"x":2}', '{"x":1,"x":2,"d":1.5}', '{"x":1,"X":2,"d":1.5}',
  '{"i\\u0064":5}', '{"\\u0069":5}', '{"ïd":1}', '{"\u212A":5}', '{"k":4,"\u212A":5}', '{"__proto__":1,"i":2}', '{"__proto__":{"i":3}}',
  '{"constructor":1,"s":"x"}', '{"i":1,"extra":{"a":[1,2,{"b":null,"c":[true,false,"x\\"y"]}],"c":"x"},"s":"u"}',
  '{"i":1.5,"extra":{"x":1,"x":2}}', '{"i":1,"extra":{"x":1,"x":2}}', '{"i":1,"extra":[{"x":1},{"x":2}]}',
  '{"i":1,"extra":{"x":1,"X":2}}', '{"i":1,"extra":{"\\u0078":1}}', '{"i":1,"extra":{"ïd":1}}', '{"i":1,"extra":[1,[2,[3]],{}]}',
  `{"i":1,"deep":${'['.repeat(60)}${']'.repeat(60)}}`, `{"i":1,"deep":${'['.repeat(70)}${']'.repeat(70)}}`,
  `{"i":1,"deep":${'{"a":'.repeat(70)}1${'}'.repeat(70)}}`, `{"i":1,"deep":${'['.repeat(5000)}${']'.repeat(5000)}}`,
  // A number that is not a plain integer makes the general path parse with lossless-json, told to keep a
  // repeated key's last value as JSON.parse does; it runs out of stack on deep nesting where JSON.parse does not.
  `{"d":1.5,"deep":${'['.repeat(20000)}${']'.repeat(20000)}}`, '{"d":1.5,"extra":{"x":1,"x":2}}', '{"d":1.5,"extra":[{"x":1,"x":2}]}',
  '{"d":1.5,"extra":{"x":1,"y":{"z":1,"z":2}}}', '{"d":1.5,"extra":{"x":1,"x":1}}',
  '{"arr":[1,2],"i":1}', '{"st":{"a":1},"i":2}', '{"m":null,"arr":null,"st":null,"i":3}',
  '{"s":"version 1.2 of 9007199254740993","b":9007199254740993}', '{"s":"v1.2","b":123}',
  '{', '}', '{"i":}', '{"i":1,}', '{,"i":1}', '{"i":01}', '{"i":1.}', '{"i":.5}', '{"i":+1}', '{"i":-}', '{"i":1e}', '{"i":1e+}',
  '{"i":-01}', '{"i":1.5e}', '{"flag":tru}', '{"flag":truex}', '{"flag":true1}', '{"s":nul}', '{"s":nulll}', "{'i':1}", '{i:1}',
  '{"i":1}x', '{"i":1} {}', '{"i":1}}', '{"s":"\\x"}', '{"s":"\\u12"}', '{"s":"\\u12G4"}', '{"s":"\\', '{"s":"a\u0001b"}',
  '{"s":"a\u007fb"}', '{"i":1 "s":"x"}', '{"i" 1}', '{"i"::1}', '{"s":"abc', '{"s":"abc"', '{"s":"abc",', '{"i":NaN}',
  '{"i":Infinity}', '{"i":-Infinity}', '{"x":[1,]}', '{"x":[,1]}', '{"x":{"b":1,}}', '{"x":{"b"}}', '{"x":{1:2}}', '{"x":[1 2]}',
  '{"x":"\\q"}', '{"x":"raw\ttab"}', '{"x":}', '{"x":{"a":1}', '{"x":[1}', '{"x":{]}',
  '{"x":"\\u12G4"}', '{"x":"\\uZZZZ","i":1}', '{"x":"\\u12"}', '{"x":tXue}', '{"x":[fals]}', '{"x":nuLL}', '{"x":-}', '{"x":01}',
  '{"x":1.}', '{"x":[1e]}', '{"x":"a\u0001"}', '{"x":{"a" 1}}', '{"x":{"a":1 "b":2}}', '{"x":[1,2}', '{"x":{"a":1]}',
  '[1,2]', '[]', '"str"', '123', '1.5', '-0', 'null', 'true', '\ufeff{"i":1}', '{"i":1}\u00a0', '\u00a0{"i":1}', '{"i":1}\u0000',
  Buffer.from([0x7b, 0x7d, 0x00]),
];

/** Records with invalid or unusual UTF-8 bytes, in values, keys and skipped fields. */
function utf8Records(): Buffer[] {
  const text = (s: string) => Buffer.from(s, 'latin1');
  const bytes = (...b: number[]) => Buffer.from(b);
  const invalid = [[0xff], [0xe2, 0x82], [0xc3], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98], [0xc0, 0xaf], [0x80], [0xf4, 0x90, 0x80, 0x80], [0xef, 0xbf, 0xbd]];
  const records: Buffer[] = [];
  for (const bad of invalid) {
    records.push(Buffer.concat([text('{"s":"a'), bytes(...bad), text('","p_s":"'), bytes(...bad), text('","i":1}')]));
    records.push(Buffer.concat([text('{"s":"'), bytes(...bad), text('"}')]));
    records.push(Buffer.concat([text('{"s":"\\n'), bytes(...bad), text('x"}')]));
    records.push(Buffer.concat([text('{"vc":"'), bytes(...bad, ...bad, ...bad), text('abcdef"}')]));
    records.push(Buffer.concat([text('{"s'), bytes(...bad), text('":"x","i":1}')]));
    records.push(Buffer.concat([text('{"extra":"'), bytes(...bad), text('","i":1}')]));
    records.push(Buffer.concat([text('{"extra":{"'), bytes(...bad), text('":1},"i":1}')]));
    records.push(Buffer.concat([text('{"i":1}'), bytes(...bad)]));
    records.push(Buffer.concat([text('{"ts":"2024-01-01'), bytes(...bad), text('"}')]));
  }
  records.push(Buffer.from('{"s":"😀 日本 é","ch":"😀","p_s":"ü"}'));
  return records;
}

function corpus(): (string | Buffer | null)[] {
  const records: (string | Buffer | null)[] = [...structural, ...utf8Records(), typical];
  for (const [column, values] of Object.entries(valuesByColumn)) {
    for (const value of values) records.push(`{"${column}":${value}}`, `{ "i" : 5, "${column}" : ${value} , "zz":[{"q":1}] }`);
  }
  for (const [key, values] of Object.entries(partitionValues)) {
    for (const value of values) records.push(`{"${key}":${value},"i":1}`);
  }
  // Every column at once, with the first (mostly valid) value of each and partition values.
  const all = Object.entries(valuesByColumn).map(([column, values]) => `"${column}":${values[0]}`);
  const parts = Object.entries(partitionValues).map(([key, values]) => `"${key}":${values[0]}`);
  records.push(`{${all.join(',')},${parts.join(',')}}`, `{${[...parts].reverse().join(',')},${[...all].reverse().join(',')}}`);
  return records;
}

test('fast and general paths agree on every record of the corpus, rows, partition values and errors', () => {
  const paths = check(columns, keys, corpus());
  const fast = paths.filter((p) => p === 'fast').length;
  assert.ok(fast > 300, `only ${fast} of ${paths.length} records took the fast path`);
});

test('the fast path decodes a value of every column and partition key type', () => {
  // Each column and key must have had a non-null value decoded on the fast path, so every shortcut is compared.
  const records = corpus();
  const decode = makeRecordDecoder(columns, keys);
  const row: HiveValue[] = columns.map(() => null);
  const pv: (string | null)[] = keys.map(() => null);
  const seen = new Set<string>();
  for (const record of records) {
    try {
      if (decode(typeof record === 'string' ? Buffer.from(record) : record, row, pv) !== 'fast') continue;
    } catch {
      continue;
    }
    columns.forEach((c, i) => { if (row[i] !== null) seen.add(c.name); });
    keys.forEach((k, i) => { if (pv[i] !== null) seen.add(k.name); });
  }
  const scalarNames = [...columns, ...keys].filter((c) => !/^(array|map|struct)</.test(c.type)).map((c) => c.name);
  assert.deepEqual(scalarNames.filter((name) => !seen.has(name)), []);
});

test('a typical flat record takes the fast path; what the fast path leaves to the general path', () => {
  const decode = makeRecordDecoder(typicalColumns, [{ name: 'country', type: 'string' }]);
  const row: HiveValue[] = typicalColumns.map(() => null);
  const pv: (string | null)[] = [null];
  assert.equal(decode(Buffer.from(typical), row, pv), 'fast');
  assert.deepStrictEqual(row, [123n, 45n, 'https://example.com/articles/2026/11/30/some-long-path?ref=home&utm_source=newsletter', 1796032800000000n, 'DE']);
  assert.deepStrictEqual(pv, ['DE']);
  const path = (text: string) => decode(Buffer.from(text), row, pv);
  assert.equal(path('{"id":1,"extra":{"a":[1,{"b":2}]},"url":"x"}'), 'fast'); // nested values in fields no column reads are skipped
  assert.equal(path('{"ID":1,"Url":"x"}'), 'fast');
  assert.equal(path('{"url":"\\u00e9\\n","id":9223372036854775807}'), 'fast');
  assert.equal(path('{"id":1,"ID":2}'), 'general'); // two spellings: Hive's rules for them are the general path's
  assert.equal(path('{"x":1,"x":2}'), 'general'); // a repeated key: the general path keeps the last
  assert.equal(path('{"i\\u0064":1}'), 'general'); // an escaped key
  assert.equal(path('{"ïd":1}'), 'general'); // a non-ASCII key (toLowerCase beyond ASCII)
  assert.equal(path('{"url":{"a":1}}'), 'general'); // a nested value in a column's field
  assert.throws(() => path('{"id":"x"}'), /^RecordDecodeError: column "id": "x" is not a number \(expected bigint\)$/);
  assert.throws(() => path('{"id":1'), /the value is not valid JSON/);
  assert.throws(() => decode(null, row, pv), /^Error: the value is not a JSON object$/);
});

test('a table without columns or partition keys still validates each record', () => {
  assert.deepEqual(check([], [], ['{}', '{"a":1}', '{"a":', null]), ['fast', 'fast', undefined, undefined]);
  assert.deepEqual(check([], [{ name: 'p', type: 'string' }], ['{"p":"x"}', '{"P":7}']), ['fast', 'fast']);
});

test('a partition key of a type Hive does not allow fails each record as before', () => {
  const failures = check([{ name: 'a', type: 'int' }], [{ name: 'p', type: 'array<int>' }], ['{"a":1,"p":[1]}', '{"a":"x"}']);
  assert.deepEqual(failures, [undefined, undefined]);
});

test('fast and general paths write the same Parquet bytes', () => {
  const decode = makeRecordDecoder(columns, keys);
  const fastRows: HiveValue[][] = [];
  const generalRows: HiveValue[][] = [];
  let fast = 0;
  for (const record of corpus()) {
    const value = typeof record === 'string' ? Buffer.from(record) : record;
    const expected = generalOutcome(columns, keys, value);
    if ('error' in expected) continue;
    const row: HiveValue[] = columns.map(() => stale);
    if (decode(value, row, keys.map(() => null)) === 'fast') fast++;
    fastRows.push(row);
    generalRows.push(expected.row);
  }
  assert.ok(fast > 200, `only ${fast} of ${fastRows.length} rows took the fast path`);
  assert.equal(Buffer.compare(encodeParquet(columns, fastRows), encodeParquet(columns, generalRows)), 0);
  const typicalRows = [typical, typical.replace('"DE"', '"FR"').replace('123', '9223372036854775807')].map((text) => {
    const row: HiveValue[] = typicalColumns.map(() => null);
    assert.equal(makeRecordDecoder(typicalColumns, [])(Buffer.from(text), row, []), 'fast');
    return row;
  });
  const typicalGeneral = [typical, typical.replace('"DE"', '"FR"').replace('123', '9223372036854775807')]
    .map((text) => makeRowDecoder(typicalColumns)(parseRecordJson(text)));
  assert.equal(Buffer.compare(encodeParquet(typicalColumns, typicalRows), encodeParquet(typicalColumns, typicalGeneral)), 0);
});

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]! };
}

test('random records: valid ones of every shape, and every corpus record corrupted byte by byte', () => {
  const rnd = random(20261130);
  const names = [...columns.map((c) => c.name), ...keys.map((k) => k.name), 'extra', 'X', 'other'];
  const spell = (name: string) => [...name].map((ch) => (rnd.next() < 0.2 ? ch.toUpperCase() : ch)).join('');
  const space = () => rnd.pick(['', '', ' ', '\n', '\t ', '\r\n']);
  const anyValue = (): string => {
    const lists = [...Object.values(valuesByColumn), ...Object.values(partitionValues)];
    return rnd.next() < 0.1 ? rnd.pick(['{"a":[1,{"b":null}]}', '[1,"x",[]]', '{}', '[]', '{"a":1,"a":2}', '[{"a":1,"A":2}]', '{"a":"\\u00e9"}']) : rnd.pick(rnd.pick(lists));
  };
  const valid: string[] = [];
  for (let n = 0; n < 3000; n++) {
    const fields: string[] = [];
    const count = rnd.int(8);
    for (let f = 0; f < count; f++) fields.push(`${space()}"${spell(rnd.pick(names))}"${space()}:${space()}${anyValue()}${space()}`);
    valid.push(`${space()}{${fields.join(',')}}${space()}`);
  }
  const paths = check(columns, keys, valid);
  assert.ok(paths.filter((p) => p === 'fast').length > 500);

  const interesting = [0x22, 0x5c, 0x2c, 0x3a, 0x7b, 0x7d, 0x5b, 0x5d, 0x20, 0x2d, 0x2e, 0x30, 0x31, 0x65, 0x45, 0x2b, 0x75, 0x6e, 0x74, 0x00, 0x0a, 0x80, 0xc3, 0xe2, 0xff];
  const corrupted: Buffer[] = [];
  for (const record of [...corpus(), ...valid.slice(0, 500)]) {
    // Where lossless-json runs out of stack depends on the caller's stack: its error on deep records is not comparable.
    if (record === null || record.length > 2000) continue;
    const original = typeof record === 'string' ? Buffer.from(record) : record;
    for (let n = 0; n < 12; n++) {
      const bytes = [...original];
      const at = rnd.int(bytes.length + 1);
      const op = rnd.int(4);
      if (op === 0) bytes.splice(at, 1);
      else if (op === 1) bytes.splice(at, 0, rnd.pick(interesting));
      else if (op === 2) bytes[Math.min(at, bytes.length - 1)] = rnd.pick(interesting);
      else bytes.splice(at, 0, ...bytes.slice(rnd.int(bytes.length), rnd.int(bytes.length)));
      corrupted.push(Buffer.from(bytes));
    }
  }
  check(columns, keys, corrupted);
});
