// Values as instants of the UTC wall clock, for the time functions and CAST AS DATE: a timestamp or
// date value, or from_unixtime's seconds.
import { describe, fail, toEpochMicros } from '../../hive/scalars.ts';
import { instantOfSecond, MAX_EPOCH_DAY, MIN_EPOCH_DAY, validEpochDay, type Instant } from '../../hive/time.ts';
import type { KafkaRecord } from '../format.ts';
import type { Compiled } from './types.ts';
import { numericOf, strict1 } from './values.ts';

const MICROS_PER_DAY = 86_400_000_000n;

const PLAIN_TIME = /^(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?)?$/;

/** A timestamp or date value, as a TIMESTAMP column reads it (scalars.ts' toEpochMicros). */
export function instantOfValue(value: unknown): Instant {
  // The usual 'yyyy-MM-dd[ HH:mm:ss[.f]]' without BigInt (toEpochMicros costs about 1 µs); anything
  // else, and anything invalid, takes toEpochMicros, which also words the errors.
  const m = typeof value === 'string' ? PLAIN_TIME.exec(value) : null;
  if (m) {
    const day = validEpochDay(Number(m[1]), Number(m[2]), Number(m[3]));
    const hour = m[4] === undefined ? 0 : Number(m[4]);
    const minute = m[5] === undefined ? 0 : Number(m[5]);
    const second = m[6] === undefined ? 0 : Number(m[6]);
    if (day !== undefined && day >= MIN_EPOCH_DAY && hour <= 23 && minute <= 59 && second <= 59) {
      const fraction = m[7] === undefined ? 0 : m[7].length >= 6 ? Number(m[7].slice(0, 6)) : Number(m[7]) * 10 ** (6 - m[7].length);
      return { day, micros: ((hour * 60 + minute) * 60 + second) * 1_000_000 + fraction };
    }
  }
  const micros = toEpochMicros(value);
  const day = micros / MICROS_PER_DAY - (micros % MICROS_PER_DAY < 0n ? 1n : 0n);
  return { day: Number(day), micros: Number(micros - day * MICROS_PER_DAY) };
}

/** from_unixtime's argument: seconds since 1970, floored to a whole second (Hive's takes a BIGINT). */
export function instantOfSeconds(value: unknown): Instant {
  const n = numericOf(value);
  if (n === undefined) fail(`${describe(value)} is not a number of seconds`);
  // A bigint beyond 2^53 is far outside the range: as a number it still is.
  const s = typeof n === 'bigint' ? Number(n) : Math.floor(n);
  const t = instantOfSecond(s);
  if (t.day < MIN_EPOCH_DAY || t.day > MAX_EPOCH_DAY) fail(`${describe(value)} seconds is outside Hive's timestamp range 0001-01-01 to 9999-12-31`);
  return t;
}

export function instantOf(c: Compiled, where: string): (f: unknown, r: KafkaRecord) => Instant | null {
  return c.instant ?? strict1(c.fn, instantOfValue, where);
}
