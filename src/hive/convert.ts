// Record value (JSON) -> the values of a table's columns, converted by Hive type.
//
// Columns are taken from the same-named JSON fields, matched case-insensitively as Hive matches
// names; a missing field or JSON null is NULL. A value that cannot be converted fails the whole
// record with a RecordDecodeError naming the column; the caller adds topic, partition and offset
// and applies the table's error policy.
//
// Numbers: parse record bytes with parseRecordJson, which keeps every number's digits (lossless-json),
// so a BIGINT beyond 2^53 or a DECIMAL(38,18) arrives exact. Values from plain JSON.parse are accepted
// too, but then integers beyond 2^53 have already lost precision before they get here; numeric
// strings ("12345678901234567890") are always exact.
import { parse as parseLossless, stringify as stringifyLossless, isLosslessNumber } from 'lossless-json';
import { parseHiveType, type HiveType, type HiveValue } from '../sink/hive-types.ts';
import { partitionSegment } from '../sink/partition-path.ts';
import {
  ConversionFailure,
  describe,
  fail,
  formatDate,
  formatDecimal,
  formatTimestamp,
  padCodePoints,
  toBinary,
  toBoolean,
  toDecimal,
  toDouble,
  toEpochDay,
  toEpochMicros,
  toInteger,
  truncateCodePoints,
} from './scalars.ts';

export class RecordDecodeError extends Error {
  /** Bad data stays bad: retrying the same record cannot succeed. */
  readonly retriable = false;

  constructor(
    /** The table column (or partition column), or undefined when the record as a whole is unusable. */
    readonly column: string | undefined,
    /** What is wrong, including where inside a nested column, e.g. `at [2].price: "x" is not a number`. */
    readonly reason: string,
  ) {
    super(column === undefined ? `record cannot be decoded: ${reason}` : `column "${column}": ${reason}`);
    this.name = 'RecordDecodeError';
  }
}

export interface ColumnSpec {
  name: string;
  /** The Hive type string as the metastore stores it, e.g. `decimal(10,2)`. */
  type: string;
}

export type RowDecoder = (record: unknown) => HiveValue[];

// JSON.parse is about 2.5 times faster than lossless-json, and exact for a record whose numbers are
// all integers of at most 15 digits other than -0: a double holds those, and String() gives back the
// text as written. A record that may hold any other number (a digit before '.', 'e' or 'E', 16 digits
// in a row, or -0; strings can trip this too, which only costs speed) takes lossless-json.
// The test is /[0-9][.eE]|[0-9]{16}|-0(?![0-9])/ (convert.test.ts compares them), written out because
// that regular expression visits every character and took a quarter of a mapping's decoding time.
const isDigit = (c: number) => c >= 48 && c <= 57;
const NUMBER_MARKS = ['.', 'e', 'E'];
export function mayHoldInexactNumber(text: string): boolean {
  // Every run of 16 digits covers one position of each 16: look there, then measure the run.
  for (let i = 15; i < text.length; i += 16) {
    if (!isDigit(text.charCodeAt(i))) continue;
    let start = i;
    while (start > 0 && isDigit(text.charCodeAt(start - 1))) start--;
    let end = i + 1;
    while (end < text.length && isDigit(text.charCodeAt(end))) end++;
    if (end - start >= 16) return true;
  }
  for (const mark of NUMBER_MARKS) {
    for (let i = text.indexOf(mark, 1); i > 0; i = text.indexOf(mark, i + 1)) if (isDigit(text.charCodeAt(i - 1))) return true;
  }
  for (let i = text.indexOf('-0'); i >= 0; i = text.indexOf('-0', i + 1)) if (!isDigit(text.charCodeAt(i + 2))) return true;
  return false;
}

// A key repeated in one object keeps its last value, as JSON.parse does (lossless-json throws by default):
// whether a record is accepted must not hang on an unrelated number in it.
const LAST_KEY_WINS = { onDuplicateKey: ({ newValue }: { newValue: unknown }) => newValue };

/** Parses a record value, keeping the exact digits of every number (as LosslessNumber when needed). */
export function parseRecordJson(bytes: Uint8Array | string): unknown {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  try {
    return mayHoldInexactNumber(text) ? parseLossless(text, undefined, LAST_KEY_WINS) : JSON.parse(text);
  } catch (error) {
    throw new RecordDecodeError(undefined, `the value is not valid JSON (${(error as Error).message})`);
  }
}

/** Compiles the columns' types once; the returned function converts one parsed record value. */
export function makeRowDecoder(columns: ColumnSpec[]): RowDecoder {
  const compiled = columns.map((column) => ({
    name: column.name,
    lowerName: column.name.toLowerCase(),
    convert: converterFor(parseHiveType(column.type)),
  }));
  return (record) => {
    const fields = new FieldLookup(asObject(record));
    return compiled.map(({ name, lowerName, convert }) => {
      const value = fields.get(lowerName);
      if (value === null || value === undefined) return null;
      try {
        return convert(value);
      } catch (error) {
        throw toDecodeError(name, error);
      }
    });
  };
}

