// The contents of the published system tables (streams, partitions, history) from one snapshot of the
// service: pure, so the same snapshot always gives the same bytes (the publisher skips a rewrite on that).
import { HISTORY, jsonLine, PARTITIONS, STREAMS, type PublishedTable } from './tables.ts';

export interface StreamSnapshot {
  db: string;
  table: string;
  tableId: number | bigint;
  /** Instance id of the service running it; absent when nobody does. */
  owner?: string;
  state: string;
  tasks: number;
  restarts: number;
  lastError?: string;
  lastErrorAt?: number;
  recordsPerSecond: number;
  lagRecords?: number;
  lagSeconds?: number;
}

export interface PartitionSnapshot {
  db: string;
  table: string;
  topic: string;
  partition: number;
  /** Next offset to ingest. */
  committed: number;
  logEnd?: number;
  lagRecords?: number;
  lagSeconds?: number;
  lastCommitAt?: number;
}

export interface HistorySnapshot {
  db: string;
  table: string;
  tableId: number | bigint;
  eventId: number | bigint;
  at: number;
  event: string;
  /** Any JSON value; written as JSON text. */
  detail?: unknown;
}

/** What the service knows at one moment. Times are epoch milliseconds. */
export interface SystemSnapshot {
  at: number;
  streams: StreamSnapshot[];
  partitions: PartitionSnapshot[];
  history: HistorySnapshot[];
}

const cmp = (a: string | number | bigint, b: string | number | bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** JSON lines, each ending in a newline; an empty table is the empty string. */
const lines = (rows: string[]) => rows.map((line) => `${line}\n`).join('');

/** History texts already written out, by the rows they came from: an unchanged history is kept as the same array. */
const historyTexts = new WeakMap<readonly HistorySnapshot[], string>();

/**
 * What a round's history rows depend on besides the ledger's history: each table's name (a RENAME
 * renames its past events too) and whether this instance speaks for it. Equal keys, equal rows.
 */
export function historyKey(historyVersion: number, tables: Iterable<{ tableId: number; db: string; table: string; speaksFor: boolean }>): string {
  return JSON.stringify([historyVersion, ...[...tables].map((t) => [t.tableId, t.db, t.table, t.speaksFor]).sort((a, b) => (a[0] as number) - (b[0] as number))]);
}

/**
 * The text of each published table. Rows are sorted so that the order the caller collected them in
 * does not change the bytes: an unchanged history is then recognised and not rewritten.
 */
export function systemRows(snapshot: SystemSnapshot): Record<PublishedTable, string> {
  const at = snapshot.at;
  const streams = [...snapshot.streams]
    .sort((a, b) => cmp(a.db, b.db) || cmp(a.table, b.table) || cmp(a.tableId, b.tableId))
    .map((s) => jsonLine(STREAMS, {
      db_name: s.db,
      table_name: s.table,
      table_id: s.tableId,
      owner: s.owner,
      state: s.state,
      tasks: s.tasks,
      restarts: s.restarts,
      last_error: s.lastError,
      last_error_at: s.lastErrorAt,
      records_per_second: s.recordsPerSecond,
      lag_records: s.lagRecords,
      lag_seconds: s.lagSeconds,
      snapshot_at: at,
    }));
  const partitions = [...snapshot.partitions]
    .sort((a, b) => cmp(a.db, b.db) || cmp(a.table, b.table) || cmp(a.topic, b.topic) || a.partition - b.partition)
    .map((p) => jsonLine(PARTITIONS, {
      db_name: p.db,
      table_name: p.table,
      topic: p.topic,
      kafka_partition: p.partition,
      committed_offset: p.committed,
      log_end_offset: p.logEnd,
      lag_records: p.lagRecords,
      lag_seconds: p.lagSeconds,
      last_commit_at: p.lastCommitAt,
      snapshot_at: at,
    }));
  const history = historyTexts.get(snapshot.history) ?? historyText(snapshot.history);
  return { streams: lines(streams), partitions: lines(partitions), history };
}

function historyText(rows: readonly HistorySnapshot[]): string {
  const history = [...rows]
    .sort((a, b) => cmp(a.tableId, b.tableId) || cmp(a.eventId, b.eventId))
    .map((h) => jsonLine(HISTORY, {
      db_name: h.db,
      table_name: h.table,
      table_id: h.tableId,
      event_id: h.eventId,
      at: h.at,
      event: h.event,
      detail: h.detail === undefined || h.detail === null ? null : JSON.stringify(h.detail),
    }));
  const text = lines(history);
  historyTexts.set(rows, text);
  return text;
}
