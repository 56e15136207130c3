// The bucket Hive puts a row in, for tables `CLUSTERED BY (cols) INTO n BUCKETS`, so that files we
// write are the ones Hive would have written. Facts, from Hive 4's ObjectInspectorUtils
// (getBucketNumber, getBucketHashCode, hashCodeMurmur) and storage-api's Murmur3, checked against
// Hive's own INSERT placement on HiveServer2 4.0.1 (fixtures/bucketing/hive-buckets.json, test/unit/bucket.test.ts):
//
// - The table parameter `bucketing_version` picks the hash. Hive reads it with Integer.parseInt;
//   missing or unparsable means 1, and any value but 2 takes the old (version 1) hash. Hive 3+ writes
//   '2' on every CREATE TABLE. Version 1 hashes values Java-style (an INT is itself, a STRING is
//   31*h + byte, ...); it is not implemented here, and a version 1 table is refused.
// - Version 2: row hash h = 0, then for each clustering column in order h = 31*h + field hash (int32
//   arithmetic). bucket = (h & 0x7fffffff) % n.
// - Field hash: NULL is 0; BOOLEAN is 1 or 0; TINYINT is the value itself (no hashing); SMALLINT, INT
//   and BIGINT are Murmur3 of the value's 2, 4 or 8 big-endian two's-complement bytes; DATE is Murmur3
//   of the days since 1970-01-01 as 4 big-endian bytes; STRING and VARCHAR are Murmur3 of the UTF-8
//   bytes; CHAR is Murmur3 of the UTF-8 bytes without its trailing pad (spaces, and NULs among them).
// - Murmur3 is the x86 32-bit variant with seed 104729, with one difference from the reference: the
//   1-3 tail bytes are sign-extended before they are combined, so a tail byte >= 0x80 (UTF-8 beyond
//   ASCII) sets the high bits of the tail word. Hive's files depend on that, so we do the same.
//
// Hive's `murmur_hash(col, ...)` returns the row hash h above, so `(murmur_hash(c) & 2147483647) % n`
// is the bucket as a HiveQL expression (test/integration/bucketing.test.ts checks it on every row).
import { parseHiveType, type HiveType, type HiveValue } from './hive-types.ts';

export interface BucketLayout {
  /** db.table, for messages. */
  table: string;
  /** The table's columns in order; rows hold their values in this order. */
  columns: readonly { name: string; type: string }[];
  bucketColumns: readonly string[];
  numBuckets: number;
  /** The table parameter `bucketing_version` as stored, or undefined when the table has none. */
  bucketingVersion: string | undefined;
}

/** A row (values in table column order, as makeRowDecoder returns them) to its bucket, 0 to numBuckets - 1. */
export type Bucketer = (row: readonly unknown[]) => number;

/**
 * Compiles the table's bucketing once. Throws, naming the table and column, for what it cannot
 * compute exactly: a column type not covered, an unknown clustering column, bucketing version 1.
 */
export function makeBucketer(layout: BucketLayout): Bucketer {
  const { table, numBuckets } = layout;
  if (!Number.isSafeInteger(numBuckets) || numBuckets <= 0) {
    throw new Error(`table ${table}: ${numBuckets} buckets is not a positive bucket count; check the table's CLUSTERED BY ... INTO n BUCKETS`);
  }
  const hash = makeRowHash(layout);
  return (row) => (hash(row) & 0x7fffffff) % numBuckets;
}

/** Hive's row hash (what murmur_hash(cols...) returns), a signed int32; refuses what makeBucketer refuses, but the count. */
export function makeRowHash(layout: BucketLayout): (row: readonly unknown[]) => number {
  const { table, numBuckets } = layout;
  if (layout.bucketColumns.length === 0) throw new Error(`table ${table} has ${numBuckets} buckets but no CLUSTERED BY columns`);
  const version = bucketingVersionOf(layout.bucketingVersion);
  if (version !== 2) {
    throw new Error(`table ${table} has bucketing_version=${layout.bucketingVersion ?? '(unset, which Hive reads as 1)'}; ` +
      `hive-kafka writes buckets for bucketing version 2 only (Hive 3+'s default). ` +
      `Re-create the table with TBLPROPERTIES ('bucketing_version'='2'), or without CLUSTERED BY`);
  }
  const fields = layout.bucketColumns.map((name) => {
    const index = layout.columns.findIndex((c) => c.name.toLowerCase() === name.toLowerCase());
    if (index < 0) throw new Error(`table ${table}: clustering column "${name}" is not a column of the table`);
    const column = layout.columns[index]!;
    return { index, hash: fieldHasher(table, column.name, column.type) };
  });
  return (row) => {
    let h = 0;
    for (const { index, hash } of fields) {
      const value = row[index] as HiveValue | undefined;
      h = (Math.imul(31, h) + (value === null || value === undefined ? 0 : hash(value))) | 0;
    }
    return h;
  };
}

