// Reading node-sql-parser's AST: the names of a column_ref or a call, string literals as Hive unescapes
// them, and a CAST target as a Hive type string.

// node-sql-parser's AST is untyped in practice (its .d.ts covers little of what a dialect produces):
// nodes are read as loose records and checked field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Node = Record<string, any>;

/** A column_ref's names, outermost first, in the shapes the dialect gives: a, t.a, s.t.a, or a '.' chain. */
export function refNames(node: Node): string[] {
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

export function nameOf(node: unknown): string {
  const names: string[] = [];
  flattenDots(node, names);
  return names.join('.');
}

export function functionName(node: Node): string {
  const name = node.name;
  if (typeof name === 'string') return name;
  if (Array.isArray(name?.name)) return (name.name as Node[]).map((part) => String(part.value)).join('.');
  return String(name?.name ?? name);
}

/** Hive's unescaping of a string literal (\\ \' \" '' ...), over what the parser left of it: it decodes \n, \t and \u itself. */
export function unescapeLiteral(value: string, quote: "'" | '"'): string {
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
export function hiveTypeOf(target: Node | undefined): string | undefined {
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
