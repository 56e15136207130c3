// kafka.value.format=avro: the Confluent wire format (a 0 byte, the writer schema's id as 4 bytes
// big-endian, then the Avro binary body), writer schemas fetched by id from a Schema Registry.
//
// Each value is decoded with its own writer schema (avsc), so no reader schema is needed: the caller
// matches the record's fields to the table's columns by name, as for JSON, and the Hive converters of
// convert.ts give each its column's type. The field tree holds only what format.ts allows:
//   record -> plain object by field name; array -> array; map -> plain object; enum, string, uuid -> string;
//   boolean; int, float, double -> number (NaN and infinities as the strings 'NaN', 'Infinity', '-Infinity',
//   which the float and double converters take); long -> number when a safe integer, else bigint (exact);
//   bytes, fixed -> Uint8Array; a union -> its branch's value (null for the null branch);
//   decimal -> its exact text at the schema's scale ("-12345.678000000000000000");
//   date -> days since 1970-01-01; time-millis, time-micros -> number;
//   timestamp-millis, local-timestamp-millis -> epoch milliseconds (number);
//   timestamp-micros/-nanos, local-timestamp-micros/-nanos -> 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC wall clock,
//   exact before 1970 and beyond 2^53 microseconds; nanoseconds are cut to microseconds, as Hive files store).
//
// prepare() fetches and compiles the writer schemas of a fetch's unseen ids and judges each once
// against the table's columns under kafka.schema.compatibility (schemaChangeFor): a new field may add
// a column, or the schema is refused.
import avro from 'avsc';
import { parseHiveType, formatHiveType, type HiveType } from '../sink/hive-types.ts';
import { isWidening } from '../properties/schema-change.ts';
import { RecordDecodeError, type ColumnSpec } from '../hive/convert.ts';
import { formatTimestamp } from '../hive/scalars.ts';
import { TableFormatError, type SchemaChange, type ValueReader } from './format.ts';
import { SchemaRegistryError } from './schema-registry.ts';

export type Compatibility = 'NONE' | 'BACKWARD' | 'FORWARD' | 'FULL';

/** Where writer schemas come from: SchemaRegistryClient, or a twin in tests. */
export interface WriterSchemaSource {
  /** The schema's JSON text. */
  schemaById(id: number): Promise<string>;
  /** The subjects the id is registered under, for messages; optional, failures are ignored. */
  subjectsOf?(id: number): Promise<{ subject: string }[]>;
}

export interface AvroReaderOptions {
  registry: WriterSchemaSource;
  /** db.table, for messages. */
  table: string;
  columns: ColumnSpec[];
  /** The table's partition keys: a writer field of that name is taken as the key's value, never added as a column. */
  partitionKeys?: ColumnSpec[];
  compatibility: Compatibility;
}

/** The 5-byte Confluent header: magic byte 0, then the schema id. */
export const WIRE_HEADER_BYTES = 5;

// ---- the reader ----

interface Writer {
  id: number;
  /** Undefined when the schema cannot be compiled; `error` says why. */
  type?: avro.Type;
  error?: string;
  /** The registry answered that it has no schema of this id. */
  unknown?: boolean;
  /** What the schema means for the table; undefined when nothing (the same columns, or ignored fields). */
  change?: Omit<Extract<SchemaChange, { kind: 'add' }>, 'index'> | Omit<Extract<SchemaChange, { kind: 'refuse' }>, 'index'>;
}

