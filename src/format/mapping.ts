// kafka.mapping: a SQL SELECT over one record's fields that gives a table's columns and partition
// values, e.g.
//
//   SELECT payload.user.id AS userid, url AS page_url,
//          date_format(from_unixtime(ts / 1000), 'yyyy-MM-dd') AS dt, hour(from_unixtime(ts / 1000)) AS hr
//   WHERE kind = 'view'
//
// The SQL is parsed once by node-sql-parser's Athena dialect (Presto's grammar, which is Hive's for what
// a mapping needs: backquoted names, deep paths `a.b.c.d`, `items[0]`, Hive's type names in CAST, "..."
// strings) and compiled into closures, so a record costs no AST walk. The FROM clause may be left out;
// `FROM <name>` with one plain name is accepted and ignored (the record is the only source).
//
// What a mapping can say:
// - Field references, matched as Hive matches names: the spelling written, then its lower case, then any
//   key equal ignoring case. A missing field, or a path through something that is not an object, is NULL.
//   `items[0]` indexes an array from 0 (out of range is NULL); `m['key']` takes a map key as written.
// - Kafka metadata, named as Hive's own Kafka storage handler names them: `__key` (the key's bytes as
//   UTF-8, NULL without a key), `__partition`, `__offset`, `__timestamp` (epoch milliseconds), and
//   `__headers` (a map: `__headers.name` or `__headers['name']` is that header's value as UTF-8). These
//   names win over record fields of the same name.
// - Every output is a table column or partition column, named by AS or else by its path's last name.
//   SELECT * is refused ("list the columns"): a column the mapping leaves out keeps the same-name rule,
//   which is the caller's, so * would add nothing.
// - The functions of FUNCTIONS below, CAST to Hive's scalar types, arithmetic, comparisons, AND/OR/NOT,
//   IS [NOT] NULL/TRUE/FALSE, [NOT] IN, [NOT] LIKE, [NOT] RLIKE, [NOT] BETWEEN, CASE, `||`.
// - WHERE: a record for which it is not TRUE (FALSE or NULL, as in SQL) is filtered out.
//
// Values are field-tree values (format.ts): strings, numbers, bigints and LosslessNumbers (exact digits),
// booleans, null; the caller converts each to its column's Hive type with the same converters as the
// same-name rule. Dates are 'yyyy-MM-dd' strings, timestamps 'yyyy-MM-dd HH:mm:ss[.ffffff]' strings, so
// they read right whether the column is STRING, DATE or TIMESTAMP.
//
// Time is UTC, always: from_unixtime, date_format, hour, ... read and write the UTC wall clock (Hive
// would use hive.local.time.zone; a service that ingests for many sessions has no session zone).
//
// Numbers: integers stay exact (bigint beyond 2^53); `/` gives a double, as in Hive, and from_unixtime
// floors its argument to whole seconds (Hive's takes a BIGINT), so from_unixtime(ms / 1000) is the second
// of `ms`, also before 1970. CAST to an integer type truncates a fraction toward zero as Hive does, but
// exactly, on the digits; a value out of the type's range is an error, never wrapped or NULL.
//
// A value a function cannot take (lower() of an object, 'abc' + 1) fails the record with a
// RecordDecodeError naming the output column; the table's error policy then applies. A comparison of
// values that do not compare ('abc' = 1) is NULL, as in Hive.
//
// Positions in errors: node-sql-parser's Athena dialect puts locations only on function nodes, so the
// compiler finds each node's first token in its own token list of the SQL, searching forward in source
// order from the previous node, within the select item being compiled (the list is split at its
// top-level commas). Syntax errors carry the parser's own location.
import athena from 'node-sql-parser/build/athena.js';
import { LosslessNumber, isLosslessNumber } from 'lossless-json';
import { parseHiveType, type HiveType } from '../sink/hive-types.ts';
import { RecordDecodeError, columnConverter, type ColumnSpec } from '../hive/convert.ts';
import {
  ConversionFailure,
  describe,
  fail,
  formatDate,
  formatDecimal,
  formatTimestamp,
  toBoolean,
  toDecimal,
  toDouble,
  toEpochDay,
  toEpochMicros,
  toInteger,
  validEpochDay,
  type IntegerTypeName,
} from '../hive/scalars.ts';
import type { KafkaRecord } from './format.ts';

/** A mapping that cannot work: bad SQL, or SQL that does not fit the table. Positions are 1-based. */
export class MappingError extends Error {
  override readonly name = 'MappingError';
  constructor(readonly reason: string, readonly line: number, readonly column: number) {
    super(`kafka.mapping, line ${line} column ${column}: ${reason}`);
  }
}

export interface CompiledMapping {
  /** Lower-case output names, in SELECT order: each is a table column or a partition column. */
  readonly outputs: readonly string[];
  /**
   * Values for `outputs` (same order) for one record, or undefined when the WHERE filters the record
   * out. `fields` is the record value's field tree (undefined for a tombstone: every field is NULL).
   * Throws RecordDecodeError naming the output column and the problem when a function cannot be
   * applied to the record's value (a WHERE that cannot be evaluated names no column).
   */
  evaluate(fields: unknown, record: KafkaRecord): unknown[] | undefined;
}

// ---- compile ----

/** The Athena dialect's parser: loaded on its own (200 KB), not node-sql-parser's 2.5 MB of all dialects. */
let parser: InstanceType<typeof athena.Parser> | undefined;

/** Parses and checks a mapping against the table, once; throws MappingError. */
export function compileMapping(sql: string, table: { columns: ColumnSpec[]; partitionKeys: ColumnSpec[] }): CompiledMapping {
  let ast: unknown;
  try {
    parser ??= new athena.Parser();
    ast = parser.astify(sql, { database: 'athena', parseOptions: { includeLocations: true } });
  } catch (error) {
    throw syntaxError(sql, error);
  }
  return new Compiler(sql).mapping(ast, table);
}

