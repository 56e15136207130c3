// Known mistakes in Hive DDL, found before the grammar runs so that `validate` can name each one with
// its fix. A generic parser stops at the first of them and then reports knock-on errors; here each
// mistake is named where it is, and a corrected copy of the text is handed to the grammar so that it
// reports only what remains. Seed 000's own CREATE TABLE has all three: `//` comments, a missing
// comma between two TBLPROPERTIES pairs, and STORED BY after TBLPROPERTIES.
import { lexHive, lineColumn, type Token } from './hive-lexer.ts';

export interface Mistake {
  /** Offset in the original text. */
  offset: number;
  message: string;
}

/** The text with every known mistake repaired, and for each of its offsets the original one. */
export interface CorrectedText {
  text: string;
  originOf(offset: number): number;
}

type Fix =
  | { kind: 'replace'; at: number; text: string }
  | { kind: 'insert'; at: number; text: string }
  /** Clauses given as original [start, end) ranges, in the order they must end up in. */
  | { kind: 'reorder'; clauses: { start: number; end: number }[] };

/** Hive's CREATE TABLE clauses in the order its grammar (CreateDDLParser.g) takes them. */
const CLAUSE_ORDER = ['COMMENT', 'PARTITIONED BY', 'CLUSTERED BY', 'SKEWED BY', 'ROW FORMAT', 'STORED AS or STORED BY', 'LOCATION', 'TBLPROPERTIES'];

/** Column types that can follow a column name; a second name followed by one of them is a new column. */
const COLUMN_TYPES = new Set(['TINYINT', 'SMALLINT', 'INT', 'INTEGER', 'BIGINT', 'BOOLEAN', 'FLOAT', 'DOUBLE', 'REAL',
  'DECIMAL', 'NUMERIC', 'DEC', 'STRING', 'VARCHAR', 'CHAR', 'DATE', 'DATETIME', 'TIMESTAMP', 'TIMESTAMPLOCALTZ',
  'BINARY', 'ARRAY', 'MAP', 'STRUCT', 'UNIONTYPE']);

/** Words that may legally follow a column's type, so they never start a new column. */
const AFTER_TYPE = new Set(['COMMENT', 'DEFAULT', 'NOT', 'NULL', 'CONSTRAINT', 'PRIMARY', 'FOREIGN', 'UNIQUE', 'CHECK',
  'REFERENCES', 'ENABLE', 'DISABLE', 'ENFORCED', 'VALIDATE', 'NOVALIDATE', 'RELY', 'NORELY', 'WITH', 'PRECISION']);

export function findKnownMistakes(sql: string): { mistakes: Mistake[]; corrected: CorrectedText } {
  const { tokens, slashComments } = lexHive(sql);
  const mistakes: Mistake[] = [];
  const fixes: Fix[] = [];
  if (slashComments.length > 0) {
    const others = slashComments.slice(1).map((o) => position(sql, o));
    mistakes.push({ offset: slashComments[0]!, message: `'//' does not start a comment in Hive SQL; write '--' instead${others.length ? ` (the same at ${others.join(', ')})` : ''}` });
    for (const at of slashComments) fixes.push({ kind: 'replace', at, text: '--' });
  }
  for (const statement of splitStatements(tokens)) {
    missingCommas(sql, statement, mistakes, fixes);
    clauseOrder(sql, statement, mistakes, fixes);
  }
  mistakes.sort((a, b) => a.offset - b.offset);
  return { mistakes, corrected: applyFixes(sql, fixes) };
}

function position(sql: string, offset: number): string {
  const { line, column } = lineColumn(sql, offset);
  return `${line}:${column}`;
}

const upper = (t: Token | undefined) => (t?.kind === 'word' ? t.text.toUpperCase() : '');
const isPunct = (t: Token | undefined, p: string) => t?.kind === 'punct' && t.text === p;
const isName = (t: Token | undefined) => t?.kind === 'word' || t?.kind === 'quoted';

function splitStatements(tokens: Token[]): Token[][] {
  const statements: Token[][] = [[]];
  for (const t of tokens) {
    if (isPunct(t, ';')) statements.push([]);
    else statements.at(-1)!.push(t);
  }
  return statements.filter((s) => s.length > 0);
}

/** Index of the token after the one that closes the bracket opening at `open`. */
function closeBracket(tokens: Token[], open: number, opening: string, closing: string): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (isPunct(tokens[i], opening)) depth++;
    else if (isPunct(tokens[i], closing) && --depth === 0) return i + 1;
  }
  return tokens.length;
}

// ---- missing commas ------------------------------------------------------------------------------

function missingCommas(sql: string, tokens: Token[], mistakes: Mistake[], fixes: Fix[]): void {
  for (let i = 0; i < tokens.length; i++) {
    if (!isPunct(tokens[i + 1], '(')) continue;
    const word = upper(tokens[i]);
    if (word.endsWith('PROPERTIES')) propertyListCommas(sql, tokens, i + 1, mistakes, fixes);
    else if (opensColumnList(tokens, i)) columnListCommas(tokens, i + 1, mistakes, fixes);
  }
}

