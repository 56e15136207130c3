// The Hive system tables hive-kafka keeps (streams, partitions, history, deadletters): their columns,
// their storage (JSON lines read by Hive 4's JsonSerDe), and the one function that turns a row into a
// line. The JSON keys are the column names, taken from these definitions and nowhere else, so the files
// the service writes and the tables Hive reads them through cannot drift apart.
import { isUtf8 } from 'node:buffer';

export type HiveColumnType = 'string' | 'int' | 'bigint' | 'double' | 'timestamp';

export interface SystemColumn {
  readonly name: string;
  readonly type: HiveColumnType;
  readonly comment: string;
}

export interface SystemTableDef<C extends readonly SystemColumn[] = readonly SystemColumn[]> {
  readonly name: string;
  readonly comment: string;
  readonly columns: C;
  /**
   * deadletters: (db_name, table_name), partitions in the ingested tables' locations. The published
   * tables: (instance), one partition per service instance, which only that instance writes.
   */
  readonly partitionKeys: readonly SystemColumn[];
}

/** What each Hive type takes in a row: timestamps as epoch milliseconds; null/undefined become JSON null. */
interface ValueOfType {
  string: string;
  int: number;
  bigint: number | bigint;
  double: number;
  timestamp: number;
}

/** A row of a table: every column must be named (a forgotten one is a compile error), any may be null. */
export type RowOf<T extends SystemTableDef> = {
  [C in T['columns'][number] as C['name']]: ValueOfType[C['type']] | null | undefined;
};

/** Text in, text out, one JSON object per line (Hive 4's own JsonSerDe, no extra jar needed). */
export const JSON_LINES_STORAGE = {
  inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
  serializationLib: 'org.apache.hadoop.hive.serde2.JsonSerDe',
  serdeParameters: { 'serialization.format': '1' } as Record<string, string>,
} as const;

const col = <N extends string, T extends HiveColumnType>(name: N, type: T, comment: string) => ({ name, type, comment }) as const;

/** The partition key of the published tables: each instance writes its own partition, and only that. */
const INSTANCE_KEY = col('instance', 'string', 'the hive-kafka instance that published these rows (each instance writes only its own partition)');

export const STREAMS = {
  name: 'streams',
  comment: 'hive-kafka: one row per table that ingests a Kafka topic, as of snapshot_at, in the partition of the instance that runs it',
  columns: [
    col('db_name', 'string', 'database of the ingested table'),
    col('table_name', 'string', 'name of the ingested table'),
    col('table_id', 'bigint', 'metastore table id: a table dropped and created again under the same name gets a new one'),
    col('owner', 'string', 'instance id of the service that runs the table; NULL when nobody runs it'),
    col('state', 'string', 'running, paused, failed, dropped, ... (as hive-kafka status shows it)'),
    col('tasks', 'int', 'ingestion tasks running for the table'),
    col('restarts', 'int', 'task restarts since the table last started'),
    col('last_error', 'string', 'the latest error, or why the table failed'),
    col('last_error_at', 'timestamp', 'when last_error happened (UTC)'),
    col('records_per_second', 'double', 'stored rows per second, recent average'),
    col('lag_records', 'bigint', 'records in Kafka not yet in Hive, over all partitions'),
    col('lag_seconds', 'double', 'age of the oldest record not yet in Hive'),
    col('snapshot_at', 'timestamp', 'when hive-kafka took this snapshot (UTC)'),
  ],
  partitionKeys: [INSTANCE_KEY],
} as const satisfies SystemTableDef;

export const PARTITIONS = {
  name: 'partitions',
  comment: 'hive-kafka: one row per Kafka partition of each ingested table, as of snapshot_at, in the partition of the instance that runs it',
  columns: [
    col('db_name', 'string', 'database of the ingested table'),
    col('table_name', 'string', 'name of the ingested table'),
    col('topic', 'string', 'Kafka topic'),
    col('kafka_partition', 'int', 'Kafka partition'),
    col('committed_offset', 'bigint', 'next offset to ingest: everything before it is in Hive'),
    col('log_end_offset', 'bigint', 'Kafka log end offset; NULL when not known (table not running here)'),
    col('lag_records', 'bigint', 'log_end_offset - committed_offset'),
    col('lag_seconds', 'double', 'age of the oldest record not yet in Hive'),
    col('last_commit_at', 'timestamp', 'when a batch of this partition last reached Hive (UTC)'),
    col('snapshot_at', 'timestamp', 'when hive-kafka took this snapshot (UTC)'),
  ],
  partitionKeys: [INSTANCE_KEY],
} as const satisfies SystemTableDef;

export const HISTORY = {
  name: 'history',
  comment: 'hive-kafka: lifecycle events of each ingested table (hive-kafka history); a DDL event once, from the instance that runs the table, a runtime event from the instance it happened on',
  columns: [
    col('db_name', 'string', 'database of the ingested table, as named now'),
    col('table_name', 'string', 'name of the ingested table, as named now'),
    col('table_id', 'bigint', 'metastore table id'),
    col('event_id', 'bigint', 'order of the events in the ledger of the instance that published them'),
    col('at', 'timestamp', 'when it happened (UTC)'),
    col('event', 'string', 'what happened: created, paused, failed, offset-gap, ...'),
    col('detail', 'string', 'the event details as JSON text (get_json_object reads them)'),
  ],
  partitionKeys: [INSTANCE_KEY],
} as const satisfies SystemTableDef;

