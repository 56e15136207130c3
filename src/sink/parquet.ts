// Rows of decoded Hive values -> one Parquet file that Hive 4 (ParquetHiveSerDe,
// MapredParquetInputFormat) reads back with the same values, nested types included.
//
// Writer: hyparquet-writer (pure JS), chosen by test/bench/parquet-writers.ts over parquet-wasm +
// apache-arrow. 500,000 rows (2 bigint, 2 string, 1 timestamp), SNAPPY, 2-core machine, Node 20,
// median of 5 over several runs: hyparquet-writer 2.4-2.9 s, +480 MiB peak RSS, 10.8 MB file;
// parquet-wasm 3.1-3.5 s, +635 MiB, 9.5 MB (it compresses a little better). Both files read in Hive.
//
// Type mapping (each one read back exactly by Hive in test/integration/sink-types.test.ts):
//   string, varchar, char  BYTE_ARRAY (UTF8)      binary     BYTE_ARRAY
//   tinyint, smallint      INT32 (INT_8, INT_16)   int        INT32
//   bigint                 INT64                    float      FLOAT         double  DOUBLE
//   boolean                BOOLEAN                  date       INT32 (DATE)
//   decimal(p,s)           FIXED_LEN_BYTE_ARRAY (DECIMAL(p,s)), the fewest bytes that hold p digits
//   timestamp              INT64 TIMESTAMP(isAdjustedToUTC=false, MICROS): checked on HiveServer2 4.0.1,
//                          both readers return 0001-01-01 to 9999-12-31 23:59:59.999999 and pre-1970
//                          fractions exactly. Hive reads a not-UTC-adjusted value as the wall clock it
//                          holds; a UTC-adjusted one is shifted to the server JVM's zone (Hive's
//                          ParquetTimestampUtils; this stack runs in UTC so it cannot show), MILLIS drops
//                          microseconds, NANOS cannot hold years outside 1677-2262, and INT96 (Hive's
//                          own default, which hyparquet-writer cannot write) depends on zone settings.
//   array<T>               3-level LIST:  optional group c (LIST) { repeated group list { optional T element } }
//   map<K,V>               MAP: optional group c (MAP) { repeated group key_value { required K key; optional V value } }
//   struct<...>            optional group c { optional field... }
// Every column and nested field is optional, since Hive columns are nullable.
import { ByteWriter, ParquetWriter, type SchemaElement } from 'hyparquet-writer';
import { compressSync } from 'snappy';
import { parseHiveType, type HiveType, type HiveValue } from './hive-types.ts';

export interface ParquetColumn {
  name: string;
  /** Hive type string as the metastore stores it. */
  type: string;
}

/**
 * When a row group is encoded: at this many rows, or once the records it holds took this many bytes
 * in Kafka (a proxy for their decoded size). A task holds one open row group per output file, so this,
 * not kafka.batch.maxSize, bounds its decoded values; encoded row groups are ~10 times smaller.
 * Measured offline on 500,000 benchmark records (decode + encode, one thread): 100,000 rows / 8 MiB
 * peaked at +232 MB RSS, 16,384 rows / 2 MiB at +115 MB, at the same speed and file size.
 */
export const ROW_GROUP_LIMITS = { rows: 16_384, sourceBytes: 2 << 20 } as const;

const fileMetadata = [
  // Tells Hive the DATE values use the proleptic Gregorian calendar (they do). Without it, Hive 4.0.1
  // reads dates before 1582-10-15 as a legacy hybrid-calendar file's: 1000-06-15 came back as
  // 1000-06-09 and 0001-01-01 as 0001-01-03.
  { key: 'writer.date.proleptic', value: 'true' },
];

/** The schema of a table's files, computed once per task. Column names are lower-cased: Hive matches Parquet columns by lower-case name. */
export interface ParquetLayout { columns: readonly ParquetColumn[]; names: string[]; schema: SchemaElement[] }

export function parquetLayout(columns: readonly ParquetColumn[]): ParquetLayout {
  const names = columns.map((column) => column.name.toLowerCase());
  const schema: SchemaElement[] = [{ name: 'hive_schema', num_children: columns.length }];
  columns.forEach((column, i) => schema.push(...schemaFor(names[i]!, parseHiveType(column.type))));
  return { columns, names, schema };
}

/**
 * One Parquet file, written a row group at a time: values go into per-column arrays, and a full row
 * group is encoded (SNAPPY) at once and its arrays dropped. The encoded bytes move out of the
 * writer's buffer in chunks of about 1 MB, so the buffer never grows by copying the whole file.
 */
export class ParquetFileWriter {
  private readonly writer: ParquetWriter;
  private readonly bytes: ChunkedBytes;
  private columnsData: HiveValue[][];
  private groupRows = 0;
  private groupSourceBytes = 0;
  private total = 0;

  constructor(private readonly layout: ParquetLayout, private readonly limits: { rows: number; sourceBytes: number } = ROW_GROUP_LIMITS) {
    this.bytes = new ChunkedBytes();
    this.writer = new ParquetWriter({ writer: this.bytes, schema: layout.schema, codec: 'SNAPPY', compressors: { SNAPPY: snappyBlock }, kvMetadata: fileMetadata, createdBy: 'hive-kafka' });
    this.columnsData = layout.columns.map(() => []);
  }

  get rows(): number { return this.total; }

