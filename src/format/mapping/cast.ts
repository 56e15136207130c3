// CAST to Hive's scalar types: the conversion of a non-NULL value, and the static type it gives.
import { LosslessNumber, isLosslessNumber } from 'lossless-json';
import type { HiveType } from '../../sink/hive-types.ts';
import { columnConverter } from '../../hive/convert.ts';
import { formatDecimal, formatTimestamp, toBoolean, toDecimal, toDouble, toEpochDay, toEpochMicros, toInteger, type IntegerTypeName } from '../../hive/scalars.ts';
import { formatDate } from '../../hive/time.ts';
import { instantOfValue } from './instants.ts';
import type { StaticType } from './types.ts';
import { INTEGER_TEXT, numericOf } from './values.ts';

/** A CAST's conversion of a non-NULL value, giving a field-tree value the column converters read back exactly. */
export function castTo(type: HiveType): { convert: (v: unknown) => unknown; staticType: StaticType } {
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
