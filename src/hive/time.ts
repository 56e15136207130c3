// The calendar, in UTC: days since 1970-01-01 to and from civil dates (proleptic Gregorian, floor
// division throughout, so before 1970 works), and Java SimpleDateFormat patterns over an instant.
// One copy for scalars.ts, kafka.mapping's time functions and the time partitions.

/** An instant of the UTC wall clock: days since 1970-01-01 and microseconds into that day. */
export interface Instant { day: number; micros: number }

/** Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/** Year, month and day of days since 1970-01-01 (Howard Hinnant's civil_from_days). */
export function civilFromDays(days: number): [year: number, month: number, day: number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

/** Days since 1970-01-01 of a date, or undefined when the calendar has no such date (2023-02-29, month 13). */
export function validEpochDay(year: number, month: number, day: number): number | undefined {
  const days = daysFromCivil(year, month, day);
  const [y, m, d] = civilFromDays(days);
  return month < 1 || month > 12 || y !== year || m !== month || d !== day ? undefined : days;
}

// Hive's DATE and TIMESTAMP range: years 0001 to 9999 of the proleptic Gregorian calendar.
export const MIN_EPOCH_DAY = daysFromCivil(1, 1, 1);
export const MAX_EPOCH_DAY = daysFromCivil(9999, 12, 31);

/** The instant of a whole number of seconds since 1970 (unchecked: the caller bounds it). */
export function instantOfSecond(second: number): Instant {
  const day = Math.floor(second / 86400);
  return { day, micros: (second - day * 86400) * 1_000_000 };
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));
const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** 'yyyy-MM-dd', the year always 4 digits within Hive's range. */
export function formatDate(days: number): string {
  const [y, m, d] = civilFromDays(days);
  return `${pad(y, 4)}-${pad2(m)}-${pad2(d)}`;
}

/** 'HH:mm:ss' of a second of the day. */
export function formatClock(secondOfDay: number): string {
  return `${pad2(Math.floor(secondOfDay / 3600))}:${pad2(Math.floor(secondOfDay / 60) % 60)}:${pad2(secondOfDay % 60)}`;
}

/** 'yyyy-MM-dd HH:mm:ss' (from_unixtime's default). */
export function formatSeconds(t: Instant): string {
  return `${formatDate(t.day)} ${formatClock(Math.floor(t.micros / 1_000_000))}`;
}

function formatDay(t: Instant): string {
  return formatDate(t.day);
}

// ---- Java SimpleDateFormat patterns ----

/** A pattern's pieces in order: text to copy, or a run of one letter (`yyyy` is y × 4). */
export type PatternPart = { literal: string } | { letter: string; count: number };

/** A '...' quote that is never closed; `at` is the 0-based index of its opening quote. */
export class UnclosedQuote extends Error {
  constructor(readonly at: number) {
    super(`unclosed quote at ${at}`);
  }
}

/**
 * The parts of a pattern as Java reads it: letters A-Z a-z in runs, 'quoted text' ('' is a quote,
 * inside quotes too), any other character as it is. Yields in order and throws UnclosedQuote where it
 * gets to one, so a caller that refuses a letter refuses the first problem of the pattern.
 */
export function* patternParts(pattern: string): Generator<PatternPart> {
  let literal = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "'") {
      if (pattern[i + 1] === "'") {
        literal += "'";
        i += 2;
        continue;
      }
      let j = i + 1;
      for (;; j++) {
        if (j >= pattern.length) throw new UnclosedQuote(i);
        if (pattern[j] === "'") {
          if (pattern[j + 1] !== "'") break;
          j++;
        }
        literal += pattern[j];
      }
      i = j + 1;
    } else if (/[A-Za-z]/.test(c)) {
      let count = 1;
      while (pattern[i + count] === c) count++;
      if (literal !== '') yield { literal };
      literal = '';
      yield { letter: c, count };
      i += count;
    } else {
      literal += c;
      i++;
    }
  }
  if (literal !== '') yield { literal };
}

interface Parts { year: number; month: number; day: number; hour: number; minute: number; second: number; milli: number; weekday: number; dayOfYear: number }

function partsOf(t: Instant, withDayOfYear: boolean): Parts {
  const [year, month, day] = civilFromDays(t.day);
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
    dayOfYear: withDayOfYear ? t.day - daysFromCivil(year, 1, 1) + 1 : 0,
  };
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

/**
 * A Java SimpleDateFormat pattern, compiled: letters y M d H h k K m s S E u a D, 'quoted text' ('' is
 * a quote), other characters as they are. Throws Error (the caller places it) on a letter it lacks.
 */
export function dateFormatter(pattern: string): (t: Instant) => string {
  if (pattern === 'yyyy-MM-dd HH:mm:ss') return formatSeconds;
  if (pattern === 'yyyy-MM-dd') return formatDay;
  const pieces: (string | ((p: Parts) => string))[] = [];
  let withDayOfYear = false;
  try {
    for (const part of patternParts(pattern)) {
      if ('literal' in part) {
        pieces.push(part.literal);
        continue;
      }
      const n = part.count;
      const number = (get: (p: Parts) => number) => (p: Parts) => pad(get(p), n);
      switch (part.letter) {
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
          throw new Error(`the pattern letter ${part.letter} in '${pattern}' is not supported (supported: y M d H h k K m s S E u a D, and 'quoted text')`);
      }
    }
  } catch (error) {
    if (error instanceof UnclosedQuote) throw new Error(`the pattern '${pattern}' has an unterminated quote`);
    throw error;
  }
  return (t) => {
    const p = partsOf(t, withDayOfYear);
    let out = '';
    for (const piece of pieces) out += typeof piece === 'string' ? piece : piece(p);
    return out;
  };
}
