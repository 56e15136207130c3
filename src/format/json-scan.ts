// Record value (JSON bytes) -> the table's row and partition values, by one of two paths with one result.
//
// The general path parses the whole value (parseRecordJson) and converts the object (makeRowDecoder,
// partitionValueOf). The fast path scans the bytes of a flat object once, validating them as strictly
// as JSON.parse, skips the fields the table does not read without building them, and converts only the
// others: for a typical 190-byte record about 1.4 µs against 6-7 µs (test/bench/decode-speed.ts).
//
// The fast path takes a record only when it is sure to give what the general path gives. On anything
// else (a nested value in a column's field, a key with escapes or non-ASCII bytes, a key repeated in
// any spelling, invalid JSON, a value that does not convert) it hands the record to the general path,
// so every error message (shown to users, kept in dead-letter files) comes from the general path.
import { LosslessNumber } from 'lossless-json';
import { parseHiveType, type HiveValue } from '../sink/hive-types.ts';
import {
  columnConverter,
  makePartitionValue,
  makeRowDecoder,
  parseRecordJson,
  partitionValueOf,
  type ColumnSpec,
} from '../hive/convert.ts';
import { padCodePoints, truncateCodePoints, validEpochDay } from '../hive/scalars.ts';

/**
 * Decodes one record value into `row` (one value per column, in column order) and `partitionValues`
 * (one per partition key; null = Hive's default partition). Both arrays are caller-owned scratch,
 * reused for every record: every slot is overwritten. Returns which path decoded it (for tests and metrics).
 */
export type RecordDecoder = (value: Buffer | null, row: HiveValue[], partitionValues: (string | null)[]) => 'fast' | 'general';

export function makeRecordDecoder(columns: ColumnSpec[], partitionKeys: ColumnSpec[]): RecordDecoder {
  const decodeRow = makeRowDecoder(columns);
  const general: RecordDecoder = (value, row, partitionValues) => {
    const json = value === null ? null : parseRecordJson(value);
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('the value is not a JSON object');
    const decoded = decodeRow(json);
    for (let i = 0; i < decoded.length; i++) row[i] = decoded[i]!;
    for (let i = 0; i < partitionKeys.length; i++) partitionValues[i] = partitionValueOf(json, partitionKeys[i]!) ?? null;
    return 'general';
  };
  const fast = compileFastPath(columns, partitionKeys);
  if (!fast) return general;
  return (value, row, partitionValues) => {
    try {
      if (value !== null && fast(value, row, partitionValues)) return 'fast';
    } catch {
      // A value that does not convert: the general path throws the error users see.
    }
    return general(value, row, partitionValues);
  };
}

type FastPath = (value: Buffer, row: HiveValue[], partitionValues: (string | null)[]) => boolean;

/** The fast path, or undefined when a partition key's type is not allowed (the general path then fails each record, naming it). */
function compileFastPath(columns: ColumnSpec[], partitionKeys: ColumnSpec[]): FastPath | undefined {
  let partitionFormats: ((value: unknown) => string | undefined)[];
  try {
    partitionFormats = partitionKeys.map((key) => rememberStrings(makePartitionValue(key)));
  } catch {
    return undefined;
  }
  const names = new FieldNames();
  const columnSlots = columns.map((column) => names.slotOf(column.name.toLowerCase()));
  const partitionSlots = partitionKeys.map((key) => names.slotOf(key.name.toLowerCase()));
  const converters = columns.map((column) => fieldConverter(column.type));
  const scanner = new FlatObjectScanner(names);
  const { kinds, starts, ends, flags } = scanner;

  return (value, row, partitionValues) => {
    if (!scanner.scan(value)) return false;
    for (let i = 0; i < columnSlots.length; i++) {
      const slot = columnSlots[i]!;
      const kind = kinds[slot]!;
      row[i] = kind <= NULL ? null : converters[i]!(value, kind, starts[slot]!, ends[slot]!, flags[slot]!);
    }
    for (let i = 0; i < partitionSlots.length; i++) {
      const slot = partitionSlots[i]!;
      const kind = kinds[slot]!;
      partitionValues[i] = kind <= NULL ? null : partitionFormats[i]!(rawValue(value, kind, starts[slot]!, ends[slot]!, flags[slot]!)) ?? null;
    }
    return true;
  };
}