const partitionKeyTypes = new Map<string, (value: unknown) => string>();

/**
 * The string Hive stores for a partition column's value in this record: the value converted by the
 * key's type and printed as Hive prints it. Missing, null or empty gives undefined: the caller then
 * uses Hive's default partition (__HIVE_DEFAULT_PARTITION__), as Hive does for NULL and ''.
 */
export function partitionValueOf(record: unknown, keyOrName: ColumnSpec | string): string | undefined {
  // A bare name is a STRING key, the usual case (dt, country, ...).
  const key = typeof keyOrName === 'string' ? { name: keyOrName, type: 'string' } : keyOrName;
  const format = partitionFormat(key);
  return partitionText(key, format, new FieldLookup(asObject(record)).get(key.name.toLowerCase()));
}

/** partitionValueOf for one key, given the record's field value (undefined when missing) rather than the record. */
export function makePartitionValue(key: ColumnSpec): (value: unknown) => string | undefined {
  const format = partitionFormat(key);
  return (value) => partitionText(key, format, value);
}

function partitionFormat(key: ColumnSpec): (value: unknown) => string {
  let format = partitionKeyTypes.get(key.type);
  if (!format) {
    format = partitionFormatter(parseHiveType(key.type), key);
    partitionKeyTypes.set(key.type, format);
  }
  return format;
}

function partitionText(key: ColumnSpec, format: (value: unknown) => string, value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  let text: string;
  try {
    text = format(value);
  } catch (error) {
    throw toDecodeError(key.name, error);
  }
  if (text === '') return undefined;
  // Refuse here, per record, what would otherwise fail later for the whole batch on the file system.
  if (!text.isWellFormed()) throw new RecordDecodeError(key.name, 'the partition value is not well-formed Unicode (lone surrogate)');
  const bytes = Buffer.byteLength(partitionSegment(key.name, text));
  if (bytes > maxDirectoryNameBytes) {
    throw new RecordDecodeError(key.name, `the partition value is too long for a directory name ` +
      `(${bytes} bytes once escaped as "${key.name}=...", file systems allow ${maxDirectoryNameBytes})`);
  }
  return text;
}

// NAME_MAX of Linux file systems and HDFS's default dfs.namenode.fs-limits.max-component-length.
const maxDirectoryNameBytes = 255;

function partitionFormatter(type: HiveType, key: ColumnSpec): (value: unknown) => string {
  const convert = converterFor(type);
  switch (type.kind) {
    case 'decimal':
      return (value) => formatDecimal(convert(value) as bigint, type.scale);
    case 'primitive':
      if (type.name === 'date') return (value) => formatDate(convert(value) as number);
      if (type.name === 'timestamp') return (value) => formatTimestamp(convert(value) as bigint);
      if (type.name === 'binary') break;
      return (value) => String(convert(value));
    case 'varchar':
    case 'char':
      return (value) => String(convert(value));
    default:
      break;
  }
  throw new Error(`partition column "${key.name}" has type ${key.type}, which Hive does not allow for partition keys`);
}

/** A converter's ConversionFailure as the RecordDecodeError users see, naming the column and the path inside it. */
export function toDecodeError(column: string, error: unknown): unknown {
  if (!(error instanceof ConversionFailure)) return error;
  return new RecordDecodeError(column, error.path === '' ? error.reason : `at ${column}${error.path}: ${error.reason}`);
}

export function asObject(record: unknown): Record<string, unknown> {
  if (record === null || typeof record !== 'object' || Array.isArray(record) || isLosslessNumber(record)) {
    throw new RecordDecodeError(undefined, `the value must be a JSON object with one field per column, got ${describe(record)}`);
  }
  return record as Record<string, unknown>;
}

/** A value's fields by lower-cased name, matched as Hive matches names; undefined when the value is not an object. One per record: its lower-cased index is built once. */
export function fieldsOf(record: unknown): FieldLookup | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record) || isLosslessNumber(record) || record instanceof Uint8Array) return undefined;
  return new FieldLookup(record as Record<string, unknown>);
}

/** Case-insensitive field access; the lower-cased index is only built when an exact match misses. */
export class FieldLookup {
  private lowered: Map<string, unknown> | undefined;

  constructor(private readonly object: Record<string, unknown>) {}

