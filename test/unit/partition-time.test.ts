import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KafkaRecord } from '../../src/format/format.ts';
import { parsePartitionTime } from '../../src/format/partition-time.ts';
import { RecordDecodeError } from '../../src/hive/convert.ts';

const key = (name: string, type = 'string') => ({ name, type });

function record(timestamp: number): KafkaRecord {
  return { partition: 0, offset: 0, timestamp, key: null, value: null, headers: new Map() };
}

const at = (iso: string) => Date.parse(iso);

function badProperty(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof Error && !(error instanceof RecordDecodeError), String(error));
    assert.match(error.message, message);
    return true;
  });
}

function badRecord(fn: () => unknown, column: string, reason: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RecordDecodeError, String(error));
    assert.equal(error.column, column);
    assert.match(error.reason, reason);
    return true;
  });
}

test('timestamp: the Kafka record time, dt and hr by default, other keys left to the same-name rule', () => {
  const time = parsePartitionTime('timestamp', undefined, [key('dt'), key('country'), key('hr')]);
  assert.deepEqual(time.source, { kind: 'timestamp' });
  assert.deepEqual(time.formats, ['yyyy-MM-dd', undefined, 'HH']);
  assert.deepEqual(time.values({}, record(at('2024-06-10T14:40:05.123Z'))), ['2024-06-10', null, '14']);
  assert.deepEqual(time.values({}, record(at('2024-06-10T00:00:00Z'))), ['2024-06-10', null, '00']);
  assert.deepEqual(time.values({}, record(0)), ['1970-01-01', null, '00']);
  // Case and spaces in the property do not matter.
  assert.deepEqual(parsePartitionTime(' TimeStamp ', undefined, [key('DT')]).values({}, record(86_400_000)), ['1970-01-02']);
});

test('year, month, day and hour have defaults too; typed keys get Hive text (INT month 6, not 06)', () => {
  const time = parsePartitionTime('timestamp', undefined, [key('year', 'int'), key('month', 'int'), key('day'), key('hour', 'smallint')]);
  assert.deepEqual(time.values({}, record(at('2024-06-09T07:00:00Z'))), ['2024', '6', '09', '7']);
  const date = parsePartitionTime('timestamp', undefined, [key('dt', 'date')]);
  assert.deepEqual(date.values({}, record(at('2024-02-29T23:59:59Z'))), ['2024-02-29']);
});

test('field: epoch milliseconds as a number or its digits, ISO texts, dates; case-insensitive and nested', () => {
  const time = parsePartitionTime('field:event_time', undefined, [key('dt'), key('hr')]);
  assert.deepEqual(time.source, { kind: 'field', name: 'event_time', path: ['event_time'] });
  const kafka = record(at('2000-01-01T00:00:00Z')); // ignored by field sources
  assert.deepEqual(time.values({ event_time: at('2024-06-10T14:40:00Z') }, kafka), ['2024-06-10', '14']);
  assert.deepEqual(time.values({ EVENT_TIME: String(at('2024-06-10T15:00:00Z')) }, kafka), ['2024-06-10', '15']);
  assert.deepEqual(time.values({ event_time: BigInt(at('2024-06-10T16:00:00Z')) }, kafka), ['2024-06-10', '16']);
  assert.deepEqual(time.values({ event_time: '2024-06-10 17:40:00.123456' }, kafka), ['2024-06-10', '17']);
  assert.deepEqual(time.values({ event_time: '2024-06-10T23:30:00+02:00' }, kafka), ['2024-06-10', '21']);
  assert.deepEqual(time.values({ event_time: '2024-06-10T23:30:00-02:00' }, kafka), ['2024-06-11', '01']);
  assert.deepEqual(time.values({ event_time: '2024-06-10' }, kafka), ['2024-06-10', '00']);
  const nested = parsePartitionTime('field: Payload.TS ', undefined, [key('dt')]);
  assert.deepEqual(nested.values({ payload: { ts: '2023-01-02 03:04:05' } }, kafka), ['2023-01-02']);
});

test('explicit formats: override defaults, add time keys, quoted text, minutes and seconds', () => {
  const time = parsePartitionTime('timestamp', "dt=yyyyMMdd, slot=HH'h'mm, stamp='T'yyyy-MM-dd'T'HH:mm:ss", [key('dt'), key('slot'), key('stamp'), key('hr')]);
  assert.deepEqual(time.formats, ['yyyyMMdd', "HH'h'mm", "'T'yyyy-MM-dd'T'HH:mm:ss", 'HH']);
  assert.deepEqual(time.values({}, record(at('2024-06-10T14:05:09Z'))), ['20240610', '14h05', 'T2024-06-10T14:05:09', '14']);
  const quoteInText = parsePartitionTime('timestamp', "p=yyyy''MM", [key('p')]);
  assert.deepEqual(quoteInText.values({}, record(at('2024-06-10T14:05:09Z'))), ["2024'06"]);
  // A timestamp-typed key takes a timestamp text.
  const ts = parsePartitionTime('timestamp', 'p=yyyy-MM-dd HH:00:00', [key('P', 'timestamp')]);
  assert.deepEqual(ts.values({}, record(at('2024-06-10T14:05:09Z'))), ['2024-06-10 14:00:00']);
});

