// Time-based partition values, as Kafka Connect's TimeBasedPartitioner gives them: each record's
// time, formatted, is the value of the table's time partition columns (dt=2024-06-10/hr=14).
//
// Table properties:
//   kafka.partition.time         where the time comes from:
//     timestamp                  the record's Kafka timestamp (Connect's timestamp.extractor=Record).
//                                A record without one (-1) fails.
//     field:<name>               a field of the value (Connect's RecordField), matched
//                                case-insensitively; a.b.c reaches into nested objects. The field
//                                holds epoch milliseconds (a whole number, or its digits as text), or a
//                                timestamp or date text as a TIMESTAMP column takes it: '2024-06-10
//                                14:40:00[.ffffff]' or '2024-06-10T14:40:00' is UTC wall-clock time,
//                                'Z' or an offset ('+02:00') is converted to UTC, '2024-06-10' is
//                                midnight. Missing, null or anything else fails the record
//                                (RecordDecodeError naming the field). Epoch seconds are not
//                                recognised (they would read as milliseconds in January 1970).
//   kafka.partition.time.format  name=pattern pairs separated by ',', e.g. dt=yyyy-MM-dd,hr=HH.
//                                Partition columns named dt, hr, year, month, day and hour are time
//                                columns by default, formatted yyyy-MM-dd, HH, yyyy, MM, dd and HH; a
//                                pair overrides a default or makes any other partition column a time
//                                column. Partition columns that are not time columns keep the same-name
//                                rule: values() gives null for them.
//   kafka.partition.time.zone    optional, and only UTC: times are formatted in UTC (Connect's
//                                timezone setting); anything else is refused rather than ignored.
//
// Patterns use Java SimpleDateFormat's letters: yyyy (year, 4 digits), MM (month 01-12), dd (day
// 01-31), HH (hour 00-23), mm (minute), ss (second). Other letters are refused (YYYY, week year in
// Java, and DD, day of year, are classic slips); text inside '...' and any character that is not a
// letter is copied as it is ('' is a quote). A pattern cannot contain ',' (the pair separator).
//
// The formatted text is then converted by the partition column's type, as every partition value is:
// an INT column `month` with pattern MM stores 6, not 06; a DATE column needs yyyy-MM-dd. A pattern
// the column's type cannot hold (yyyy-MM for a DATE, yyyy for a TINYINT) is refused when parsed.
// Times before 1970 work (the calendar is proleptic Gregorian, floor division throughout); Hive's
// range 0001-01-01 to 9999-12-31 bounds them.
import type { KafkaRecord } from './format.ts';
import { fieldsOf, makePartitionValue, RecordDecodeError, type ColumnSpec } from '../hive/convert.ts';
import { ConversionFailure, toEpochMicros } from '../hive/scalars.ts';
import { dateFormatter, instantOfSecond, MAX_EPOCH_DAY, MIN_EPOCH_DAY, patternParts, UnclosedQuote, type Instant } from '../hive/time.ts';

export const PARTITION_TIME_PROPERTY = 'kafka.partition.time';
export const PARTITION_TIME_FORMAT_PROPERTY = 'kafka.partition.time.format';
export const PARTITION_TIME_ZONE_PROPERTY = 'kafka.partition.time.zone';

/** Default patterns by partition column name. */
export const DEFAULT_TIME_FORMATS: ReadonlyMap<string, string> = new Map([
  ['dt', 'yyyy-MM-dd'],
  ['hr', 'HH'],
  ['year', 'yyyy'],
  ['month', 'MM'],
  ['day', 'dd'],
  ['hour', 'HH'],
]);

export type TimeSource = { kind: 'timestamp' } | { kind: 'field'; name: string; path: string[] };

export interface PartitionTime {
  readonly source: TimeSource;
  /** The pattern of each partition key (aligned with partitionKeys), undefined where the key is not a time column. */
  readonly formats: readonly (string | undefined)[];
  /**
   * The record's value of each partition key, aligned with partitionKeys: the Hive text of the
   * formatted time for a time column, null for any other key (the caller applies the same-name rule).
   * Throws RecordDecodeError (on the first time column) when the record has no usable time.
   */
  values(fields: unknown, record: KafkaRecord): (string | null)[];
}

const letters: ReadonlySet<string> = new Set(['yyyy', 'MM', 'dd', 'HH', 'mm', 'ss']);
const hints: ReadonlyMap<string, string> = new Map([
  ['YYYY', 'YYYY is the week year in Java: use yyyy'],
  ['yy', 'two-digit years are ambiguous: use yyyy'],
  ['DD', 'DD is the day of the year in Java: use dd'],
  ['hh', 'hh is the 12-hour clock: use HH'],
  ['M', 'use MM (always two digits)'],
  ['d', 'use dd (always two digits)'],
  ['H', 'use HH (always two digits)'],
]);
const allowedLetters = 'yyyy (year), MM (month 01-12), dd (day 01-31), HH (hour 00-23), mm (minute), ss (second); ' +
  "other characters are copied, letters only inside '...' quotes";

