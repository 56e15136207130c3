import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRowDecoder, parseRecordJson, partitionValueOf, RecordDecodeError } from '../../src/hive/convert.ts';

/** Decodes one value of one column from record text, as the task does (lossless parse). */
function one(type: string, json: string): unknown {
  return makeRowDecoder([{ name: 'c', type }])(parseRecordJson(`{"c": ${json}}`))[0];
}

function rejects(type: string, json: string, reason: RegExp, column = 'c'): void {
  assert.throws(() => one(type, json), (error: unknown) => {
    assert.ok(error instanceof RecordDecodeError, String(error));
    assert.equal(error.retriable, false);
    assert.equal(error.column, column);
    assert.match(error.reason, reason);
    assert.match(error.message, new RegExp(`^column "${column}": `));
    return true;
  }, `${type} ${json}`);
}

test('columns come from same-named fields, case-insensitively; missing and null are NULL', () => {
  const decode = makeRowDecoder([
    { name: 'userid', type: 'bigint' },
    { name: 'Page_URL', type: 'string' },
    { name: 'absent', type: 'int' },
    { name: 'nothing', type: 'int' },
  ]);
  assert.deepEqual(decode(parseRecordJson('{"UserId": 7, "page_url": "/a", "nothing": null, "extra": 1}')), [7n, '/a', null, null]);
  // An exact (lower-case) match wins over other spellings.
  assert.deepEqual(decode({ USERID: 1, userid: 2 }), [2n, null, null, null]);
});

test('a value that is not a JSON object, or is not JSON, fails the record as a whole', () => {
  const decode = makeRowDecoder([{ name: 'a', type: 'int' }]);
  for (const value of [[1], 'text', 5, null]) {
    assert.throws(() => decode(value), (error: unknown) =>
      error instanceof RecordDecodeError && error.column === undefined && /must be a JSON object/.test(error.reason));
  }
  assert.throws(() => parseRecordJson('{"a": '), (error: unknown) =>
    error instanceof RecordDecodeError && error.column === undefined && /not valid JSON/.test(error.reason));
  assert.deepEqual(parseRecordJson(Buffer.from('{"a": 1}')), parseRecordJson('{"a": 1}'));
});

test('a repeated key keeps its last value, whether or not the record holds a number that needs exact digits', () => {
  const decode = makeRowDecoder([{ name: 'a', type: 'int' }, { name: 'd', type: 'decimal(10,2)' }, { name: 'big', type: 'bigint' }]);
  // Until 2026-12-07 the second and third records failed as "not valid JSON" (lossless-json refuses
  // repeated keys; JSON.parse, taken when every number is a short integer, keeps the last).
  assert.deepEqual(decode(parseRecordJson('{"a":1,"a":2}')), [2, null, null]);
  assert.deepEqual(decode(parseRecordJson('{"a":1,"a":2,"d":1.5}')), [2, 150n, null]);
  assert.deepEqual(decode(parseRecordJson('{"a":1,"big":9007199254740993,"a":3,"n":{"x":1,"x":2}}')), [3, null, 9007199254740993n]);
});

test('STRING takes any JSON value; numbers keep their digits, objects become JSON', () => {
  assert.equal(one('string', '"x"'), 'x');
  assert.equal(one('string', '12345678901234567890.50'), '12345678901234567890.50');
  assert.equal(one('string', 'true'), 'true');
  assert.equal(one('string', '{"a": [1, 2.50]}'), '{"a":[1,2.50]}');
});

test('VARCHAR is cut and CHAR padded to their length in characters, as Hive does', () => {
  assert.equal(one('varchar(3)', '"abcdef"'), 'abc');
  assert.equal(one('varchar(3)', '"ab"'), 'ab');
  assert.equal(one('varchar(2)', '"😀😀😀"'), '😀😀'); // code points, not UTF-16 units
  assert.equal(one('char(4)', '"ab"'), 'ab  ');
  assert.equal(one('char(2)', '"abc"'), 'ab');
  assert.equal(one('char(3)', '"日"'), '日  ');
});

