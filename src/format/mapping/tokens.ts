// Positions in the SQL: its tokens, and where each AST node starts. node-sql-parser's Athena dialect
// puts locations only on function nodes, so the compiler reads the SQL's tokens alongside the AST.

/** A mapping that cannot work: bad SQL, or SQL that does not fit the table. Positions are 1-based. */
export class MappingError extends Error {
  override readonly name = 'MappingError';
  constructor(readonly reason: string, readonly line: number, readonly column: number) {
    super(`kafka.mapping, line ${line} column ${column}: ${reason}`);
  }
}

/** A parser error as a MappingError at the parser's own location. */
export function syntaxError(sql: string, error: unknown): MappingError {
  const e = error as { location?: { start?: { offset?: number; line?: number; column?: number } }; found?: string | null; message?: string };
  const start = e.location?.start;
  if (start?.line === undefined || start.column === undefined || start.offset === undefined) {
    return new MappingError(`cannot be parsed: ${e.message ?? String(error)}`, 1, 1);
  }
  const near = sql.slice(start.offset).split('\n')[0]!.trim();
  const reason = near === '' || e.found === null
    ? `syntax error: the SQL ends too early, after "${clip(sql.slice(Math.max(0, start.offset - 30), start.offset).trim())}"`
    : `syntax error at "${clip(near, 30)}"`;
  return new MappingError(reason, start.line, start.column);
}

type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'op';

interface Token {
  kind: TokenKind;
  /** The token's text; a backquoted name without its quotes. */
  text: string;
  lower: string;
  start: number;
  end: number;
  /** Parenthesis depth outside the token. */
  depth: number;
}

/** Words that end the select list at depth 0. */
const clauseWords = new Set(['from', 'where', 'group', 'order', 'limit', 'having', 'union', 'window', 'qualify', 'except', 'intersect']);

/**
 * The tokens of the SQL and a cursor over them. Each node's first token is found searching forward in
 * source order from the previous node, within the select item being compiled ([cursor, limit)); the
 * list is split at its top-level commas.
 */
export class Positions {
  protected readonly tokens: Token[];
  protected cursor = 0;
  protected limit: number;

  constructor(protected readonly sql: string) {
    this.tokens = tokenize(sql);
    this.limit = this.tokens.length;
  }

  /** The token ranges [start, end) of the top-level select list's items, split at depth-0 commas. */
  protected selectItems(): { start: number; end: number }[] | undefined {
    const select = this.tokens.findIndex((t) => t.kind === 'word' && t.lower === 'select');
    if (select < 0) return undefined;
    const depth = this.tokens[select]!.depth;
    const items: { start: number; end: number }[] = [];
    let start = select + 1;
    let i = start;
    for (; i < this.tokens.length; i++) {
      const t = this.tokens[i]!;
      if (t.depth < depth) break;
      if (t.depth > depth) continue;
      if ((t.kind === 'word' && clauseWords.has(t.lower)) || t.text === ';') break;
      if (t.text === ',') {
        items.push({ start, end: i });
        start = i + 1;
      }
    }
    items.push({ start, end: i });
    return items.every((r) => r.end > r.start) ? items : undefined;
  }

  protected fail(reason: string, offset: number): never {
    const { line, column } = lineColumn(this.sql, offset);
    throw new MappingError(reason, line, column);
  }

  /** The offset of the next token to read (the end of the SQL when none is left). */
  protected here(): number {
    return this.tokens[Math.min(this.cursor, this.limit)]?.start ?? this.tokens[this.cursor]?.start ?? this.sql.length;
  }

  /** The nth (0-based) depth-independent occurrence of a keyword or symbol in the SQL, as an offset; 0 when absent. */
  protected keyword(word: string, nth: number): number {
    let seen = 0;
    for (const t of this.tokens) {
      if ((t.kind === 'word' ? t.lower : t.text) === word && (t.kind === 'word' || t.kind === 'op') && seen++ === nth) return t.start;
    }
    return 0;
  }

  /** Finds the next token the predicate accepts, from the cursor within the current item, and moves past it. */
  protected anchor(accept: (t: Token, i: number) => boolean): { at: number; tok: number } {
    for (let i = this.cursor; i < this.limit; i++) {
      if (accept(this.tokens[i]!, i)) {
        this.cursor = i + 1;
        return { at: this.tokens[i]!.start, tok: i };
      }
    }
    return { at: this.here(), tok: -1 };
  }