// Partition values a key remembers; a key with more distinct values starts over.
const maxRememberedValues = 256;

/**
 * A partition key's text for string values, remembered: a table has few partition values (dates,
 * countries), and working one out escapes and measures it each time. Exact, as the text depends on
 * nothing but the value; a value that fails is not remembered, so it fails again.
 */
function rememberStrings(partitionText: (value: unknown) => string | undefined): (value: unknown) => string | undefined {
  const remembered = new Map<string, string | undefined>();
  return (value) => {
    if (typeof value !== 'string') return partitionText(value);
    if (remembered.has(value)) return remembered.get(value);
    const text = partitionText(value);
    if (remembered.size >= maxRememberedValues) remembered.clear();
    remembered.set(value, text);
    return text;
  };
}

// ---- what the scanner records of a field ----

// Kinds of a field's value; MISSING and NULL both give SQL NULL.
const MISSING = 0;
const NULL = 1;
const FALSE = 2;
const TRUE = 3;
const STRING = 4; // start..end: the bytes between the quotes
const NUMBER = 5; // start..end: the number's text

// Flags of a STRING.
const ESCAPED = 1;
const NON_ASCII = 2;

/** Converts one non-null field of a column; throws (anything) when the value does not convert. */
type FieldConverter = (buf: Buffer, kind: number, start: number, end: number, flags: number) => HiveValue;

/**
 * A field's value as the general path's parser gives it, numbers as lossless-json does (LosslessNumber).
 * Where the general path takes JSON.parse, its numbers convert the same (see textOf).
 */
function rawValue(buf: Buffer, kind: number, start: number, end: number, flags: number): unknown {
  switch (kind) {
    case STRING: return stringOf(buf, start, end, flags);
    case NUMBER: return new LosslessNumber(latin1(buf, start, end));
    case TRUE: return true;
    default: return false; // FALSE: MISSING and NULL never get here
  }
}

function stringOf(buf: Buffer, start: number, end: number, flags: number): string {
  // Decoding a sub-range gives the same characters as decoding the whole value: invalid UTF-8 is
  // replaced sequence by sequence, and the quotes around the range are ASCII, never inside a sequence.
  if (flags & ESCAPED) return JSON.parse(buf.toString('utf8', start - 1, end + 1)) as string;
  return flags & NON_ASCII ? buf.toString('utf8', start, end) : latin1(buf, start, end);
}

/** Bytes below 0x80 as a string; latin1Slice is what toString('latin1') calls, without its argument handling. */
function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as Buffer & { latin1Slice(start: number, end: number): string }).latin1Slice(start, end);
}

/**
 * STRING's text of any scalar, as toText in convert.ts gives it. A number keeps its text: lossless-json
 * gives that text, and JSON.parse is used only when every number is an integer of at most 15 digits
 * (and not -0), whose String() is the text again.
 */
function textOf(buf: Buffer, kind: number, start: number, end: number, flags: number): string {
  switch (kind) {
    case STRING: return stringOf(buf, start, end, flags);
    case NUMBER: return latin1(buf, start, end);
    case TRUE: return 'true';
    default: return 'false'; // FALSE
  }
}

/** A number token that is an integer of at most 15 digits, exactly (a double holds it); otherwise NaN. */
function plainInteger(buf: Buffer, start: number, end: number): number {
  let i = start;
  const negative = buf[i] === MINUS;
  if (negative) i++;
  if (end - i > 15) return NaN;
  let n = 0;
  for (; i < end; i++) {
    const digit = buf[i]! - ZERO;
    if (digit < 0 || digit > 9) return NaN; // '.', 'e' or 'E'
    n = n * 10 + digit;
  }
  return negative ? -n : n;
}