test('times before 1970 and at the ends of Hive\'s range', () => {
  const time = parsePartitionTime('field:t', 'dt=yyyy-MM-dd,hr=HH,m=mm', [key('dt'), key('hr'), key('m')]);
  const r = record(0);
  assert.deepEqual(time.values({ t: at('1969-12-31T23:00:00Z') }, r), ['1969-12-31', '23', '00']);
  assert.deepEqual(time.values({ t: -1 }, r), ['1969-12-31', '23', '59']);
  assert.deepEqual(time.values({ t: '1969-12-31 23:59:59.999999' }, r), ['1969-12-31', '23', '59']);
  assert.deepEqual(time.values({ t: '1900-03-01T12:34:56Z' }, r), ['1900-03-01', '12', '34']);
  assert.deepEqual(time.values({ t: '0001-01-01 00:00:00' }, r), ['0001-01-01', '00', '00']);
  assert.deepEqual(time.values({ t: '9999-12-31 23:59:59.999' }, r), ['9999-12-31', '23', '59']);
});

test('a record without a usable time fails, naming the field (on the first time column)', () => {
  const time = parsePartitionTime('field:ts', undefined, [key('country'), key('dt'), key('hr')]);
  const r = record(0);
  badRecord(() => time.values({}, r), 'dt', /kafka\.partition\.time = field:ts: the field is missing/);
  badRecord(() => time.values({ ts: null }, r), 'dt', /field:ts: the field is null/);
  badRecord(() => time.values({ ts: 'yesterday' }, r), 'dt', /field:ts: "yesterday" is not a timestamp/);
  badRecord(() => time.values({ ts: '2024-02-30' }, r), 'dt', /not a valid calendar date/);
  badRecord(() => time.values({ ts: 1.5 }, r), 'dt', /field:ts: 1\.5 is not a timestamp as epoch milliseconds/);
  badRecord(() => time.values({ ts: true }, r), 'dt', /field:ts: true is not a timestamp/);
  badRecord(() => time.values({ ts: '10000-01-01' }, r), 'dt', /field:ts/);
  badRecord(() => time.values([1, 2], r), 'dt', /field:ts: the field is missing \(the value is not an object/);
  const nested = parsePartitionTime('field:a.b', undefined, [key('dt')]);
  badRecord(() => nested.values({ a: 5 }, r), 'dt', /field:a\.b: the field is missing \(its parent is not an object/);

  const kafka = parsePartitionTime('timestamp', undefined, [key('dt')]);
  badRecord(() => kafka.values({}, record(-1)), 'dt', /kafka\.partition\.time = timestamp: the record has no Kafka timestamp \(-1\)/);
  badRecord(() => kafka.values({}, record(253_402_300_800_000)), 'dt', /after 9999-12-31/);
});

test('bad property values: each message names the property, the value and what is allowed', () => {
  const keys = [key('dt'), key('hr')];
  badProperty(() => parsePartitionTime('now', undefined, keys), /^kafka\.partition\.time = "now" is invalid: expected timestamp .* or field:<name>/);
  badProperty(() => parsePartitionTime('field:', undefined, keys), /^kafka\.partition\.time = "field:" names no field/);
  badProperty(() => parsePartitionTime('field:a..b', undefined, keys), /names no field/);
  badProperty(() => parsePartitionTime('timestamp', undefined, []), /needs a partitioned table/);
  badProperty(() => parsePartitionTime('timestamp', undefined, [key('country')]),
    /kafka\.partition\.time = "timestamp" has no partition column to fill: none of country .*name the time columns in kafka\.partition\.time\.format, e\.g\. country=yyyy-MM-dd/);
  badProperty(() => parsePartitionTime('timestamp', 'dt=yyyy-MM-DD', keys),
    /^kafka\.partition\.time\.format = "dt=yyyy-MM-DD": pattern "yyyy-MM-DD" has "DD", which is not supported \(DD is the day of the year in Java: use dd\); allowed: yyyy \(year\)/);
  badProperty(() => parsePartitionTime('timestamp', 'dt=YYYY-MM-dd', keys), /"YYYY", which is not supported \(YYYY is the week year/);
  badProperty(() => parsePartitionTime('timestamp', 'dt=yyyy-MM-ddTHH', keys), /"T", which is not supported; allowed: .*letters only inside '\.\.\.' quotes/);
  badProperty(() => parsePartitionTime('timestamp', "dt='day", keys), /quote at character 1 that is never closed/);
  badProperty(() => parsePartitionTime('timestamp', "dt='x'", keys), /has no time letters/);
  badProperty(() => parsePartitionTime('timestamp', 'dt', keys), /"dt" is not name=pattern; expected pairs separated by commas/);
  badProperty(() => parsePartitionTime('timestamp', 'dt=', keys), /"dt=" is not name=pattern/);
  badProperty(() => parsePartitionTime('timestamp', 'day=dd', keys), /"day" is not a partition column of the table \(dt, hr\)/);
  badProperty(() => parsePartitionTime('timestamp', 'dt=yyyy,DT=MM', keys), /"dt" is given twice/);
  badProperty(() => parsePartitionTime('timestamp', undefined, keys, 'Europe/Berlin'),
    /^kafka\.partition\.time\.zone = "Europe\/Berlin" is not supported: partition times are formatted in UTC; allowed: UTC/);
  assert.doesNotThrow(() => parsePartitionTime('timestamp', undefined, keys, 'utc'));
  // Patterns the key's type cannot hold are refused up front.
  badProperty(() => parsePartitionTime('timestamp', 'dt=yyyy-MM', [key('dt', 'date')]),
    /partition column "dt" is date, and its pattern "yyyy-MM" gives values such as "0001-01" that it cannot hold .*yyyy-MM-dd for a date/);
  badProperty(() => parsePartitionTime('timestamp', undefined, [key('year', 'tinyint')]), /"year" is tinyint.*"9999".*out of range for tinyint/);
  badProperty(() => parsePartitionTime('timestamp', "dt=yyyy'-'MM", [key('dt', 'int')]), /"dt" is int.*not a number/);
});