  protected anchorWord(lower: string, call = false): { at: number; tok: number } {
    return this.anchor((t, i) => (t.kind === 'word' || t.kind === 'quoted') && t.lower === lower && (!call || this.tokens[i + 1]?.text === '('));
  }

  /** The SQL of tokens first..last (inclusive). */
  protected textOf(first: number, last: number): string {
    return this.sql.slice(this.tokens[first]!.start, this.tokens[last]!.end);
  }

  /** The SQL of the expression that starts at token i: a call up to its closing parenthesis, a path, or the token. */
  protected fragment(i: number): string {
    const t = this.tokens[i];
    if (!t) return '';
    if (t.kind === 'word' && this.tokens[i + 1]?.text === '(') {
      let depth = 0;
      for (let j = i + 1; j < this.tokens.length; j++) {
        const text = this.tokens[j]!.text;
        if (text === '(' && this.tokens[j]!.kind === 'op') depth++;
        if (text === ')' && this.tokens[j]!.kind === 'op' && --depth === 0) return this.textOf(i, j);
      }
      return this.sql.slice(t.start);
    }
    if (t.kind === 'word' || t.kind === 'quoted') return this.textOf(i, this.pathEnd(i));
    if (t.text === '-' && this.tokens[i + 1]?.kind === 'number') return this.textOf(i, i + 1);
    return t.text;
  }

  /** The last token of the path that starts at token i: names joined by '.', and [index] steps. */
  protected pathEnd(i: number): number {
    let j = i;
    for (;;) {
      const next = this.tokens[j + 1];
      if (next?.text === '.' && next.kind === 'op' && this.tokens[j + 2] && /word|quoted/.test(this.tokens[j + 2]!.kind)) j += 2;
      else if (next?.text === '[' && next.kind === 'op' && this.tokens[j + 3]?.text === ']') j += 3;
      else return j;
    }
  }

  /** An expression's SQL for a message, quoted. */
  protected quote(c: { text?: string; tok: number; at: number }): string {
    return c.text ?? `"${clip(this.fragment(c.tok) || this.sql.slice(c.at).split('\n')[0]!)}"`;
  }

  /** The SQL from token `tok` to the last token read, with the closing parentheses it opened, quoted. */
  protected span(tok: number): string {
    if (tok < 0) return '""';
    let end = Math.max(tok, Math.min(this.cursor, this.limit) - 1);
    let depth = 0;
    for (let i = tok; i <= end; i++) {
      const t = this.tokens[i]!;
      if (t.kind === 'op' && t.text === '(') depth++;
      if (t.kind === 'op' && t.text === ')') depth--;
    }
    while (depth > 0 && this.tokens[end + 1]?.text === ')') {
      end++;
      depth--;
    }
    return `"${clip(this.textOf(tok, end))}"`;
  }
}

/** A piece of SQL for a message: on one line, at most `max` characters. */
export function clip(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

function lineColumn(sql: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < sql.length; i++) {
    if (sql[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

// ---- tokens (positions only: the parser decides what the SQL means) ----

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let depth = 0;
  let i = 0;
  const push = (kind: TokenKind, start: number, end: number, text = sql.slice(start, end)) => {
    if (text === ')') depth--;
    tokens.push({ kind, text, lower: text.toLowerCase(), start, end, depth });
    if (text === '(') depth++;
    i = end;
  };
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if ((c === '-' && sql[i + 1] === '-') || c === '#') {
      const newline = sql.indexOf('\n', i);
      i = newline < 0 ? sql.length : newline + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? sql.length : close + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      for (; j < sql.length; j++) {
        if (sql[j] === '\\' && c !== '`') j++;
        else if (sql[j] === c) {
          if (sql[j + 1] === c) j++;
          else break;
        }
      }
      const end = Math.min(j + 1, sql.length);
      if (c === '`') push('quoted', i, end, sql.slice(i + 1, end - 1).replaceAll('``', '`'));
      else push('string', i, end);
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(sql.slice(i, i + 400))!;
      push('number', i, i + m[0].length);
    } else if (/[\p{L}_$]/u.test(c)) {
      const m = /^[\p{L}\p{N}_$:]+/u.exec(sql.slice(i, i + 1000))!;
      push('word', i, i + m[0].length);
    } else {
      const two = sql.slice(i, i + 2);
      push('op', i, i + (['<=', '>=', '<>', '!=', '==', '||', '::', '->'].includes(two) ? 2 : 1));
    }
  }
  return tokens;
}
