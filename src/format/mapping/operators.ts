// The operators' closures: three-valued AND/OR/NOT, exact arithmetic, comparisons, IN, BETWEEN,
// LIKE/RLIKE and concatenation (|| and concat()).
import { isLosslessNumber } from 'lossless-json';
import { ConversionFailure, describe } from '../../hive/scalars.ts';
import type { Eval } from './types.ts';
import { exactInteger, numeric, numericOf, placed, text, truth } from './values.ts';

// -- logic (three-valued, as SQL) --

export function not(fn: Eval, where: string): Eval {
  return (f, r) => {
    const v = truth(fn(f, r), where);
    return v === null ? null : !v;
  };
}

export function and(left: Eval, right: Eval, where: string): Eval {
  return junction(left, right, false, where);
}

export function or(left: Eval, right: Eval, where: string): Eval {
  return junction(left, right, true, where);
}

/** AND (decided by a FALSE) or OR (decided by a TRUE); NULL when undecided and either side is NULL. */
function junction(left: Eval, right: Eval, decisive: boolean, where: string): Eval {
  return (f, r) => {
    const a = truth(left(f, r), where);
    if (a === decisive) return decisive;
    const b = truth(right(f, r), where);
    if (b === decisive) return decisive;
    return a === null || b === null ? null : !decisive;
  };
}

// -- numbers --

function integral(value: number | bigint): boolean {
  return typeof value === 'bigint' || Number.isInteger(value);
}

export function negate(x: unknown): number | bigint {
  const n = numeric(x);
  return typeof n === 'bigint' ? exactInteger(-n) : -n;
}

export function arithmetic(operator: string, left: Eval, right: Eval, where: string): Eval {
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
export function compare(a: unknown, b: unknown, where: string): number | null {
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

export function comparison(operator: string, left: Eval, right: Eval, where: string): Eval {
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

export function inList(left: Eval, items: Eval[], negated: boolean, where: string): Eval {
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

export function between(left: Eval, low: Eval, high: Eval, negated: boolean, where: string): Eval {
  const atLeast = comparison('>=', left, low, where);
  const atMost = comparison('<=', left, high, where);
  const both = and(atLeast, atMost, where);
  return negated ? not(both, where) : both;
}

// -- LIKE and RLIKE --

export function likeRegExp(pattern: string): RegExp {
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

export function matches(left: Eval, right: Eval, compiled: RegExp | undefined, build: (pattern: string) => RegExp, negated: boolean, where: string): Eval {
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

export function concat(args: Eval[], where: string): Eval {
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
