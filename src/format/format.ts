// The contract between a record's bytes and a table's columns (architecture seam 5).
//
// A ValueReader turns a value's bytes into a tree of fields. A projection (the same-name rule, or a
// kafka.mapping SELECT) picks the table's columns and partition values out of that tree and the
// record's Kafka metadata; convert.ts's converters then give each the Hive type of its column.
//
// Field trees use only values the Hive converters take, so every format is converted by the same
// rules: null, boolean, string, number (a finite double), bigint or LosslessNumber (exact digits),
// Uint8Array (BINARY), arrays, and plain objects (STRUCT and MAP). Decimals arrive as their exact
// decimal text, dates as days since 1970-01-01, timestamps as epoch milliseconds (a number) or as
// 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC wall clock, when finer than milliseconds).

/** One Kafka record as formats and mappings see it. */
export interface KafkaRecord {
  partition: number;
  offset: number;
  /** The record's timestamp, epoch milliseconds. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Header values by name (the last one wins when a name repeats); absent when the record has none. */
  headers?: ReadonlyMap<string, Buffer>;
}

/** A record as a task hands it to its decoder: the partition comes apart, as the task knows it. */
export type FormatInput = Omit<KafkaRecord, 'partition'>;

/** A table property that cannot work with the table's columns (a mapping, time partitions, a registry profile): the table fails before it reads. */
export class TableFormatError extends Error {
  override readonly name = 'TableFormatError';
  readonly retriable = false;
  constructor(readonly table: string, readonly property: string, readonly reason: string) {
    super(`table ${table}: ${property} ${reason}`);
  }
}

export interface ValueReader {
  /**
   * Called with each fetch's values before any read: where a format must wait for something first
   * (an Avro writer schema fetched by id). A failure here is the fetch's, not a record's: it is
   * retriable and the task restarts from its ledger offsets.
   */
  prepare?(values: readonly (Buffer | null)[]): Promise<SchemaChange | undefined>;
  /**
   * The value's fields. Throws RecordDecodeError naming the field or byte position when the bytes are
   * not of the format. `partition`: for formats that keep state per Kafka partition (CSV header rows).
   */
  read(value: Buffer, partition?: number): unknown;
}

/**
 * The first value of a fetch written with a schema the table does not have yet. The task commits what
 * came before it, then adds the columns through the metastore and restarts, or fails the table.
 */
export type SchemaChange =
  | { index: number; kind: 'add'; columns: { name: string; type: string }[]; reason: string }
  | { index: number; kind: 'refuse'; reason: string };
