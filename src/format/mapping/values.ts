// A record's values as operators and functions read them: fields by path, and a value as a condition,
// a number or text; a failure is placed in the SQL (the expression it happened in).
import { isLosslessNumber } from 'lossless-json';
import { ConversionFailure, describe, fail, toBoolean } from '../../hive/scalars.ts';
import type { KafkaRecord } from '../format.ts';
import type { Eval } from './types.ts';

/** A failure already placed in the SQL ("in lower(x): ..."): outer functions pass it on as it is. */
class PlacedFailure extends ConversionFailure {}

export function placed(error: unknown, where: string): unknown {
  if (!(error instanceof ConversionFailure) || error instanceof PlacedFailure) return error;
  return new PlacedFailure(`${where}: ${error.reason}`);
}

/** One argument, NULL in NULL out; a failure names the expression. */
export function strict1<T>(fn: Eval, impl: (x: unknown) => T, where: string): (fields: unknown, record: KafkaRecord) => T | null {
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

export interface FieldStep { key: string; lower: string; exact: boolean }
export type Step = FieldStep | { index: number };

/** Reads a path of fields and indexes; NULL where it is missing or goes through a non-object. */
export function pathReader(steps: Step[]): Eval {
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

/** A condition's value: TRUE, FALSE or NULL. Booleans and the strings 'true'/'false' are conditions. */
export function truth(value: unknown, where: string): boolean | null {
  if (value === null) return null;
  if (typeof value === 'boolean') return value;
  try {
    return toBoolean(value);
  } catch {
    throw placed(new ConversionFailure(`${describe(value)} is not TRUE or FALSE`), where);
  }
}

// -- numbers --

const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
export const INTEGER_TEXT = /^[+-]?\d+$/;

/** A bigint as a number when that is exact. */
export function exactInteger(value: bigint): number | bigint {
  return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : value;
}

/** A value as a number: exact integers (bigint beyond 2^53), doubles otherwise; undefined when it is not one. */
export function numericOf(value: unknown): number | bigint | undefined {
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

export function numeric(value: unknown): number | bigint {
  return numericOf(value) ?? fail(`${describe(value)} is not a number`);
}

/** A scalar as text, as Hive casts it to STRING; objects and arrays are not strings. */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (isLosslessNumber(value)) return value.value;
  return fail(`${describe(value)} is not a string`);
}
