// kafka.mapping's public interface: compileMapping parses and checks the SQL once, and the
// CompiledMapping it gives evaluates one record at a time.
//
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
// - The functions of FUNCTIONS (functions.ts), CAST to Hive's scalar types, arithmetic, comparisons,
//   AND/OR/NOT, IS [NOT] NULL/TRUE/FALSE, [NOT] IN, [NOT] LIKE, [NOT] RLIKE, [NOT] BETWEEN, CASE, `||`.
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
// The modules: tokens.ts (positions in the SQL), ast.ts (the parser's AST), compile.ts (AST to
// closures), types.ts (static types), values.ts, operators.ts, functions.ts, cast.ts, instants.ts
// (what the closures do); the calendar is src/hive/time.ts.
import athena from 'node-sql-parser/build/athena.js';
import { RecordDecodeError, type ColumnSpec } from '../../hive/convert.ts';
import { ConversionFailure } from '../../hive/scalars.ts';
import type { KafkaRecord } from '../format.ts';
import { Compiler, type Program } from './compile.ts';
import { syntaxError } from './tokens.ts';
import { truth } from './values.ts';

export { MappingError } from './tokens.ts';

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
  return makeMapping(new Compiler(sql).mapping(ast, table));
}

function makeMapping({ outputs, fns, where }: Program): CompiledMapping {
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