  get(lowerName: string): unknown {
    if (Object.hasOwn(this.object, lowerName)) return this.object[lowerName];
    if (!this.lowered) {
      this.lowered = new Map();
      // The first spelling wins when a record has the same name in two cases.
      for (const [key, value] of Object.entries(this.object)) {
        const lower = key.toLowerCase();
        if (!this.lowered.has(lower)) this.lowered.set(lower, value);
      }
    }
    return this.lowered.get(lowerName);
  }
}

type Converter = (value: unknown) => HiveValue;

/** The converter of one column's non-null values, as makeRowDecoder applies it; throws ConversionFailure. */
export function columnConverter(type: string): Converter {
  return converterFor(parseHiveType(type));
}

/** A converter for non-null values of one Hive type; nested NULLs stay NULL. */
function converterFor(type: HiveType): Converter {
  switch (type.kind) {
    case 'primitive':
      return primitiveConverter(type.name);
    case 'varchar':
      return (value) => truncateCodePoints(toText(value), type.length);
    case 'char':
      return (value) => padCodePoints(toText(value), type.length);
    case 'decimal':
      return (value) => toDecimal(value, type.precision, type.scale);
    case 'array': {
      const element = converterFor(type.element);
      return (value) => {
        if (!Array.isArray(value)) fail(`${describe(value)} is not an array (expected ${typeLabel(type)})`);
        const result: HiveValue[] = new Array(value.length);
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          try {
            result[i] = item === null || item === undefined ? null : element(item);
          } catch (error) {
            throw withStep(error, `[${i}]`);
          }
        }
        return result;
      };
    }
    case 'map': {
      const key = converterFor(type.key);
      const mapValue = converterFor(type.value);
      return (value) => {
        const entries = plainObject(value, type);
        const result = new Map<HiveValue, HiveValue>();
        for (const [k, v] of Object.entries(entries)) {
          let convertedKey: HiveValue;
          try {
            convertedKey = key(k);
          } catch (error) {
            throw withStep(error, ` key ${JSON.stringify(k)}`);
          }
          try {
            result.set(convertedKey, v === null || v === undefined ? null : mapValue(v));
          } catch (error) {
            throw withStep(error, `[${JSON.stringify(k)}]`);
          }
        }
        return result;
      };
    }
    case 'struct': {
      const fields = type.fields.map((field) => ({
        name: field.name,
        lowerName: field.name.toLowerCase(),
        convert: converterFor(field.type),
      }));
      return (value) => {
        const lookup = new FieldLookup(plainObject(value, type));
        const result: { [field: string]: HiveValue } = {};
        for (const { name, lowerName, convert } of fields) {
          const fieldValue = lookup.get(lowerName);
          try {
            // Lower-case keys: Hive field names are case-insensitive, and Parquet names are written lower-case.
            result[lowerName] = fieldValue === null || fieldValue === undefined ? null : convert(fieldValue);
          } catch (error) {
            throw withStep(error, `.${name}`);
          }
        }
        return result;
      };
    }
  }
}

function primitiveConverter(name: Extract<HiveType, { kind: 'primitive' }>['name']): Converter {
  switch (name) {
    case 'string':
      return toText;
    case 'tinyint':
    case 'smallint':
    case 'int':
      return (value) => Number(toInteger(value, name));
    case 'bigint':
      return (value) => toInteger(value, name);
    case 'float':
    case 'double':
      return (value) => toDouble(value, name);
    case 'boolean':
      return toBoolean;
    case 'date':
      return toEpochDay;
    case 'timestamp':
      return toEpochMicros;
    case 'binary':
      return toBinary;
  }
}

/**
 * lossless-json builds a string one character at a time: a 150-character field is a rope of about 150
 * pieces, 4 KB, until something flattens it, and a buffered batch keeps every row's strings. ToNumber
 * flattens a string in place (the trick of the flatstr package); measured: 100,000 URLs of a
 * lossless-json parse held 355 MB as ropes, 15 MB flattened.
 */
function flatten(text: string): string {
  (text as unknown as number) | 0; // eslint-disable-line no-unused-expressions
  return text;
}

/** STRING takes any JSON value: scalars as their JSON text (numbers keep their digits), objects and arrays as JSON. */
function toText(value: unknown): string {
  if (typeof value === 'string') return flatten(value);
  if (isLosslessNumber(value)) return value.value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return stringifyLossless(value) ?? fail(`${describe(value)} cannot be written as a string`);
}

function plainObject(value: unknown, type: HiveType): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || isLosslessNumber(value)) {
    fail(`${describe(value)} is not a JSON object (expected ${typeLabel(type)})`);
  }
  return value as Record<string, unknown>;
}

function typeLabel(type: HiveType): string {
  return type.kind === 'primitive' ? type.name : type.kind;
}

/** Prefixes a nested conversion failure's path with the step that led to it. */
function withStep(error: unknown, step: string): unknown {
  if (error instanceof ConversionFailure) error.path = step + error.path;
  return error;
}