test('integers are range-checked, never wrapped', () => {
  assert.equal(one('tinyint', '-128'), -128);
  assert.equal(one('tinyint', '127'), 127);
  rejects('tinyint', '128', /128 is out of range for tinyint \(-128 to 127\)/);
  rejects('smallint', '-32769', /out of range for smallint/);
  rejects('int', '2147483648', /out of range for int/);
  assert.equal(one('int', '"42"'), 42);
  assert.equal(one('int', '1e2'), 100);
  assert.equal(one('int', '2.0'), 2);
  rejects('int', '1.5', /1\.5 is not a whole number \(expected int\)/);
  rejects('int', '"12abc"', /"12abc" is not a number \(expected int\)/);
  rejects('int', 'true', /true is not a number/);
  rejects('int', '1e999999999', /out of range for int/);
  rejects('decimal(38,2)', `"0.${'1'.repeat(500)}"`, /more than 400 significant digits/);
});

test('BIGINT keeps every digit beyond 2^53, from raw JSON numbers and from strings', () => {
  assert.equal(one('bigint', '9223372036854775807'), 9223372036854775807n);
  assert.equal(one('bigint', '-9223372036854775808'), -9223372036854775808n);
  assert.equal(one('bigint', '12345678901234567'), 12345678901234567n);
  assert.equal(one('bigint', '"12345678901234567"'), 12345678901234567n);
  rejects('bigint', '9223372036854775808', /out of range for bigint/);
  // Values from plain JSON.parse are accepted too (their precision is already what JSON.parse kept).
  assert.deepEqual(makeRowDecoder([{ name: 'c', type: 'bigint' }])(JSON.parse('{"c": 42}')), [42n]);
});

test('FLOAT and DOUBLE', () => {
  assert.equal(one('double', '3.141592653589793'), 3.141592653589793);
  assert.equal(one('float', '0.1'), Math.fround(0.1));
  assert.equal(one('double', '"1e3"'), 1000);
  assert.ok(Number.isNaN(one('double', '"NaN"')));
  assert.equal(one('double', '"-Infinity"'), -Infinity);
  rejects('double', '1e400', /out of range for double/);
  rejects('float', '1e39', /out of range for float/);
  rejects('double', '"abc"', /not a number \(expected double\)/);
  rejects('double', '"constructor"', /not a number \(expected double\)/);
});

test('DECIMAL is exact, rounds half up (away from zero) to its scale, and refuses too many digits', () => {
  assert.equal(one('decimal(5,2)', '1.005'), 101n);
  assert.equal(one('decimal(5,2)', '-1.005'), -101n);
  assert.equal(one('decimal(5,2)', '1.004'), 100n);
  assert.equal(one('decimal(5,2)', '"123.45"'), 12345n);
  assert.equal(one('decimal(5,2)', '0.1'), 10n);
  assert.equal(one('decimal(5,2)', '1e2'), 10000n);
  assert.equal(one('decimal(5,2)', '1e-50'), 0n);
  assert.equal(one('decimal(5,2)', '0.005'), 1n);
  assert.equal(one('decimal(5,2)', '-0.004'), 0n);
  assert.equal(one('decimal(38,18)', '12345678901234567890.123456789012345678'), 12345678901234567890123456789012345678n);
  rejects('decimal(5,2)', '1000', /1000 has more than 5 digits at scale 2 \(decimal\(5,2\) holds at most 3 digits before the point\)/);
  rejects('decimal(5,2)', '999.995', /more than 5 digits/); // rounds up to 1000.00
  rejects('decimal(5,2)', '"1,5"', /not a number/);
});

test('BOOLEAN takes true/false and their strings', () => {
  assert.equal(one('boolean', 'true'), true);
  assert.equal(one('boolean', '" FALSE "'), false);
  rejects('boolean', '1', /1 is not a boolean/);
});

