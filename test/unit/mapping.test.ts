import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LosslessNumber } from 'lossless-json';
import type { KafkaRecord } from '../../src/format/format.ts';
import { compileMapping, MappingError } from '../../src/format/mapping/index.ts';
import { columnConverter, makePartitionValue, parseRecordJson, RecordDecodeError, type ColumnSpec } from '../../src/hive/convert.ts';

function record(over: Partial<KafkaRecord> = {}): KafkaRecord {
  return { partition: 3, offset: 42, timestamp: 1700000000123, key: Buffer.from('key-1'), value: null, ...over };
}

/** The value of one expression, as output `c` of a table whose only column is `c` of `type`. */
function value(expr: string, fields: unknown = {}, type = 'string', meta: KafkaRecord = record()): unknown {
  const mapping = compileMapping(`SELECT ${expr} AS c`, { columns: [{ name: 'c', type }], partitionKeys: [] });
  const values = mapping.evaluate(fields, meta);
  assert.ok(values, `${expr} filtered the record out`);
  return values[0];
}

/** The value from a JSON record, parsed as the task parses it (lossless). */
function fromJson(expr: string, json: string, type = 'string'): unknown {
  return value(expr, parseRecordJson(json), type);
}

function failsRecord(expr: string, fields: unknown, reason: RegExp, type = 'string'): void {
  assert.throws(() => value(expr, fields, type), (error: unknown) => {
    assert.ok(error instanceof RecordDecodeError, String(error));
    assert.equal(error.column, 'c');
    assert.match(error.reason, reason);
    assert.match(error.message, /^column "c": kafka\.mapping /);
    return true;
  }, expr);
}

const events = {
  columns: [{ name: 'userid', type: 'bigint' }, { name: 'page_url', type: 'string' }],
  partitionKeys: [{ name: 'dt', type: 'string' }, { name: 'hr', type: 'int' }],
};

function refuses(sql: string, reason: RegExp, line: number, column: number, table: { columns: ColumnSpec[]; partitionKeys: ColumnSpec[] } = events): void {
  assert.throws(() => compileMapping(sql, table), (error: unknown) => {
    assert.ok(error instanceof MappingError, String(error));
    assert.match(error.reason, reason);
    assert.deepEqual([error.line, error.column], [line, column], error.message);
    assert.equal(error.message, `kafka.mapping, line ${line} column ${column}: ${error.reason}`);
    return true;
  }, sql);
}

// ---- the example ----

const example = "SELECT payload.user.id AS userid, url AS page_url, date_format(from_unixtime(ts / 1000), 'yyyy-MM-dd') AS dt, " +
  "hour(from_unixtime(ts / 1000)) AS hr WHERE kind = 'view'";

test('the example: nested fields, renamed columns, time partitions from epoch millis, a WHERE', () => {
  const mapping = compileMapping(example, events);
  assert.deepEqual(mapping.outputs, ['userid', 'page_url', 'dt', 'hr']);
  const fields = parseRecordJson('{"payload": {"user": {"id": 9007199254740993}}, "url": "/home", "ts": 1700000000999, "kind": "view"}');
  const values = mapping.evaluate(fields, record())!;
  assert.deepEqual(values.slice(1), ['/home', '2023-11-14', 22]);
  // The caller converts with the same converters as the same-name rule: the id stays exact.
  assert.equal(columnConverter('bigint')(values[0]), 9007199254740993n);
  assert.equal(makePartitionValue({ name: 'hr', type: 'int' })(values[3]), '22');
  // Not a view, or no kind at all (NULL): filtered out.
  assert.equal(mapping.evaluate({ kind: 'click', ts: 0 }, record()), undefined);
  assert.equal(mapping.evaluate({ ts: 0 }, record()), undefined);
  // Before 1970: -1500 ms is second -2 (from_unixtime floors), 1969-12-31 23:59:58.
  assert.deepEqual(mapping.evaluate({ kind: 'view', ts: -1500, url: '/old' }, record()), [null, '/old', '1969-12-31', 23]);
  // A missing ts is NULL all the way through.
  assert.deepEqual(mapping.evaluate({ kind: 'view' }, record()), [null, null, null, null]);
});

test('outputs are named by AS, else by the last name of their path, in lower case', () => {
  const table = { columns: [{ name: 'Id', type: 'int' }, { name: 'url', type: 'string' }, { name: 'date', type: 'string' }], partitionKeys: [] };
  const mapping = compileMapping('SELECT payload.user.ID, raw.URL AS Url, d AS date FROM events', table);
  assert.deepEqual(mapping.outputs, ['id', 'url', 'date']);
  assert.deepEqual(mapping.evaluate({ payload: { user: { id: 1 } }, raw: { url: '/x' }, d: 'today' }, record()), [1, '/x', 'today']);
  // A keyword as a field name: DATE without parentheses is the field `date`.
  assert.deepEqual(compileMapping('SELECT date', table).evaluate({ Date: 'd' }, record()), ['d']);
});

// ---- field references ----