  /** Copies one row's values (in column order; the array itself may be reused by the caller). */
  append(row: readonly HiveValue[], sourceBytes = 0): void {
    const { columnsData } = this;
    if (row.length !== columnsData.length) {
      throw new Error(`row ${this.total} has ${row.length} values for ${columnsData.length} columns (${this.layout.columns.map((c) => c.name).join(', ')})`);
    }
    for (let i = 0; i < row.length; i++) columnsData[i]!.push(row[i]!);
    this.total++;
    this.groupRows++;
    this.groupSourceBytes += sourceBytes;
    if (this.groupRows >= this.limits.rows || this.groupSourceBytes >= this.limits.sourceBytes) this.encodeRowGroup();
  }

  /** The bytes encoded so far that no one has taken yet: a file system that writes in pieces takes them after each fetch. */
  takeEncoded(): Uint8Array[] {
    return this.bytes.take();
  }

  /** The rest of the file (all of it if nothing was taken). The writer is done after this. */
  finish(): Uint8Array[] {
    this.encodeRowGroup();
    void this.writer.finish();
    return this.bytes.take();
  }

  private encodeRowGroup(): void {
    if (this.groupRows === 0) return;
    const columnData = this.layout.names.map((name, i) => ({ name, data: this.columnsData[i]! }));
    void this.writer.write({ columnData, rowGroupSize: this.groupRows });
    this.columnsData = this.layout.columns.map(() => []);
    this.groupRows = 0;
    this.groupSourceBytes = 0;
  }
}

/** hyparquet-writer's ByteWriter, moving what it wrote out into chunks once it holds 1 MB (as its own fileWriter does). */
class ChunkedBytes extends ByteWriter {
  private readonly chunks: Uint8Array[] = [];

  override ensure(size: number): void {
    if (this.index >= CHUNK_BYTES) {
      this.chunks.push(new Uint8Array(this.buffer.slice(0, this.index)));
      this.index = 0;
    }
    super.ensure(size);
  }

  /** Everything written since the last take (hyparquet-writer never writes back into earlier bytes; its own file writer flushes the same way). */
  take(): Uint8Array[] {
    if (this.index > 0) {
      this.chunks.push(new Uint8Array(this.buffer.slice(0, this.index)));
      this.index = 0;
    }
    return this.chunks.splice(0);
  }
}

const CHUNK_BYTES = 1 << 20;

/**
 * Parquet's SNAPPY is the raw block format, which `snappy` (napi-rs, the Rust snap crate) writes
 * natively. Against hyparquet-writer's own JavaScript snappy, the benchmark's records decoded and
 * encoded offline, 4 × 300,000 records, 7 runs side by side (2026-11-30, 2-core KVM): 0.76 of the CPU
 * and 133 MiB less peak RSS, files 4% larger. copyOutputData: the default external buffers, which V8
 * does not count and collects late, held 200 MiB more peak RSS in the same test, and were slower.
 */
function snappyBlock(page: Uint8Array): Uint8Array {
  return compressSync(page, { copyOutputData: true });
}

/** Encodes rows (each an array of column values in `columns` order, as makeRowDecoder returns them) into one Parquet file. */
export function encodeParquet(columns: readonly ParquetColumn[], rows: readonly (readonly unknown[])[]): Uint8Array {
  const file = new ParquetFileWriter(parquetLayout(columns));
  for (const row of rows) file.append(row as HiveValue[]);
  return new Uint8Array(Buffer.concat(file.finish()));
}

/** The pre-order schema elements of one column (a group followed by its descendants). */
function schemaFor(name: string, type: HiveType): SchemaElement[] {
  const optional = 'OPTIONAL' as const;
  switch (type.kind) {
    case 'varchar':
    case 'char':
      return [{ name, repetition_type: optional, type: 'BYTE_ARRAY', converted_type: 'UTF8' }];
    case 'decimal':
      return [{
        name,
        repetition_type: optional,
        type: 'FIXED_LEN_BYTE_ARRAY',
        type_length: decimalBytes(type.precision),
        converted_type: 'DECIMAL',
        precision: type.precision,
        scale: type.scale,
      }];
    case 'array':
      return [
        { name, repetition_type: optional, converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        ...schemaFor('element', type.element),
      ];
    case 'map': {
      const [key, ...keyRest] = schemaFor('key', type.key);
      return [
        { name, repetition_type: optional, converted_type: 'MAP', num_children: 1 },
        { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
        { ...key!, repetition_type: 'REQUIRED' }, // Hive map keys are never NULL
        ...keyRest,
        ...schemaFor('value', type.value),
      ];
    }
    case 'struct':
      return [
        { name, repetition_type: optional, num_children: type.fields.length },
        ...type.fields.flatMap((field) => schemaFor(field.name.toLowerCase(), field.type)),
      ];
    case 'primitive':
      return [{ name, repetition_type: optional, ...primitiveElements[type.name] }];
  }
}

const primitiveElements: Record<Extract<HiveType, { kind: 'primitive' }>['name'], Omit<SchemaElement, 'name'>> = {
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
  tinyint: { type: 'INT32', converted_type: 'INT_8' },
  smallint: { type: 'INT32', converted_type: 'INT_16' },
  int: { type: 'INT32' },
  bigint: { type: 'INT64' },
  float: { type: 'FLOAT' },
  double: { type: 'DOUBLE' },
  boolean: { type: 'BOOLEAN' },
  date: { type: 'INT32', converted_type: 'DATE' },
  timestamp: { type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' } },
  binary: { type: 'BYTE_ARRAY' },
};

/** Fewest bytes of a two's complement integer that hold every unscaled value of `precision` digits. */
function decimalBytes(precision: number): number {
  const max = 10n ** BigInt(precision) - 1n;
  let bytes = 1;
  while (max >= 1n << BigInt(8 * bytes - 1)) bytes++;
  return bytes;
}