export function avroReader(opts: AvroReaderOptions): ValueReader {
  const writers = new Map<number, Writer>();
  const loading = new Map<number, Promise<void>>();

  async function load(id: number): Promise<void> {
    // A registry that may answer later propagates (the fetch is retried); one that answered "no such id"
    // makes the records of that id record errors (kafka.error.policy); one that refuses us fails the table.
    let text: string;
    try {
      text = await opts.registry.schemaById(id);
    } catch (error) {
      if (error instanceof SchemaRegistryError && error.unknownId === id) {
        writers.set(id, { id, error: error.message, unknown: true });
        return;
      }
      if (error instanceof SchemaRegistryError && !error.retriable) {
        throw new TableFormatError(opts.table, 'kafka.schema.registry.url (or its profile)', `cannot be used to read schema id ${id}: ${error.message}`);
      }
      throw error;
    }
    const writer: Writer = { id };
    let schema: unknown;
    try {
      schema = JSON.parse(text);
    } catch (error) {
      writer.error = `its registered text is not JSON (${(error as Error).message})`;
    }
    if (writer.error === undefined) {
      try {
        writer.type = compileAvro(schema);
      } catch (error) {
        writer.error = `avsc cannot compile it (${(error as Error).message})`;
      }
    }
    const judge = (subject: string | undefined) => {
      const context = { table: opts.table, schemaId: id, subject, partitionKeys: opts.partitionKeys };
      return writer.error !== undefined
        ? { kind: 'refuse' as const, reason: `${describeSchema(context)}: the schema cannot be read: ${writer.error}` }
        : schemaChangeFor(schema, opts.columns, opts.compatibility, context);
    };
    writer.change = judge(undefined);
    if (writer.change && opts.registry.subjectsOf) {
      const subjects = await opts.registry.subjectsOf(id).catch(() => []);
      const names = [...new Set(subjects.map((s) => s.subject))];
      if (names.length > 0) writer.change = judge(names.join(', '));
    }
    writers.set(id, writer);
  }

  return {
    async prepare(values) {
      // An id the registry did not know is asked for again with the next fetch: it may be registered by now.
      for (const [id, writer] of writers) if (writer.unknown) writers.delete(id);
      const unseen = new Set<number>();
      for (const value of values) {
        const id = schemaIdOf(value);
        if (id !== undefined && !writers.has(id)) unseen.add(id);
      }
      await Promise.all([...unseen].map((id) => {
        let pending = loading.get(id);
        if (!pending) {
          pending = load(id).finally(() => loading.delete(id));
          loading.set(id, pending);
        }
        return pending;
      }));
      for (let index = 0; index < values.length; index++) {
        const id = schemaIdOf(values[index]!);
        const change = id === undefined ? undefined : writers.get(id)?.change;
        if (change) return { index, ...change };
      }
      return undefined;
    },

    read(value) {
      if (value.length < WIRE_HEADER_BYTES) {
        throw new RecordDecodeError(undefined, `the value has ${value.length} byte(s), too few for the Confluent Avro wire format ` +
          '(a 0 byte, the 4-byte schema id, then the Avro body)');
      }
      if (value[0] !== 0) {
        const first = value[0]!;
        const hint = first === 0x7b || first === 0x5b ? ' (it looks like JSON: is kafka.value.format=avro right for this topic?)' : '';
        throw new RecordDecodeError(undefined, `the value does not start with the Confluent wire format's magic byte 0 ` +
          `(its first byte is 0x${first.toString(16).padStart(2, '0')})${hint}`);
      }
      const id = value.readUInt32BE(1);
      const writer = writers.get(id);
      if (!writer) {
        throw new RecordDecodeError(undefined, `the value's schema id ${id} was not loaded before the record was read ` +
          '(prepare() must see every fetch; this is a bug of hive-kafka)');
      }
      if (!writer.type) throw new RecordDecodeError(undefined, `the value's schema id ${id} cannot be read: ${writer.error}`);
      return decodeBody(writer.type, id, value);
    },
  };
}

function schemaIdOf(value: Buffer | null): number | undefined {
  return value !== null && value.length >= WIRE_HEADER_BYTES && value[0] === 0 ? value.readUInt32BE(1) : undefined;
}

/** The body's field tree; RecordDecodeError naming the byte position when the bytes are not of the schema. */
export function decodeBody(type: avro.Type, id: number, value: Buffer): unknown {
  let decoded: { value: unknown; offset: number };
  try {
    decoded = type.decode(value, WIRE_HEADER_BYTES);
  } catch (error) {
    throw bodyError(type, id, value, error);
  }
  if (decoded.offset < 0) throw bodyError(type, id, value, undefined);
  if (decoded.offset !== value.length) {
    throw new RecordDecodeError(undefined, `the Avro body of schema id ${id} ends at byte ${decoded.offset}, ` +
      `but the value has ${value.length} bytes (${value.length - decoded.offset} trailing): ` +
      'the value was not written with this schema, or is not a single Avro datum');
  }
  return decoded.value;
}

