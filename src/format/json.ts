// kafka.value.format=json: one JSON object per record value, numbers kept exact (parseRecordJson).
// Tables without a mapping or time partitions take json-scan.ts's byte scanner instead, which
// gives the same values faster; this reader is the general path a mapping reads through.
import { RecordDecodeError, parseRecordJson } from '../hive/convert.ts';
import type { ValueReader } from './format.ts';

export function jsonReader(): ValueReader {
  return {
    read(value) {
      const fields = parseRecordJson(value);
      if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
        throw new RecordDecodeError(undefined, `the value must be a JSON object, got ${Array.isArray(fields) ? 'an array' : String(fields)}`);
      }
      return fields;
    },
  };
}