test('field references: nested paths, case-insensitive like Hive, missing or through a non-object is NULL', () => {
  const fields = { a: { b: { c: { d: 'deep' } } }, Mixed: { Case: 1 }, list: [1, 2], s: 'text', n: null, userId: 7, userid: 8 };
  assert.equal(value('a.b.c.d', fields), 'deep');
  assert.equal(value('A.B.C.D', fields), 'deep');
  assert.equal(value('mixed.`case`', fields, 'int'), 1); // a keyword, backquoted as in Hive
  assert.equal(value('userId', fields, 'int'), 7); // the spelling written wins
  assert.equal(value('USERID', fields, 'int'), 8); // then its lower case
  assert.equal(value('missing', fields), null);
  assert.equal(value('a.missing.deeper', fields), null);
  assert.equal(value('s.length', fields), null); // through a string
  assert.equal(value('list.x', fields), null); // through an array
  assert.equal(value('n.x', fields), null);
  assert.deepEqual(value('a.b', fields, 'struct<c:struct<d:string>>'), { c: { d: 'deep' } });
  // A tombstone (no value) has no fields: every field is NULL.
  assert.equal(value('a.b', undefined), null);
});

test('backquoted names, array indexes from 0, and map keys', () => {
  const fields = { 'odd name': { 'x.y': 5 }, items: [{ name: 'first' }, { name: 'second' }], m: { Key: 'exact', key: 'lower' }, grid: [[1, 2], [3, 4]] };
  assert.equal(value('`odd name`.`x.y`', fields, 'int'), 5);
  assert.deepEqual(value('items[0]', fields, 'struct<name:string>'), { name: 'first' });
  assert.equal(value('items[1].name', fields), 'second');
  assert.equal(value('items[2].name', fields), null); // out of range
  assert.equal(value('grid[1][0]', fields, 'int'), 3);
  assert.equal(value("m['Key']", fields), 'exact'); // map keys as written
  assert.equal(value("m['KEY']", fields), null);
});

test('string and number literals, TRUE, FALSE and NULL', () => {
  assert.equal(value("'it''s'"), "it's");
  assert.equal(value('"double"'), 'double');
  assert.equal(value("'a\\\\b'"), 'a\\b');
  assert.equal(value('42', {}, 'int'), 42);
  assert.equal(value('2.5', {}, 'double'), 2.5);
  assert.equal(value('9223372036854775807', {}, 'bigint'), 9223372036854775807n);
  assert.equal(value('-9223372036854775808', {}, 'bigint'), -9223372036854775808n);
  assert.equal(value('TRUE', {}, 'boolean'), true);
  assert.equal(value('false', {}, 'boolean'), false);
  assert.equal(value('NULL'), null);
});

// ---- Kafka metadata ----

test('Kafka metadata pseudo-columns, named as in Hive\'s Kafka handler', () => {
  const headers = new Map([['source', Buffer.from('web')], ['Content-Type', Buffer.from('application/json')]]);
  const meta = record({ key: Buffer.from('clé'), headers });
  assert.equal(value('__key', {}, 'string', meta), 'clé');
  assert.equal(value('__KEY', {}, 'string', meta), 'clé');
  assert.equal(value('__key', {}, 'string', record({ key: null })), null);
  assert.equal(value('__partition', {}, 'int', meta), 3);
  assert.equal(value('__offset', {}, 'bigint', meta), 42);
  assert.equal(value('__timestamp', {}, 'bigint', meta), 1700000000123);
  assert.equal(value('__headers.source', {}, 'string', meta), 'web');
  assert.equal(value("__headers['Content-Type']", {}, 'string', meta), 'application/json');
  assert.equal(value('__headers.`content-type`', {}, 'string', meta), 'application/json'); // names match ignoring case
  assert.equal(value('__headers.missing', {}, 'string', meta), null);
  assert.equal(value('__headers.source', {}, 'string', record()), null); // a record without headers
  assert.deepEqual(value('__headers', {}, 'map<string,string>', meta), { source: 'web', 'Content-Type': 'application/json' });
  // Metadata wins over a record field of the same name; its name is the output's.
  const mapping = compileMapping('SELECT __offset, __headers.source', { columns: [{ name: '__offset', type: 'bigint' }, { name: 'source', type: 'string' }], partitionKeys: [] });
  assert.deepEqual(mapping.outputs, ['__offset', 'source']);
  assert.deepEqual(mapping.evaluate({ __offset: 'field' }, meta), [42, 'web']);
  // Usable in expressions and in the WHERE.
  const keyed = compileMapping("SELECT concat(__key, '@', CAST(__partition AS string)) AS page_url WHERE __key IS NOT NULL", events);
  assert.deepEqual(keyed.evaluate({}, meta), ['clé@3']);
  assert.equal(keyed.evaluate({}, record({ key: null })), undefined);
  refuses('SELECT __key.x AS page_url', /"__key\.x": __key has no fields/, 1, 8);
});

// ---- CAST ----