/** `count` ASCII digits as a number, or -1. */
function digitsAt(buf: Buffer, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) {
    const digit = buf[i]! - ZERO;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  return n;
}

/**
 * 'YYYY-MM-DD' at start as toEpochDay reads it, or undefined for anything else, including dates
 * toEpochDay refuses (invalid, year 0000): the general converter then decides.
 */
function plainDate(buf: Buffer, start: number): number | undefined {
  if (buf[start + 4] !== MINUS || buf[start + 7] !== MINUS) return undefined;
  const year = digitsAt(buf, start, 4);
  const month = digitsAt(buf, start + 5, 2);
  const day = digitsAt(buf, start + 8, 2);
  // Four digits and year >= 1: within Hive's range 0001-01-01 to 9999-12-31.
  return year < 1 || month < 0 || day < 0 ? undefined : validEpochDay(year, month, day);
}

/**
 * 'YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z]', T and Z in either case, as toEpochMicros reads it; undefined
 * for anything else (offsets, no seconds, spaces, invalid values), which the general converter decides.
 */
function plainTimestamp(buf: Buffer, start: number, end: number): bigint | undefined {
  if (end - start < 19) return undefined;
  const epochDay = plainDate(buf, start);
  const separator = buf[start + 10]!;
  if (epochDay === undefined || (separator !== SPACE && (separator | 0x20) !== LOWER_T)) return undefined;
  if (buf[start + 13] !== COLON || buf[start + 16] !== COLON) return undefined;
  const hour = digitsAt(buf, start + 11, 2);
  const minute = digitsAt(buf, start + 14, 2);
  const second = digitsAt(buf, start + 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  let pos = start + 19;
  let micros = 0;
  if (buf[pos] === DOT) {
    // 1 to 9 digits; those beyond microseconds are dropped.
    const first = ++pos;
    for (; pos < end && isDigit(buf[pos]!); pos++) if (pos - first < 6) micros = micros * 10 + buf[pos]! - ZERO;
    const count = pos - first;
    if (count === 0 || count > 9) return undefined;
    if (count < 6) micros *= 10 ** (6 - count);
  }
  if (pos < end && (buf[pos]! | 0x20) === LOWER_Z) pos++;
  if (pos !== end) return undefined;
  // The whole seconds fit a double exactly (below 2^53); the microseconds do not.
  return BigInt(epochDay * 86400 + (hour * 60 + minute) * 60 + second) * 1_000_000n + BigInt(micros);
}

const integerRanges = { tinyint: [-128, 127], smallint: [-32768, 32767], int: [-2147483648, 2147483647] } as const;

/** Shortcuts for the common types, each giving exactly what columnConverter gives; anything else takes columnConverter itself. */
function fieldConverter(type: string): FieldConverter {
  const convert = columnConverter(type);
  const general: FieldConverter = (buf, kind, start, end, flags) => convert(rawValue(buf, kind, start, end, flags));
  const hiveType = parseHiveType(type);
  switch (hiveType.kind) {
    case 'varchar':
      return (buf, kind, start, end, flags) => truncateCodePoints(textOf(buf, kind, start, end, flags), hiveType.length);
    case 'char':
      return (buf, kind, start, end, flags) => padCodePoints(textOf(buf, kind, start, end, flags), hiveType.length);
    case 'primitive':
      break;
    default:
      return general;
  }
  switch (hiveType.name) {
    case 'string':
      return textOf;
    case 'bigint':
      return (buf, kind, start, end, flags) => {
        const n = kind === NUMBER ? plainInteger(buf, start, end) : NaN;
        return Number.isNaN(n) ? general(buf, kind, start, end, flags) : BigInt(n);
      };
    case 'tinyint':
    case 'smallint':
    case 'int': {
      const [min, max] = integerRanges[hiveType.name];
      return (buf, kind, start, end, flags) => {
        const n = kind === NUMBER ? plainInteger(buf, start, end) : NaN;
        // Out of range goes to general, which throws; `| 0` turns -0 into 0 as Number(0n) does.
        return n >= min && n <= max ? n | 0 : general(buf, kind, start, end, flags);
      };
    }
    case 'double':
    case 'float': {
      const round = hiveType.name === 'float' ? Math.fround : (x: number) => x;
      return (buf, kind, start, end, flags) => {
        if (kind !== NUMBER) return general(buf, kind, start, end, flags);
        const integer = plainInteger(buf, start, end);
        const x = round(Number.isNaN(integer) ? Number(latin1(buf, start, end)) : integer);
        // Overflow to infinity goes to general, which throws.
        return Number.isFinite(x) ? x : general(buf, kind, start, end, flags);
      };
    }
    case 'boolean':
      return (buf, kind, start, end, flags) => (kind === TRUE ? true : kind === FALSE ? false : general(buf, kind, start, end, flags));
    case 'date':
      return (buf, kind, start, end, flags) =>
        (kind === STRING && flags === 0 && end - start === 10 ? plainDate(buf, start) : undefined) ?? general(buf, kind, start, end, flags);
    case 'timestamp':
      return (buf, kind, start, end, flags) =>
        (kind === STRING && flags === 0 ? plainTimestamp(buf, start, end) : undefined) ?? general(buf, kind, start, end, flags);
    default:
      return general;
  }
}

// ---- the scanner ----

const TAB = 0x09, LF = 0x0a, CR = 0x0d, SPACE = 0x20, QUOTE = 0x22, PLUS = 0x2b, COMMA = 0x2c, MINUS = 0x2d, DOT = 0x2e;
const ZERO = 0x30, ONE = 0x31, NINE = 0x39, COLON = 0x3a, UPPER_A = 0x41, UPPER_E = 0x45, UPPER_Z = 0x5a;
const OPEN_BRACKET = 0x5b, BACKSLASH = 0x5c, CLOSE_BRACKET = 0x5d, LOWER_E = 0x65, LOWER_T = 0x74, LOWER_U = 0x75, LOWER_Z = 0x7a;
const OPEN_BRACE = 0x7b, CLOSE_BRACE = 0x7d;

// Deeper values in skipped fields go to the general path rather than deepen the recursion.
const maxSkipDepth = 64;

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** FNV-1a of a key's bytes with ASCII letters lower-cased, as Hive matches names; scanKey computes the same as it validates. */
function keyHash(bytes: Uint8Array, start: number, end: number): number {
  let hash = FNV_OFFSET;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ foldCase(bytes[i]!), FNV_PRIME);
  return hash;
}