function syntaxError(sql: string, error: unknown): MappingError {
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

// node-sql-parser's AST is untyped in practice (its .d.ts covers little of what a dialect produces):
// nodes are read as loose records and checked field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Node = Record<string, any>;

/** A record's values, or a function of them, as the compiled closures take them: no per-record allocation. */
type Eval = (fields: unknown, record: KafkaRecord) => unknown;

/**
 * What a compiled expression gives, as far as the SQL tells: 'any' for record fields (the value decides),
 * 'null' for NULL. 'date' is a 'yyyy-MM-dd' string, 'timestamp' a 'yyyy-MM-dd HH:mm:ss' string.
 */
type StaticType = 'any' | 'null' | 'string' | 'number' | 'boolean' | 'date' | 'timestamp';

interface Compiled {
  fn: Eval;
  type: StaticType;
  /** Offset in the SQL of the node's first token, and that token's index (-1 when not found). */
  at: number;
  tok: number;
  /** The constant value of a literal. */
  literal?: { value: unknown };
  /** The name an output takes without AS (a path's last name). */
  name?: string;
  /** The expression's SQL, quoted, where the first token's fragment would not cover it (operators, CASE). */
  text?: string;
  /** For time functions: the instant itself, without formatting it to text and parsing it back. */
  instant?: (fields: unknown, record: KafkaRecord) => Instant | null;
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

const FUNCTION_NAMES = [
  'abs', 'cast', 'ceil', 'ceiling', 'coalesce', 'concat', 'date_format', 'day', 'dayofmonth', 'floor', 'from_unixtime', 'hour', 'if',
  'lcase', 'length', 'lower', 'ltrim', 'minute', 'month', 'nvl', 'rtrim', 'second', 'substr', 'substring', 'to_date', 'trim', 'ucase',
  'unix_timestamp', 'upper', 'year',
];

const AGGREGATES = new Set([
  'count', 'sum', 'avg', 'min', 'max', 'collect_list', 'collect_set', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop',
  'var_samp', 'percentile', 'percentile_approx', 'array_agg', 'group_concat', 'string_agg', 'histogram_numeric', 'corr', 'covar_pop',
  'covar_samp', 'approx_count_distinct', 'count_if', 'bool_and', 'bool_or', 'every', 'any_value', 'first_value', 'last_value',
]);

class Compiler {
  private readonly tokens: Token[];
  private cursor = 0;
  private limit: number;

  constructor(private readonly sql: string) {
    this.tokens = tokenize(sql);
    this.limit = this.tokens.length;
  }

  mapping(parsed: unknown, table: { columns: ColumnSpec[]; partitionKeys: ColumnSpec[] }): CompiledMapping {
    const statements = Array.isArray(parsed) ? (parsed as Node[]) : [parsed as Node];
    if (statements.length === 0) this.fail('the mapping is empty: write a SELECT of the table\'s columns', 0);
    if (statements.length > 1) this.fail('kafka.mapping is one SELECT, not several statements', this.keyword('select', 1));
    const ast = statements[0]!;
    if (ast.type !== 'select') {
      this.fail(`kafka.mapping must be a SELECT, not ${String(ast.type).toUpperCase()}`, this.tokens[0]?.start ?? 0);
    }
    this.refuseClauses(ast);
    const columns: Node[] = ast.columns;
    // Without one token range per item (never seen), positions are searched from the start of the list.
    const items = this.selectItems();
    const ranges = items?.length === columns.length ? items : undefined;

    const targets = new Map<string, { spec: ColumnSpec; partition: boolean }>();
    for (const spec of table.columns) targets.set(spec.name.toLowerCase(), { spec, partition: false });
    for (const spec of table.partitionKeys) targets.set(spec.name.toLowerCase(), { spec, partition: true });

    const outputs: string[] = [];
    const fns: Eval[] = [];
    const seen = new Map<string, string>();
    columns.forEach((item, i) => {
      const range = ranges?.[i];
      if (range) {
        this.cursor = range.start;
        this.limit = range.end;
      }
      const itemAt = range ? this.tokens[range.start]!.start : this.here();
      const itemText = range ? this.textOf(range.start, range.end - 1) : undefined;
      const expr: Node = item.expr ?? item;
      if (expr.type === 'column_ref' && refNames(expr).at(-1) === '*') {
        this.fail(`"${itemText ?? '*'}": SELECT * is not supported in kafka.mapping: list the columns ` +
          '(a column the mapping leaves out keeps the same-name rule)', itemAt);
      }
      const compiled = this.expr(expr);
      const quoted = `"${clip(itemText ?? this.fragment(compiled.tok))}"`;
      // The alias: a string, or a function node for the words DATE and TIMESTAMP (`AS date`).
      const alias: string | undefined = typeof item.as === 'string' ? item.as : item.as ? functionName(item.as) : undefined;
      const name = (alias ?? compiled.name)?.toLowerCase();
      const nameAt = alias !== undefined && range ? this.tokens[range.end - 1]!.start : itemAt;
      if (name === undefined) this.fail(`${quoted} needs a name: add AS and the column it fills`, itemAt);
      const target = targets.get(name);
      if (!target) {
        const list = (specs: ColumnSpec[]) => specs.map((c) => c.name.toLowerCase()).join(', ') || 'none';
        this.fail(`${quoted}: ${name} is not a column of the table (columns: ${list(table.columns)}; ` +
          `partition columns: ${list(table.partitionKeys)})`, nameAt);
      }
      const previous = seen.get(name);
      if (previous !== undefined) this.fail(`${quoted}: the output ${name} is given twice (first by "${clip(previous)}")`, nameAt);
      seen.set(name, itemText ?? name);
      this.checkType(compiled, target, quoted, itemAt);
      outputs.push(name);
      fns.push(compiled.fn);
    });

    let where: { fn: Eval; text: string } | undefined;
    if (ast.where) {
      const at = this.keyword('where', 0);
      this.cursor = this.tokens.findIndex((t) => t.start === at) + 1 || this.tokens.length;
      this.limit = this.tokens.length;
      const start = this.cursor;
      const condition = this.expr(ast.where);
      this.requireCondition(condition, 'WHERE');
      const last = this.tokens.findLastIndex((t) => t.depth === 0 && t.text !== ';');
      where = { fn: condition.fn, text: `"${clip(last >= start ? this.textOf(start, last) : '')}"` };
    }
    return makeMapping(outputs, fns, where);
  }

  /** Anything but SELECT list [FROM name] [WHERE condition] is refused, at its keyword. */
  private refuseClauses(ast: Node): void {
    const refuse = (what: string, word: string) => this.fail(`${what} is not supported in kafka.mapping (each record gives one row)`, this.keyword(word, 0));
    if (ast.with) refuse('WITH', 'with');
    if (ast.distinct) refuse('DISTINCT', 'distinct');
    if (ast._next || ast.set_op) refuse(String(ast.set_op ?? 'UNION').toUpperCase(), String(ast.set_op ?? 'union').split(' ')[0]!.toLowerCase());
    if (ast.groupby && (ast.groupby.columns === undefined || ast.groupby.columns?.length)) refuse('GROUP BY', 'group');
    if (ast.having) refuse('HAVING', 'having');
    if (ast.orderby) refuse('ORDER BY', 'order');
    if (ast.limit && (ast.limit.value === undefined || ast.limit.value.length > 0)) refuse('LIMIT', 'limit');
    if (ast.window) refuse('WINDOW', 'window');
    if (ast.qualify) refuse('QUALIFY', 'qualify');
    const from: Node[] | null = ast.from;
    if (from && from.length > 0) {
      const join = from.find((f) => f.join);
      if (join) this.fail(`${String(join.join)} is not supported in kafka.mapping: a mapping reads one record`, this.keyword('join', 0));
      const sub = from.find((f) => typeof f.table !== 'string' || f.expr);
      if (sub) this.fail('subqueries are not supported in kafka.mapping', this.keyword('select', 1));
      if (from.length > 1) this.fail('FROM names more than one table: a mapping reads one record (leave FROM out)', this.keyword('from', 0));
    }
  }

  /** The token ranges [start, end) of the top-level select list's items, split at depth-0 commas. */
  private selectItems(): { start: number; end: number }[] | undefined {
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

  // ---- positions ----

  private fail(reason: string, offset: number): never {
    const { line, column } = lineColumn(this.sql, offset);
    throw new MappingError(reason, line, column);
  }

  /** The offset of the next token to read (the end of the SQL when none is left). */
  private here(): number {
    return this.tokens[Math.min(this.cursor, this.limit)]?.start ?? this.tokens[this.cursor]?.start ?? this.sql.length;
  }

  /** The nth (0-based) depth-independent occurrence of a keyword or symbol in the SQL, as an offset; 0 when absent. */
  private keyword(word: string, nth: number): number {
    let seen = 0;
    for (const t of this.tokens) {
      if ((t.kind === 'word' ? t.lower : t.text) === word && (t.kind === 'word' || t.kind === 'op') && seen++ === nth) return t.start;
    }
    return 0;
  }

  /** Finds the next token the predicate accepts, from the cursor within the current item, and moves past it. */
  private anchor(accept: (t: Token, i: number) => boolean): { at: number; tok: number } {
    for (let i = this.cursor; i < this.limit; i++) {
      if (accept(this.tokens[i]!, i)) {
        this.cursor = i + 1;
        return { at: this.tokens[i]!.start, tok: i };
      }
    }
    return { at: this.here(), tok: -1 };
  }

  private anchorWord(lower: string, call = false): { at: number; tok: number } {
    return this.anchor((t, i) => (t.kind === 'word' || t.kind === 'quoted') && t.lower === lower && (!call || this.tokens[i + 1]?.text === '('));
  }

  /** The SQL of tokens first..last (inclusive). */
  private textOf(first: number, last: number): string {
    return this.sql.slice(this.tokens[first]!.start, this.tokens[last]!.end);
  }

  /** The SQL of the expression that starts at token i: a call up to its closing parenthesis, a path, or the token. */
  private fragment(i: number): string {
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
  private pathEnd(i: number): number {
    let j = i;
    for (;;) {
      const next = this.tokens[j + 1];
      if (next?.text === '.' && next.kind === 'op' && this.tokens[j + 2] && /word|quoted/.test(this.tokens[j + 2]!.kind)) j += 2;
      else if (next?.text === '[' && next.kind === 'op' && this.tokens[j + 3]?.text === ']') j += 3;
      else return j;
    }
  }

  private quote(c: Compiled): string {
    return c.text ?? `"${clip(this.fragment(c.tok) || this.sql.slice(c.at).split('\n')[0]!)}"`;
  }

  /** The SQL from token `tok` to the last token read, with the closing parentheses it opened, quoted. */
  private span(tok: number): string {
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

  // ---- expressions ----

  private expr(node: Node): Compiled {
    if (node === null || typeof node !== 'object') this.fail(`unexpected ${JSON.stringify(node)} in the mapping`, this.here());
    if (node.ast) this.fail('subqueries are not supported in kafka.mapping', this.anchorWord('select').at);
    switch (node.type) {
      case 'column_ref':
        return this.columnRef(node);
      case 'single_quote_string':
      case 'double_quote_string':
      case 'string': {
        const { at, tok } = this.anchor((t) => t.kind === 'string');
        const value = unescapeLiteral(String(node.value), node.type === 'double_quote_string' ? '"' : "'");
        return { fn: () => value, type: 'string', at, tok, literal: { value } };
      }
      case 'number':
      case 'bigint':
        return this.numberLiteral(node);
      case 'bool': {
        const value = node.value === true;
        const { at, tok } = this.anchorWord(value ? 'true' : 'false');
        return { fn: () => value, type: 'boolean', at, tok, literal: { value } };
      }
      case 'null': {
        const { at, tok } = this.anchorWord('null');
        return { fn: () => null, type: 'null', at, tok, literal: { value: null } };
      }
      case 'unary_expr':
        return this.unary(node);
      case 'binary_expr':
        return this.binary(node);
      case 'function':
        return this.call(node);
      case 'aggr_func': {
        const name = String(node.name).toLowerCase();
        const { at, tok } = this.anchorWord(name, true);
        return this.fail(`"${clip(this.fragment(tok) || name)}": aggregate function ${name} is not supported in kafka.mapping (each record gives one row)`, at);
      }
      case 'cast':
        return this.cast(node);
      case 'case':
        return this.caseExpr(node);
      default:
        return this.fail(`"${clip(this.fragment(this.cursor))}" is not supported in kafka.mapping (${String(node.type).replaceAll('_', ' ')})`, this.here());
    }
  }

  private numberLiteral(node: Node): Compiled {
    const raw = node.value;
    const negative = typeof raw === 'number' ? raw < 0 : String(raw).startsWith('-');
    let { at, tok } = this.anchor((t) => t.kind === 'number');
    if (tok > 0 && negative && this.tokens[tok - 1]!.text === '-') {
      tok -= 1;
      at = this.tokens[tok]!.start;
    }
    let value: number | bigint;
    if (typeof raw === 'number') {
      value = raw;
      // The parser reads a negative integer literal as a double: beyond 2^53 take its digits from the SQL.
      const digits = this.tokens[negative ? tok + 1 : tok]?.text;
      if (Number.isInteger(raw) && !Number.isSafeInteger(raw) && digits !== undefined && /^\d+$/.test(digits)) {
        value = exactInteger(BigInt(`${negative ? '-' : ''}${digits}`));
      }
    } else {
      const text = String(raw);
      if (/^[+-]?\d+$/.test(text)) {
        value = exactInteger(BigInt(text));
      } else {
        value = Number(text);
        if (!Number.isFinite(value)) this.fail(`the number ${text} is out of range`, at);
      }
    }
    return { fn: () => value, type: 'number', at, tok, literal: { value } };
  }

  private columnRef(node: Node): Compiled {
    const names = refNames(node);
    const first = names[0] ?? '';
    const { at, tok } = this.anchor((t) => (t.kind === 'word' || t.kind === 'quoted') && t.lower === first.toLowerCase());
    // Past the whole path: its ['key'] literals are no later node's.
    if (tok >= 0) this.cursor = Math.min(Math.max(this.cursor, this.pathEnd(tok) + 1), this.limit);
    if (first.includes('::')) this.fail(`"${clip(first)}": :: casts are not supported in kafka.mapping, write CAST(x AS type)`, at);
    const steps: Step[] = names.map((name) => ({ key: name, lower: name.toLowerCase(), exact: false }));
    for (const index of node.array_index ?? []) {
      const i: Node = index.index;
      if (i?.type === 'number' && Number.isSafeInteger(Number(i.value))) {
        steps.push({ index: Number(i.value) });
      } else if (i?.type === 'single_quote_string' || i?.type === 'double_quote_string') {
        const key = unescapeLiteral(String(i.value), i.type === 'double_quote_string' ? '"' : "'");
        steps.push({ key, lower: key.toLowerCase(), exact: true });
      } else {
        this.fail(`"${clip(this.fragment(tok))}": an index must be a whole number literal, or a 'key' for a map`, at);
      }
      if (index.property) {
        const property = nameOf(index.property);
        steps.push({ key: property, lower: property.toLowerCase(), exact: false });
      }
    }
    const named = steps.filter((s): s is FieldStep => 'key' in s);
    const name = named.at(-1)?.key;
    const meta = this.metadata(steps, at, tok);
    if (meta) return { ...meta, at, tok, name };
    return { fn: pathReader(steps), type: 'any', at, tok, name };
  }

  /** The Kafka pseudo-columns, as Hive's Kafka storage handler names them. */
  private metadata(steps: Step[], at: number, tok: number): { fn: Eval; type: StaticType } | undefined {
    const head = steps[0];
    if (!head || !('key' in head)) return undefined;
    const rest = steps.length - 1;
    const noFields = (name: string) => {
      if (rest > 0) this.fail(`"${clip(this.fragment(tok))}": ${name} has no fields`, at);
    };
    switch (head.lower) {
      case '__key':
        noFields('__key');
        return { fn: (_f, r) => (r.key === null ? null : r.key.toString('utf8')), type: 'string' };
      case '__partition':
        noFields('__partition');
        return { fn: (_f, r) => r.partition, type: 'number' };
      case '__offset':
        noFields('__offset');
        return { fn: (_f, r) => r.offset, type: 'number' };
      case '__timestamp':
        noFields('__timestamp');
        return { fn: (_f, r) => r.timestamp, type: 'number' };
      case '__headers': {
        if (rest === 0) {
          return {
            fn: (_f, r) => {
              const all: Record<string, string> = {};
              for (const [name, value] of r.headers ?? []) all[name] = value.toString('utf8');
              return all;
            },
            type: 'any',
          };
        }
        const step = steps[1]!;
        if (rest > 1 || !('key' in step)) this.fail(`"${clip(this.fragment(tok))}": write __headers.name or __headers['name'] for one header`, at);
        const { key, lower } = step;
        return {
          fn: (_f, r) => {
            const headers = r.headers;
            if (!headers) return null;
            let value = headers.get(key);
            if (value === undefined) {
              for (const [name, v] of headers) if (name.toLowerCase() === lower) { value = v; break; }
            }
            return value === undefined ? null : value.toString('utf8');
          },
          type: 'string',
        };
      }
      default:
        return undefined;
    }
  }

  private unary(node: Node): Compiled {
    const operator = String(node.operator).toUpperCase();
    const { at, tok } = operator === 'NOT' ? this.anchorWord('not') : this.anchor((t) => t.text === operator);
    const operand = this.expr(node.expr);
    const text = this.span(tok);
    switch (operator) {
      case 'NOT':
      case '!':
        this.requireCondition(operand, 'NOT');
        return { fn: not(operand.fn, text), type: 'boolean', at, tok, text };
      case '-':
      case '+': {
        this.requireNumber(operand, operator);
        const fn = operand.fn;
        if (operator === '+') return { fn: strict1(fn, (x) => numeric(x), text), type: 'number', at, tok, text };
        return { fn: strict1(fn, negate, text), type: 'number', at, tok, text };
      }
      default:
        this.fail(`the operator ${operator} is not supported in kafka.mapping`, at);
    }
  }

  private binary(node: Node): Compiled {
    const compiled = this.binaryOperator(node);
    compiled.text = this.span(compiled.tok);
    return compiled;
  }

  private binaryOperator(node: Node): Compiled {
    const operator = String(node.operator).toUpperCase();
    if (operator === '.') this.fail('unexpected "." in the mapping', this.here());
    const left = this.expr(node.left);
    const { at, tok } = left;
    const word = operator.split(' ')[0]!.toLowerCase();
    const operatorAt = this.anchor((t) => (t.kind === 'op' || t.kind === 'word') && t.lower === word).at;
    const where = () => this.span(tok);
    switch (operator) {
      case 'AND':
      case 'OR': {
        const right = this.expr(node.right);
        this.requireCondition(left, operator);
        this.requireCondition(right, operator);
        return { fn: operator === 'AND' ? and(left.fn, right.fn, where()) : or(left.fn, right.fn, where()), type: 'boolean', at, tok };
      }
      case '+':
      case '-':
      case '*':
      case '/':
      case '%': {
        const right = this.expr(node.right);
        this.requireNumber(left, operator);
        this.requireNumber(right, operator);
        return { fn: arithmetic(operator, left.fn, right.fn, where()), type: 'number', at, tok };
      }
      case '||': {
        const right = this.expr(node.right);
        return { fn: concat([left.fn, right.fn], where()), type: 'string', at, tok };
      }
      case '=':
      case '==':
      case '!=':
      case '<>':
      case '<':
      case '<=':
      case '>':
      case '>=': {
        const right = this.expr(node.right);
        return { fn: comparison(operator, left.fn, right.fn, where()), type: 'boolean', at, tok };
      }
      case 'IS':
      case 'IS NOT': {
        const right: Node = node.right;
        const negated = operator === 'IS NOT';
        const fn = left.fn;
        if (right?.type === 'null') {
          this.anchorWord('null');
          return { fn: negated ? (f, r) => fn(f, r) !== null : (f, r) => fn(f, r) === null, type: 'boolean', at, tok };
        }
        if (right?.type === 'bool') {
          this.anchorWord(right.value ? 'true' : 'false');
          const wanted = right.value === true;
          const text = where();
          return {
            fn: (f, r) => {
              const v = fn(f, r);
              if (v === null) return negated;
              return (truth(v, text) === wanted) !== negated;
            },
            type: 'boolean', at, tok,
          };
        }
        return this.fail(`IS must be followed by NULL, TRUE or FALSE in kafka.mapping`, operatorAt);
      }
      case 'IN':
      case 'NOT IN': {
        const list = this.list(node.right, operator, operatorAt);
        return { fn: inList(left.fn, list.map((c) => c.fn), operator === 'NOT IN', where()), type: 'boolean', at, tok };
      }
      case 'BETWEEN':
      case 'NOT BETWEEN': {
        const list = this.list(node.right, operator, operatorAt);
        if (list.length !== 2) this.fail(`${operator} takes two bounds`, operatorAt);
        return { fn: between(left.fn, list[0]!.fn, list[1]!.fn, operator === 'NOT BETWEEN', where()), type: 'boolean', at, tok };
      }
      case 'LIKE':
      case 'NOT LIKE':
      case 'RLIKE':
      case 'NOT RLIKE':
      case 'REGEXP': {
        const right = this.expr(node.right);
        const regex = operator.endsWith('LIKE') && !operator.endsWith('RLIKE') ? likeRegExp : (pattern: string) => new RegExp(pattern, 'u');
        let compiled: RegExp | undefined;
        if (right.literal) {
          if (typeof right.literal.value !== 'string') this.fail(`${operator} takes a string pattern`, right.at);
          try {
            compiled = regex(right.literal.value);
          } catch (error) {
            this.fail(`${this.quote(right)} is not a valid regular expression: ${(error as Error).message}`, right.at);
          }
        }
        return { fn: matches(left.fn, right.fn, compiled, regex, operator.startsWith('NOT'), where()), type: 'boolean', at, tok };
      }
      default:
        this.fail(`the operator ${operator} is not supported in kafka.mapping`, operatorAt);
    }
  }

  private list(node: Node, operator: string, at: number): Compiled[] {
    if (node?.type !== 'expr_list' || !Array.isArray(node.value)) this.fail(`${operator} needs a list of values in parentheses`, at);
    return (node.value as Node[]).map((item) => this.expr(item));
  }

  private caseExpr(node: Node): Compiled {
    const { at, tok } = this.anchorWord('case');
    const subject = node.expr ? this.expr(node.expr) : undefined;
    const whens: { cond: Compiled; result: Compiled }[] = [];
    let otherwise: Compiled | undefined;
    for (const arm of node.args as Node[]) {
      if (arm.type === 'when') {
        const cond = this.expr(arm.cond);
        if (!subject) this.requireCondition(cond, 'WHEN');
        whens.push({ cond, result: this.expr(arm.result) });
      } else {
        otherwise = this.expr(arm.result);
      }
    }
    const text = this.span(tok);
    const conditions = whens.map(({ cond }) => (subject ? comparison('=', subject.fn, cond.fn, text) : cond.fn));
    const results = whens.map(({ result }) => result.fn);
    const fallback = otherwise?.fn ?? (() => null);
    return {
      fn: (f, r) => {
        for (let i = 0; i < conditions.length; i++) {
          if (truth(conditions[i]!(f, r), text) === true) return results[i]!(f, r);
        }
        return fallback(f, r);
      },
      type: merge([...whens.map((w) => w.result.type), otherwise?.type ?? 'null']),
      at, tok, text,
    };
  }

  private cast(node: Node): Compiled {
    const { at, tok } = this.anchorWord('cast');
    const operand = this.expr(node.expr);
    const target: Node | undefined = Array.isArray(node.target) ? node.target[0] : node.target;
    const typeString = hiveTypeOf(target);
    const quoted = `"${clip(this.fragment(tok))}"`;
    if (typeString === undefined) {
      this.fail(`${quoted}: CAST to ${String(target?.dataType ?? '?').toLowerCase()} is not supported in kafka.mapping ` +
        '(Hive types: string, varchar(n), char(n), tinyint, smallint, int, bigint, float, double, boolean, decimal(p,s), date, timestamp)', at);
    }
    let type: HiveType;
    try {
      type = parseHiveType(typeString);
    } catch (error) {
      this.fail(`${quoted}: ${(error as Error).message}`, at);
    }
    const { convert, staticType } = castTo(type);
    return { fn: strict1(operand.fn, convert, quoted), type: staticType, at, tok };
  }

  private call(node: Node): Compiled {
    const name = functionName(node).toLowerCase();
    // DATE, TIMESTAMP, ... without parentheses: the parser reads the word as a call, SQL means a field.
    if (node.args_parentheses === false && (node.args?.value?.length ?? 0) === 0) {
      return this.columnRef({ type: 'column_ref', table: null, column: name });
    }
    const located = typeof node.loc?.start?.offset === 'number' ? this.tokens.findIndex((t) => t.start === node.loc.start.offset) : -1;
    let at: number, tok: number;
    if (located >= this.cursor && located < this.limit) {
      this.cursor = located + 1;
      ({ at, tok } = { at: this.tokens[located]!.start, tok: located });
    } else {
      ({ at, tok } = this.anchorWord(name.split('.').at(-1)!, true));
    }
    const quoted = `"${clip(this.fragment(tok) || name)}"`;
    if (node.over) this.fail(`${quoted}: window functions (OVER) are not supported in kafka.mapping`, at);
    if (AGGREGATES.has(name)) this.fail(`${quoted}: aggregate function ${name} is not supported in kafka.mapping (each record gives one row)`, at);
    if (name === 'exists') this.fail('subqueries are not supported in kafka.mapping', this.anchorWord('select').at);
    const argNodes: Node[] = Array.isArray(node.args?.value) ? node.args.value : node.args?.expr ? [node.args.expr] : [];
    if (name === 'not' && argNodes.length === 1) {
      const operand = this.expr(argNodes[0]!);
      this.requireCondition(operand, 'NOT');
      return { fn: not(operand.fn, quoted), type: 'boolean', at, tok };
    }
    const spec = Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
    if (!spec) this.fail(`${quoted}: unknown function ${name} (kafka.mapping supports: ${FUNCTION_NAMES.join(', ')})`, at);
    if (name === 'trim' && argNodes.some((a) => a?.type === 'origin')) this.fail(`${quoted}: write trim(x); TRIM(BOTH ... FROM x) is not supported`, at);
    const [min, max] = spec.arity;
    if (argNodes.length < min || argNodes.length > max) {
      const count = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} or ${max}`;
      this.fail(`${quoted}: ${name} takes ${count} argument${min === 1 && max === 1 ? '' : 's'}, not ${argNodes.length}`, at);
    }
    const args = argNodes.map((a) => this.expr(a));
    const built = spec.build(args, quoted, {
      fail: (reason, c) => this.fail(`${quoted}: ${reason}`, c?.at ?? at),
      requireLiteralString: (c, what) => {
        if (typeof c.literal?.value !== 'string') this.fail(`${quoted}: ${what} must be a string literal`, c.at);
        return c.literal.value;
      },
    });
    return { at, tok, ...built };
  }

  // ---- static types ----

  private requireCondition(c: Compiled, what: string): void {
    if (c.type === 'number' || c.type === 'date' || c.type === 'timestamp') {
      this.fail(`${this.quote(c)} is ${article(c.type)}, but ${what} needs a condition (TRUE or FALSE)`, c.at);
    }
  }

  private requireNumber(c: Compiled, operator: string): void {
    if (c.type === 'boolean' || c.type === 'date' || c.type === 'timestamp') {
      this.fail(`${this.quote(c)} is ${article(c.type)}, which ${operator} cannot take (it takes numbers)`, c.at);
    }
  }

  /**
   * Refuses an output whose static type can never convert to its column's Hive type, by the converters
   * of scalars.ts (record fields, 'any', are for the record to decide):
   * - STRING, VARCHAR, CHAR take everything;
   * - numeric columns refuse BOOLEAN, DATE and TIMESTAMP (strings may hold numbers);
   * - BOOLEAN refuses numbers, DATE and TIMESTAMP (only true/false and 'true'/'false' convert);
   * - DATE refuses numbers, BOOLEAN and TIMESTAMP (it takes 'yyyy-MM-dd': use to_date());
   * - TIMESTAMP refuses BOOLEAN (a number is epoch milliseconds, a date its midnight);
   * - BINARY takes only strings (base64); ARRAY, MAP and STRUCT take only record fields.
   */
  private checkType(c: Compiled, target: { spec: ColumnSpec; partition: boolean }, quoted: string, at: number): void {
    if (c.type === 'any' || c.type === 'null') return;
    let hive: HiveType;
    try {
      hive = parseHiveType(target.spec.type);
    } catch {
      return; // a type hive-kafka cannot write is refused where the table is checked, not here
    }
    const refused = refusedTypes(hive);
    if (refused.includes(c.type)) {
      const column = `${target.partition ? 'partition column' : 'column'} ${target.spec.name.toLowerCase()}`;
      const hint = hive.kind === 'primitive' && hive.name === 'date' && c.type === 'timestamp' ? ' (to_date() gives its date)' : '';
      this.fail(`${quoted} gives ${article(c.type)}, which ${column} of type ${target.spec.type} cannot take${hint}`, at);
    }
  }
}

function refusedTypes(hive: HiveType): StaticType[] {
  switch (hive.kind) {
    case 'varchar':
    case 'char':
      return [];
    case 'decimal':
      return ['boolean', 'date', 'timestamp'];
    case 'array':
    case 'map':
    case 'struct':
      return ['string', 'number', 'boolean', 'date', 'timestamp'];
    case 'primitive':
      switch (hive.name) {
        case 'string':
          return [];
        case 'boolean':
          return ['number', 'date', 'timestamp'];
        case 'date':
          return ['number', 'boolean', 'timestamp'];
        case 'timestamp':
          return ['boolean'];
        case 'binary':
          return ['number', 'boolean', 'date', 'timestamp'];
        default:
          return ['boolean', 'date', 'timestamp'];
      }
  }
}

function article(type: StaticType): string {
  return { any: 'a value', null: 'NULL', string: 'a STRING', number: 'a number', boolean: 'a BOOLEAN', date: 'a DATE', timestamp: 'a TIMESTAMP' }[type];
}

function merge(types: StaticType[]): StaticType {
  const known = [...new Set(types.filter((t) => t !== 'null'))];
  if (known.length === 0) return 'null';
  return known.length === 1 ? known[0]! : 'any';
}

function clip(text: string, max = 80): string {
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

// ---- the AST's names ----

/** A column_ref's names, outermost first, in the shapes the dialect gives: a, t.a, s.t.a, or a '.' chain. */
function refNames(node: Node): string[] {
  const names: string[] = [];
  for (const part of [node.db, node.schema, node.table]) if (typeof part === 'string' && part !== '') names.push(part);
  flattenDots(node.column, names);
  return names;
}

function flattenDots(part: unknown, into: string[]): void {
  if (typeof part === 'string') {
    into.push(part);
    return;
  }
  const node = part as Node | null;
  if (!node || typeof node !== 'object') return;
  if (node.expr !== undefined) return flattenDots(node.expr, into);
  if (node.type === 'binary_expr' && node.operator === '.') {
    flattenDots(node.left, into);
    flattenDots(node.right, into);
    return;
  }
  if (typeof node.value === 'string') into.push(node.value);
}

function nameOf(node: unknown): string {
  const names: string[] = [];
  flattenDots(node, names);
  return names.join('.');
}

function functionName(node: Node): string {
  const name = node.name;
  if (typeof name === 'string') return name;
  if (Array.isArray(name?.name)) return (name.name as Node[]).map((part) => String(part.value)).join('.');
  return String(name?.name ?? name);
}

/** Hive's unescaping of a string literal (\\ \' \" '' ...), over what the parser left of it: it decodes \n, \t and \u itself. */
function unescapeLiteral(value: string, quote: "'" | '"'): string {
  if (!value.includes('\\') && !value.includes(quote + quote)) return value;
  return value.replace(/\\([\s\S])|''|""/g, (match: string, escaped: string | undefined) => {
    if (escaped === undefined) return match[0] === quote ? quote : match;
    switch (escaped) {
      case '0': return '\0';
      case 'Z': return '\x1a';
      case '%':
      case '_': return match; // kept for LIKE, as Hive keeps them
      default: return escaped;
    }
  });
}

/** The Hive type string of a CAST target, or undefined when it is not one of Hive's scalar types. */
function hiveTypeOf(target: Node | undefined): string | undefined {
  const name = String(target?.dataType ?? '').toLowerCase();
  const length: unknown = target?.length;
  switch (name) {
    case 'string':
    case 'tinyint':
    case 'smallint':
    case 'bigint':
    case 'float':
    case 'double':
    case 'boolean':
    case 'date':
    case 'timestamp':
      return name;
    case 'int':
    case 'integer':
      return 'int';
    case 'varchar':
      return typeof length === 'number' ? `varchar(${length})` : 'string';
    case 'char':
      return typeof length === 'number' ? `char(${length})` : 'char(1)';
    case 'decimal':
    case 'numeric':
      return typeof length === 'number' ? `decimal(${length},${typeof target?.scale === 'number' ? target.scale : 0})` : 'decimal';
    default:
      return undefined;
  }
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

// ---- evaluation ----

function makeMapping(outputs: string[], fns: Eval[], where: { fn: Eval; text: string } | undefined): CompiledMapping {
  const count = fns.length;
  const condition = where?.fn;
  const whereText = `WHERE ${where?.text ?? ''}`;
  return {
    outputs,
    evaluate(fields, record) {
      if (condition) {
        let keep: boolean | null;
        try {
          keep = truth(condition(fields, record), whereText);
        } catch (error) {
          throw recordError(undefined, error);
        }
        if (keep !== true) return undefined;
      }
      const values = new Array<unknown>(count);
      for (let i = 0; i < count; i++) {
        try {
          values[i] = fns[i]!(fields, record);
        } catch (error) {
          throw recordError(outputs[i], error);
        }
      }
      return values;
    },
  };
}

/** A conversion failure as the record's error: the output column (none for the WHERE) and where in the mapping. */
function recordError(column: string | undefined, error: unknown): unknown {
  if (!(error instanceof ConversionFailure)) return error;
  return new RecordDecodeError(column, `kafka.mapping ${error.reason}`);
}

/** A failure already placed in the SQL ("in lower(x): ..."): outer functions pass it on as it is. */
class PlacedFailure extends ConversionFailure {}

function placed(error: unknown, where: string): unknown {
  if (!(error instanceof ConversionFailure) || error instanceof PlacedFailure) return error;
  return new PlacedFailure(`${where}: ${error.reason}`);
}

/** One argument, NULL in NULL out; a failure names the expression. */
function strict1(fn: Eval, impl: (x: unknown) => unknown, where: string): Eval {
  return (f, r) => {
    const x = fn(f, r);
    if (x === null) return null;
    try {
      return impl(x);
    } catch (error) {
      throw placed(error, where);
    }
  };
}

interface FieldStep { key: string; lower: string; exact: boolean }
type Step = FieldStep | { index: number };

/** Reads a path of fields and indexes; NULL where it is missing or goes through a non-object. */
function pathReader(steps: Step[]): Eval {
  if (steps.length === 1 && 'key' in steps[0]!) {
    const { key, lower } = steps[0];
    return (f) => field(f, key, lower, false) ?? null;
  }
  return (f) => {
    let value: unknown = f;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      if ('key' in step) {
        value = field(value, step.key, step.lower, step.exact);
      } else {
        value = Array.isArray(value) ? value[step.index] : undefined;
      }
      if (value === undefined || value === null) return null;
    }
    return value;
  };
}

/** A field of an object: as written, then lower case, then any key equal ignoring case (unless `exact`). */
function field(value: unknown, key: string, lower: string, exact: boolean): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array || isLosslessNumber(value)) return undefined;
  const object = value as Record<string, unknown>;
  if (Object.hasOwn(object, key)) return object[key];
  if (exact) return undefined;
  if (lower !== key && Object.hasOwn(object, lower)) return object[lower];
  for (const name in object) {
    if (Object.hasOwn(object, name) && name.toLowerCase() === lower) return object[name];
  }
  return undefined;
}

// -- logic (three-valued, as SQL) --

/** A condition's value: TRUE, FALSE or NULL. Booleans and the strings 'true'/'false' are conditions. */
function truth(value: unknown, where: string): boolean | null {
  if (value === null) return null;
  if (typeof value === 'boolean') return value;
  try {
    return toBoolean(value);
  } catch {
    throw placed(new ConversionFailure(`${describe(value)} is not TRUE or FALSE`), where);
  }
}

function not(fn: Eval, where: string): Eval {
  return (f, r) => {
    const v = truth(fn(f, r), where);
    return v === null ? null : !v;
  };
}

function and(left: Eval, right: Eval, where: string): Eval {
  return (f, r) => {
    const a = truth(left(f, r), where);
    if (a === false) return false;
    const b = truth(right(f, r), where);
    if (b === false) return false;
    return a === null || b === null ? null : true;
  };
}

function or(left: Eval, right: Eval, where: string): Eval {
  return (f, r) => {
    const a = truth(left(f, r), where);
    if (a === true) return true;
    const b = truth(right(f, r), where);
    if (b === true) return true;
    return a === null || b === null ? null : false;
  };
}

// -- numbers --

const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER_TEXT = /^[+-]?\d+$/;

/** A bigint as a number when that is exact. */
function exactInteger(value: bigint): number | bigint {
  return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : value;
}

/** A value as a number: exact integers (bigint beyond 2^53), doubles otherwise; undefined when it is not one. */
function numericOf(value: unknown): number | bigint | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return value;
  let text: string;
  if (typeof value === 'string') text = value.trim();
  else if (isLosslessNumber(value)) text = value.value;
  else return undefined;
  if (INTEGER_TEXT.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  if (!NUMBER_TEXT.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function numeric(value: unknown): number | bigint {
  return numericOf(value) ?? fail(`${describe(value)} is not a number`);
}

function integral(value: number | bigint): boolean {
  return typeof value === 'bigint' || Number.isInteger(value);
}

function negate(x: unknown): number | bigint {
  const n = numeric(x);
  return typeof n === 'bigint' ? exactInteger(-n) : -n;
}

function arithmetic(operator: string, left: Eval, right: Eval, where: string): Eval {
  const op = arithmeticOp(operator);
  return (f, r) => {
    const a = left(f, r);
    if (a === null) return null;
    const b = right(f, r);
    if (b === null) return null;
    try {
      return op(numeric(a), numeric(b));
    } catch (error) {
      throw placed(error, where);
    }
  };
}

function arithmeticOp(operator: string): (a: number | bigint, b: number | bigint) => number | bigint | null {
  // Integers stay exact: a safe result from two numbers is kept, anything else goes through bigint.
  const exact = (
    onNumbers: (a: number, b: number) => number,
    onBigints: (a: bigint, b: bigint) => bigint,
  ) => (a: number | bigint, b: number | bigint): number | bigint => {
    if (typeof a === 'number' && typeof b === 'number') {
      const result = onNumbers(a, b);
      if (Number.isSafeInteger(result) || !Number.isInteger(a) || !Number.isInteger(b)) return result;
    }
    if (integral(a) && integral(b)) return exactInteger(onBigints(BigInt(a), BigInt(b)));
    return onNumbers(Number(a), Number(b));
  };
  switch (operator) {
    case '+': return exact((a, b) => a + b, (a, b) => a + b);
    case '-': return exact((a, b) => a - b, (a, b) => a - b);
    case '*': return exact((a, b) => a * b, (a, b) => a * b);
    // Hive: `/` is a DOUBLE division, and a zero divisor gives NULL.
    case '/': return (a, b) => (Number(b) === 0 ? null : Number(a) / Number(b));
    case '%': {
      const remainder = exact((a, b) => a % b, (a, b) => a % b);
      return (a, b) => (Number(b) === 0 ? null : remainder(a, b));
    }
    default: throw new Error(`unknown operator ${operator}`);
  }
}

// -- comparison --

function isComposite(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !isLosslessNumber(value);
}

/** -1, 0 or 1; NULL when the two do not compare (as Hive, which would cast 'abc' to a NULL double). */
function compare(a: unknown, b: unknown, where: string): number | null {
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (isComposite(a) || isComposite(b)) {
    throw placed(new ConversionFailure(`${describe(isComposite(a) ? a : b)} cannot be compared`), where);
  }
  if (typeof a === 'boolean' || typeof b === 'boolean') {
    const x = booleanOf(a);
    const y = booleanOf(b);
    if (x === undefined || y === undefined) return null;
    return x === y ? 0 : x ? 1 : -1;
  }
  const x = numericOf(a);
  const y = numericOf(b);
  if (x === undefined || y === undefined) return null;
  // number and bigint compare exactly with < and > in JavaScript.
  return x < y ? -1 : x > y ? 1 : 0;
}

function booleanOf(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const word = value.trim().toLowerCase();
    if (word === 'true') return true;
    if (word === 'false') return false;
  }
  return undefined;
}

function comparison(operator: string, left: Eval, right: Eval, where: string): Eval {
  const test = {
    '=': (c: number) => c === 0, '==': (c: number) => c === 0, '!=': (c: number) => c !== 0, '<>': (c: number) => c !== 0,
    '<': (c: number) => c < 0, '<=': (c: number) => c <= 0, '>': (c: number) => c > 0, '>=': (c: number) => c >= 0,
  }[operator]!;
  return (f, r) => {
    const a = left(f, r);
    if (a === null) return null;
    const b = right(f, r);
    if (b === null) return null;
    const c = compare(a, b, where);
    return c === null ? null : test(c);
  };
}

function inList(left: Eval, items: Eval[], negated: boolean, where: string): Eval {
  return (f, r) => {
    const a = left(f, r);
    if (a === null) return null;
    let unknown = false;
    for (const item of items) {
      const b = item(f, r);
      const c = b === null ? null : compare(a, b, where);
      if (c === 0) return !negated;
      if (c === null) unknown = true;
    }
    return unknown ? null : negated;
  };
}

function between(left: Eval, low: Eval, high: Eval, negated: boolean, where: string): Eval {
  const atLeast = comparison('>=', left, low, where);
  const atMost = comparison('<=', left, high, where);
  const both = and(atLeast, atMost, where);
  return negated ? not(both, where) : both;
}

// -- LIKE and RLIKE --

function likeRegExp(pattern: string): RegExp {
  let source = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]!);
    else if (c === '%') source += '.*';
    else if (c === '_') source += '.';
    else source += escapeRegExp(c);
  }
  return new RegExp(`${source}$`, 'su');
}

function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

function matches(left: Eval, right: Eval, compiled: RegExp | undefined, build: (pattern: string) => RegExp, negated: boolean, where: string): Eval {
  let lastPattern: string | undefined;
  let last: RegExp | undefined;
  return (f, r) => {
    const a = left(f, r);
    if (a === null) return null;
    let regex = compiled;
    try {
      if (!regex) {
        const p = right(f, r);
        if (p === null) return null;
        const pattern = text(p);
        if (pattern !== lastPattern) {
          last = build(pattern);
          lastPattern = pattern;
        }
        regex = last!;
      }
      return regex.test(text(a)) !== negated;
    } catch (error) {
      throw placed(error instanceof SyntaxError ? new ConversionFailure(`not a valid pattern: ${error.message}`) : error, where);
    }
  };
}

// -- strings --

/** A scalar as text, as Hive casts it to STRING; objects and arrays are not strings. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (isLosslessNumber(value)) return value.value;
  return fail(`${describe(value)} is not a string`);
}

function concat(args: Eval[], where: string): Eval {
  return (f, r) => {
    let result = '';
    for (const arg of args) {
      const v = arg(f, r);
      if (v === null) return null;
      try {
        result += text(v);
      } catch (error) {
        throw placed(error, where);
      }
    }
    return result;
  };
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** Hive's substr: 1-based start, a negative start counts from the end, in characters (code points). */
function substr(value: string, start: number, length: number): string {
  if (length <= 0) return '';
  const chars = SURROGATE.test(value) ? Array.from(value) : undefined;
  const count = chars ? chars.length : value.length;
  if (Math.abs(start) > count) return '';
  const from = start > 0 ? start - 1 : start < 0 ? count + start : 0;
  const to = count - from < length ? count : from + length;
  return chars ? chars.slice(from, to).join('') : value.slice(from, to);
}

function wholeArgument(value: unknown, what: string): number {
  const n = numericOf(value);
  if (n === undefined) fail(`${describe(value)} is not a number (the ${what})`);
  const whole = typeof n === 'bigint' ? n : BigInt(Math.trunc(n));
  // Beyond int, the same as the largest int for a position or length.
  return whole > 2147483647n ? 2147483647 : whole < -2147483648n ? -2147483648 : Number(whole);
}

// -- time (UTC) --

/** An instant of the UTC wall clock: days since 1970-01-01 and microseconds into that day. */
interface Instant { day: number; micros: number }

const MICROS_PER_DAY = 86_400_000_000n;
const MIN_DAY = validEpochDay(1, 1, 1)!;
const MAX_DAY = validEpochDay(9999, 12, 31)!;

const PLAIN_TIME = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?)?$/;

/** A timestamp or date value, as a TIMESTAMP column reads it (scalars.ts' toEpochMicros). */
function instantOfValue(value: unknown): Instant {
  // The usual 'yyyy-MM-dd[ HH:mm:ss[.f]]' without BigInt (toEpochMicros costs about 1 µs); anything
  // else, and anything invalid, takes toEpochMicros, which also words the errors.
  const m = typeof value === 'string' ? PLAIN_TIME.exec(value) : null;
  if (m) {
    const day = validEpochDay(Number(m[1]), Number(m[2]), Number(m[3]));
    const hour = m[4] === undefined ? 0 : Number(m[4]);
    const minute = m[5] === undefined ? 0 : Number(m[5]);
    const second = m[6] === undefined ? 0 : Number(m[6]);
    if (day !== undefined && day >= MIN_DAY && hour <= 23 && minute <= 59 && second <= 59) {
      const fraction = m[7] === undefined ? 0 : m[7].length >= 6 ? Number(m[7].slice(0, 6)) : Number(m[7]) * 10 ** (6 - m[7].length);
      return { day, micros: ((hour * 60 + minute) * 60 + second) * 1_000_000 + fraction };
    }
  }
  const micros = toEpochMicros(value);
  const day = micros / MICROS_PER_DAY - (micros % MICROS_PER_DAY < 0n ? 1n : 0n);
  return { day: Number(day), micros: Number(micros - day * MICROS_PER_DAY) };
}

/** from_unixtime's argument: seconds since 1970, floored to a whole second (Hive's takes a BIGINT). */
function instantOfSeconds(value: unknown): Instant {
  const n = numericOf(value);
  if (n === undefined) fail(`${describe(value)} is not a number of seconds`);
  // A bigint beyond 2^53 is far outside the range: as a number it still is.
  const s = typeof n === 'bigint' ? Number(n) : Math.floor(n);
  const day = Math.floor(s / 86400);
  if (day < MIN_DAY || day > MAX_DAY) fail(`${describe(value)} seconds is outside Hive's timestamp range 0001-01-01 to 9999-12-31`);
  return { day, micros: (s - day * 86400) * 1_000_000 };
}

function instantOf(c: Compiled, where: string): (f: unknown, r: KafkaRecord) => Instant | null {
  if (c.instant) return c.instant;
  const fn = c.fn;
  return (f, r) => {
    const v = fn(f, r);
    if (v === null) return null;
    try {
      return instantOfValue(v);
    } catch (error) {
      throw placed(error, where);
    }
  };
}

interface Parts { year: number; month: number; day: number; hour: number; minute: number; second: number; milli: number; weekday: number; dayOfYear: number }

/** Year, month and day of days since 1970-01-01 (Howard Hinnant's civil_from_days, as scalars.ts). */
function civil(days: number): [year: number, month: number, day: number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, dayOfYear - Math.floor((153 * mp + 2) / 5) + 1];
}

function partsOf(t: Instant, withDayOfYear: boolean): Parts {
  const [year, month, day] = civil(t.day);
  const secondOfDay = Math.floor(t.micros / 1_000_000);
  return {
    year,
    month,
    day,
    hour: Math.floor(secondOfDay / 3600),
    minute: Math.floor(secondOfDay / 60) % 60,
    second: secondOfDay % 60,
    milli: Math.floor(t.micros / 1000) % 1000,
    weekday: ((((t.day + 3) % 7) + 7) % 7) + 1, // 1970-01-01 was a Thursday; 1 = Monday
    dayOfYear: withDayOfYear ? t.day - validEpochDay(year, 1, 1)! + 1 : 0,
  };
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));
const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** 'yyyy-MM-dd HH:mm:ss', from_unixtime's default. */
function formatSeconds(t: Instant): string {
  const s = Math.floor(t.micros / 1_000_000);
  return `${formatDate(t.day)} ${pad2(Math.floor(s / 3600))}:${pad2(Math.floor(s / 60) % 60)}:${pad2(s % 60)}`;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/**
 * A Java SimpleDateFormat pattern, compiled: letters y M d H h k K m s S E u a D, 'quoted text' ('' is
 * a quote), other characters as they are. Throws Error (the caller places it) on a letter it lacks.
 */
function compilePattern(pattern: string): (t: Instant) => string {
  if (pattern === 'yyyy-MM-dd HH:mm:ss') return formatSeconds;
  if (pattern === 'yyyy-MM-dd') return (t) => formatDate(t.day);
  const pieces: (string | ((p: Parts) => string))[] = [];
  let withDayOfYear = false;
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "'") {
      if (pattern[i + 1] === "'") {
        pieces.push("'");
        i += 2;
        continue;
      }
      let literal = '';
      let j = i + 1;
      for (; j < pattern.length; j++) {
        if (pattern[j] === "'") {
          if (pattern[j + 1] === "'") { literal += "'"; j++; continue; }
          break;
        }
        literal += pattern[j];
      }
      if (j >= pattern.length) throw new Error(`the pattern '${pattern}' has an unterminated quote`);
      pieces.push(literal);
      i = j + 1;
      continue;
    }
    if (!/[A-Za-z]/.test(c)) {
      pieces.push(c);
      i++;
      continue;
    }
    let n = 1;
    while (pattern[i + n] === c) n++;
    i += n;
    const number = (get: (p: Parts) => number) => (p: Parts) => pad(get(p), n);
    switch (c) {
      case 'y': pieces.push(n === 2 ? (p) => pad2(p.year % 100) : number((p) => p.year)); break;
      case 'M': pieces.push(n >= 4 ? (p) => MONTHS[p.month - 1]! : n === 3 ? (p) => MONTHS[p.month - 1]!.slice(0, 3) : number((p) => p.month)); break;
      case 'd': pieces.push(number((p) => p.day)); break;
      case 'D': withDayOfYear = true; pieces.push(number((p) => p.dayOfYear)); break;
      case 'H': pieces.push(number((p) => p.hour)); break;
      case 'k': pieces.push(number((p) => (p.hour === 0 ? 24 : p.hour))); break;
      case 'K': pieces.push(number((p) => p.hour % 12)); break;
      case 'h': pieces.push(number((p) => ((p.hour + 11) % 12) + 1)); break;
      case 'm': pieces.push(number((p) => p.minute)); break;
      case 's': pieces.push(number((p) => p.second)); break;
      case 'S': pieces.push(number((p) => p.milli)); break;
      case 'E': pieces.push(n >= 4 ? (p) => WEEKDAYS[p.weekday - 1]! : (p) => WEEKDAYS[p.weekday - 1]!.slice(0, 3)); break;
      case 'u': pieces.push(number((p) => p.weekday)); break;
      case 'a': pieces.push((p) => (p.hour < 12 ? 'AM' : 'PM')); break;
      default:
        throw new Error(`the pattern letter ${c} in '${pattern}' is not supported (supported: y M d H h k K m s S E u a D, and 'quoted text')`);
    }
  }
  return (t) => {
    const p = partsOf(t, withDayOfYear);
    let out = '';
    for (const piece of pieces) out += typeof piece === 'string' ? piece : piece(p);
    return out;
  };
}

// -- CAST --

/** A CAST's conversion of a non-NULL value, giving a field-tree value the column converters read back exactly. */
function castTo(type: HiveType): { convert: (v: unknown) => unknown; staticType: StaticType } {
  switch (type.kind) {
    case 'varchar':
    case 'char':
      return { convert: columnConverter(type.kind === 'varchar' ? `varchar(${type.length})` : `char(${type.length})`), staticType: 'string' };
    case 'decimal': {
      const { precision, scale } = type;
      return {
        convert: (v) => new LosslessNumber(formatDecimal(toDecimal(typeof v === 'boolean' ? Number(v) : v, precision, scale), scale)),
        staticType: 'number',
      };
    }
    case 'primitive':
      switch (type.name) {
        case 'string':
          return { convert: columnConverter('string'), staticType: 'string' };
        case 'tinyint':
        case 'smallint':
        case 'int':
        case 'bigint': {
          const name: IntegerTypeName = type.name;
          return {
            convert: (v) => {
              const whole = toInteger(truncated(typeof v === 'boolean' ? Number(v) : v), name);
              return name === 'bigint' ? whole : Number(whole);
            },
            staticType: 'number',
          };
        }
        case 'float':
        case 'double': {
          const name = type.name;
          return { convert: (v) => toDouble(typeof v === 'boolean' ? Number(v) : v, name), staticType: 'number' };
        }
        case 'boolean':
          return {
            convert: (v) => {
              const n = typeof v === 'string' || typeof v === 'boolean' ? undefined : numericOf(v);
              return n !== undefined ? n !== 0 && n !== 0n : toBoolean(v);
            },
            staticType: 'boolean',
          };
        case 'date':
          return {
            convert: (v) => {
              // A timestamp string gives its date; numbers are days since 1970 (the field-tree contract).
              if (typeof v === 'string' && !/^\s*\d{4}-\d{2}-\d{2}\s*$/.test(v) && numericOf(v) === undefined) return formatDate(instantOfValue(v).day);
              return formatDate(toEpochDay(v));
            },
            staticType: 'date',
          };
        case 'timestamp':
          return { convert: (v) => formatTimestamp(toEpochMicros(v)), staticType: 'timestamp' };
        case 'binary':
          break;
      }
  }
  throw new Error(`no CAST to ${type.kind}`); // hiveTypeOf offers no other type
}

/** A number's value truncated toward zero, as Hive's CAST to an integer type does, on the digits (exact). */
function truncated(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) || !Number.isFinite(value) ? value : Math.trunc(value);
  const text = typeof value === 'string' ? value.trim() : isLosslessNumber(value) ? value.value : undefined;
  if (text === undefined || INTEGER_TEXT.test(text)) return value;
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return value;
  const digits = `${m[2]}${m[3] ?? ''}`;
  const point = m[2]!.length + Number(m[4] ?? '0');
  if (point > 400) return value; // out of every integer range: let toInteger say so
  const whole = point <= 0 ? '0' : digits.slice(0, point).padEnd(point, '0');
  return `${m[1] === '-' ? '-' : ''}${whole}`;
}

// -- the functions --

interface BuildHelpers {
  fail(reason: string, at?: Compiled): never;
  requireLiteralString(c: Compiled, what: string): string;
}

interface FunctionSpec {
  arity: [min: number, max: number];
  build(args: Compiled[], where: string, helpers: BuildHelpers): Omit<Compiled, 'at' | 'tok'>;
}

const stringFunction = (impl: (s: string) => unknown, type: StaticType = 'string'): FunctionSpec => ({
  arity: [1, 1],
  build: ([a], where) => ({ fn: strict1(a!.fn, (v) => impl(text(v)), where), type }),
});

const timeFunction = (impl: (t: Instant) => unknown, type: StaticType): FunctionSpec => ({
  arity: [1, 1],
  build: ([a], where) => {
    const instant = instantOf(a!, where);
    return {
      fn: (f, r) => {
        const t = instant(f, r);
        return t === null ? null : impl(t);
      },
      type,
    };
  },
});

const roundingFunction = (impl: (n: number) => number): FunctionSpec => ({
  arity: [1, 1],
  build: ([a], where) => ({
    fn: strict1(a!.fn, (v) => {
      const n = numeric(v);
      return typeof n === 'bigint' ? n : impl(n);
    }, where),
    type: 'number',
  }),
});

function coalesce(args: Compiled[]): Omit<Compiled, 'at' | 'tok'> {
  const fns = args.map((a) => a.fn);
  return {
    fn: (f, r) => {
      for (const fn of fns) {
        const v = fn(f, r);
        if (v !== null) return v;
      }
      return null;
    },
    type: merge(args.map((a) => a.type)),
  };
}

const FUNCTIONS: Record<string, FunctionSpec> = {
  coalesce: { arity: [1, Infinity], build: coalesce },
  nvl: { arity: [2, 2], build: coalesce },
  if: {
    arity: [3, 3],
    build: ([c, a, b], where) => {
      const cond = c!.fn, then = a!.fn, otherwise = b!.fn;
      return { fn: (f, r) => (truth(cond(f, r), where) === true ? then(f, r) : otherwise(f, r)), type: merge([a!.type, b!.type]) };
    },
  },
  lower: stringFunction((s) => s.toLowerCase()),
  lcase: stringFunction((s) => s.toLowerCase()),
  upper: stringFunction((s) => s.toUpperCase()),
  ucase: stringFunction((s) => s.toUpperCase()),
  // Hive's trim removes spaces only, not other white space.
  trim: stringFunction((s) => s.replace(/^ +| +$/g, '')),
  ltrim: stringFunction((s) => s.replace(/^ +/, '')),
  rtrim: stringFunction((s) => s.replace(/ +$/, '')),
  length: stringFunction((s) => (SURROGATE.test(s) ? Array.from(s).length : s.length), 'number'),
  concat: { arity: [1, Infinity], build: (args, where) => ({ fn: concat(args.map((a) => a.fn), where), type: 'string' }) },
  substr: substrSpec(),
  substring: substrSpec(),
  from_unixtime: {
    arity: [1, 2],
    build: ([a, p], where, helpers) => {
      const fn = a!.fn;
      const instant = (f: unknown, r: KafkaRecord): Instant | null => {
        const v = fn(f, r);
        if (v === null) return null;
        try {
          return instantOfSeconds(v);
        } catch (error) {
          throw placed(error, where);
        }
      };
      if (!p) {
        return { fn: (f, r) => { const t = instant(f, r); return t === null ? null : formatSeconds(t); }, type: 'timestamp', instant };
      }
      const format = pattern(p, helpers);
      return { fn: (f, r) => { const t = instant(f, r); return t === null ? null : format(t); }, type: 'string' };
    },
  },
  date_format: {
    arity: [2, 2],
    build: ([a, p], where, helpers) => {
      const instant = instantOf(a!, where);
      const format = pattern(p!, helpers);
      return { fn: (f, r) => { const t = instant(f, r); return t === null ? null : format(t); }, type: 'string' };
    },
  },
  unix_timestamp: timeFunction((t) => t.day * 86400 + Math.floor(t.micros / 1_000_000), 'number'),
  to_date: timeFunction((t) => formatDate(t.day), 'date'),
  year: timeFunction((t) => civil(t.day)[0], 'number'),
  month: timeFunction((t) => civil(t.day)[1], 'number'),
  day: timeFunction((t) => civil(t.day)[2], 'number'),
  dayofmonth: timeFunction((t) => civil(t.day)[2], 'number'),
  hour: timeFunction((t) => Math.floor(t.micros / 3_600_000_000), 'number'),
  minute: timeFunction((t) => Math.floor(t.micros / 60_000_000) % 60, 'number'),
  second: timeFunction((t) => Math.floor(t.micros / 1_000_000) % 60, 'number'),
  floor: roundingFunction(Math.floor),
  ceil: roundingFunction(Math.ceil),
  ceiling: roundingFunction(Math.ceil),
  abs: {
    arity: [1, 1],
    build: ([a], where) => ({
      fn: strict1(a!.fn, (v) => {
        const n = numeric(v);
        return typeof n === 'bigint' ? exactInteger(n < 0n ? -n : n) : Math.abs(n);
      }, where),
      type: 'number',
    }),
  },
};

function pattern(c: Compiled, helpers: BuildHelpers): (t: Instant) => string {
  const text = helpers.requireLiteralString(c, 'the pattern');
  try {
    return compilePattern(text);
  } catch (error) {
    return helpers.fail((error as Error).message, c);
  }
}

function substrSpec(): FunctionSpec {
  return {
    arity: [2, 3],
    build: ([s, start, length], where) => {
      const sf = s!.fn, startFn = start!.fn, lengthFn = length?.fn;
      return {
        fn: (f, r) => {
          const v = sf(f, r);
          const p = startFn(f, r);
          const n = lengthFn ? lengthFn(f, r) : 2147483647;
          if (v === null || p === null || n === null) return null;
          try {
            return substr(text(v), wholeArgument(p, 'start'), wholeArgument(n, 'length'));
          } catch (error) {
            throw placed(error, where);
          }
        },
        type: 'string',
      };
    },
  };
}