export const DEADLETTERS = {
  name: 'deadletters',
  comment: 'hive-kafka: records refused under kafka.error.policy=deadletter, kept with their batch in each table\'s _hive_kafka_deadletter directory',
  columns: [
    col('topic', 'string', 'Kafka topic'),
    col('kafka_partition', 'int', 'Kafka partition'),
    col('kafka_offset', 'bigint', 'offset of the refused record'),
    col('reason', 'string', 'why it could not become a row'),
    col('value', 'string', 'the raw value as UTF-8 text; NULL when it is not valid UTF-8 (see value_base64) or the record had no value'),
    col('value_base64', 'string', 'the raw value, base64; NULL only when the record had no value'),
    col('produced_at', 'timestamp', 'the Kafka record timestamp (UTC)'),
    col('rejected_at', 'timestamp', 'when hive-kafka refused it (UTC)'),
  ],
  partitionKeys: [
    col('db_name', 'string', 'database of the ingested table'),
    col('table_name', 'string', 'name of the ingested table'),
  ],
} as const satisfies SystemTableDef;

/** In the order ensure() creates them. */
export const SYSTEM_TABLES: readonly SystemTableDef[] = [STREAMS, PARTITIONS, HISTORY, DEADLETTERS];

/** The tables the publisher rewrites whole each round (deadletters is written by the ingestion tasks). */
export type PublishedTable = typeof STREAMS.name | typeof PARTITIONS.name | typeof HISTORY.name;

/**
 * Epoch milliseconds as Hive TIMESTAMP text, 'yyyy-MM-dd HH:mm:ss.SSS' in UTC: Hive timestamps have no
 * zone, so UTC is the only reading that means the same to every client. Undefined outside years 0..9999.
 */
export function hiveTimestamp(ms: number): string | undefined {
  if (!Number.isFinite(ms)) return undefined;
  const iso = new Date(ms).toISOString();
  // Years outside 0000..9999 come out as +yyyyyy/-yyyyyy, which Hive cannot read.
  if (iso.length !== 24) return undefined;
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

function jsonValue(type: HiveColumnType, value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (type) {
    case 'string':
      return JSON.stringify(typeof value === 'string' ? value : String(value));
    case 'int':
    case 'bigint':
      // JSON.stringify cannot take a bigint; its digits are a valid JSON number Hive reads exactly.
      if (typeof value === 'bigint') return value.toString();
      return typeof value === 'number' && Number.isInteger(value) ? String(value) : 'null';
    case 'double':
      // NaN and Infinity are not JSON.
      return typeof value === 'number' && Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'timestamp': {
      const text = typeof value === 'number' ? hiveTimestamp(value) : undefined;
      return text === undefined ? 'null' : JSON.stringify(text);
    }
  }
}

/** One row as a JSON line (no newline): the table's columns in order, lower-case keys, missing values null. */
export function jsonLine<T extends SystemTableDef>(table: T, row: RowOf<T>): string {
  const values = row as Record<string, unknown>;
  return `{${table.columns.map((c) => `${JSON.stringify(c.name)}:${jsonValue(c.type, values[c.name])}`).join(',')}}`;
}

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: number | bigint;
  reason: string;
  /** The raw Kafka record value; null for a record without one. */
  value: Uint8Array | null;
  /** The Kafka record timestamp; null/undefined/negative (Kafka's "none") give NULL. */
  producedAtMs?: number | null;
  rejectedAtMs: number;
}

/**
 * Where a table's dead letters go, under its location: in a directory Hive's listing of the table
 * skips (leading '_'), yet whose own name is not hidden, since Hive refuses a partition location
 * whose last name starts with '_' or '.' ("Input path does not exist", seen on 4.0.1).
 */
export const DEADLETTER_DIR = '_hive_kafka_deadletter/records';

/**
 * One line of a dead-letter file (no newline), as the deadletters table reads it. The ingestion task
 * writes these into `<table location>/${DEADLETTER_DIR}/`; the keys come from DEADLETTERS.
 */
export function deadLetterLine(d: DeadLetter): string {
  const bytes = d.value === null ? null : Buffer.from(d.value.buffer, d.value.byteOffset, d.value.byteLength);
  return jsonLine(DEADLETTERS, {
    topic: d.topic,
    kafka_partition: d.partition,
    kafka_offset: d.offset,
    reason: d.reason,
    // Binary that is not UTF-8 would be mangled by a text column; value_base64 keeps it exact either way.
    value: bytes !== null && isUtf8(bytes) ? bytes.toString('utf8') : null,
    value_base64: bytes === null ? null : bytes.toString('base64'),
    produced_at: d.producedAtMs !== null && d.producedAtMs !== undefined && d.producedAtMs >= 0 ? d.producedAtMs : null,
    rejected_at: d.rejectedAtMs,
  });
}
