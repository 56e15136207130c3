// `hive-kafka history [table]`: every lifecycle event the ledger keeps (its stream_history table), read
// straight from the SQLite file, so it answers whether the service is down or running (WAL lets a
// reader in beside the writer). Event names are whatever the service wrote; none is assumed here.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ledger, type StreamRow } from '../ledger/ledger.ts';

export interface HistoryEvent {
  /** db.table as the stream is named now. */
  table: string;
  /** A table dropped and created again under the same name is a new stream with a new id. */
  tableId: number;
  /** ISO 8601, UTC. */
  at: string;
  event: string;
  detail: unknown;
}

/**
 * The events of one table (`db.table` or `table` in database default, any case), or of every table;
 * undefined when the ledger never knew that table. Each stream's events are in the order they were
 * written; streams of the same name oldest first.
 */
export function readHistory(ledger: Ledger, table?: string): HistoryEvent[] | undefined {
  let streams = ledger.listStreams({ includeDropped: true });
  const histories = new Map(streams.map((s) => [s.tableId, ledger.history(s.tableId)]));
  if (table !== undefined) {
    const wanted = qualified(table);
    streams = streams.filter((s) => namesOf(s, histories.get(s.tableId)!).has(wanted));
    if (streams.length === 0) return undefined;
  }
  // listStreams sorts by name; a table renamed away still answers to its old name, so by age when filtered.
  const byAge = (a: StreamRow, b: StreamRow) => a.createdAt - b.createdAt || a.tableId - b.tableId;
  streams.sort(table !== undefined ? byAge : (a, b) => nameOf(a).localeCompare(nameOf(b)) || byAge(a, b));
  return streams.flatMap((s) => histories.get(s.tableId)!.map((h) => ({
    table: nameOf(s), tableId: s.tableId, at: new Date(h.at).toISOString(), event: h.event, detail: h.detail ?? null,
  })));
}

function qualified(table: string): string {
  return (table.includes('.') ? table : `default.${table}`).toLowerCase();
}

const nameOf = (s: StreamRow) => `${s.dbName}.${s.tableName}`;

/** The stream's name now and every `{db, table}` its events recorded (created, renamed, ...). */
function namesOf(s: StreamRow, events: { detail: unknown }[]): Set<string> {
  const names = new Set([nameOf(s).toLowerCase()]);
  for (const { detail } of events) {
    const d = detail as { db?: unknown; table?: unknown } | null | undefined;
    if (typeof d?.db === 'string' && typeof d.table === 'string') names.add(`${d.db}.${d.table}`.toLowerCase());
  }
  return names;
}

/** One line per event: time, table, stream id, event, detail as key=value. Columns aligned. */
export function formatHistoryText(events: HistoryEvent[]): string[] {
  const tableWidth = Math.max(0, ...events.map((e) => e.table.length));
  const idWidth = Math.max(0, ...events.map((e) => String(e.tableId).length));
  const eventWidth = Math.max(0, ...events.map((e) => e.event.length));
  return events.map((e) => `${e.at}  ${e.table.padEnd(tableWidth)}  id=${String(e.tableId).padEnd(idWidth)}  ${e.event.padEnd(eventWidth)}  ${compactDetail(e.detail)}`.trimEnd());
}

/** `{ partition: 0, from: 1000 }` as `partition=0 from=1000`; nested values as compact JSON. */
export function compactDetail(detail: unknown): string {
  if (detail === null || detail === undefined) return '';
  if (typeof detail !== 'object' || Array.isArray(detail)) return compactValue(detail);
  return Object.entries(detail).map(([k, v]) => `${k}=${compactValue(v)}`).join(' ');
}

function compactValue(value: unknown): string {
  // Plain words stay bare; anything with spaces, quotes or `=` is quoted so the pairs stay readable.
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? '';
}

/** The command: prints the history and returns the exit code (1: no ledger, or no such table). */
export function historyCommand(ledgerPath: string, table: string | undefined, opts: { json?: boolean },
  out: (line: string) => void, err: (line: string) => void): number {
  const path = resolve(ledgerPath);
  // Checked first because opening a missing ledger would create an empty one.
  if (!existsSync(path)) {
    err(`hive-kafka history: no ledger at ${path}; point ledgerPath in the config file (--config) or HIVE_KAFKA_LEDGER at the ledger "hive-kafka serve" uses`);
    return 1;
  }
  let events: HistoryEvent[] | undefined;
  try {
    const ledger = Ledger.open(path, { migrate: false });
    try {
      events = readHistory(ledger, table);
    } finally {
      ledger.close();
    }
  } catch (e) {
    err(`hive-kafka history: cannot read the ledger at ${path}: ${(e as Error).message}`);
    return 1;
  }
  if (!events) {
    err(`hive-kafka history: the ledger at ${path} has no table ${qualified(table!)}`);
    return 1;
  }
  if (opts.json) out(JSON.stringify(events, null, 2));
  else for (const line of formatHistoryText(events)) out(line);
  return 0;
}