/** As Hive's Utilities.getBucketingVersion: an int, or 1 when missing or not a number. */
export function bucketingVersionOf(parameter: string | undefined): number {
  if (parameter === undefined || !/^[+-]?\d+$/.test(parameter)) return 1;
  const n = Number(parameter);
  return Number.isSafeInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 ? n : 1;
}

const supportedTypes = 'tinyint, smallint, int, bigint, string, varchar, char, date, boolean';

function fieldHasher(table: string, column: string, typeString: string): (value: HiveValue) => number {
  const type: HiveType = parseHiveType(typeString);
  const unsupported = () => new Error(`table ${table}: clustering column "${column}" has type ${typeString}; ` +
    `hive-kafka computes Hive's bucket numbers only for ${supportedTypes}. ` +
    `Cluster the table by columns of those types, or create it without CLUSTERED BY`);
  switch (type.kind) {
    case 'varchar':
      return (v) => murmur3(utf8(v as string));
    case 'char':
      // The decoder pads CHAR(n) with spaces. Hive hashes HiveCharWritable.getStrippedValue(): when the
      // value ends in a space, the trailing run of spaces and NULs is dropped; otherwise nothing is.
      return (v) => murmur3(utf8((v as string).endsWith(' ') ? (v as string).replace(/[ \0]+$/, '') : (v as string)));
    case 'primitive':
      switch (type.name) {
        case 'boolean': return (v) => (v ? 1 : 0);
        case 'tinyint': return (v) => Number(v) | 0;
        case 'smallint': return (v) => murmur3(bigEndian(BigInt(v as number), 2));
        case 'int': return (v) => murmur3(bigEndian(BigInt(v as number), 4));
        case 'date': return (v) => murmur3(bigEndian(BigInt(v as number), 4));
        case 'bigint': return (v) => murmur3(bigEndian(BigInt(v as bigint | number), 8));
        case 'string': return (v) => murmur3(utf8(v as string));
        default: throw unsupported();
      }
    default:
      throw unsupported();
  }
}

function utf8(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

/** The low `width` bytes of a two's-complement integer, most significant first. */
function bigEndian(value: bigint, width: 2 | 4 | 8): Uint8Array {
  const bytes = new Uint8Array(width);
  let v = BigInt.asUintN(width * 8, value);
  for (let i = width - 1; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return bytes;
}

const seed = 104729;

/** Murmur3 x86 32-bit with Hive's seed and Hive's sign-extended tail bytes; a signed int32. */
export function murmur3(data: Uint8Array): number {
  let h = seed;
  const blocks = data.length >>> 2;
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    // Whole blocks are little-endian words of unsigned bytes.
    const k = data[o]! | (data[o + 1]! << 8) | (data[o + 2]! << 16) | (data[o + 3]! << 24);
    h ^= scramble(k);
    h = (Math.imul(rotl(h, 13), 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const rest = data.length - tail;
  if (rest > 0) {
    // Hive combines tail bytes as Java's signed bytes: each one sign-extends before the shift and xor.
    const signed = (b: number) => (b << 24) >> 24;
    let k = 0;
    if (rest === 3) k ^= signed(data[tail + 2]!) << 16;
    if (rest >= 2) k ^= signed(data[tail + 1]!) << 8;
    k ^= signed(data[tail]!);
    h ^= scramble(k);
  }
  h ^= data.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

function scramble(k: number): number {
  return Math.imul(rotl(Math.imul(k, 0xcc9e2d51), 15), 0x1b873593);
}

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/**
 * The published name of a bucket's file: Hive reads the bucket from the leading digits before the
 * first '_' (Utilities.getBucketIdFromFile, pattern `^(0*([0-9]+))_([0-9]+).*`), as in its own
 * `000003_0`; our `<topic>+<p>+<first>+<last>.parquet` follows, for `ledger rebuild`.
 */
export function bucketFileName(bucket: number, baseName: string): string {
  return `${String(bucket).padStart(6, '0')}_0_${baseName}`;
}