/** Whether the `(` after tokens[i] opens a list of column definitions. */
function opensColumnList(tokens: Token[], i: number): boolean {
  const word = upper(tokens[i]);
  if (word === 'COLUMNS') return ['ADD', 'REPLACE'].includes(upper(tokens[i - 1]));
  if (word === 'BY') return upper(tokens[i - 1]) === 'PARTITIONED';
  // CREATE [TEMPORARY] [TRANSACTIONAL] [EXTERNAL | MANAGED] TABLE [IF NOT EXISTS] [db.]name (
  if (!isName(tokens[i])) return false;
  let j = i;
  if (isPunct(tokens[j - 1], '.') && isName(tokens[j - 2])) j -= 2;
  if (upper(tokens[j - 1]) === 'EXISTS') j -= 3;
  if (upper(tokens[j - 1]) !== 'TABLE') return false;
  j--;
  while (['TEMPORARY', 'TRANSACTIONAL', 'EXTERNAL', 'MANAGED'].includes(upper(tokens[j - 1]))) j--;
  return upper(tokens[j - 1]) === 'CREATE' && j - 1 === 0;
}

/** `'k'='v' 'k2'='v2'`: a key/value pair directly followed by another. */
function propertyListCommas(sql: string, tokens: Token[], open: number, mistakes: Mistake[], fixes: Fix[]): void {
  const end = closeBracket(tokens, open, '(', ')');
  for (let k = open + 1; k + 4 < end; k++) {
    const [key, eq, value, nextKey, nextEq] = tokens.slice(k, k + 5);
    if (key!.kind !== 'string' || !isPunct(eq, '=') || value!.kind !== 'string' || nextKey!.kind !== 'string' || !isPunct(nextEq, '=')) continue;
    mistakes.push({ offset: value!.end, message: `missing comma between the properties ${key!.text} and ${nextKey!.text} (${position(sql, nextKey!.start)}): add ',' after ${value!.text}` });
    fixes.push({ kind: 'insert', at: value!.end, text: ',' });
  }
}

/** `a BIGINT b STRING`: a column's type directly followed by the next column's name and type. */
function columnListCommas(tokens: Token[], open: number, mistakes: Mistake[], fixes: Fix[]): void {
  const end = closeBracket(tokens, open, '(', ')') - 1;
  let i = open + 1;
  while (i < end) {
    const name = tokens[i]!;
    let after = skipTypeArguments(tokens, i + 2);
    const typeEnd = after;
    if (upper(tokens[after]) === 'COMMENT' && tokens[after + 1]?.kind === 'string') after += 2;
    const next = tokens[after];
    if (isName(name) && COLUMN_TYPES.has(upper(tokens[i + 1])) && after < end && isName(next)
        && !AFTER_TYPE.has(upper(next)) && COLUMN_TYPES.has(upper(tokens[after + 1]))) {
      const last = tokens[after - 1]!;
      const what = after === typeEnd ? typeText(tokens, i + 1, typeEnd) : `the comment ${last.text}`;
      mistakes.push({ offset: last.end, message: `missing comma between the columns ${name.text} and ${next!.text}: add ',' after ${what}` });
      fixes.push({ kind: 'insert', at: last.end, text: ',' });
      i = after;
      continue;
    }
    // Not a column followed by another: go on after the next comma of this list.
    let depth = 0;
    for (after = Math.max(after, i + 1); after < end; after++) {
      if (isPunct(tokens[after], '(')) depth++;
      else if (isPunct(tokens[after], ')')) depth--;
      else if (depth === 0 && isPunct(tokens[after], ',')) break;
    }
    i = after + 1;
  }
}

/** After a type word: its `<...>` or `(...)` arguments, if any. */
function skipTypeArguments(tokens: Token[], i: number): number {
  if (isPunct(tokens[i], '<')) return closeBracket(tokens, i, '<', '>');
  if (isPunct(tokens[i], '(')) return closeBracket(tokens, i, '(', ')');
  return i;
}

function typeText(tokens: Token[], from: number, to: number): string {
  return tokens.slice(from, to).map((t) => t.text).join('');
}

// ---- clause order --------------------------------------------------------------------------------

interface Clause { name: string; rank: number; start: number; end: number }

