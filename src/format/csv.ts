// kafka.value.format=csv: each record value is one CSV row (RFC 4180 by default: delimiter ',', quote
// '"', a quote inside a quoted field doubled; a quoted field may hold the delimiter and line breaks).
//
// Fields: read() returns a plain object keyed by lower-cased column name; values are strings, or null
// for an unquoted field equal to the null string (kafka.csv.null.string, e.g. \N; quoted, "\N" is the
// text \N). An empty unquoted field is '' here: whether that is NULL for a column that is not a string
// is the converter's concern, not the reader's. A column the row has no field for is missing (NULL).
//
// The grammar is strict, as RFC 4180 is, so a malformed row fails (RecordDecodeError, with the
// character position counted from 1 in the decoded text) rather than landing in the wrong columns:
// an unterminated quoted field, a quote inside an unquoted field, anything but the delimiter after a
// closing quote, and a line break outside quotes (a value holds one row; one trailing \n or \r\n
// ending the row is allowed and dropped). Bytes that are not valid UTF-8 are not an error: they
// become U+FFFD, as Buffer.toString does for every text format here.
//
// kafka.csv.header=false: fields by position, the i-th field to the i-th table column. Fewer fields
// than columns leave the rest NULL; more fail the record, naming both counts.
//
// kafka.csv.header=true: producers write a header row as a record (typically the first record of a
// partition, or again at the start of each file or batch they send). The rule, per Kafka partition:
// - A record is a header when it has at least two fields (one, for a one-column table) and each,
//   trimmed and compared case-insensitively, is a different column of the table. It may leave columns
//   out (they are NULL) and order them as it likes. read() returns CSV_HEADER for it: the caller counts
//   the record as consumed and stores no row. A later header replaces the earlier one.
// - A data row is mapped by the partition's latest header, by name.
// - Until a partition's header is seen (a task that restarts mid-partition does not see it again),
//   rows are mapped by position, as with header=false. When a header then arrives that orders the
//   columns differently from the table, the header record fails (RecordDecodeError, so the error policy
//   reports it) saying how many rows of the partition were mapped by position: they may sit in the
//   wrong columns. The header is learned all the same; rows after it are mapped by name. Declare the
//   table's columns in the header's order and positional rows are right by construction.
// - A record that looks like a header but names something that is not a column (at least two fields
//   are column names, and the others are bare identifiers) fails rather than being stored as data.
// Rejected alternative: "the first record of each partition is the header" loses a row and misplaces
// every later one when a task starts mid-partition, silently.
// A one-column table cannot tell a header from a row holding the column's name: such a row is consumed
// as the header.
//
// ValueReader.read has no record, so the partition is read()'s optional second argument; a reader with
// header=true needs it and throws a plain Error without it (a programming error, not bad data).
//
// Parser: our own, not csv-parse (7.0.3, the usual library; not a dependency). Measured on Node 20
// for one 10-field row of ~200 bytes, Buffer to object keyed by column (best of 5 x 200k rows, on a
// shared 2-core machine under load, so the ratios matter more than the figures):
//   this reader, unquoted row (fast path: split)          ~1.3 µs/row
//   this reader, row with quoted fields and "" inside     ~1.4 µs/row
//   csv-parse/sync parse() per row                        ~64-127 µs/row (options and state set up per call)
//   csv-parse's parser reused, a row and '\n' per call    ~10.5 µs/row, and it holds each row back until
//                                                         the next one arrives, which one value per record cannot use
// One row per value makes a library's per-call set-up the dominant cost, and its relaxed modes are
// exactly what must stay off; the strict grammar below is short and fully tested.
import { RecordDecodeError } from '../hive/convert.ts';
import type { ValueReader } from './format.ts';

/** What read() returns for a header row: the record is consumed, not stored. */
export const CSV_HEADER: unique symbol = Symbol('csv header row');

export interface CsvReaderOptions {
  /** The table's columns in declaration order. */
  columns: { name: string }[];
  delimiter: string;
  quote: string;
  header: boolean;
  /** An unquoted field equal to this is NULL; undefined: no null string. */
  nullString: string | undefined;
}

export type CsvFields = Record<string, string | null>;

