// kafka.value.format=json: one JSON object per record value, numbers kept exact (parseRecordJson).
// Tables without a mapping or time partitions take json-scan.ts's byte scanner instead, which
// gives the same values faster; this reader is the general path a mapping reads through.
import { asObject, parseRecordJson } from '../hive/convert.ts';
import type { ValueReader } from './format.ts';

export function jsonReader(): ValueReader {
  return {
    read: (value) => asObject(parseRecordJson(value)),
  };
}