test("DATE takes 'YYYY-MM-DD' or days since 1970-01-01 (proleptic Gregorian)", () => {
  assert.equal(one('date', '"1970-01-01"'), 0);
  assert.equal(one('date', '"2024-02-29"'), 19782);
  assert.equal(one('date', '"0001-01-01"'), -719162);
  assert.equal(one('date', '"9999-12-31"'), 2932896);
  assert.equal(one('date', '-1'), -1);
  rejects('date', '"2023-02-29"', /not a valid calendar date/);
  rejects('date', '"2024-13-01"', /not a valid calendar date/);
  rejects('date', '"01/02/2024"', /not a date \(expected 'YYYY-MM-DD'/);
  rejects('date', '1.5', /not a date as days since 1970-01-01/);
  rejects('date', '3000000', /outside Hive's date range/);
});

test('TIMESTAMP is the UTC wall clock in microseconds', () => {
  const micros = (iso: string) => BigInt(Date.parse(iso)) * 1000n;
  assert.equal(one('timestamp', '"2024-01-02 03:04:05"'), micros('2024-01-02T03:04:05Z'));
  assert.equal(one('timestamp', '"2024-01-02T03:04:05.123456"'), micros('2024-01-02T03:04:05Z') + 123456n);
  assert.equal(one('timestamp', '"2024-01-02T03:04:05.123456789Z"'), micros('2024-01-02T03:04:05Z') + 123456n, 'beyond micros is dropped');
  assert.equal(one('timestamp', '"2024-01-02T03:04:05+02:00"'), micros('2024-01-02T01:04:05Z'));
  assert.equal(one('timestamp', '"2024-01-02T03:04:05-0130"'), micros('2024-01-02T04:34:05Z'));
  assert.equal(one('timestamp', '"2024-01-02"'), micros('2024-01-02T00:00:00Z'));
  assert.equal(one('timestamp', '"2024-01-02 03:04"'), micros('2024-01-02T03:04:00Z'));
  assert.equal(one('timestamp', '1700000000123'), 1700000000123000n);
  assert.equal(one('timestamp', '"1700000000123"'), 1700000000123000n);
  assert.equal(one('timestamp', '"1969-12-31 23:59:59.5"'), -500000n);
  assert.equal(one('timestamp', '"0001-01-01 00:00:00"'), -62135596800000000n);
  rejects('timestamp', '"2024-01-02 24:00:00"', /not a valid time of day/);
  rejects('timestamp', '"yesterday"', /not a timestamp \(expected ISO-8601/);
  rejects('timestamp', '"0001-01-01T00:00:00+01:00"', /outside Hive's timestamp range/);
  rejects('timestamp', '1.5', /not a timestamp as epoch milliseconds/);
});

test('BINARY is standard base64', () => {
  assert.deepEqual(one('binary', '"AAEC/w=="'), new Uint8Array([0, 1, 2, 255]));
  assert.deepEqual(one('binary', '""'), new Uint8Array([]));
  rejects('binary', '"not base64!"', /not base64/);
  rejects('binary', '"AAE"', /not base64/);
});

test('ARRAY, MAP and STRUCT convert recursively; nested NULLs stay NULL', () => {
  assert.deepEqual(one('array<int>', '[1, null, "3"]'), [1, null, 3]);
  assert.deepEqual(one('map<int,decimal(4,1)>', '{"1": 2.25, "2": null}'), new Map([[1, 23n], [2, null]]));
  assert.deepEqual(one('struct<a:int,B:string,c:boolean>', '{"A": 1, "b": "x"}'), { a: 1, b: 'x', c: null });
  assert.deepEqual(
    one('array<struct<a:int,b:map<string,double>>>', '[{"a": 1, "b": {"k": 2.5}}, null, {"b": {}}]'),
    [{ a: 1, b: new Map([['k', 2.5]]) }, null, { a: null, b: new Map() }],
  );
});

test('a nested failure names the column and the path inside it', () => {
  rejects('array<struct<a:int>>', '[{"a": 1}, {"a": "x"}]', /^at c\[1\]\.a: "x" is not a number \(expected int\)$/);
  rejects('map<int,string>', '{"one": "x"}', /^at c key "one": "one" is not a number/);
  rejects('map<string,array<int>>', '{"k": [1, 2.5]}', /^at c\["k"\]\[1\]: 2\.5 is not a whole number/);
  rejects('array<int>', '{"a": 1}', /an object is not an array/);
  rejects('struct<a:int>', '[1]', /an array is not a JSON object \(expected struct\)/);
});

test('partitionValueOf gives the text Hive stores, or undefined for the default partition', () => {
  const record = parseRecordJson(
    '{"dt": "2024-01-01", "Country": "US", "n": 7, "big": 12345678901234567890, "d": 19782, ' +
      '"ts": "2024-01-02T03:04:05.500Z", "amount": 1.50, "flag": true, "empty": "", "nil": null}',
  );
  assert.equal(partitionValueOf(record, 'dt'), '2024-01-01');
  assert.equal(partitionValueOf(record, 'country'), 'US');
  assert.equal(partitionValueOf(record, 'n'), '7');
  assert.equal(partitionValueOf(record, 'big'), '12345678901234567890'); // a STRING key keeps the digits
  assert.equal(partitionValueOf(record, { name: 'n', type: 'int' }), '7');
  assert.equal(partitionValueOf(record, { name: 'd', type: 'date' }), '2024-02-29');
  assert.equal(partitionValueOf(record, { name: 'ts', type: 'timestamp' }), '2024-01-02 03:04:05.5');
  assert.equal(partitionValueOf(record, { name: 'amount', type: 'decimal(5,2)' }), '1.5');
  assert.equal(partitionValueOf(record, { name: 'flag', type: 'boolean' }), 'true');
  assert.equal(partitionValueOf(record, 'empty'), undefined);
  assert.equal(partitionValueOf(record, 'nil'), undefined);
  assert.equal(partitionValueOf(record, 'missing'), undefined);
});

test('partitionValueOf refuses values Hive could not hold as a directory, naming the key', () => {
  const check = (record: unknown, key: Parameters<typeof partitionValueOf>[1], reason: RegExp) =>
    assert.throws(() => partitionValueOf(record, key), (error: unknown) =>
      error instanceof RecordDecodeError && error.column === (typeof key === 'string' ? key : key.name) && reason.test(error.reason));
  check({ n: 'x' }, { name: 'n', type: 'int' }, /"x" is not a number/);
  check({ p: 'a'.repeat(300) }, 'p', /too long for a directory name \(302 bytes/);
  check({ p: '%'.repeat(100) }, 'p', /too long/); // escaping triples each '%'
  check({ p: '\ud800' }, 'p', /not well-formed Unicode/);
  assert.throws(() => partitionValueOf({ p: [1] }, { name: 'p', type: 'array<int>' }), /partition column "p" has type array<int>/);
});

test('records of plain integers take JSON.parse and decode exactly as through lossless-json', async () => {
  const { parse } = await import('lossless-json');
  const columns = [
    { name: 'i', type: 'int' }, { name: 'b', type: 'bigint' }, { name: 's', type: 'string' }, { name: 'd', type: 'decimal(20,2)' },
    { name: 'f', type: 'double' }, { name: 'a', type: 'array<bigint>' }, { name: 'm', type: 'map<string,string>' },
  ];
  const decode = makeRowDecoder(columns);
  const texts = [
    '{"i":1,"b":999999999999999,"s":-12,"d":7,"f":3,"a":[1,-2],"m":{"k":5}}', // fast path
    '{"i":-0,"b":0,"s":"x","d":-0,"f":-0}', // -0: lossless
    '{"i":1,"b":1234567890123456789,"s":12.50,"d":1.005,"f":1e-7,"a":[2.0],"m":{"k":1.10}}', // lossless
    '{"s":"version 1.2 of 9007199254740993","b":"9007199254740993"}', // strings trip the check: lossless, still exact
  ];
  for (const text of texts) assert.deepEqual(decode(parseRecordJson(text)), decode(parse(text)), text);
  assert.deepEqual(decode(parseRecordJson(texts[2]!)).slice(1, 3), [1234567890123456789n, '12.50']);
});

test('mayHoldInexactNumber says what /[0-9][.eE]|[0-9]{16}|-0(?![0-9])/ says, on random texts of digits, marks and letters', async () => {
  const { mayHoldInexactNumber } = await import('../../src/hive/convert.ts');
  const definition = /[0-9][.eE]|[0-9]{16}|-0(?![0-9])/;
  const alphabet = ['0', '5', '9', '.', 'e', 'E', '-', '"', 'a', 'b', 'c', 'x', 'y', ':', ',', ' ', '{', '}', 'k', 'q', 'z', '_'];
  let seed = 42;
  const random = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  let trueCount = 0;
  for (let k = 0; k < 20_000; k++) {
    // Long runs of digits too: the 16-digit rule samples every 16th character.
    const text = Array.from({ length: random(40) }, () => (random(10) === 0 ? '7'.repeat(1 + random(20)) : alphabet[random(alphabet.length)])).join('');
    const expected = definition.test(text);
    if (expected) trueCount++;
    assert.equal(mayHoldInexactNumber(text), expected, JSON.stringify(text));
  }
  assert.ok(trueCount > 4000 && trueCount < 16_000, `both answers are exercised (${trueCount} true)`);
  for (const text of ['', '-0', '-01', '-0]', 'x-', '1.', '.5', 'e5', '1e5', '123456789012345', '1234567890123456', 'a1234567890123456b', '{"a":-0.0}']) {
    assert.equal(mayHoldInexactNumber(text), definition.test(text), JSON.stringify(text));
  }
});