/** Finds which field could not be read, and at which byte of the value it starts (slow path, errors only). */
function bodyError(type: avro.Type, id: number, value: Buffer, error: unknown): RecordDecodeError {
  const where = locate(type, value, WIRE_HEADER_BYTES, '');
  const field = where.path === '' ? '' : `field '${where.path.slice(1)}' `;
  const cause = where.error ?? error;
  if (cause === undefined) {
    return new RecordDecodeError(undefined, `the Avro body of schema id ${id} ends early: ${field}at byte ${where.position} ` +
      `needs more than the value's ${value.length} bytes (the value was cut, or not written with this schema)`);
  }
  return new RecordDecodeError(undefined, `the Avro body of schema id ${id} cannot be read: ${field}at byte ${where.position}: ` +
    `${(cause as Error).message ?? String(cause)} (the value was not written with this schema, or is damaged)`);
}

function locate(type: avro.Type, value: Buffer, position: number, path: string): { path: string; position: number; error?: unknown } {
  if (!(type instanceof avro.types.RecordType)) return { path, position, error: attempt(type, value, position).error };
  for (const field of type.fields) {
    const tried = attempt(field.type, value, position);
    if (tried.offset === undefined) return locate(field.type, value, position, `${path}.${field.name}`);
    position = tried.offset;
  }
  return { path, position };
}

function attempt(type: avro.Type, value: Buffer, position: number): { offset?: number; error?: unknown } {
  try {
    const { offset } = type.decode(value, position);
    return offset < 0 ? {} : { offset };
  } catch (error) {
    return { error };
  }
}

// ---- compiling a writer schema with avsc ----

const minSafe = BigInt(Number.MIN_SAFE_INTEGER);
const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);

/** avsc's Tap, the cursor its types read from (the members these types use). */
interface Tap {
  pos: number;
  readLong(): number;
  readFloat(): number;
  readDouble(): number;
  /** The long at pos as 8 bytes, two's complement little-endian; pos moves past it. */
  unpackLongBytes(): Buffer;
}

// tap.readLong() is exact while the zigzag value fits a double's 53 bits, that is |n| < 2^52; beyond,
// it may round, so those longs are read again as their 8 bytes (what LongType.__with does for every long).
const exactLongBound = 2 ** 52;

/**
 * long: a number while it is a safe integer, else an exact bigint. The same values as a
 * LongType.__with type whose fromBuffer reads a BigInt64, about four times faster for the usual longs.
 */
class ExactLongType extends avro.types.LongType {
  _read(tap: Tap): number | bigint {
    const start = tap.pos;
    const n = tap.readLong();
    if (n > -exactLongBound && n < exactLongBound) return n;
    tap.pos = start;
    const exact = tap.unpackLongBytes().readBigInt64LE();
    return exact >= minSafe && exact <= maxSafe ? Number(exact) : exact;
  }
}

/** float and double: NaN and the infinities as the strings Hive's converters take ('NaN', 'Infinity', '-Infinity'). */
class FiniteFloatType extends avro.types.FloatType {
  _read(tap: Tap): number | string {
    const value = tap.readFloat();
    return value - value === 0 ? value : String(value);
  }
}

class FiniteDoubleType extends avro.types.DoubleType {
  _read(tap: Tap): number | string {
    const value = tap.readDouble();
    return value - value === 0 ? value : String(value);
  }
}

const exactLong = new ExactLongType();
const finiteFloat = new FiniteFloatType();
const finiteDouble = new FiniteDoubleType();

const microsPerMilli = 1000n;

/** A logical type over an already built type: only decoding is needed here. */
abstract class ReadOnlyLogical extends avro.types.LogicalType {
  protected override _toValue(): never {
    throw new Error('hive-kafka reads Avro only');
  }

  protected override _resolve(): undefined {
    return undefined;
  }
}

/** timestamp-micros and local-timestamp-micros (unit 1n), -nanos (1000n): the UTC wall clock text, exact. */
class TimestampText extends ReadOnlyLogical {
  constructor(private readonly perMicro: bigint) {
    super(exactLong);
  }

  protected override _fromValue(value: number | bigint): string {
    let micros = BigInt(value);
    if (this.perMicro !== 1n) micros = micros / this.perMicro - (micros % this.perMicro < 0n ? 1n : 0n); // floor
    return formatTimestamp(micros);
  }
}

/** A union whose branches avsc cannot tell apart by value (two records, int and long...): its branch's value. */
class UnwrappedBranch extends ReadOnlyLogical {
  protected override _fromValue(value: { unwrap(): unknown } | null): unknown {
    return value === null ? null : value.unwrap();
  }
}