function foldCase(byte: number): number {
  return byte >= UPPER_A && byte <= UPPER_Z ? byte | 0x20 : byte;
}

function isDigit(byte: number): boolean {
  return byte >= ZERO && byte <= NINE;
}

function isHexDigit(byte: number): boolean {
  return isDigit(byte) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66);
}

// What a byte inside a JSON string is.
const PLAIN = 0, END = 1, ESCAPE = 2, HIGH = 3, CONTROL = 4;
const stringByteClasses = Uint8Array.from({ length: 256 }, (_, byte) =>
  byte === QUOTE ? END : byte === BACKSLASH ? ESCAPE : byte >= 0x80 ? HIGH : byte < SPACE ? CONTROL : PLAIN);

/** The escapes JSON allows after a backslash, other than u: " \ / b f n r t. */
const simpleEscapes = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);

/**
 * The fields the table reads (columns and partition keys), by lower-case name. Only ASCII names: a
 * key the scanner accepts is ASCII, and lower-casing ASCII never gives anything else.
 */
class FieldNames {
  private readonly names: Uint8Array[] = [];
  private readonly hashes: number[] = [];
  private table = new Int32Array(8); // slot + 1 by hash, open addressing, never full; 0 = empty

  get count(): number { return this.names.length; }

  /** The slot of a lower-case name; columns and partition keys of one name share it. */
  slotOf(lowerName: string): number {
    const bytes = Buffer.from(lowerName, 'utf8');
    const existing = this.names.findIndex((name) => Buffer.compare(name, bytes) === 0);
    if (existing >= 0) return existing;
    this.names.push(bytes);
    this.hashes.push(keyHash(bytes, 0, bytes.length));
    this.rebuild();
    return this.names.length - 1;
  }

