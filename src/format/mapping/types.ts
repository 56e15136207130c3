// What a compiled expression is (its closure, static type and place in the SQL), and the static type
// checks: what a condition, an operator or a column can take, known before any record.
import { parseHiveType, type HiveType } from '../../sink/hive-types.ts';
import type { ColumnSpec } from '../../hive/convert.ts';
import type { Instant } from '../../hive/time.ts';
import type { KafkaRecord } from '../format.ts';

/** A record's values, or a function of them, as the compiled closures take them: no per-record allocation. */
export type Eval = (fields: unknown, record: KafkaRecord) => unknown;

/**
 * What a compiled expression gives, as far as the SQL tells: 'any' for record fields (the value decides),
 * 'null' for NULL. 'date' is a 'yyyy-MM-dd' string, 'timestamp' a 'yyyy-MM-dd HH:mm:ss' string.
 */
export type StaticType = 'any' | 'null' | 'string' | 'number' | 'boolean' | 'date' | 'timestamp';

export interface Compiled {
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

/** The type of CASE, IF, COALESCE: the one known type of the branches, else 'any'. */
export function merge(types: StaticType[]): StaticType {
  const known = [...new Set(types.filter((t) => t !== 'null'))];
  if (known.length === 0) return 'null';
  return known.length === 1 ? known[0]! : 'any';
}

/** Why a value of this type is no condition for `what` (WHERE, AND, NOT, ...), or undefined. */
export function notCondition(type: StaticType, what: string): string | undefined {
  if (type === 'number' || type === 'date' || type === 'timestamp') {
    return `is ${article(type)}, but ${what} needs a condition (TRUE or FALSE)`;
  }
  return undefined;
}

/** Why an arithmetic operator cannot take a value of this type, or undefined. */
export function notNumber(type: StaticType, operator: string): string | undefined {
  if (type === 'boolean' || type === 'date' || type === 'timestamp') {
    return `is ${article(type)}, which ${operator} cannot take (it takes numbers)`;
  }
  return undefined;
}

/**
 * Why an output of this static type can never convert to its column's Hive type, by the converters
 * of scalars.ts, or undefined (record fields, 'any', are for the record to decide):
 * - STRING, VARCHAR, CHAR take everything;
 * - numeric columns refuse BOOLEAN, DATE and TIMESTAMP (strings may hold numbers);
 * - BOOLEAN refuses numbers, DATE and TIMESTAMP (only true/false and 'true'/'false' convert);
 * - DATE refuses numbers, BOOLEAN and TIMESTAMP (it takes 'yyyy-MM-dd': use to_date());
 * - TIMESTAMP refuses BOOLEAN (a number is epoch milliseconds, a date its midnight);
 * - BINARY takes only strings (base64); ARRAY, MAP and STRUCT take only record fields.
 */
export function columnRefusal(type: StaticType, target: { spec: ColumnSpec; partition: boolean }): string | undefined {
  if (type === 'any' || type === 'null') return undefined;
  let hive: HiveType;
  try {
    hive = parseHiveType(target.spec.type);
  } catch {
    return undefined; // a type hive-kafka cannot write is refused where the table is checked, not here
  }
  if (!refusedTypes(hive).includes(type)) return undefined;
  const column = `${target.partition ? 'partition column' : 'column'} ${target.spec.name.toLowerCase()}`;
  const hint = hive.kind === 'primitive' && hive.name === 'date' && type === 'timestamp' ? ' (to_date() gives its date)' : '';
  return `gives ${article(type)}, which ${column} of type ${target.spec.type} cannot take${hint}`;
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