/** CREATE TABLE clauses out of Hive's order, e.g. STORED BY after TBLPROPERTIES. */
function clauseOrder(sql: string, tokens: Token[], mistakes: Mistake[], fixes: Fix[]): void {
  if (!opensCreateTable(tokens)) return;
  const clauses: Clause[] = [];
  let depth = 0;
  let last: Token | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (isPunct(t, '(')) depth++;
    if (isPunct(t, ')')) depth--;
    if (depth > 0 || isPunct(t, ')')) { last = t; continue; }
    // CREATE TABLE ... AS SELECT: the query's words are not clauses.
    if (upper(t) === 'AS' && !['STORED', 'DEFINED'].includes(upper(tokens[i - 1]))) break;
    const rank = clauseRank(tokens, i);
    if (rank >= 0) {
      if (clauses.length > 0) clauses.at(-1)!.end = last!.end;
      const name = CLAUSE_ORDER[rank]!.includes(' ') ? `${upper(t)} ${upper(tokens[i + 1])}` : upper(t);
      clauses.push({ name, rank, start: t.start, end: t.end });
    }
    last = t;
  }
  if (clauses.length === 0) return;
  clauses.at(-1)!.end = last!.end;
  let misplaced = 0;
  clauses.forEach((c, k) => {
    const before = clauses.slice(0, k).find((p) => p.rank > c.rank);
    if (!before) return;
    // The whole order once per statement is enough.
    const order = misplaced++ === 0 ? `; Hive's CREATE TABLE takes its clauses in this order: ${CLAUSE_ORDER.join(', ')}` : '';
    mistakes.push({ offset: c.start, message: `${c.name} must come before ${before.name} (${position(sql, before.start)}): move it up${order}` });
  });
  if (misplaced > 0) fixes.push({ kind: 'reorder', clauses: [...clauses].sort((a, b) => a.rank - b.rank) });
}

function opensCreateTable(tokens: Token[]): boolean {
  if (upper(tokens[0]) !== 'CREATE') return false;
  let i = 1;
  while (['TEMPORARY', 'TRANSACTIONAL', 'EXTERNAL', 'MANAGED'].includes(upper(tokens[i]))) i++;
  return upper(tokens[i]) === 'TABLE';
}

/** The rank in CLAUSE_ORDER of a clause starting at tokens[i], or -1. */
function clauseRank(tokens: Token[], i: number): number {
  const word = upper(tokens[i]);
  const next = upper(tokens[i + 1]);
  switch (word) {
    case 'COMMENT': return tokens[i + 1]?.kind === 'string' ? 0 : -1;
    case 'PARTITIONED': return next === 'BY' ? 1 : -1;
    case 'CLUSTERED': return next === 'BY' ? 2 : -1;
    case 'SKEWED': return next === 'BY' ? 3 : -1;
    case 'ROW': return next === 'FORMAT' ? 4 : -1;
    // SKEWED BY ... STORED AS DIRECTORIES belongs to SKEWED BY.
    case 'STORED': return next === 'BY' || (next === 'AS' && upper(tokens[i + 2]) !== 'DIRECTORIES') ? 5 : -1;
    case 'LOCATION': return tokens[i + 1]?.kind === 'string' ? 6 : -1;
    case 'TBLPROPERTIES': return isPunct(tokens[i + 1], '(') ? 7 : -1;
    default: return -1;
  }
}

// ---- the corrected copy --------------------------------------------------------------------------

function applyFixes(sql: string, fixes: Fix[]): CorrectedText {
  // One entry per character of the corrected text, with the original offset it stands for.
  let text = sql.split('').map((ch, origin) => ({ ch, origin }));
  for (const f of fixes) if (f.kind === 'replace') for (let k = 0; k < f.text.length; k++) text[f.at + k]!.ch = f.text[k]!;
  const inserts = fixes.filter((f) => f.kind === 'insert').sort((a, b) => a.at - b.at);
  if (inserts.length > 0) {
    const withInserts: typeof text = [];
    let n = 0;
    for (const c of text) {
      while (n < inserts.length && inserts[n]!.at <= c.origin) { for (const ch of inserts[n]!.text) withInserts.push({ ch, origin: inserts[n]!.at }); n++; }
      withInserts.push(c);
    }
    for (; n < inserts.length; n++) for (const ch of inserts[n]!.text) withInserts.push({ ch, origin: inserts[n]!.at });
    text = withInserts;
  }
  for (const f of fixes) {
    if (f.kind !== 'reorder') continue;
    const from = Math.min(...f.clauses.map((c) => c.start));
    const to = Math.max(...f.clauses.map((c) => c.end));
    const inClause = (c: { start: number; end: number }) => text.filter((x) => x.origin >= c.start && x.origin < c.end);
    // Each clause keeps its own text (and any fix inside it); they are joined by new lines.
    const reordered = f.clauses.flatMap((c, k) => [...(k > 0 ? [{ ch: '\n', origin: c.start }] : []), ...inClause(c)]);
    const first = text.findIndex((x) => x.origin >= from);
    text = [...text.slice(0, first), ...reordered, ...text.filter((x, k) => k >= first && x.origin >= to)];
  }
  const origins = text.map((x) => x.origin);
  return { text: text.map((x) => x.ch).join(''), originOf: (offset) => origins[offset] ?? sql.length };
}
