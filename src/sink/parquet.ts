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
import { parquetWriteBuffer, type ColumnSource, type SchemaElement } from 'hyparquet-writer';
import { parseHiveType, type HiveType, type HiveValue } from './hive-types.ts';

export interface ParquetColumn {
  name: string;
  /** Hive type string as the metastore stores it. */
  type: string;
}

// Rows per row group: big enough for efficient scans, small enough that a reader's buffers stay modest.
const rowGroupSize = 100_000;

const fileMetadata = [
  // Tells Hive the DATE values use the proleptic Gregorian calendar (they do). Without it, Hive 4.0.1
  // reads dates before 1582-10-15 as a legacy hybrid-calendar file's: 1000-06-15 came back as
  // 1000-06-09 and 0001-01-01 as 0001-01-03.
  { key: 'writer.date.proleptic', value: 'true' },
];

/**
 * Encodes rows (each an array of column values in `columns` order, as makeRowDecoder returns them)
 * into one Parquet file. Column names are lower-cased: Hive matches Parquet columns by lower-case name.
 */
export function encodeParquet(columns: readonly ParquetColumn[], rows: readonly (readonly unknown[])[]): Uint8Array {
  const types = columns.map((column) => parseHiveType(column.type));
  const schema: SchemaElement[] = [{ name: 'hive_schema', num_children: columns.length }];
  columns.forEach((column, i) => schema.push(...schemaFor(column.name.toLowerCase(), types[i]!)));

  const columnData: ColumnSource[] = columns.map((column, i) => {
    const data = rows.map((row, r) => {
      if (row.length !== columns.length) {
        throw new Error(`row ${r} has ${row.length} values for ${columns.length} columns (${columns.map((c) => c.name).join(', ')})`);
      }
      return row[i] as HiveValue;
    });
    return { name: column.name.toLowerCase(), data };
  });

  return new Uint8Array(
    parquetWriteBuffer({ columnData, schema, codec: 'SNAPPY', rowGroupSize, kvMetadata: fileMetadata, createdBy: 'hive-kafka' }),
  );
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