  /** The slot of a record's key, matched case-insensitively, or -1. */
  find(buf: Buffer, start: number, end: number, hash: number): number {
    const { table } = this;
    const mask = table.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = table[i]! - 1;
      if (slot < 0) return -1;
      if (this.hashes[slot] === hash && this.matches(this.names[slot]!, buf, start, end)) return slot;
    }
  }

  private matches(name: Uint8Array, buf: Buffer, start: number, end: number): boolean {
    if (name.length !== end - start) return false;
    for (let i = 0; i < name.length; i++) if (foldCase(buf[start + i]!) !== name[i]) return false;
    return true;
  }

  private rebuild(): void {
    let size = 8;
    while (size < 4 * this.names.length) size *= 2;
    this.table = new Int32Array(size);
    const mask = size - 1;
    this.names.forEach((name, slot) => {
      if (name.some((byte) => byte >= 0x80)) return; // no key the scanner accepts can match it
      let i = this.hashes[slot]! & mask;
      while (this.table[i] !== 0) i = (i + 1) & mask;
      this.table[i] = slot + 1;
    });
  }
}

/**
 * The case-folded key hashes of one object. A hash seen twice sends the record to the general path:
 * a key repeated exactly (the general path keeps the last, see parseRecordJson), in another spelling
 * (Hive's first-spelling rule), or, about once in 2^32 pairs, two keys sharing a hash.
 */
class KeyHashes {
  private hashes = new Int32Array(32);
  private occupied = new Uint8Array(32);
  private used = new Int32Array(16); // indices occupied, to clear only those
  private count = 0;

  clear(): void {
    for (let k = 0; k < this.count; k++) this.occupied[this.used[k]!] = 0;
    this.count = 0;
  }

  /** False when the hash is already there. */
  add(hash: number): boolean {
    if (this.count === this.used.length) this.grow();
    const mask = this.hashes.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      if (this.occupied[i] === 0) {
        this.occupied[i] = 1;
        this.hashes[i] = hash;
        this.used[this.count++] = i;
        return true;
      }
      if (this.hashes[i] === hash) return false;
    }
  }

  private grow(): void {
    const held = Array.from(this.used, (i) => this.hashes[i]!);
    this.hashes = new Int32Array(this.hashes.length * 2);
    this.occupied = new Uint8Array(this.hashes.length);
    this.used = new Int32Array(this.used.length * 2);
    this.count = 0;
    for (const hash of held) this.add(hash);
  }
}

/**
 * Scans a record value that is one flat JSON object, recording per field the table reads its kind and
 * byte range. It accepts only text that JSON.parse and lossless-json both accept (the grammar of RFC
 * 8259, nothing around the object but JSON whitespace) and answers false for everything it leaves to
 * the general path.
 */
