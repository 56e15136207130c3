// Conversions of one JSON scalar to one Hive primitive value, following the rules Hive applies, and
// the text Hive prints for a value (used for partition values). A value that cannot be converted
// throws ConversionFailure with the reason; convert.ts adds the column and the path inside it.
//
// Numbers arrive as JS numbers (JSON.parse), as LosslessNumber (lossless-json, which keeps the
// original digits) or as numeric strings; integer and decimal conversions work on the digits, never
// on a float64, so big BIGINTs and long DECIMALs are exact.
import { isLosslessNumber } from 'lossless-json';
import { formatClock, formatDate, MAX_EPOCH_DAY, MIN_EPOCH_DAY, validEpochDay } from './time.ts';

// The calendar is time.ts'; these stay importable from here, where the converters are.
export { formatDate, validEpochDay };

export class ConversionFailure extends Error {
  /** Where inside the column the failure is, e.g. `[2].price`; filled in by the container converters. */
  path = '';

  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ConversionFailure';
  }
}

export function fail(reason: string): never {
  throw new ConversionFailure(reason);
}

/** Short description of a JSON value for error messages, never the whole (possibly huge) value. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (isLosslessNumber(value)) return value.value;
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

// ---- numbers ----

const numberPattern = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** The decimal text of a number-like value (JSON number, LosslessNumber, numeric string), else undefined. */
function numberText(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (isLosslessNumber(value)) return value.value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') {
    const text = value.trim();
    const m = numberPattern.exec(text);
    // The pattern alone would accept "", "." and "e5": demand at least one digit in the mantissa.
    if (m && (m[2] !== '' || (m[3] ?? '') !== '')) return text;
  }
  return undefined;
}

/** An exact decimal: (negative ? -1 : 1) × digits × 10^exponent, with trailing zeros moved to the exponent. */
interface ExactNumber {
  negative: boolean;
  digits: bigint;
  digitCount: number;
  exponent: number;
}

const maxSignificantDigits = 400;

function exactNumber(value: unknown, typeName: string): ExactNumber {
  const text = numberText(value);
  const m = text === undefined ? null : numberPattern.exec(text);
  if (!m) fail(`${describe(value)} is not a number (expected ${typeName})`);
  const fraction = m[3] ?? '';
  const exponent = Number(m[4] ?? '0') - fraction.length;
  let digitsText = `${m[2]}${fraction}`.replace(/^0+/, '');
  const trailingZeros = digitsText.length - digitsText.replace(/0+$/, '').length;
  digitsText = digitsText.slice(0, digitsText.length - trailingZeros);
  if (!Number.isSafeInteger(exponent + trailingZeros)) fail(`${describe(value)} is out of range for ${typeName}`);
  // No Hive number needs more (DECIMAL holds 38 digits); this bounds the BigInt work a record can cause.
  if (digitsText.length > maxSignificantDigits) fail(`${describe(value)} has more than ${maxSignificantDigits} significant digits (expected ${typeName})`);
  return {
    negative: m[1] === '-' && digitsText !== '',
    digits: BigInt(digitsText || '0'),
    digitCount: digitsText.length,
    exponent: digitsText === '' ? 0 : exponent + trailingZeros,
  };
}

const integerRanges = {
  tinyint: [-(2n ** 7n), 2n ** 7n - 1n],
  smallint: [-(2n ** 15n), 2n ** 15n - 1n],
  int: [-(2n ** 31n), 2n ** 31n - 1n],
  bigint: [-(2n ** 63n), 2n ** 63n - 1n],
} as const;

export type IntegerTypeName = keyof typeof integerRanges;

/** A whole number in the type's range. Out of range is an error (Hive would wrap or NULL it; we refuse to). */
export function toInteger(value: unknown, typeName: IntegerTypeName): bigint {
  const [min, max] = integerRanges[typeName];
  const result = exactInteger(value, typeName);
  if (result === undefined || result < min || result > max) fail(`${describe(value)} is out of range for ${typeName} (${min} to ${max})`);
  return result;
}

/** The exact whole number a value holds; undefined beyond 20 digits, which exceed every integer type. */
function exactInteger(value: unknown, typeName: IntegerTypeName): bigint | undefined {
  // Most values are already whole: a JSON integer within 2^53 or an exact BigInt needs no digits taken apart.
  if ((typeof value === 'number' && Number.isSafeInteger(value)) || typeof value === 'bigint') return BigInt(value);
  const n = exactNumber(value, typeName);
  if (n.exponent < 0) fail(`${describe(value)} is not a whole number (expected ${typeName})`);
  // Refused before building a huge BigInt from "1e999999".
  if (n.digitCount + n.exponent > 20) return undefined;
  const magnitude = n.digits * 10n ** BigInt(n.exponent);
  return n.negative ? -magnitude : magnitude;
}