// Decimals hold at most as many digits as this many bytes allow: longer is damage, refused before BigInt work.
const maxDecimalBytes = 64;

/** decimal on bytes or fixed: the exact text at the schema's scale. Invalid parameters fall back to the underlying type. */
class DecimalText extends avro.types.LogicalType {
  private readonly scale: number;

  constructor(schema: avro.Schema, opts?: unknown) {
    super(schema, opts);
    const params = decimalParams(schema as AvroObject, (schema as AvroObject).type === 'fixed' ? Number((schema as AvroObject).size) : undefined);
    if (!params) throw new Error('invalid decimal');
    this.scale = params.scale;
  }

  protected override _fromValue(bytes: Buffer): string {
    return decimalText(unscaledOf(bytes), this.scale);
  }

  protected override _toValue(): never {
    throw new Error('hive-kafka reads Avro only');
  }

  protected override _resolve(): undefined {
    return undefined;
  }
}

/** uuid on fixed(16): the canonical text. On string avsc's own string is kept (this type refuses, so it falls back). */
class UuidText extends avro.types.LogicalType {
  constructor(schema: avro.Schema, opts?: unknown) {
    super(schema, opts);
    if ((schema as AvroObject).type !== 'fixed' || (schema as AvroObject).size !== 16) throw new Error('uuid on a string: kept as the string');
  }

  protected override _fromValue(bytes: Buffer): string {
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  protected override _toValue(): never {
    throw new Error('hive-kafka reads Avro only');
  }

  protected override _resolve(): undefined {
    return undefined;
  }
}

/** Builds types where avsc's defaults do not give the field tree above: longs, floats, doubles, unions. */
function typeHook(schema: avro.Schema, opts: unknown): avro.Type | undefined {
  const forSchemaOpts = opts as Parameters<typeof avro.Type.forSchema>[1];
  const typeName = typeof schema === 'string' ? schema : Array.isArray(schema) ? undefined : (schema as AvroObject)?.type;
  if (Array.isArray(schema)) {
    // Built as types first, so that named branches are defined once whichever union class takes them.
    const branches = schema.map((branch) => avro.Type.forSchema(branch, forSchemaOpts)) as unknown as avro.Schema;
    try {
      return new avro.types.UnwrappedUnionType(branches, forSchemaOpts);
    } catch {
      return new UnwrappedBranch(new avro.types.WrappedUnionType(branches, forSchemaOpts));
    }
  }
  switch (typeName) {
    case 'long': {
      const logical = typeof schema === 'string' ? undefined : (schema as AvroObject).logicalType;
      if (logical === 'timestamp-micros' || logical === 'local-timestamp-micros') return new TimestampText(1n);
      if (logical === 'timestamp-nanos' || logical === 'local-timestamp-nanos') return new TimestampText(microsPerMilli);
      return exactLong; // timestamp-millis, local-timestamp-millis, time-micros: the number itself
    }
    case 'float':
      return finiteFloat;
    case 'double':
      return finiteDouble;
    default:
      return undefined;
  }
}

/** Compiles a writer schema (parsed JSON) into the avsc type that decodes its bodies into field trees. */
export function compileAvro(schema: unknown): avro.Type {
  const type = avro.Type.forSchema(schema as avro.Schema, {
    typeHook,
    logicalTypes: { decimal: DecimalText, uuid: UuidText } as never,
    omitRecordMethods: true,
    registry: {},
  });
  plainRecords(type, new Set());
  return type;
}

/**
 * Records decode as instances of avsc's generated constructors; with Object.prototype as their
 * prototype they are plain objects (as format.ts asks) at no extra cost per record.
 */
function plainRecords(type: avro.Type, seen: Set<avro.Type>): void {
  if (seen.has(type)) return;
  seen.add(type);
  if (type instanceof avro.types.RecordType) {
    (type.recordConstructor as { prototype: object }).prototype = Object.prototype;
    for (const field of type.fields) plainRecords(field.type, seen);
  } else if (type instanceof avro.types.ArrayType) {
    plainRecords(type.itemsType, seen);
  } else if (type instanceof avro.types.MapType) {
    plainRecords(type.valuesType as avro.Type, seen);
  } else if (type instanceof avro.types.LogicalType) {
    plainRecords(type.underlyingType, seen);
  } else if (type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType) {
    for (const branch of (type as unknown as { types: avro.Type[] }).types) plainRecords(branch, seen);
  }
}

// ---- decimals ----

/** The two's-complement big-endian integer of a decimal's bytes. */
export function unscaledOf(bytes: Uint8Array): bigint {
  const length = bytes.length;
  if (length === 0) return 0n;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, length);
  if (length <= 6) return BigInt(buf.readIntBE(0, length));
  if (length > maxDecimalBytes) {
    // Sign extension may pad a small value; anything longer than that is more digits than any decimal holds.
    const pad = buf[0] === 0xff ? 0xff : 0x00;
    let first = 0;
    while (first < length - 1 && buf[first] === pad && (buf[first + 1]! & 0x80) === (pad & 0x80)) first++;
    if (length - first > maxDecimalBytes) throw new Error(`a decimal of ${length - first} significant bytes is more digits than any decimal holds`);
    return unscaledOf(buf.subarray(first));
  }
  let n = BigInt(`0x${buf.toString('hex')}`);
  if (buf[0]! & 0x80) n -= 1n << BigInt(length * 8);
  return n;
}

