// Small-file compaction: the Parquet files of one Hive partition -> one file, without decoding a value.
// Like parquet-tools merge, the row groups are copied byte for byte and only the footer is rewritten,
// with every file offset moved to where its column chunk now lies. So decimals, timestamps and nested
// values stay bit-identical, and the merged file has exactly the row groups of its inputs, in order.
//
// The footer is read with hyparquet's parquetMetadata and written with hyparquet-writer's writeMetadata
// (same author, same object shapes: offsets and counts are bigint on both sides). One conversion is
// not exact: the reader decodes statistics min/max into JS values (a decimal into a float, a timestamp
// into a Date), so those are rebuilt from the footer's raw Thrift bytes (exactStatistics).
import { parquetMetadata, type ColumnChunk, type FileMetaData, type KeyValue, type RowGroup, type SchemaElement, type Statistics } from 'hyparquet';
import { deserializeTCompactProtocol } from 'hyparquet/src/thrift.js';
import { ByteWriter } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { schemaPathResolver } from 'hyparquet-writer/src/schema.js';
import { unconvertMinMax } from 'hyparquet-writer/src/unconvert.js';

const MAGIC = 0x31524150; // "PAR1" read as a little-endian uint32

/**
 * One Parquet file holding the rows of `inputs`, in order. All inputs must have the same schema and the
 * same key-value metadata (apart from keys `extraMetadata` sets), else it throws naming the input.
 * The footer keeps the first input's schema, created_by and key-value metadata (`writer.date.proleptic`
 * among them, which Hive needs), with `extraMetadata` set on top (replacing a key of the same name).
 */
export function mergeParquet(inputs: readonly Uint8Array[], extraMetadata: Record<string, string> = {}): Uint8Array {
  if (inputs.length === 0) throw new Error('mergeParquet needs at least one input file');
  const files = inputs.map((bytes, i) => parseFile(bytes, `input ${i}`));
  const first = files[0]!;
  const schemaKey = schemaKeyOf(first.metadata.schema);
  files.forEach((file, i) => {
    if (schemaKeyOf(file.metadata.schema) !== schemaKey) throw new Error(`input ${i} has a different Parquet schema than input 0 (${schemaDifference(first.metadata.schema, file.metadata.schema)})`);
  });

  const pieces: Uint8Array[] = [];
  let offset = 4; // after the leading "PAR1"
  const rowGroups: RowGroup[] = [];
  let numRows = 0n;
  files.forEach((file, i) => {
    const elementAt = schemaPathResolver(file.metadata.schema);
    file.metadata.row_groups.forEach((group, g) => {
      let groupDelta: bigint | undefined;
      const columns = group.columns.map((chunk, c): ColumnChunk => {
        const meta = chunk.meta_data;
        const where = `input ${i} row group ${g} column ${c}`;
        // A chunk in another file or encrypted cannot be copied as bytes of this one.
        if (!meta || chunk.file_path !== undefined || chunk.encrypted_column_metadata !== undefined) {
          throw new Error(`${where}: external or encrypted column chunks are not supported`);
        }
        const start = chunkStart(meta.dictionary_page_offset, meta.data_page_offset);
        const end = start + meta.total_compressed_size;
        if (start < 4n || end > BigInt(file.footerStart)) throw new Error(`${where} lies outside the file's data (bytes ${start}-${end} of ${file.footerStart}): truncated or corrupt`);
        pieces.push(file.bytes.subarray(Number(start), Number(end)));
        const delta = BigInt(offset) - start;
        groupDelta ??= delta;
        offset += Number(meta.total_compressed_size);
        const rawStats = file.raw.field_4?.[g]?.field_1?.[c]?.field_3?.field_12 as RawStatistics | undefined;
        return {
          file_offset: chunk.file_offset > 0n ? chunk.file_offset + delta : chunk.file_offset,
          meta_data: {
            ...meta,
            data_page_offset: meta.data_page_offset + delta,
            // Only a dictionary page that really precedes the data pages is one (some writers put 0 there).
            dictionary_page_offset: start < meta.data_page_offset ? start + delta : undefined,
            index_page_offset: meta.index_page_offset === undefined ? undefined : meta.index_page_offset + delta,
            statistics: exactStatistics(rawStats, elementAt(meta.path_in_schema).at(-1)!.element),
            // Bloom filters and page indexes live outside the chunks and are not copied.
            bloom_filter_offset: undefined,
            bloom_filter_length: undefined,
          },
          // offset/column index fields left out: not copied either
        };
      });
      rowGroups.push({
        ...group,
        columns,
        file_offset: group.file_offset === undefined || groupDelta === undefined ? undefined : group.file_offset + groupDelta,
        ordinal: undefined, // position among the inputs' row groups no longer holds
      });
      numRows += group.num_rows;
    });
  });

  const merged: FileMetaData = {
    version: first.metadata.version,
    schema: first.metadata.schema,
    num_rows: numRows,
    row_groups: rowGroups,
    key_value_metadata: mergedKeyValues(files.map((file) => file.metadata), extraMetadata),
    created_by: first.metadata.created_by,
    metadata_length: 0, // not written
  };
  const footer = new ByteWriter();
  // Infinity: keep byte-array bounds whole, as they are in the inputs (the default would cut them to 16 bytes).
  writeMetadata(footer, merged, Infinity);
  footer.appendUint32(MAGIC);
  const footerBytes = footer.getBytes();

  const out = new Uint8Array(offset + footerBytes.byteLength);
  new DataView(out.buffer).setUint32(0, MAGIC, true);
  let at = 4;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.byteLength;
  }
  out.set(footerBytes, at);
  return out;
}