const sourceHelp = 'expected timestamp (the record\'s Kafka timestamp) or field:<name> (a field of the value holding ' +
  'epoch milliseconds or a timestamp/date text, e.g. field:event_time or field:payload.ts)';

/**
 * Compiles kafka.partition.time (source), kafka.partition.time.format (formats) and, when given,
 * kafka.partition.time.zone against the table's partition keys. Throws an Error naming the property,
 * its value and what is allowed.
 */
export function parsePartitionTime(
  source: string,
  formats: string | undefined,
  partitionKeys: readonly ColumnSpec[],
  zone?: string,
): PartitionTime {
  const timeSource = parseSource(source);
  if (zone !== undefined && zone.trim().toUpperCase() !== 'UTC') {
    throw new Error(`${PARTITION_TIME_ZONE_PROPERTY} = ${JSON.stringify(zone)} is not supported: partition times are formatted in UTC; allowed: UTC`);
  }
  if (partitionKeys.length === 0) {
    throw new Error(`${PARTITION_TIME_PROPERTY} = ${JSON.stringify(source)} needs a partitioned table: this table has no partition columns`);
  }
  const keyNames = partitionKeys.map((key) => key.name.toLowerCase());
  const patterns: (string | undefined)[] = keyNames.map((name) => DEFAULT_TIME_FORMATS.get(name));
  for (const [name, pattern] of parseFormatPairs(formats, keyNames)) patterns[keyNames.indexOf(name)] = pattern;

  const keys = partitionKeys.map((key, i) => {
    const pattern = patterns[i];
    if (pattern === undefined) return undefined;
    const format = parsePattern(pattern, formats);
    let convert: (value: unknown) => string | undefined;
    try {
      convert = makePartitionValue(key);
    } catch (error) {
      throw new Error(`${PARTITION_TIME_FORMAT_PROPERTY}: ${(error as Error).message}`);
    }
    // A pattern the key's type cannot hold fails here, not on every record: try the range's ends.
    for (const second of [earliestSecond, latestSecond]) {
      const text = format(instantOfSecond(second));
      try {
        convert(text);
      } catch (error) {
        const reason = error instanceof RecordDecodeError ? error.reason : (error as Error).message;
        throw new Error(`${PARTITION_TIME_FORMAT_PROPERTY} = ${JSON.stringify(formats ?? '')}: partition column "${key.name}" ` +
          `is ${key.type}, and its pattern ${JSON.stringify(pattern)} gives values such as ${JSON.stringify(text)} that it cannot hold (${reason}); ` +
          `use a pattern whose text the type takes${key.type.toLowerCase() === 'date' ? ' (yyyy-MM-dd for a date)' : ''}`);
      }
    }
    return { name: key.name, format, convert };
  });

  const firstTimeKey = keys.find((key) => key !== undefined);
  if (!firstTimeKey) {
    throw new Error(`${PARTITION_TIME_PROPERTY} = ${JSON.stringify(source)} has no partition column to fill: none of ` +
      `${partitionKeys.map((key) => key.name).join(', ')} is named dt, hr, year, month, day or hour; ` +
      `name the time columns in ${PARTITION_TIME_FORMAT_PROPERTY}, e.g. ${keyNames[0]}=yyyy-MM-dd`);
  }
  const column = firstTimeKey.name;

  const secondOf: (fields: unknown, record: KafkaRecord) => number = timeSource.kind === 'timestamp'
    ? (_fields, record) => kafkaSecond(record, column)
    : fieldSecond(timeSource, column);

  // Records of a batch mostly share the second (and the hour): compute once per distinct second.
  let lastSecond = NaN;
  let lastValues: (string | null)[] = [];
  return {
    source: timeSource,
    formats: patterns,
    values(fields, record) {
      const second = secondOf(fields, record);
      if (second !== lastSecond) {
        const time = instantOfSecond(second);
        lastValues = keys.map((key) => (key === undefined ? null : key.convert(key.format(time)) ?? null));
        lastSecond = second;
      }
      return lastValues.slice();
    },
  };
}