/** The exact decimal text of unscaled × 10^-scale, with all `scale` fraction digits. */
export function decimalText(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString();
  if (scale === 0) return negative ? `-${digits}` : digits;
  const padded = digits.padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${padded.slice(0, padded.length - scale)}.${padded.slice(padded.length - scale)}`;
}

/** A decimal's precision and scale when valid by the Avro spec (else the logical type is ignored), for a fixed of `size` bytes. */
function decimalParams(schema: AvroObject, size: number | undefined): { precision: number; scale: number } | undefined {
  const precision = schema.precision;
  const scale = schema.scale ?? 0;
  if (!Number.isInteger(precision) || !Number.isInteger(scale)) return undefined;
  const p = precision as number, s = scale as number;
  if (p < 1 || s < 0 || s > p) return undefined;
  if (size !== undefined) {
    // A fixed of n bytes holds at most floor(log10(2^(8n-1) - 1)) digits.
    if (!Number.isInteger(size) || size < 1 || p > (2n ** BigInt(8 * size - 1) - 1n).toString().length - 1) return undefined;
  }
  return { precision: p, scale: s };
}

// ---- Avro schema -> Hive type ----

type AvroObject = {
  type?: unknown; name?: unknown; namespace?: unknown; fields?: unknown; items?: unknown; values?: unknown;
  symbols?: unknown; size?: unknown; logicalType?: unknown; precision?: unknown; scale?: unknown;
};

const hiveOfPrimitive: Readonly<Record<string, string | undefined>> = {
  boolean: 'boolean', int: 'int', long: 'bigint', float: 'float', double: 'double', bytes: 'binary', string: 'string',
};

/** Hive's largest decimal precision (HiveDecimal.MAX_PRECISION). Wider Avro decimals are kept as their exact text in a STRING. */
const maxHiveDecimalPrecision = 38;

/**
 * The Hive type of an Avro schema (parsed JSON): record -> struct<name:type,...> (names lower-cased), array<T>,
 * map<string,T>, ["null", T] -> T, enum/string/uuid -> string, int, long -> bigint, float, double, boolean,
 * bytes/fixed -> binary, decimal(p,s) -> decimal(p,s) (p > 38: string, its exact text), date,
 * timestamp-* and local-timestamp-* -> timestamp, time-millis -> int, time-micros -> bigint.
 * A union of several non-null branches: their common type when they have one (int and long -> bigint,
 * float and double -> double), else string when every branch is a scalar. Throws naming what has no Hive type.
 */
export function hiveTypeOfAvro(schema: unknown): string {
  return new AvroNames().hiveType(schema, undefined);
}

/** Named types (records, enums, fixed) seen so far, so that later references by name resolve. */
class AvroNames {
  private readonly named = new Map<string, { schema: AvroObject; namespace: string | undefined }>();
  private readonly inProgress = new Set<string>();

  hiveType(schema: unknown, namespace: string | undefined): string {
    if (typeof schema === 'string') {
      const primitive = hiveOfPrimitive[schema];
      if (primitive) return primitive;
      if (schema === 'null') throw new Error('the Avro type "null" (always NULL) has no Hive type');
      const fullName = schema.includes('.') || namespace === undefined ? schema : `${namespace}.${schema}`;
      const found = this.named.get(fullName) ?? this.named.get(schema);
      if (!found) throw new Error(`Avro type name "${schema}" is not defined before its use`);
      const key = this.named.get(fullName) ? fullName : schema;
      if (this.inProgress.has(key)) throw new Error(`Avro record "${key}" contains itself, which no Hive type can`);
      return this.definedType(key, found.schema, found.namespace);
    }
    if (Array.isArray(schema)) return this.unionType(schema, namespace);
    if (schema === null || typeof schema !== 'object') throw new Error(`${JSON.stringify(schema)} is not an Avro schema`);
    const s = schema as AvroObject;
    if (typeof s.type !== 'string') {
      // {"type": {...}} and {"type": [...]} are the nested schema itself.
      return this.hiveType(s.type, namespace);
    }
    const logical = this.logicalHiveType(s);
    if (logical) {
      // A named fixed still defines its name.
      if (s.type === 'fixed') this.define(s, namespace);
      return logical;
    }
    switch (s.type) {
      case 'record':
      case 'error':
      case 'enum':
      case 'fixed': {
        const { key, ns } = this.define(s, namespace);
        return this.definedType(key, s, ns);
      }
      case 'array':
        return `array<${this.hiveType(s.items, namespace)}>`;
      case 'map':
        return `map<string,${this.hiveType(s.values, namespace)}>`;
      default:
        return this.hiveType(s.type, namespace);
    }
  }

  /** Defines a named type; its key is its full name, ns the namespace its inner names resolve in. */
  define(s: AvroObject, namespace: string | undefined): { key: string; ns: string | undefined } {
    if (typeof s.name !== 'string') throw new Error(`an Avro ${String(s.type)} needs a name`);
    const ns = s.name.includes('.') ? s.name.slice(0, s.name.lastIndexOf('.'))
      : typeof s.namespace === 'string' && s.namespace !== '' ? s.namespace : s.namespace === '' ? undefined : namespace;
    const key = s.name.includes('.') || ns === undefined ? s.name : `${ns}.${s.name}`;
    this.named.set(key, { schema: s, namespace: ns });
    return { key, ns };
  }

  /** Marks a record as being walked: a reference to it from inside is a recursion no Hive type has. */
  enter(key: string): void {
    this.inProgress.add(key);
  }

  private definedType(key: string, s: AvroObject, namespace: string | undefined): string {
    switch (s.type) {
      case 'enum':
        return 'string';
      case 'fixed':
        return this.logicalHiveType(s) ?? 'binary';
      default: {
        if (!Array.isArray(s.fields)) throw new Error(`Avro record "${key}" has no fields list`);
        if (s.fields.length === 0) throw new Error(`Avro record "${key}" has no fields, which a Hive struct cannot have`);
        this.inProgress.add(key);
        try {
          const fields = (s.fields as { name?: unknown; type?: unknown }[]).map((f) => `${String(f.name).toLowerCase()}:${this.hiveType(f.type, namespace)}`);
          return `struct<${fields.join(',')}>`;
        } finally {
          this.inProgress.delete(key);
        }
      }
    }
  }

  /** The Hive type a valid logical type gives; undefined when there is none or it is invalid (then the underlying type counts). */
  private logicalHiveType(s: AvroObject): string | undefined {
    switch (s.logicalType) {
      case 'decimal': {
        if (s.type !== 'bytes' && s.type !== 'fixed') return undefined;
        const params = decimalParams(s, s.type === 'fixed' ? Number(s.size) : undefined);
        if (!params) return undefined;
        return params.precision > maxHiveDecimalPrecision ? 'string' : `decimal(${params.precision},${params.scale})`;
      }
      case 'uuid':
        return s.type === 'string' || (s.type === 'fixed' && s.size === 16) ? 'string' : undefined;
      case 'date':
        return s.type === 'int' ? 'date' : undefined;
      case 'timestamp-millis':
      case 'timestamp-micros':
      case 'timestamp-nanos':
      case 'local-timestamp-millis':
      case 'local-timestamp-micros':
      case 'local-timestamp-nanos':
        return s.type === 'long' ? 'timestamp' : undefined;
      default:
        return undefined; // time-millis (int), time-micros (long), duration (fixed) and unknown ones: the underlying type
    }
  }

  private unionType(branches: unknown[], namespace: string | undefined): string {
    const nonNull = branches.filter((b) => b !== 'null' && !(b !== null && typeof b === 'object' && (b as AvroObject).type === 'null'));
    if (nonNull.length === 0) throw new Error('a union of only "null" (always NULL) has no Hive type');
    const types = nonNull.map((b) => this.hiveType(b, namespace));
    const distinct = [...new Set(types)];
    if (distinct.length === 1) return distinct[0]!;
    if (distinct.every((t) => t === 'int' || t === 'bigint')) return 'bigint';
    if (distinct.every((t) => t === 'float' || t === 'double')) return 'double';
    const scalars = new Set(['string', 'int', 'bigint', 'float', 'double', 'boolean']);
    if (distinct.every((t) => scalars.has(t) || t.startsWith('decimal(') || t === 'date' || t === 'timestamp')) return 'string';
    throw new Error(`the Avro union of ${distinct.join(', ')} has no Hive type (only unions of scalars are read, as string)`);
  }
}

// ---- schema changes ----

export interface SchemaContext {
  /** db.table */
  table?: string;
  schemaId?: number;
  /** The registry subject(s) the id is registered under, when known. */
  subject?: string | undefined;
  /** Fields of these names give partition values: never added as columns, and their types are not compared. */
  partitionKeys?: readonly ColumnSpec[] | undefined;
}

export type SchemaJudgement =
  | { kind: 'add'; columns: { name: string; type: string }[]; reason: string }
  | { kind: 'refuse'; reason: string };

function describeSchema(context: SchemaContext, recordName?: string): string {
  const parts = [
    context.schemaId !== undefined ? `Avro schema id ${context.schemaId}` : 'the Avro writer schema',
    [recordName !== undefined ? `record ${recordName}` : undefined, context.subject !== undefined ? `subject ${context.subject}` : undefined]
      .filter(Boolean).join(', '),
  ];
  const schema = parts[1] ? `${parts[0]} (${parts[1]})` : parts[0]!;
  return context.table !== undefined ? `${schema} of table ${context.table}` : schema;
}

/**
 * What a writer schema (parsed JSON) means for a table with `columns` under kafka.schema.compatibility
 * `mode`; undefined when nothing. Pure. Fields match columns by name, case-insensitively.
 * - A field that is not a column: BACKWARD and FULL add it as a column (name lower-cased, type
 *   hiveTypeOfAvro) when it has a default, and refuse it without one (old rows could not be read with
 *   the new schema); FORWARD and NONE ignore it (the table keeps its columns; the field is not read).
 * - A field whose Hive type differs from its column's: BACKWARD, FORWARD and FULL refuse it unless every
 *   value of the field converts exactly to the column: the same widenings the DDL rules allow for files
 *   already written (int to bigint or double, float to double, decimal(p,s) to decimal(q >= p, s)),
 *   applied inside arrays, maps and structs too; a struct field the column's struct lacks is refused
 *   under BACKWARD and FULL and ignored under FORWARD. NONE never refuses: each record is converted
 *   by the column's type, and a value that cannot be is that record's error.
 * - A writer schema that is not a record is refused in every mode: its values have no fields.
 * Columns missing from the writer schema are not a change: they read NULL.
 */
export function schemaChangeFor(writer: unknown, columns: readonly ColumnSpec[], mode: Compatibility, context: SchemaContext = {}): SchemaJudgement | undefined {
  const record = writer as AvroObject | null;
  if (record === null || typeof record !== 'object' || Array.isArray(record) || (record.type !== 'record' && record.type !== 'error') || !Array.isArray(record.fields)) {
    const what = Array.isArray(writer) ? 'a union' : typeof writer === 'string' ? `"${writer}"` : `a ${String((record as AvroObject | null)?.type)}`;
    return { kind: 'refuse', reason: `${describeSchema(context)} is ${what}, not a record: its values have no fields to fill the table's columns with` };
  }
  const recordName = typeof record.name === 'string' ? record.name : undefined;
  const describe = describeSchema(context, recordName);
  const byName = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
  const partitionNames = new Set((context.partitionKeys ?? []).map((k) => k.name.toLowerCase()));
  const names = new AvroNames();
  let namespace: string | undefined;
  if (recordName !== undefined) {
    const top = names.define(record, undefined);
    names.enter(top.key);
    namespace = top.ns;
  }
  const refusals: string[] = [];
  const added: { name: string; type: string }[] = [];
  const seen = new Set<string>();
  for (const field of record.fields as { name?: unknown; type?: unknown; default?: unknown }[]) {
    const name = String(field.name);
    const lower = name.toLowerCase();
    // Every field's type is walked in order, so named types defined in one field resolve in later ones.
    let hiveType: string | undefined;
    let typeProblem: string | undefined;
    try {
      hiveType = names.hiveType(field.type, namespace);
    } catch (error) {
      typeProblem = (error as Error).message;
    }
    if (seen.has(lower) || partitionNames.has(lower)) continue;
    seen.add(lower);
    const column = byName.get(lower);
    if (!column) {
      if (mode === 'FORWARD' || mode === 'NONE') continue;
      if (!Object.hasOwn(field, 'default')) {
        refusals.push(`field '${name}' was added without a default, which ${mode} does not allow ` +
          '(rows already written could not be read with the new schema): give the field a default, or ALTER TABLE ... ADD COLUMNS it yourself');
      } else if (typeProblem !== undefined) {
        refusals.push(`field '${name}' cannot be added as a column: ${typeProblem}`);
      } else {
        added.push({ name: lower, type: hiveType! });
      }
      continue;
    }
    if (mode === 'NONE') continue;
    if (typeProblem !== undefined) {
      refusals.push(`field '${name}' cannot be compared with column ${column.name} (${column.type}) under ${mode}: ${typeProblem}`);
      continue;
    }
    let columnType: HiveType;
    try {
      columnType = parseHiveType(column.type);
    } catch {
      continue; // the table's own type is judged where the table is opened
    }
    const mismatch = fits(parseHiveType(hiveType!), columnType, mode, '');
    if (mismatch !== undefined) {
      const nested = mismatch === '' ? '' : ` (at ${name}${mismatch})`;
      refusals.push(`field '${name}' is ${hiveType} in the schema but column ${column.name} is ${formatHiveType(columnType)}${nested}, ` +
        `which ${mode} does not allow (only the widenings int to bigint or double, float to double, decimal(p,s) to decimal(q >= p,s)): ` +
        `ALTER the column, or set kafka.schema.compatibility=NONE to convert record by record`);
    }
  }
  if (refusals.length > 0) return { kind: 'refuse', reason: `${describe}: ${refusals.join('; ')}` };
  if (added.length > 0) {
    return {
      kind: 'add', columns: added,
      reason: `${describe} adds ${added.map((c) => `field '${c.name}' (${c.type}, with a default)`).join(', ')}, which ${mode} allows: adding the column${added.length > 1 ? 's' : ''}`,
    };
  }
  return undefined;
}