class FlatObjectScanner {
  readonly kinds: Uint8Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly flags: Uint8Array;
  /** One per object depth: objects at one depth are scanned one after the other. */
  private readonly keysByDepth: KeyHashes[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private length = 0;
  // Results of the last token scanned.
  private tokenHash = 0;
  private tokenFlags = 0;

  constructor(private readonly names: FieldNames) {
    this.kinds = new Uint8Array(names.count);
    this.starts = new Int32Array(names.count);
    this.ends = new Int32Array(names.count);
    this.flags = new Uint8Array(names.count);
  }

  scan(buf: Buffer): boolean {
    this.buf = buf;
    this.length = buf.length;
    this.kinds.fill(MISSING);
    let pos = this.skipSpace(0);
    if (buf[pos] !== OPEN_BRACE) return false;
    const keys = this.keysAt(0);
    pos = this.skipSpace(pos + 1);
    if (buf[pos] !== CLOSE_BRACE) {
      for (;;) {
        if (buf[pos] !== QUOTE) return false;
        const keyEnd = this.scanKey(pos + 1);
        if (keyEnd < 0 || !keys.add(this.tokenHash)) return false;
        const slot = this.names.find(buf, pos + 1, keyEnd, this.tokenHash);
        pos = this.skipSpace(keyEnd + 1);
        if (buf[pos] !== COLON) return false;
        pos = this.skipSpace(pos + 1);
        const end = slot < 0 ? this.skipValue(pos, 1) : this.scanScalar(pos, slot);
        if (end < 0) return false;
        pos = this.skipSpace(end);
        if (buf[pos] === COMMA) pos = this.skipSpace(pos + 1);
        else if (buf[pos] === CLOSE_BRACE) break;
        else return false;
      }
    }
    return this.skipSpace(pos + 1) === this.length;
  }

  /** Records the scalar at pos as the field of `slot`; returns the index after it, or -1 (also for objects and arrays). */
  private scanScalar(pos: number, slot: number): number {
    const byte = this.buf[pos];
    let kind: number;
    let start = pos;
    let end: number;
    if (byte === QUOTE) {
      kind = STRING;
      start = pos + 1;
      end = this.scanString(start);
      if (end < 0) return -1;
      this.flags[slot] = this.tokenFlags;
      this.starts[slot] = start;
      this.ends[slot] = end;
      this.kinds[slot] = kind;
      return end + 1;
    }
    if (byte === 0x74) { kind = TRUE; end = this.literal(pos, 'true'); }
    else if (byte === 0x66) { kind = FALSE; end = this.literal(pos, 'false'); }
    else if (byte === 0x6e) { kind = NULL; end = this.literal(pos, 'null'); }
    else { kind = NUMBER; end = this.scanNumber(pos); }
    if (end < 0) return -1;
    this.starts[slot] = start;
    this.ends[slot] = end;
    this.kinds[slot] = kind;
    return end;
  }

  /** Validates the value at pos without building it; returns the index after it, or -1. */
  private skipValue(pos: number, depth: number): number {
    switch (this.buf[pos]) {
      case QUOTE: {
        const end = this.scanString(pos + 1);
        return end < 0 ? -1 : end + 1;
      }
      case OPEN_BRACE: return depth > maxSkipDepth ? -1 : this.skipObject(pos, depth);
      case OPEN_BRACKET: return depth > maxSkipDepth ? -1 : this.skipArray(pos, depth);
      case 0x74: return this.literal(pos, 'true');
      case 0x66: return this.literal(pos, 'false');
      case 0x6e: return this.literal(pos, 'null');
      default: return this.scanNumber(pos);
    }
  }

  private skipObject(pos: number, depth: number): number {
    const { buf } = this;
    const keys = this.keysAt(depth);
    pos = this.skipSpace(pos + 1);
    if (buf[pos] === CLOSE_BRACE) return pos + 1;
    for (;;) {
      if (buf[pos] !== QUOTE) return -1;
      const keyEnd = this.scanKey(pos + 1);
      if (keyEnd < 0 || !keys.add(this.tokenHash)) return -1;
      pos = this.skipSpace(keyEnd + 1);
      if (buf[pos] !== COLON) return -1;
      pos = this.skipValue(this.skipSpace(pos + 1), depth + 1);
      if (pos < 0) return -1;
      pos = this.skipSpace(pos);
      if (buf[pos] === CLOSE_BRACE) return pos + 1;
      if (buf[pos] !== COMMA) return -1;
      pos = this.skipSpace(pos + 1);
    }
  }

  private skipArray(pos: number, depth: number): number {
    const { buf } = this;
    pos = this.skipSpace(pos + 1);
    if (buf[pos] === CLOSE_BRACKET) return pos + 1;
    for (;;) {
      pos = this.skipValue(pos, depth + 1);
      if (pos < 0) return -1;
      pos = this.skipSpace(pos);
      if (buf[pos] === CLOSE_BRACKET) return pos + 1;
      if (buf[pos] !== COMMA) return -1;
      pos = this.skipSpace(pos + 1);
    }
  }

  private keysAt(depth: number): KeyHashes {
    const keys = (this.keysByDepth[depth] ??= new KeyHashes());
    keys.clear();
    return keys;
  }

  /** A key from after its opening quote: the index of its closing quote, or -1 for escapes, non-ASCII or control bytes. Sets tokenHash. */
  private scanKey(pos: number): number {
    const { buf, length } = this;
    let hash = FNV_OFFSET;
    for (; pos < length; pos++) {
      const byte = buf[pos]!;
      if (byte === QUOTE) {
        this.tokenHash = hash;
        return pos;
      }
      if (byte < SPACE || byte === BACKSLASH || byte >= 0x80) return -1;
      hash = Math.imul(hash ^ foldCase(byte), FNV_PRIME);
    }
    return -1;
  }

  /** A string from after its opening quote: the index of its closing quote, or -1. Sets tokenFlags. */
  private scanString(pos: number): number {
    const { buf, length } = this;
    let flags = 0;
    for (;;) {
      while (pos < length && stringByteClasses[buf[pos]!] === PLAIN) pos++;
      if (pos >= length) return -1;
      const byteClass = stringByteClasses[buf[pos]!];
      if (byteClass === END) {
        this.tokenFlags = flags;
        return pos;
      } else if (byteClass === HIGH) {
        flags |= NON_ASCII;
        pos++;
      } else if (byteClass === ESCAPE) {
        flags |= ESCAPED;
        const escape = buf[pos + 1];
        if (escape === LOWER_U) {
          if (pos + 5 >= length) return -1;
          for (let i = pos + 2; i < pos + 6; i++) if (!isHexDigit(buf[i]!)) return -1;
          pos += 6;
        } else if (escape !== undefined && simpleEscapes.has(escape)) {
          pos += 2;
        } else {
          return -1;
        }
      } else {
        return -1; // a control character: JSON wants it escaped
      }
    }
  }

  /** A number as RFC 8259 spells it: the index after it, or -1. */
  private scanNumber(pos: number): number {
    const { buf, length } = this;
    if (buf[pos] === MINUS) pos++;
    const first = buf[pos];
    if (first === ZERO) pos++;
    else if (first !== undefined && first >= ONE && first <= NINE) pos = this.skipDigits(pos + 1);
    else return -1;
    if (buf[pos] === DOT) {
      if (pos + 1 >= length || !isDigit(buf[pos + 1]!)) return -1;
      pos = this.skipDigits(pos + 1);
    }
    if (buf[pos] === LOWER_E || buf[pos] === UPPER_E) {
      pos++;
      if (buf[pos] === PLUS || buf[pos] === MINUS) pos++;
      if (pos >= length || !isDigit(buf[pos]!)) return -1;
      pos = this.skipDigits(pos);
    }
    return pos;
  }

  private skipDigits(pos: number): number {
    while (pos < this.length && isDigit(this.buf[pos]!)) pos++;
    return pos;
  }

  private literal(pos: number, word: string): number {
    if (pos + word.length > this.length) return -1;
    for (let i = 0; i < word.length; i++) if (this.buf[pos + i] !== word.charCodeAt(i)) return -1;
    return pos + word.length;
  }

  private skipSpace(pos: number): number {
    const { buf, length } = this;
    while (pos < length) {
      const byte = buf[pos];
      if (byte !== SPACE && byte !== LF && byte !== CR && byte !== TAB) break;
      pos++;
    }
    return pos;
  }
}