test('CAST to Hive types; integers and decimals stay exact, beyond 2^53 too', () => {
  assert.equal(value("CAST('9223372036854775807' AS BIGINT)", {}, 'bigint'), 9223372036854775807n);
  assert.equal(fromJson('CAST(id AS BIGINT)', '{"id": 9007199254740993}', 'bigint'), 9007199254740993n);
  assert.equal(fromJson('CAST(id AS BIGINT) + 1', '{"id": 9007199254740993}', 'bigint'), 9007199254740994n);
  assert.equal(fromJson('CAST(id AS STRING)', '{"id": 12345678901234567890.50}'), '12345678901234567890.50');
  failsRecord("CAST('9223372036854775808' AS BIGINT)", {}, /"CAST\('9223372036854775808' AS BIGINT\)": "9223372036854775808" is out of range for bigint/, 'bigint');
  // Hive truncates a fraction toward zero; on the digits, so exactly.
  assert.equal(value('CAST(x AS INT)', { x: 1.9 }, 'int'), 1);
  assert.equal(value('CAST(x AS INT)', { x: -1.9 }, 'int'), -1);
  assert.equal(value("CAST('12.7' AS SMALLINT)", {}, 'smallint'), 12);
  assert.equal(fromJson('CAST(x AS BIGINT)', '{"x": 9007199254740993.9}', 'bigint'), 9007199254740993n);
  assert.equal(value('CAST(ms / 1000 AS BIGINT)', { ms: 1700000000999 }, 'bigint'), 1700000000n);
  assert.equal(value('CAST(TRUE AS INT)', {}, 'int'), 1);
  failsRecord('CAST(x AS TINYINT)', { x: 200 }, /200 is out of range for tinyint/, 'tinyint');
  failsRecord('CAST(x AS INT)', { x: 'abc' }, /"abc" is not a number \(expected int\)/, 'int');
  // DECIMAL: rounded half up to the scale, as exact text.
  const price = fromJson('CAST(p AS DECIMAL(38,2))', '{"p": 123456789012345678901234567890123.455}', 'decimal(38,2)');
  assert.ok(price instanceof LosslessNumber);
  assert.equal(price.value, '123456789012345678901234567890123.46');
  assert.equal(columnConverter('decimal(38,2)')(price), 12345678901234567890123456789012346n);
  assert.equal((value("CAST('1.005' AS DECIMAL(10,2))", {}, 'string') as LosslessNumber).toString(), '1.01');
  failsRecord("CAST('123.4' AS DECIMAL(3,1))", {}, /has more than 3 digits/, 'string');
  assert.equal(value("CAST('2.5' AS DOUBLE)", {}, 'double'), 2.5);
  assert.equal(value("CAST('0.1' AS FLOAT)", {}, 'float'), Math.fround(0.1));
  assert.equal(value('CAST(x AS VARCHAR(3))', { x: 'abcdef' }), 'abc');
  assert.equal(value('CAST(x AS CHAR(3))', { x: 'a' }), 'a  ');
  assert.equal(value('CAST(x AS STRING)', { x: { a: [1] } }), '{"a":[1]}');
  assert.equal(value("CAST('true' AS BOOLEAN)", {}, 'boolean'), true);
  assert.equal(value('CAST(0 AS BOOLEAN)', {}, 'boolean'), false);
  assert.equal(value('CAST(2 AS BOOLEAN)', {}, 'boolean'), true);
  failsRecord("CAST('maybe' AS BOOLEAN)", {}, /"maybe" is not a boolean/, 'boolean');
  // DATE and TIMESTAMP as the text Hive prints, which DATE, TIMESTAMP and STRING columns all read.
  assert.equal(value("CAST('2024-02-03 10:00:00' AS DATE)", {}, 'date'), '2024-02-03');
  assert.equal(value("CAST('1969-12-31' AS DATE)", {}, 'date'), '1969-12-31');
  assert.equal(value('CAST(x AS TIMESTAMP)', { x: 1700000000123 }, 'timestamp'), '2023-11-14 22:13:20.123');
  assert.equal(value('CAST(x AS TIMESTAMP)', { x: '2024-01-02T03:04:05+02:00' }, 'timestamp'), '2024-01-02 01:04:05');
  assert.equal(value('CAST(x AS TIMESTAMP)', { x: -1 }, 'timestamp'), '1969-12-31 23:59:59.999');
  assert.equal(columnConverter('timestamp')(value("CAST('1969-12-31 23:59:59.5' AS TIMESTAMP)", {}, 'timestamp')), -500000n);
  assert.equal(value('CAST(x AS INT)', { x: null }, 'int'), null);
});

// ---- functions ----

test('COALESCE and NVL take the first value that is not NULL', () => {
  assert.equal(value("COALESCE(a, b, 'z')", { b: 'b' }), 'b');
  assert.equal(value("coalesce(a, b, 'z')", {}), 'z');
  assert.equal(value('COALESCE(a, b)', { a: 0, b: 1 }, 'int'), 0);
  assert.equal(value('COALESCE(a)', {}), null);
  assert.equal(value("nvl(a, 'none')", { a: null }), 'none');
});