function parseSource(source: string): TimeSource {
  const text = source.trim();
  if (text.toLowerCase() === 'timestamp') return { kind: 'timestamp' };
  const match = /^field:(.*)$/is.exec(text);
  if (match) {
    const name = match[1]!.trim();
    const path = name.split('.').map((part) => part.trim());
    if (name !== '' && path.every((part) => part !== '')) return { kind: 'field', name, path: path.map((part) => part.toLowerCase()) };
    throw new Error(`${PARTITION_TIME_PROPERTY} = ${JSON.stringify(source)} names no field: ${sourceHelp}`);
  }
  throw new Error(`${PARTITION_TIME_PROPERTY} = ${JSON.stringify(source)} is invalid: ${sourceHelp}`);
}

/** The name=pattern pairs of kafka.partition.time.format, names lower-cased and checked against the keys. */
function parseFormatPairs(formats: string | undefined, keyNames: readonly string[]): Map<string, string> {
  const pairs = new Map<string, string>();
  if (formats === undefined || formats.trim() === '') return pairs;
  const property = `${PARTITION_TIME_FORMAT_PROPERTY} = ${JSON.stringify(formats)}`;
  for (const entry of formats.split(',')) {
    const equals = entry.indexOf('=');
    const name = entry.slice(0, equals).trim().toLowerCase();
    const pattern = entry.slice(equals + 1).trim();
    if (equals === -1 || name === '' || pattern === '') {
      throw new Error(`${property} is invalid: ${JSON.stringify(entry.trim())} is not name=pattern; ` +
        'expected pairs separated by commas, e.g. dt=yyyy-MM-dd,hr=HH');
    }
    if (!keyNames.includes(name)) {
      throw new Error(`${property} is invalid: "${name}" is not a partition column of the table (${keyNames.join(', ')})`);
    }
    if (pairs.has(name)) throw new Error(`${property} is invalid: "${name}" is given twice`);
    pairs.set(name, pattern);
  }
  return pairs;
}

/** The pattern's formatter, once its letters are the ones allowed here (a subset of time.ts' formatter's). */
function parsePattern(pattern: string, formats: string | undefined): (time: Instant) => string {
  const fail = (what: string): never => {
    throw new Error(`${PARTITION_TIME_FORMAT_PROPERTY} = ${JSON.stringify(formats ?? pattern)}: pattern ${JSON.stringify(pattern)} ${what}; allowed: ${allowedLetters}`);
  };
  let timeLetters = false;
  try {
    for (const part of patternParts(pattern)) {
      if ('literal' in part) continue;
      const run = part.letter.repeat(part.count);
      if (!letters.has(run)) {
        const hint = hints.get(run);
        fail(`has "${run}", which is not supported${hint ? ` (${hint})` : ''}`);
      }
      timeLetters = true;
    }
  } catch (error) {
    if (error instanceof UnclosedQuote) fail(`has a quote at character ${error.at + 1} that is never closed`);
    throw error;
  }
  if (!timeLetters) fail('has no time letters, so every record would get the same value');
  return dateFormatter(pattern);
}

// Hive's range, as toEpochMicros enforces it: 0001-01-01 00:00:00 to 9999-12-31 23:59:59 UTC.
const earliestSecond = MIN_EPOCH_DAY * 86_400;
const latestSecond = (MAX_EPOCH_DAY + 1) * 86_400 - 1;

function kafkaSecond(record: KafkaRecord, column: string): number {
  const ms = record.timestamp;
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new RecordDecodeError(column, `${PARTITION_TIME_PROPERTY} = timestamp: the record has no Kafka timestamp (${ms})`);
  }
  const second = Math.floor(ms / 1000);
  if (second > latestSecond) {
    throw new RecordDecodeError(column, `${PARTITION_TIME_PROPERTY} = timestamp: the record's Kafka timestamp ${ms} is after 9999-12-31`);
  }
  return second;
}

function fieldSecond(source: { name: string; path: string[] }, column: string): (fields: unknown) => number {
  const where = `${PARTITION_TIME_PROPERTY} = field:${source.name}`;
  return (fields) => {
    let value: unknown = fields;
    for (const name of source.path) {
      if (!isPlainObject(value)) {
        throw new RecordDecodeError(column, `${where}: the field is missing (${value === fields ? 'the value' : 'its parent'} is not an object with fields)`);
      }
      value = fieldsOf(value)!.get(name);
    }
    if (value === undefined || value === null) {
      throw new RecordDecodeError(column, `${where}: the field is ${value === null ? 'null' : 'missing'}, so the record has no time to partition by`);
    }
    let micros: bigint;
    try {
      micros = toEpochMicros(value);
    } catch (error) {
      if (!(error instanceof ConversionFailure)) throw error;
      throw new RecordDecodeError(column, `${where}: ${error.reason}`);
    }
    const second = micros / 1_000_000n - (micros % 1_000_000n < 0n ? 1n : 0n);
    return Number(second);
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
