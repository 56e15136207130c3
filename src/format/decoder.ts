// A table's record decoder: its value format, then its projection (kafka.mapping, kafka.partition.time,
// and the same-name rule for whatever those leave out), then the Hive converters of each column.
//
// JSON without a mapping or time partitions keeps json-scan.ts's byte scanner, which gives the
// same values as the general path here, faster (json-scan.test.ts proves it on a corpus).
import type { StreamSpec } from '../properties/parse.ts';
import type { HiveValue } from '../sink/hive-types.ts';
import { makeRecordDecoder } from './json-scan.ts';
import { RecordDecodeError, columnConverter, fieldsOf, makePartitionValue, toDecodeError, type ColumnSpec } from '../hive/convert.ts';
import { avroReader } from './avro.ts';
import { CSV_HEADER, csvReader } from './csv.ts';
import { TableFormatError, type FormatInput, type KafkaRecord, type SchemaChange, type ValueReader } from './format.ts';
import { jsonReader } from './json.ts';
import { compileMapping, type CompiledMapping } from './mapping/index.ts';
import { parsePartitionTime, type PartitionTime } from './partition-time.ts';
import type { SchemaRegistryLookup } from './registries.ts';

/** 'filtered': consumed but not a row (the mapping's WHERE, or a CSV header row). */
export type DecodeOutcome = 'row' | 'filtered';

export interface Decoder {
  /** Awaited for each fetch before its records are decoded; see ValueReader.prepare. */
  prepare(records: readonly FormatInput[]): Promise<SchemaChange | undefined>;
  /** Fills `row` and `partitionValues` (caller-owned scratch), or says the record is filtered out. Throws RecordDecodeError. */
  decode(record: FormatInput, partition: number, row: HiveValue[], partitionValues: (string | null)[]): DecodeOutcome;
}


export interface DecoderTable { table: string; columns: ColumnSpec[]; partitionKeys: ColumnSpec[] }

/** Compiles the table's mapping and time partitions, so a bad one is refused before anything is read. */
export function checkProjection(spec: Pick<StreamSpec, 'mapping' | 'partitionTime'>, t: DecoderTable): { mapping?: CompiledMapping; time?: PartitionTime } {
  const out: { mapping?: CompiledMapping; time?: PartitionTime } = {};
  if (spec.mapping !== undefined) {
    try {
      out.mapping = compileMapping(spec.mapping, { columns: t.columns, partitionKeys: t.partitionKeys });
    } catch (error) {
      throw new TableFormatError(t.table, 'kafka.mapping', `is refused: ${(error as Error).message}`);
    }
  }
  if (spec.partitionTime !== undefined) {
    try {
      out.time = parsePartitionTime(spec.partitionTime.source, spec.partitionTime.formats, t.partitionKeys);
    } catch (error) {
      throw new TableFormatError(t.table, 'kafka.partition.time', `is refused: ${(error as Error).message}`);
    }
  }
  return out;
}

export async function openDecoder(spec: StreamSpec, t: DecoderTable, registries: SchemaRegistryLookup): Promise<Decoder> {
  const { mapping, time } = checkProjection(spec, t);
  if (spec.valueFormat === 'json' && !mapping && !time) {
    const fast = makeRecordDecoder(t.columns, t.partitionKeys);
    return {
      prepare: async () => undefined,
      decode: (record, _partition, row, partitionValues) => { fast(record.value, row, partitionValues); return 'row'; },
    };
  }
  const reader = readerFor(spec, t, registries);
  return projectingDecoder(reader, t, mapping, time, spec.valueFormat === 'csv');
}

function readerFor(spec: StreamSpec, t: DecoderTable, registries: SchemaRegistryLookup): ValueReader {
  switch (spec.valueFormat) {
    case 'json': return jsonReader();
    case 'csv': return csvReader({ columns: t.columns, ...spec.csv });
    case 'avro': return avroReader({ registry: registryOf(spec, t, registries), table: t.table, columns: t.columns, partitionKeys: t.partitionKeys, compatibility: spec.schemaCompatibility });
  }
}

function registryOf(spec: StreamSpec, t: DecoderTable, registries: SchemaRegistryLookup) {
  try {
    return registries.forTable(t.table, spec);
  } catch (error) {
    throw new TableFormatError(t.table, 'kafka.schema.registry.profile', `cannot be used: ${(error as Error).message}`);
  }
}

function projectingDecoder(reader: ValueReader, t: DecoderTable, mapping: CompiledMapping | undefined, time: PartitionTime | undefined, emptyIsNull: boolean): Decoder {
  const outputs = mapping?.outputs ?? [];
  const columns = t.columns.map((c) => {
    const lowerName = c.name.toLowerCase();
    const type = c.type.toLowerCase();
    // CSV has no NULL of its own: an empty field of a column that is not text is NULL, as Hive's CSV readers read it.
    const emptyNull = emptyIsNull && !/^(string|varchar|char)\b/.test(type);
    return { name: c.name, lowerName, mapped: outputs.indexOf(lowerName), convert: columnConverter(c.type), emptyNull };
  });
  const keys = t.partitionKeys.map((k) => {
    const lowerName = k.name.toLowerCase();
    let format: (value: unknown) => string | undefined;
    try {
      format = makePartitionValue(k);
    } catch (error) {
      format = () => { throw new RecordDecodeError(k.name, (error as Error).message); };
    }
    return { lowerName, mapped: outputs.indexOf(lowerName), format };
  });
  return {
    // A mapping decides which fields become which columns: a new writer schema changes nothing by itself.
    prepare: async (records) => {
      const change = reader.prepare ? await reader.prepare(records.map((r) => r.value)) : undefined;
      return mapping ? undefined : change;
    },
    decode(record, partition, row, partitionValues) {
      const fields = record.value === null ? undefined : reader.read(record.value, partition);
      if (fields === CSV_HEADER) return 'filtered';
      if (fields === undefined && !mapping) throw new RecordDecodeError(undefined, 'the record has no value (a tombstone), so there are no fields to read');
      const meta: KafkaRecord | undefined = mapping || time
        ? { partition, offset: record.offset, timestamp: record.timestamp, key: record.key, value: record.value, headers: record.headers }
        : undefined;
      const mapped = mapping?.evaluate(fields, meta!);
      if (mapping && mapped === undefined) return 'filtered';
      const lookup = fieldsOf(fields);
      for (let i = 0; i < columns.length; i++) {
        const c = columns[i]!;
        const value = c.mapped >= 0 ? mapped![c.mapped] : lookup?.get(c.lowerName);
        if (value === null || value === undefined || (c.emptyNull && value === '')) { row[i] = null; continue; }
        try {
          row[i] = c.convert(value);
        } catch (error) {
          throw toDecodeError(c.name, error);
        }
      }
      const timed = time?.values(fields, meta!);
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        const fromTime = timed?.[i];
        if (fromTime !== null && fromTime !== undefined) { partitionValues[i] = fromTime; continue; }
        const value = k.mapped >= 0 ? mapped![k.mapped] : lookup?.get(k.lowerName);
        partitionValues[i] = k.format(value) ?? null;
      }
      return 'row';
    },
  };
}
