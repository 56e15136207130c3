// The function table: each function's arity and how it builds its closure from its compiled
// arguments, with the names of the aggregates a mapping refuses.
import { describe, fail } from '../../hive/scalars.ts';
import { civilFromDays, dateFormatter, formatDate, formatSeconds, type Instant } from '../../hive/time.ts';
import type { KafkaRecord } from '../format.ts';
import { instantOf, instantOfSeconds } from './instants.ts';
import { concat } from './operators.ts';
import { merge, type Compiled, type Eval, type StaticType } from './types.ts';
import { exactInteger, numeric, numericOf, placed, strict1, text, truth } from './values.ts';

/** Hive's aggregate functions: refused by name, since each record gives one row. */
export const AGGREGATES = new Set([
  'count', 'sum', 'avg', 'min', 'max', 'collect_list', 'collect_set', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop',
  'var_samp', 'percentile', 'percentile_approx', 'array_agg', 'group_concat', 'string_agg', 'histogram_numeric', 'corr', 'covar_pop',
  'covar_samp', 'approx_count_distinct', 'count_if', 'bool_and', 'bool_or', 'every', 'any_value', 'first_value', 'last_value',
]);

export interface BuildHelpers {
  fail(reason: string, at?: Compiled): never;
  requireLiteralString(c: Compiled, what: string): string;
}

export interface FunctionSpec {
  arity: [min: number, max: number];
  build(args: Compiled[], where: string, helpers: BuildHelpers): Omit<Compiled, 'at' | 'tok'>;
}

const stringFunction = (impl: (s: string) => unknown, type: StaticType = 'string'): FunctionSpec => ({
  arity: [1, 1],
  build: ([a], where) => ({ fn: strict1(a!.fn, (v) => impl(text(v)), where), type }),
});

/** A function of an instant, NULL in NULL out. */
function ofInstant(instant: (f: unknown, r: KafkaRecord) => Instant | null, impl: (t: Instant) => unknown): Eval {
  return (f, r) => {
    const t = instant(f, r);
    return t === null ? null : impl(t);
  };
}

const timeFunction = (impl: (t: Instant) => unknown, type: StaticType): FunctionSpec => ({
  arity: [1, 1],
  build: ([a], where) => ({ fn: ofInstant(instantOf(a!, where), impl), type }),
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

export const FUNCTIONS: Record<string, FunctionSpec> = {
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
      const instant = strict1(a!.fn, instantOfSeconds, where);
      if (!p) return { fn: ofInstant(instant, formatSeconds), type: 'timestamp', instant };
      return { fn: ofInstant(instant, pattern(p, helpers)), type: 'string' };
    },
  },
  date_format: {
    arity: [2, 2],
    build: ([a, p], where, helpers) => {
      const instant = instantOf(a!, where);
      return { fn: ofInstant(instant, pattern(p!, helpers)), type: 'string' };
    },
  },
  unix_timestamp: timeFunction((t) => t.day * 86400 + Math.floor(t.micros / 1_000_000), 'number'),
  to_date: timeFunction((t) => formatDate(t.day), 'date'),
  year: timeFunction((t) => civilFromDays(t.day)[0], 'number'),
  month: timeFunction((t) => civilFromDays(t.day)[1], 'number'),
  day: timeFunction((t) => civilFromDays(t.day)[2], 'number'),
  dayofmonth: timeFunction((t) => civilFromDays(t.day)[2], 'number'),
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
    return dateFormatter(text);
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

/** What kafka.mapping supports, for the message on an unknown function. */
export const FUNCTION_NAMES = [...Object.keys(FUNCTIONS), 'cast'].sort();

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
