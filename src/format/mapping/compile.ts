// Compiling the AST into closures: the select list into outputs named for the table's columns, the
// WHERE into a condition, each expression into a Compiled (closure, static type, position).
import { parseHiveType, type HiveType } from '../../sink/hive-types.ts';
import type { ColumnSpec } from '../../hive/convert.ts';
import { functionName, hiveTypeOf, nameOf, refNames, unescapeLiteral, type Node } from './ast.ts';
import { castTo } from './cast.ts';
import { AGGREGATES, FUNCTION_NAMES, FUNCTIONS } from './functions.ts';
import { and, arithmetic, between, comparison, concat, inList, likeRegExp, matches, negate, not, or } from './operators.ts';
import { clip, Positions } from './tokens.ts';
import { columnRefusal, merge, notCondition, notNumber, type Compiled, type Eval, type StaticType } from './types.ts';
import { exactInteger, numeric, pathReader, strict1, truth, type FieldStep, type Step } from './values.ts';

/** A compiled mapping before evaluation: one closure per output, and the WHERE's with its SQL for messages. */
export interface Program {
  outputs: string[];
  fns: Eval[];
  where: { fn: Eval; text: string } | undefined;
}

export class Compiler extends Positions {
  /** The outputs' names and closures, and the WHERE's, of a parsed mapping checked against the table. */
  mapping(parsed: unknown, table: { columns: ColumnSpec[]; partitionKeys: ColumnSpec[] }): Program {
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
      const refusal = columnRefusal(compiled.type, target);
      if (refusal !== undefined) this.fail(`${quoted} ${refusal}`, itemAt);
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
    return { outputs, fns, where };
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
    const reason = notCondition(c.type, what);
    if (reason !== undefined) this.fail(`${this.quote(c)} ${reason}`, c.at);
  }

  private requireNumber(c: Compiled, operator: string): void {
    const reason = notNumber(c.type, operator);
    if (reason !== undefined) this.fail(`${this.quote(c)} ${reason}`, c.at);
  }
}