/**
 * The unscaled value of DECIMAL(precision, scale): rounded half up (away from zero on a tie) to the
 * scale, as Hive's HiveDecimal.enforcePrecisionScale does. More than `precision` digits after rounding
 * is an error (Hive would store NULL).
 */
export function toDecimal(value: unknown, precision: number, scale: number): bigint {
  const typeName = `decimal(${precision},${scale})`;
  const n = exactNumber(value, typeName);
  const shift = n.exponent + scale; // unscaled = digits × 10^shift
  let magnitude: bigint;
  if (n.digitCount === 0) {
    magnitude = 0n;
  } else if (shift >= 0) {
    if (n.digitCount + shift > precision) fail(tooManyDigits(value, precision, scale));
    magnitude = n.digits * 10n ** BigInt(shift);
  } else if (-shift > n.digitCount) {
    magnitude = 0n; // below a tenth of the last unit: rounds to zero
  } else {
    const divisor = 10n ** BigInt(-shift);
    magnitude = n.digits / divisor;
    if (2n * (n.digits % divisor) >= divisor) magnitude += 1n;
  }
  if (magnitude >= 10n ** BigInt(precision)) fail(tooManyDigits(value, precision, scale));
  return n.negative ? -magnitude : magnitude;
}

function tooManyDigits(value: unknown, precision: number, scale: number): string {
  return `${describe(value)} has more than ${precision} digits at scale ${scale} ` +
    `(decimal(${precision},${scale}) holds at most ${precision - scale} digits before the point)`;
}

const specialDoubles = new Map([['nan', NaN], ['infinity', Infinity], ['+infinity', Infinity], ['-infinity', -Infinity]]);

export function toDouble(value: unknown, typeName: 'float' | 'double'): number {
  const special = typeof value === 'string' ? specialDoubles.get(value.trim().toLowerCase()) : undefined;
  if (special !== undefined) return typeName === 'float' ? Math.fround(special) : special;
  const text = numberText(value);
  if (text === undefined) fail(`${describe(value)} is not a number (expected ${typeName})`);
  const result = typeName === 'float' ? Math.fround(Number(text)) : Number(text);
  // A finite literal that overflows is a mistake in the data, not infinity.
  if (!Number.isFinite(result)) fail(`${describe(value)} is out of range for ${typeName}`);
  return result;
}

export function toBoolean(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const word = value.trim().toLowerCase();
    if (word === 'true') return true;
    if (word === 'false') return false;
  }
  return fail(`${describe(value)} is not a boolean (expected true or false)`);
}

// ---- dates and timestamps ----

const microsPerDay = 86_400_000_000n;

function checkedEpochDay(year: number, month: number, day: number, value: unknown): number {
  return validEpochDay(year, month, day) ?? fail(`${describe(value)} is not a valid calendar date`);
}

const datePattern = /^(\d{4})-(\d{2})-(\d{2})$/;

/** DATE: 'YYYY-MM-DD', or a whole number of days since 1970-01-01. */
export function toEpochDay(value: unknown): number {
  let days: number;
  const match = typeof value === 'string' ? datePattern.exec(value.trim()) : null;
  if (match) {
    days = checkedEpochDay(Number(match[1]), Number(match[2]), Number(match[3]), value);
  } else if (typeof value === 'string' && numberText(value) === undefined) {
    return fail(`${describe(value)} is not a date (expected 'YYYY-MM-DD' or days since 1970-01-01)`);
  } else {
    days = Number(wholeNumber(value, 'int', 'a date as days since 1970-01-01'));
  }
  if (days < MIN_EPOCH_DAY || days > MAX_EPOCH_DAY) fail(`${describe(value)} is outside Hive's date range 0001-01-01 to 9999-12-31`);
  return days;
}

const timestampPattern =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * TIMESTAMP, as microseconds of the UTC wall clock (Hive TIMESTAMP has no zone):
 * - a string without an offset ('2024-01-02 03:04:05.123', '2024-01-02T03:04:05') is kept as written;
 * - a string with 'Z' or an offset ('2024-01-02T03:04:05+02:00') is converted to UTC;
 * - a whole number is epoch milliseconds, converted to UTC.
 * Digits beyond microseconds are dropped: files store TIMESTAMP(MICROS) (see src/sink/parquet.ts).
 */