export interface CsvReader extends ValueReader {
  /** The row's fields, or CSV_HEADER for a header row. `partition` is required when header is true. */
  read(value: Buffer, partition?: number): CsvFields | typeof CSV_HEADER;
}

export interface CsvSyntax {
  delimiter: string;
  quote: string;
  nullString: string | undefined;
}

export function csvReader(options: CsvReaderOptions): CsvReader {
  const { delimiter, quote } = options;
  for (const [what, char] of [['delimiter', delimiter], ['quote', quote]] as const) {
    if (char === '' || char.includes('\n') || char.includes('\r')) {
      throw new Error(`csv ${what} ${JSON.stringify(char)} is not allowed: it must be one character other than a line break`);
    }
  }
  if (delimiter === quote) throw new Error(`csv quote ${JSON.stringify(quote)} must differ from the delimiter`);
  const syntax: CsvSyntax = { delimiter, quote, nullString: options.nullString };
  const names = options.columns.map((column) => column.name.toLowerCase());
  if (!options.header) {
    return { read: (value) => byPosition(parseCsvRow(value.toString('utf8'), syntax), names) };
  }
  const headers = new HeaderTracker(names);
  return {
    read(value, partition) {
      if (partition === undefined) throw new Error('csvReader with header=true needs the record\'s partition: read(value, partition)');
      return headers.read(parseCsvRow(value.toString('utf8'), syntax), partition);
    },
  };
}

function setField(out: CsvFields, name: string, value: string | null): void {
  // A plain assignment to "__proto__" would set the prototype instead (Hive allows the name quoted).
  if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  else out[name] = value;
}

function byPosition(fields: (string | null)[], names: readonly string[]): CsvFields {
  if (fields.length > names.length) {
    throw new RecordDecodeError(undefined, `the row has ${fields.length} fields but the table has ${names.length} columns`);
  }
  const out: CsvFields = {};
  for (let i = 0; i < fields.length; i++) setField(out, names[i]!, fields[i]!);
  return out;
}

interface PartitionHeaders {
  /** Lower-cased column name of each header position; undefined until a header is seen. */
  header: string[] | undefined;
  /** Rows of this partition mapped by position because no header was known yet. */
  positionalRows: number;
}

const bareIdentifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

class HeaderTracker {
  private readonly partitions = new Map<number, PartitionHeaders>();
  private readonly columnSet: ReadonlySet<string>;

  constructor(private readonly names: readonly string[]) {
    this.columnSet = new Set(names);
  }

  read(fields: (string | null)[], partition: number): CsvFields | typeof CSV_HEADER {
    let state = this.partitions.get(partition);
    if (!state) {
      state = { header: undefined, positionalRows: 0 };
      this.partitions.set(partition, state);
    }
    const header = this.asHeader(fields);
    if (header) return this.learn(state, header, partition);
    const { header: known } = state;
    if (!known) {
      const out = byPosition(fields, this.names);
      state.positionalRows++;
      return out;
    }
    if (fields.length > known.length) {
      throw new RecordDecodeError(undefined, `the row has ${fields.length} fields but the header of partition ${partition} names ${known.length}`);
    }
    const out: CsvFields = {};
    for (let i = 0; i < fields.length; i++) setField(out, known[i]!, fields[i]!);
    return out;
  }

  private learn(state: PartitionHeaders, header: string[], partition: number): typeof CSV_HEADER {
    const misplaced = state.header === undefined && state.positionalRows > 0 && header.some((name, i) => name !== this.names[i]);
    const rows = state.positionalRows;
    state.header = header;
    state.positionalRows = 0;
    if (misplaced) {
      throw new RecordDecodeError(undefined, `header row (${header.join(', ')}) orders the columns differently from the table ` +
        `(${this.names.join(', ')}); the ${rows} row(s) of partition ${partition} read before it (a task started mid-partition ` +
        'does not see the header) were mapped by the table\'s column order and may hold values in the wrong columns. ' +
        'Rows from here on are mapped by the header; declare the table\'s columns in the header\'s order to avoid this');
    }
    return CSV_HEADER;
  }