/**
 * Whether every value of a writer's Hive type converts exactly to the column's: undefined when it
 * does, else the path inside the type where it does not ('' at the top).
 */
function fits(writer: HiveType, column: HiveType, mode: Compatibility, path: string): string | undefined {
  if (formatHiveType(writer).toLowerCase() === formatHiveType(column).toLowerCase()) return undefined;
  switch (writer.kind) {
    case 'array':
      return column.kind === 'array' ? fits(writer.element, column.element, mode, `${path}[]`) : path;
    case 'map':
      if (column.kind !== 'map' || formatHiveType(writer.key) !== formatHiveType(column.key)) return path;
      return fits(writer.value, column.value, mode, `${path}{}`);
    case 'struct': {
      if (column.kind !== 'struct') return path;
      const columnFields = new Map(column.fields.map((f) => [f.name.toLowerCase(), f.type]));
      for (const field of writer.fields) {
        const inColumn = columnFields.get(field.name.toLowerCase());
        if (inColumn === undefined) {
          if (mode === 'FORWARD') continue;
          return `${path}.${field.name}`;
        }
        const inner = fits(field.type, inColumn, mode, `${path}.${field.name}`);
        if (inner !== undefined) return inner;
      }
      return undefined;
    }
    default:
      if (column.kind === 'array' || column.kind === 'map' || column.kind === 'struct') return path;
      return isWidening(formatHiveType(writer), formatHiveType(column)) ? undefined : path;
  }
}