test('lower, upper, concat, trim, length; NULL in, NULL out', () => {
  assert.equal(value('lower(a)', { a: 'MiXeD' }), 'mixed');
  assert.equal(value('UPPER(a)', { a: 'MiXeD' }), 'MIXED');
  assert.equal(value('lower(a)', {}), null);
  assert.equal(value("concat(a, '-', b, '-', n)", { a: 'x', b: true, n: 12.5 }), 'x-true-12.5');
  assert.equal(fromJson("concat(id, '')", '{"id": 12345678901234567890}'), '12345678901234567890');
  assert.equal(value("concat(a, '-', b)", { a: 'x' }), null); // Hive: any NULL argument gives NULL
  assert.equal(value("a || '/' || b", { a: 'x', b: 'y' }), 'x/y');
  assert.equal(value('trim(a)', { a: '  padded \t ' }), 'padded \t'); // spaces only, as Hive
  assert.equal(value('ltrim(a)', { a: '  x  ' }), 'x  ');
  assert.equal(value('rtrim(a)', { a: '  x  ' }), '  x');
  assert.equal(value('length(a)', { a: 'héllo😀' }, 'int'), 6); // characters, not UTF-16 units
  assert.equal(value('length(a)', { a: 12345 }, 'int'), 5);
  assert.equal(value('length(a)', {}, 'int'), null);
  failsRecord('lower(a)', { a: { nested: 1 } }, /"lower\(a\)": an object is not a string/);
});

test('substr and substring: 1-based, a negative start counts from the end, as Hive', () => {
  const s = { s: 'hello' };
  assert.equal(value('substr(s, 2)', s), 'ello');
  assert.equal(value('substr(s, 2, 3)', s), 'ell');
  assert.equal(value('substr(s, -3)', s), 'llo');
  assert.equal(value('substr(s, -3, 2)', s), 'll');
  assert.equal(value('substring(s, 0, 2)', s), 'he'); // 0 is the start, as 1
  assert.equal(value('substr(s, 4, 100)', s), 'lo');
  assert.equal(value('substr(s, 6)', s), '');
  assert.equal(value('substr(s, -6)', s), '');
  assert.equal(value('substr(s, 1, 0)', s), '');
  assert.equal(value('substr(s, 1, -1)', s), '');
  assert.equal(value('substr(e, -2)', { e: 'a😀b😀' }), 'b😀');
  assert.equal(value('substr(s, p)', { s: 'hello' }), null);
  assert.equal(value('substr(s, 2)', {}), null);
  failsRecord("substr(s, 'x')", s, /"substr\(s, 'x'\)": "x" is not a number \(the start\)/);
});