  /** The header's lower-cased column names when the row is a header, else undefined; throws for a near-miss. */
  private asHeader(fields: (string | null)[]): string[] | undefined {
    const minimum = Math.min(2, this.names.length);
    // Quick rejection, the usual case: a data row's first field is not a column name.
    const first = fields[0];
    if (fields.length < minimum || first === null || first === undefined || !this.columnSet.has(first.trim().toLowerCase())) return undefined;
    const seen = new Set<string>();
    const strangers: string[] = [];
    for (const field of fields) {
      const name = field?.trim().toLowerCase();
      if (name === undefined || seen.has(name)) return undefined;
      if (!this.columnSet.has(name)) {
        if (!bareIdentifier.test(name)) return undefined;
        strangers.push(field!.trim());
      }
      seen.add(name);
    }
    if (strangers.length === 0) return [...seen];
    if (seen.size - strangers.length < 2) return undefined;
    throw new RecordDecodeError(undefined, `the row looks like a header but ${strangers.map((s) => JSON.stringify(s)).join(', ')} ` +
      `${strangers.length === 1 ? 'is not a column' : 'are not columns'} of the table (${this.names.join(', ')}); ` +
      'a header may leave columns out but must name only table columns');
  }
}

const lineBreak = /[\r\n]/;

/**
 * The fields of one CSV row: strings, or null for an unquoted field equal to the null string.
 * One trailing line break (\n or \r\n) ends the row and is dropped. Throws RecordDecodeError.
 */
export function parseCsvRow(text: string, syntax: CsvSyntax): (string | null)[] {
  const { delimiter, quote, nullString } = syntax;
  let end = text.length;
  if (text.charCodeAt(end - 1) === 10) end--;
  if (text.charCodeAt(end - 1) === 13) end--;
  const firstQuote = text.indexOf(quote);
  if (firstQuote === -1 || firstQuote >= end) {
    // Fast path: no quoted field.
    const row = end === text.length ? text : text.slice(0, end);
    const brk = row.search(lineBreak);
    if (brk !== -1) throw lineBreakError(brk);
    const fields: (string | null)[] = row.split(delimiter);
    if (nullString !== undefined) {
      for (let i = 0; i < fields.length; i++) if (fields[i] === nullString) fields[i] = null;
    }
    return fields;
  }
  const fields: (string | null)[] = [];
  const dl = delimiter.length;
  const ql = quote.length;
  let i = 0;
  let nextQuote = firstQuote; // the first quote at or after i, or -1
  for (;;) {
    if (nextQuote !== -1 && nextQuote < i) nextQuote = text.indexOf(quote, i);
    if (nextQuote === i) {
      const start = i;
      let value = '';
      i += ql;
      for (;;) {
        const close = text.indexOf(quote, i);
        if (close === -1 || close + ql > end) {
          throw new RecordDecodeError(undefined, `unterminated quoted field: the quote at character ${start + 1} is never closed`);
        }
        value += text.slice(i, close);
        i = close + ql;
        if (i + ql <= end && text.startsWith(quote, i)) {
          value += quote; // a doubled quote
          i += ql;
          continue;
        }
        break;
      }
      fields.push(value);
      if (i === end) return fields;
      if (!text.startsWith(delimiter, i)) {
        throw new RecordDecodeError(undefined, `${describeChar(text, i)} at character ${i + 1} follows a closing quote ` +
          `(expected the delimiter ${JSON.stringify(delimiter)} or the end of the row)`);
      }
      i += dl;
    } else {
      let next = text.indexOf(delimiter, i);
      if (next === -1 || next > end) next = end;
      if (nextQuote !== -1 && nextQuote < next) {
        throw new RecordDecodeError(undefined, `a quote at character ${nextQuote + 1} inside an unquoted field ` +
          '(a field with quotes must be quoted as a whole, its quotes doubled)');
      }
      const field = text.slice(i, next);
      const brk = field.search(lineBreak);
      if (brk !== -1) throw lineBreakError(i + brk);
      fields.push(field === nullString ? null : field);
      if (next === end) return fields;
      i = next + dl;
    }
  }
}

function lineBreakError(index: number): RecordDecodeError {
  return new RecordDecodeError(undefined, `a line break outside quotes at character ${index + 1}: a record value holds one CSV row ` +
    '(a field with a line break must be quoted)');
}

function describeChar(text: string, index: number): string {
  const char = String.fromCodePoint(text.codePointAt(index)!);
  return JSON.stringify(char);
}
