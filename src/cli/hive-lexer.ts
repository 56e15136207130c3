// A small lexer for Hive SQL, just enough to find known mistakes before the real grammar runs
// (see ddl-mistakes.ts): it knows quoted strings, backquoted identifiers and comments, so that a
// `//` or a keyword inside them is never mistaken for code.

export type TokenKind = 'word' | 'string' | 'quoted' | 'punct';

export interface Token {
  kind: TokenKind;
  text: string;
  /** Offsets into the source, end exclusive. */
  start: number;
  end: number;
}

export interface Lexed {
  tokens: Token[];
  /** Offsets of each `//` used as a comment: Hive has no such comment; the rest of its line is skipped. */
  slashComments: number[];
}

const WORD = /[\p{L}\p{N}_$]/u;

export function lexHive(sql: string): Lexed {
  const tokens: Token[] = [];
  const slashComments: number[] = [];
  let i = 0;
  const endOfLine = (from: number) => { const nl = sql.indexOf('\n', from); return nl < 0 ? sql.length : nl; };
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '-' && next === '-') { i = endOfLine(i); continue; }
    if (c === '/' && next === '*') {
      // dt-sql-parser reports block comments itself; here they only must not hide or fake a `//`.
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? sql.length : close + 2;
      continue;
    }
    // After a colon it is a URL written without quotes (hdfs://...), not a comment: left to the grammar.
    if (c === '/' && next === '/' && sql[i - 1] !== ':') { slashComments.push(i); i = endOfLine(i); continue; }
    if (c === "'" || c === '"') { i = push('string', i, closeString(sql, i)); continue; }
    if (c === '`') { i = push('quoted', i, closeBackquote(sql, i)); continue; }
    if (WORD.test(c)) {
      let j = i + 1;
      while (j < sql.length && WORD.test(sql[j]!)) j++;
      i = push('word', i, j);
      continue;
    }
    i = push('punct', i, i + 1);
  }
  return { tokens, slashComments };

  function push(kind: TokenKind, start: number, end: number): number {
    tokens.push({ kind, text: sql.slice(start, end), start, end });
    return end;
  }
}

/** End of the string literal opening at `start`; Hive strings take backslash escapes. Unclosed: the end. */
function closeString(sql: string, start: number): number {
  const quote = sql[start];
  for (let i = start + 1; i < sql.length; i++) {
    if (sql[i] === '\\') i++;
    else if (sql[i] === quote) return i + 1;
  }
  return sql.length;
}

/** End of a backquoted identifier; a doubled backquote stands for one. */
function closeBackquote(sql: string, start: number): number {
  for (let i = start + 1; i < sql.length; i++) {
    if (sql[i] !== '`') continue;
    if (sql[i + 1] === '`') { i++; continue; }
    return i + 1;
  }
  return sql.length;
}

/** 1-based line and column of an offset, as dt-sql-parser counts them. */
export function lineColumn(sql: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < sql.length; i++) if (sql[i] === '\n') { line++; lineStart = i + 1; }
  return { line, column: offset - lineStart + 1 };
}