export function toEpochMicros(value: unknown): bigint {
  let micros: bigint;
  const match = typeof value === 'string' ? timestampPattern.exec(value.trim()) : null;
  if (match) {
    const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', offset] = match;
    const h = Number(hour), mi = Number(minute), s = Number(second);
    if (h > 23 || mi > 59 || s > 59) fail(`${describe(value)} is not a valid time of day`);
    const days = checkedEpochDay(Number(year), Number(month), Number(day), value);
    micros = BigInt(days) * microsPerDay + BigInt(((h * 60 + mi) * 60 + s) * 1_000_000) +
      BigInt(fraction.padEnd(6, '0').slice(0, 6));
    if (offset !== undefined) micros -= offsetMicros(offset, value);
  } else if (typeof value === 'string' && numberText(value) === undefined) {
    return fail(`${describe(value)} is not a timestamp (expected ISO-8601 like '2024-01-02 03:04:05.123456' or epoch milliseconds)`);
  } else {
    micros = wholeNumber(value, 'bigint', 'a timestamp as epoch milliseconds') * 1000n; // range checked below
  }
  if (micros < BigInt(MIN_EPOCH_DAY) * microsPerDay || micros >= BigInt(MAX_EPOCH_DAY + 1) * microsPerDay) {
    fail(`${describe(value)} is outside Hive's timestamp range 0001-01-01 to 9999-12-31`);
  }
  return micros;
}

/** A whole number for a date or time given as a count, with an error that says what the count means. */
function wholeNumber(value: unknown, range: IntegerTypeName, meaning: string): bigint {
  try {
    return toInteger(value, range);
  } catch (error) {
    if (!(error instanceof ConversionFailure)) throw error;
    return fail(`${describe(value)} is not ${meaning} (expected a whole number in range)`);
  }
}

function offsetMicros(offset: string, value: unknown): bigint {
  if (offset.toUpperCase() === 'Z') return 0n;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(offset)!;
  const hours = Number(m[2]), minutes = Number(m[3] ?? '0');
  if (hours > 18 || minutes > 59) fail(`${describe(value)} has an invalid UTC offset "${offset}"`);
  const total = BigInt((hours * 60 + minutes) * 60) * 1_000_000n;
  return m[1] === '-' ? -total : total;
}

// ---- binary ----

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * BINARY: bytes (Uint8Array, from binary formats such as Avro), or a standard base64 string (from JSON;
 * checked first, as Buffer alone would silently skip invalid characters). Bytes are taken as they are
 * when they are a plain Uint8Array of their own memory; a Buffer, or a view into a larger buffer (avsc
 * reads bytes as views of the record's value), is copied, so a buffered row does not keep the whole
 * fetch in memory.
 */
export function toBinary(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) {
    return value.constructor === Uint8Array && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : new Uint8Array(value);
  }
  if (typeof value !== 'string' || !base64Pattern.test(value)) {
    fail(`${describe(value)} is not base64 (expected BINARY as a standard base64 string)`);
  }
  return new Uint8Array(Buffer.from(value, 'base64'));
}

// ---- strings ----

/** VARCHAR(n): cut to n characters (code points), as Hive's HiveBaseChar.enforceMaxLength does. */
export function truncateCodePoints(text: string, length: number): string {
  if (text.length <= length) return text; // fast path: n UTF-16 units are at most n code points
  let units = 0;
  let count = 0;
  for (const char of text) {
    if (count === length) return text.slice(0, units);
    units += char.length;
    count++;
  }
  return text;
}

/** CHAR(n): cut to n characters, then padded with spaces to n, as Hive's HiveChar does. */
export function padCodePoints(text: string, length: number): string {
  const cut = truncateCodePoints(text, length);
  let count = 0;
  for (const _ of cut) count++;
  return cut + ' '.repeat(length - count);
}

// ---- Hive's text form of a value (partition values) ----

/** As Hive's Timestamp.toString: seconds always, the fraction only when non-zero and without trailing zeros. */
export function formatTimestamp(micros: bigint): string {
  const days = micros / microsPerDay - (micros % microsPerDay < 0n ? 1n : 0n);
  const ofDay = Number(micros - days * microsPerDay);
  const seconds = Math.floor(ofDay / 1_000_000);
  const fraction = String(ofDay % 1_000_000).padStart(6, '0').replace(/0+$/, '');
  return `${formatDate(Number(days))} ${formatClock(seconds)}${fraction ? `.${fraction}` : ''}`;
}

/** As HiveDecimal.toString: plain notation, trailing fractional zeros removed. */
export function formatDecimal(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}