test('from_unixtime: seconds to a UTC timestamp string, floored, before 1970 too', () => {
  assert.equal(value('from_unixtime(0)'), '1970-01-01 00:00:00');
  assert.equal(value('from_unixtime(s)', { s: 1700000000 }), '2023-11-14 22:13:20');
  assert.equal(value('from_unixtime(-1)'), '1969-12-31 23:59:59');
  assert.equal(value('from_unixtime(s)', { s: -86401 }), '1969-12-30 23:59:59');
  assert.equal(value('from_unixtime(ms / 1000)', { ms: 1700000000999 }), '2023-11-14 22:13:20');
  assert.equal(value('from_unixtime(ms / 1000)', { ms: -1 }), '1969-12-31 23:59:59'); // floor, not toward zero
  assert.equal(value('from_unixtime(s)', { s: '1700000000' }), '2023-11-14 22:13:20');
  assert.equal(value("from_unixtime(s, 'yyyy/MM/dd HH')", { s: 1700000000 }), '2023/11/14 22');
  assert.equal(value('from_unixtime(s)', { s: -62135596800 }), '0001-01-01 00:00:00');
  assert.equal(value('from_unixtime(s)', {}), null);
  failsRecord('from_unixtime(s)', { s: 'soon' }, /"from_unixtime\(s\)": "soon" is not a number of seconds/);
  failsRecord('from_unixtime(s)', { s: 1e15 }, /outside Hive's timestamp range/);
  // A timestamp string that TIMESTAMP columns read.
  assert.equal(columnConverter('timestamp')(value('from_unixtime(s)', { s: -1 }, 'timestamp')), -1_000_000n);
});

test('unix_timestamp: a timestamp or date string to seconds since 1970 (UTC)', () => {
  assert.equal(value('unix_timestamp(t)', { t: '2023-11-14 22:13:20' }, 'bigint'), 1700000000);
  assert.equal(value('unix_timestamp(t)', { t: '1969-12-31 23:59:59.5' }, 'bigint'), -1);
  assert.equal(value('unix_timestamp(t)', { t: '1970-01-02' }, 'bigint'), 86400);
  assert.equal(value('unix_timestamp(from_unixtime(s))', { s: -12345 }, 'bigint'), -12345);
});

test('date_format: SimpleDateFormat letters and quoted text, in UTC', () => {
  const t = { t: '2024-03-05 07:08:09.123456' };
  assert.equal(value("date_format(t, 'yyyy-MM-dd HH:mm:ss.SSS')", t), '2024-03-05 07:08:09.123');
  assert.equal(value("date_format(t, 'yyyy-MM-dd')", t), '2024-03-05');
  assert.equal(value("date_format(t, 'yyyyMMdd''T''HHmm')", t), '20240305T0708');
  assert.equal(value(`date_format(t, "'at' H:m:s, yy M d ''")`, t), "at 7:8:9, 24 3 5 '");
  assert.equal(value("date_format(t, 'EEE EEEE MMM MMMM DDD D hh a')", t), 'Tue Tuesday Mar March 065 65 07 AM');
  assert.equal(value("date_format(t, 'h a k K u')", { t: '2024-03-05 00:30:00' }), '12 AM 24 0 2');
  assert.equal(value("date_format(t, 'h a')", { t: '2024-03-05 13:30:00' }), '1 PM');
  assert.equal(value("date_format(t, 'yyyy-MM-dd HH')", { t: '2024-02-29' }), '2024-02-29 00'); // a date is its midnight
  assert.equal(value("date_format(t, 'yyyy-MM-dd HH:mm')", { t: '1969-07-20 20:17:40' }), '1969-07-20 20:17');
  assert.equal(value("date_format(t, 'EEEE')", { t: '1969-12-31' }), 'Wednesday');
  assert.equal(value("date_format(t, 'yyyy-MM-dd')", { t: '0001-01-01 00:00:00' }), '0001-01-01');
  assert.equal(value("date_format(t, 'yyyy-MM-dd HH:mm:ss')", { t: 1700000000123 }), '2023-11-14 22:13:20'); // a number is epoch millis
  assert.equal(value("date_format(t, 'yyyy')", {}), null);
  failsRecord("date_format(t, 'yyyy')", { t: '2023-02-29' }, /"date_format\(t, 'yyyy'\)": "2023-02-29" is not a valid calendar date/);
  failsRecord("date_format(t, 'yyyy')", { t: 'yesterday' }, /"yesterday" is not a timestamp/);
});

test('to_date, year, month, day, hour, minute, second of timestamps and dates', () => {
  assert.equal(value('to_date(t)', { t: '2024-02-29 13:00:00' }, 'date'), '2024-02-29');
  assert.equal(value('to_date(t)', { t: '1969-12-31 23:59:59.999' }, 'date'), '1969-12-31');
  assert.equal(value('to_date(t)', { t: '2024-02-29' }, 'string'), '2024-02-29');
  assert.equal(value('to_date(from_unixtime(s))', { s: -1 }, 'date'), '1969-12-31');
  assert.equal(value('hour(t)', { t: '2024-01-01 13:45:10' }, 'int'), 13);
  assert.equal(value('hour(t)', { t: '2024-01-01' }, 'int'), 0);
  assert.equal(value('hour(from_unixtime(s))', { s: -1 }, 'int'), 23);
  assert.equal(value('minute(t)', { t: '2024-01-01 13:45:10' }, 'int'), 45);
  assert.equal(value('second(t)', { t: '2024-01-01 13:45:10' }, 'int'), 10);
  assert.equal(value('year(t)', { t: '1969-12-31 23:00:00' }, 'int'), 1969);
  assert.equal(value('month(t)', { t: '1969-12-31' }, 'int'), 12);
  assert.equal(value('day(t)', { t: '1969-12-31' }, 'int'), 31);
  assert.equal(value('dayofmonth(t)', { t: '2024-02-29' }, 'int'), 29);
  assert.equal(value('hour(t)', { t: null }, 'int'), null);
  failsRecord('hour(t)', { t: '25:00' }, /"hour\(t\)": "25:00" is not a timestamp/, 'int');
});

test('arithmetic: exact integers, double division, NULL on a zero divisor', () => {
  assert.equal(value('a + b * 2 - 1', { a: 1, b: 3 }, 'int'), 6);
  assert.equal(value('(a + b) * 2', { a: 1, b: 3 }, 'int'), 8);
  assert.equal(value('a / b', { a: 7, b: 2 }, 'double'), 3.5);
  assert.equal(value('a / 0', { a: 7 }, 'double'), null);
  assert.equal(value('a % 3', { a: 7 }, 'int'), 1);
  assert.equal(value('a % 3', { a: -7 }, 'int'), -1); // sign of the dividend, as Java
  assert.equal(value('a % 0', { a: 7 }, 'int'), null);
  assert.equal(value('-a', { a: 5 }, 'int'), -5);
  assert.equal(value('a + 0.5', { a: 1 }, 'double'), 1.5);
  assert.equal(value("a + '2'", { a: 1 }, 'int'), 3); // numeric strings are numbers, as Hive
  assert.equal(fromJson('id + 1', '{"id": 9007199254740993}', 'bigint'), 9007199254740994n);
  assert.equal(fromJson('id * 1000', '{"id": 9007199254740993}', 'string'), 9007199254740993000n);
  assert.equal(value('a * b', { a: 2 ** 52, b: 4 }, 'bigint'), 2n ** 54n);
  assert.equal(fromJson('-id', '{"id": 9223372036854775807}', 'bigint'), -9223372036854775807n);
  assert.equal(value('a + 1', {}, 'int'), null);
  assert.equal(value('floor(a)', { a: -1.5 }, 'bigint'), -2);
  assert.equal(value('ceil(a)', { a: 1.2 }, 'bigint'), 2);
  assert.equal(value('abs(a)', { a: -3 }, 'int'), 3);
  failsRecord('a + 1', { a: 'abc' }, /"a \+ 1": "abc" is not a number/, 'int');
  failsRecord('a * 2', { a: [1] }, /"a \* 2": an array is not a number/, 'int');
});

test('comparisons, AND/OR/NOT with NULL as SQL, IS NULL, IN, LIKE, RLIKE, BETWEEN, CASE, IF', () => {
  const f = { n: 5, s: 'abc', t: true, big: 9007199254740993n, num: '10' };
  const bool = (expr: string, fields: unknown = f) => value(expr, fields, 'boolean');
  assert.equal(bool('n = 5'), true);
  assert.equal(bool('n != 5'), false);
  assert.equal(bool('n <> 4'), true);
  assert.equal(bool('n < 6 AND n <= 5 AND n > 4 AND n >= 5'), true);
  assert.equal(bool("s < 'abd'"), true);
  assert.equal(bool('num = 10'), true); // a numeric string against a number compares numbers
  assert.equal(bool("num = '10.0'"), false); // two strings compare as strings
  assert.equal(bool('big > 9007199254740992'), true); // exact, beyond 2^53
  assert.equal(bool('s = 1'), null); // does not compare: NULL, as Hive
  assert.equal(bool('t = TRUE'), true);
  assert.equal(bool('missing = 1'), null);
  // Three-valued logic.
  assert.equal(bool('missing = 1 AND n = 4'), false);
  assert.equal(bool('missing = 1 AND n = 5'), null);
  assert.equal(bool('missing = 1 OR n = 5'), true);
  assert.equal(bool('missing = 1 OR n = 4'), null);
  assert.equal(bool('NOT (missing = 1)'), null);
  assert.equal(bool('NOT n = 4'), true);
  assert.equal(bool('missing IS NULL'), true);
  assert.equal(bool('n IS NOT NULL'), true);
  assert.equal(bool('t IS TRUE'), true);
  assert.equal(bool('missing IS FALSE'), false);
  assert.equal(bool('missing IS NOT TRUE'), true);
  assert.equal(bool('n IN (1, 5, 9)'), true);
  assert.equal(bool('n IN (1, 2)'), false);
  assert.equal(bool('n IN (1, NULL)'), null);
  assert.equal(bool('n NOT IN (1, 2)'), true);
  assert.equal(bool("s IN ('x', 'abc')"), true);
  assert.equal(bool("s LIKE 'a%'"), true);
  assert.equal(bool("s LIKE '_b_'"), true);
  assert.equal(bool("s LIKE 'b%'"), false);
  assert.equal(bool("s NOT LIKE '%z%'"), true);
  assert.equal(bool("p LIKE '100\\%'", { p: '100%' }), true);
  assert.equal(bool("p LIKE '100\\%'", { p: '1000' }), false);
  assert.equal(bool("s LIKE pattern", { s: 'abc', pattern: '%c' }), true);
  assert.equal(bool("s RLIKE '^a.c$'"), true);
  assert.equal(bool("s RLIKE 'b'"), true); // finds, as Hive's RLIKE
  assert.equal(bool('n BETWEEN 1 AND 5'), true);
  assert.equal(bool('n NOT BETWEEN 1 AND 4'), true);
  assert.equal(value("CASE WHEN n > 3 THEN 'big' WHEN n > 1 THEN 'small' ELSE 'tiny' END", f), 'big');
  assert.equal(value("CASE n WHEN 1 THEN 'one' WHEN 5 THEN 'five' END", f), 'five');
  assert.equal(value("CASE n WHEN 1 THEN 'one' END", f), null);
  assert.equal(value("IF(n > 3, 'yes', 'no')", f), 'yes');
  assert.equal(value("IF(missing > 3, 'yes', 'no')", f), 'no');
  failsRecord('o = 1', { o: { a: 1 } }, /"o = 1": an object cannot be compared/, 'boolean');
});

// ---- WHERE ----

test('WHERE keeps a record only when TRUE: FALSE and NULL filter it out', () => {
  const mapping = compileMapping('SELECT url AS page_url WHERE status >= 200 AND status < 300 AND NOT bot', events);
  assert.deepEqual(mapping.evaluate({ url: '/a', status: 200, bot: false }, record()), ['/a']);
  assert.equal(mapping.evaluate({ url: '/a', status: 404, bot: false }, record()), undefined);
  assert.equal(mapping.evaluate({ url: '/a', status: 200 }, record()), undefined); // bot is NULL: NOT NULL is NULL
  assert.equal(mapping.evaluate({ url: '/a', status: 'n/a', bot: false }, record()), undefined); // does not compare
  assert.deepEqual(mapping.evaluate({ url: '/a', status: 200, bot: 'false' }, record()), ['/a']);
  assert.equal(mapping.evaluate(undefined, record()), undefined); // a tombstone: every field NULL
  // A value that is no condition fails the record, naming the WHERE but no column.
  assert.throws(() => mapping.evaluate({ url: '/a', status: 200, bot: 'sometimes' }, record()), (error: unknown) => {
    assert.ok(error instanceof RecordDecodeError);
    assert.equal(error.column, undefined);
    assert.match(error.reason, /^kafka\.mapping "NOT bot": "sometimes" is not TRUE or FALSE/);
    return true;
  });
  const flagged = compileMapping('SELECT url AS page_url WHERE flag', events);
  assert.throws(() => flagged.evaluate({ flag: 1 }, record()), /WHERE "flag": 1 is not TRUE or FALSE/);
  assert.deepEqual(flagged.evaluate({ flag: true, url: 'u' }, record()), ['u']);
});

test('a multi-line mapping with comments, FROM left in, and keywords as names', () => {
  const sql = `SELECT
    payload.user.id AS userid, -- the user
    /* the page */ url AS page_url,
    to_date( `+ '`ts`' + `) AS dt,
    hour(ts) AS hr
  FROM topic
  WHERE kind IN ('view', 'click')`;
  const mapping = compileMapping(sql, events);
  assert.deepEqual(mapping.evaluate({ payload: { user: { id: '12' } }, url: 'u', ts: '2024-01-02 03:04:05', kind: 'click' }, record()), ['12', 'u', '2024-01-02', 3]);
});

// ---- refused mappings ----

test('a syntax error is refused at the parser\'s line and column', () => {
  refuses('SELECT a AS userid,\n  b c d', /^syntax error at "d"/, 2, 7);
  refuses('SELECT a AS userid WHERE', /^syntax error: the SQL ends too early, after "SELECT a AS userid WHERE"/, 1, 25);
  refuses("SELECT 'open AS userid", /^syntax error/, 1, 23);
  refuses('SELECT CAST(a AS map<string,int>) AS userid', /^syntax error at "map<string,int>\) AS userid"/, 1, 18);
  refuses('', /the mapping is empty/, 1, 1);
  refuses('INSERT INTO t VALUES (1)', /must be a SELECT, not INSERT/, 1, 1);
});

test('an unknown function is refused, naming it and the supported ones', () => {
  refuses('SELECT a AS userid,\n       md5(b) AS page_url', /^"md5\(b\)": unknown function md5 \(kafka\.mapping supports: abs, cast, .*date_format.*\)/, 2, 8);
  refuses('SELECT constructor(a) AS userid', /unknown function constructor/, 1, 8);
  refuses('SELECT lower(current_timestamp) AS page_url', /unknown function current_timestamp/, 1, 14);
});

test('a wrong number of arguments is refused', () => {
  refuses('SELECT substr(a) AS page_url', /^"substr\(a\)": substr takes 2 or 3 arguments, not 1/, 1, 8);
  refuses("SELECT url AS page_url, date_format(ts) AS dt", /date_format takes 2 arguments, not 1/, 1, 25);
  refuses('SELECT lower(a, b) AS page_url', /lower takes 1 argument, not 2/, 1, 8);
  refuses('SELECT concat() AS page_url', /concat takes at least 1 arguments, not 0/, 1, 8);
});

test('an output that is not a column is refused, listing the table\'s columns', () => {
  refuses('SELECT a AS userid,\n  lower(b) AS nope', /^"lower\(b\) AS nope": nope is not a column of the table \(columns: userid, page_url; partition columns: dt, hr\)/, 2, 15);
  refuses('SELECT payload.user.name', /"payload\.user\.name": name is not a column/, 1, 8);
  refuses('SELECT lower(a)', /^"lower\(a\)" needs a name: add AS and the column it fills/, 1, 8);
  refuses('SELECT *', /^"\*": SELECT \* is not supported in kafka\.mapping: list the columns/, 1, 8);
});

test('a duplicate output is refused', () => {
  refuses('SELECT a AS userid, b AS UserId', /^"b AS UserId": the output userid is given twice \(first by "a AS userid"\)/, 1, 26);
  refuses('SELECT x.userid, y.userid', /the output userid is given twice/, 1, 18);
});

test('a column typed wrongly is refused: the expression\'s type cannot convert to the column\'s', () => {
  const table = {
    columns: [
      { name: 'n', type: 'int' }, { name: 'flag', type: 'boolean' }, { name: 'd', type: 'date' },
      { name: 'ts', type: 'timestamp' }, { name: 'tags', type: 'array<string>' }, { name: 'amount', type: 'decimal(10,2)' },
    ],
    partitionKeys: [{ name: 'day', type: 'date' }],
  };
  refuses('SELECT to_date(x) AS n', /^"to_date\(x\) AS n" gives a DATE, which column n of type int cannot take/, 1, 8, table);
  refuses('SELECT a AS ts,\n  hour(x) AS d', /"hour\(x\) AS d" gives a number, which column d of type date cannot take/, 2, 3, table);
  refuses('SELECT from_unixtime(s) AS day', /gives a TIMESTAMP, which partition column day of type date cannot take \(to_date\(\) gives its date\)/, 1, 8, table);
  refuses('SELECT CAST(x AS BOOLEAN) AS amount', /gives a BOOLEAN, which column amount of type decimal\(10,2\) cannot take/, 1, 8, table);
  refuses('SELECT length(x) AS flag', /gives a number, which column flag of type boolean cannot take/, 1, 8, table);
  refuses('SELECT x = 1 AS ts', /gives a BOOLEAN, which column ts of type timestamp cannot take/, 1, 8, table);
  refuses("SELECT 'a' AS tags", /gives a STRING, which column tags of type array<string> cannot take/, 1, 8, table);
  // What could convert is left to the record: strings may hold numbers, booleans or dates; numbers are epoch millis.
  const ok = compileMapping("SELECT lower(x) AS flag, date_format(x, 'yyyyMMdd') AS n, substr(x, 1, 10) AS d, __timestamp AS ts, " +
    'to_date(x) AS day, CAST(y AS DOUBLE) AS amount, list AS tags', table);
  assert.deepEqual(ok.evaluate({ x: '2024-01-02 03:04:05', y: '1.5', list: ['a'] }, record()),
    ['2024-01-02 03:04:05', '20240102', '2024-01-02', 1700000000123, '2024-01-02', 1.5, ['a']]);
});

test('aggregates, GROUP BY, ORDER BY, LIMIT, JOIN, subqueries and the like are refused where they are', () => {
  refuses('SELECT count(*) AS userid', /^"count\(\*\)": aggregate function count is not supported in kafka\.mapping/, 1, 8);
  refuses('SELECT a AS page_url,\n  sum(b) AS userid', /"sum\(b\)": aggregate function sum is not supported/, 2, 3);
  refuses('SELECT a AS userid GROUP BY a', /^GROUP BY is not supported in kafka\.mapping/, 1, 20);
  refuses('SELECT a AS userid FROM t\nORDER BY a', /^ORDER BY is not supported/, 2, 1);
  refuses('SELECT a AS userid LIMIT 10', /^LIMIT is not supported/, 1, 20);
  refuses('SELECT DISTINCT a AS userid', /^DISTINCT is not supported/, 1, 8);
  refuses('SELECT a AS userid FROM t JOIN u ON t.a = u.a', /JOIN is not supported in kafka\.mapping/, 1, 27);
  refuses('SELECT a AS userid WHERE a IN (SELECT b FROM c)', /^subqueries are not supported in kafka\.mapping/, 1, 32);
  refuses('SELECT a AS userid UNION SELECT b AS userid', /^UNION is not supported/, 1, 20);
  refuses('SELECT a AS userid; SELECT b AS userid', /one SELECT, not several statements/, 1, 21);
  refuses('SELECT row_number() OVER (PARTITION BY a) AS userid', /window functions \(OVER\) are not supported/, 1, 8);
});

test('other mistakes are refused at their position', () => {
  refuses("SELECT date_format(ts, 'yyyy-QQ') AS dt", /^"date_format\(ts, 'yyyy-QQ'\)": the pattern letter Q in 'yyyy-QQ' is not supported/, 1, 24);
  refuses('SELECT date_format(ts, fmt) AS dt', /the pattern must be a string literal/, 1, 24);
  refuses("SELECT url AS page_url WHERE url RLIKE '('", /"'\('" is not a valid regular expression/, 1, 40);
  refuses('SELECT CAST(a AS DECIMAL(40,2)) AS userid', /decimal precision must be between 1 and 38/, 1, 8);
  refuses('SELECT CAST(a AS JSON) AS userid', /CAST to json is not supported in kafka\.mapping \(Hive types: string, varchar\(n\)/, 1, 8);
  refuses('SELECT a AS userid WHERE hour(x) + 1', /^"hour\(x\) \+ 1" is a number, but WHERE needs a condition/, 1, 26);
  refuses('SELECT to_date(x) + 1 AS userid', /^"to_date\(x\)" is a DATE, which \+ cannot take/, 1, 8);
  refuses('SELECT a::int AS userid', /:: casts are not supported/, 1, 8);
  refuses("SELECT a AS userid, lower(a) AS page_url\nWHERE a = 1 AND\n  lower(b, c) = 'x'", /"lower\(b, c\)": lower takes 1 argument, not 2/, 3, 3);
  refuses("SELECT date_format(m['yyyy'], 'QQ') AS dt", /the pattern letter Q in 'QQ'/, 1, 31); // not at the path's ['yyyy']
  refuses('SELECT items[1.5] AS userid', /^"items\[1\.5\]": an index must be a whole number literal/, 1, 8);
});