/** A string equal for two files exactly when their schemas (every element, in order) are: files to merge are grouped by it. */
export function parquetSchemaKey(bytes: Uint8Array): string {
  return schemaKeyOf(parseFile(bytes, 'the file').metadata.schema);
}

/** The footer's key-value metadata. */
export function parquetKeyValues(bytes: Uint8Array): Record<string, string> {
  return Object.fromEntries((parseFile(bytes, 'the file').metadata.key_value_metadata ?? []).map((kv) => [kv.key, kv.value ?? '']));
}

/** The row count the file's footer states. */
export function parquetRowCount(bytes: Uint8Array): number {
  return Number(parseFile(bytes, 'the file').metadata.num_rows);
}

/** The footer's Thrift fields as numbered by parquet.thrift, values undecoded. */
type RawThrift = { [key: `field_${number}`]: any };
/** parquet.thrift Statistics: 1 max, 2 min, 3 null_count, 4 distinct_count, 5 max_value, 6 min_value, 7/8 is_max/min_value_exact, 9 nan_count. */
type RawStatistics = RawThrift;

interface ParsedFile { bytes: Uint8Array; metadata: FileMetaData; raw: RawThrift; footerStart: number }

function parseFile(bytes: Uint8Array, label: string): ParsedFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 12 || view.getUint32(0, true) !== MAGIC || view.getUint32(bytes.byteLength - 4, true) !== MAGIC) {
    throw new Error(`${label} is not a Parquet file: no "PAR1" at its start and end (${bytes.byteLength} bytes; truncated?)`);
  }
  const footerLength = view.getUint32(bytes.byteLength - 8, true);
  const footerStart = bytes.byteLength - 8 - footerLength;
  if (footerStart < 4) throw new Error(`${label} is not a Parquet file: its footer length ${footerLength} exceeds the file (${bytes.byteLength} bytes; truncated?)`);
  try {
    // geoparquet: false, or the reader would add GEOMETRY types to the schema from "geo" metadata.
    const metadata = parquetMetadata(bytes, { geoparquet: false });
    const raw = deserializeTCompactProtocol({ view, offset: footerStart });
    return { bytes, metadata, raw, footerStart };
  } catch (error) {
    throw new Error(`${label} is not a Parquet file: unreadable footer (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
}

/** Where a column chunk's bytes begin, as parquet-mr decides it: a dictionary page before the data pages, else the first data page. */
function chunkStart(dictionaryPageOffset: bigint | undefined, dataPageOffset: bigint): bigint {
  return dictionaryPageOffset !== undefined && dictionaryPageOffset > 0n && dictionaryPageOffset < dataPageOffset ? dictionaryPageOffset : dataPageOffset;
}

/**
 * The chunk's statistics as values that writeMetadata encodes back into exactly the input's bytes.
 * Each bound is checked by encoding it; one that would change (a NaN, an INT96) is dropped rather than
 * altered, since a missing bound only keeps a reader from skipping the row group, a wrong one loses rows.
 */
function exactStatistics(raw: RawStatistics | undefined, element: SchemaElement): Statistics | undefined {
  if (!raw) return undefined;
  const bound = (bytes: unknown, isMax: boolean): Statistics['min'] => {
    if (!(bytes instanceof Uint8Array)) return undefined;
    const value = boundValue(bytes, element);
    if (value === undefined) return undefined;
    try {
      const back = unconvertMinMax(value, element, isMax, Infinity);
      return back !== undefined && Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(bytes) ? value : undefined;
    } catch {
      return undefined;
    }
  };
  const maxValue = bound(raw.field_5, true);
  const minValue = bound(raw.field_6, false);
  const stats: Statistics & { nan_count?: bigint } = {
    max: bound(raw.field_1, true),
    min: bound(raw.field_2, false),
    null_count: raw.field_3,
    distinct_count: raw.field_4,
    max_value: maxValue,
    min_value: minValue,
    is_max_value_exact: maxValue === undefined ? undefined : raw.field_7,
    is_min_value_exact: minValue === undefined ? undefined : raw.field_8,
    nan_count: raw.field_9,
  };
  return stats;
}

/** A statistics bound as the JS value hyparquet-writer's unconvertMinMax takes for this column type (a decimal as its unscaled bigint). */
function boundValue(bytes: Uint8Array, { type, converted_type }: SchemaElement): Statistics['min'] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (converted_type === 'DECIMAL') {
    if (type === 'INT32') return bytes.byteLength === 4 ? BigInt(view.getInt32(0, true)) : undefined;
    if (type === 'INT64') return bytes.byteLength === 8 ? view.getBigInt64(0, true) : undefined;
    let unscaled = 0n; // big-endian two's complement
    for (const byte of bytes) unscaled = (unscaled << 8n) | BigInt(byte);
    return bytes.byteLength > 0 && bytes[0]! & 0x80 ? unscaled - (1n << BigInt(8 * bytes.byteLength)) : unscaled;
  }
  switch (type) {
    case 'BOOLEAN': return bytes.byteLength === 1 ? bytes[0] === 1 : undefined;
    case 'INT32': return bytes.byteLength === 4 ? view.getInt32(0, true) : undefined;
    case 'INT64': return bytes.byteLength === 8 ? view.getBigInt64(0, true) : undefined;
    case 'FLOAT': return bytes.byteLength === 4 ? view.getFloat32(0, true) : undefined;
    case 'DOUBLE': return bytes.byteLength === 8 ? view.getFloat64(0, true) : undefined;
    case 'BYTE_ARRAY':
    case 'FIXED_LEN_BYTE_ARRAY': return bytes.slice();
    default: return undefined; // INT96: hyparquet-writer cannot encode its bounds
  }
}

/**
 * The first input's key-value metadata with `extra` set on top. The inputs must agree on the rest:
 * entries such as writer.date.proleptic change how Hive reads values, so one file's cannot stand for another's.
 */
function mergedKeyValues(files: readonly FileMetaData[], extra: Record<string, string>): KeyValue[] | undefined {
  const kept = (metadata: FileMetaData) => (metadata.key_value_metadata ?? []).filter((kv) => !Object.hasOwn(extra, kv.key));
  const expected = JSON.stringify(kept(files[0]!));
  files.forEach((metadata, i) => {
    const own = JSON.stringify(kept(metadata));
    if (own !== expected) throw new Error(`input ${i} has different key-value metadata than input 0 (${own} vs ${expected})`);
  });
  const entries = [...kept(files[0]!), ...Object.entries(extra).map(([key, value]) => ({ key, value }))];
  return entries.length > 0 || files[0]!.key_value_metadata ? entries : undefined;
}

function schemaKeyOf(schema: readonly SchemaElement[]): string {
  return JSON.stringify(schema.map(elementKey));
}

/** The element's fields in a fixed order, absent ones left out, so equal schemas give equal strings. */
function elementKey(element: SchemaElement): unknown[] {
  const { name, type, type_length, repetition_type, num_children, converted_type, scale, precision, field_id, logical_type } = element;
  const logical = logical_type && Object.entries(logical_type).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [name, type, type_length, repetition_type, num_children, converted_type, scale, precision, field_id, logical].map((v) => v ?? null);
}

function schemaDifference(a: readonly SchemaElement[], b: readonly SchemaElement[]): string {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] && JSON.stringify(elementKey(a[i]!));
    const y = b[i] && JSON.stringify(elementKey(b[i]!));
    if (x !== y) return `schema element ${i}: ${y ?? 'none'} vs ${x ?? 'none'}`;
  }
  return 'same elements';
}
