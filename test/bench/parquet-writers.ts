// Which Parquet writer the service should use, fed the way the service feeds it: records are decoded
// one at a time into a scratch row, the writer copies the values into per-column arrays and encodes a
// row group once it holds ROW_GROUP_LIMITS (100,000 rows, or 8 MiB of source records), so no batch
// is ever held as row objects. Encodes the same 500,000 rows (id bigint, userid bigint, url string,
// ts timestamp, country string) with each candidate and prints, per candidate, the encode time, the
// peak RSS growth and the file size as JSON.
//
//   node --import tsx test/bench/parquet-writers.ts [rows]
//
// The candidates, both SNAPPY with statistics and the same Parquet types (timestamps as local MICROS):
//   hyparquet-writer   through the service's own ParquetFileWriter (src/sink/parquet.ts): JS column
//                      arrays, each full row group encoded at once and dropped.
//   parquet-wasm       + apache-arrow: the values go into typed column arrays (BigInt64Array for the
//                      64-bit columns, JS strings for the text ones); each full row group becomes one
//                      Arrow record batch (IPC) handed to parquet-wasm's streaming writer
//                      (transformParquetStream), whose output is drained as it comes. That writer cuts
//                      its own row groups at 100,000 rows, so its groups can span two batches
//                      (rowGroups in the result); what it holds in between is encoded pages.
//
// The rows come from a compact columnar source (64-bit arrays; the text as UTF-8 bytes, so every
// value read is a fresh string, as JSON.parse makes one); both candidates pay the same for reading it,
// reported on its own as feedMsMedian (the loop with no writer). The loop yields to the event loop
// after every 8 MiB of source records, as the service does between fetches. Each candidate runs in a
// child process of its own, so one's heap and WebAssembly memory cannot inflate the other's peak RSS.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import * as arrow from 'apache-arrow';
import { parquetMetadata } from 'hyparquet';
import * as parquetWasm from 'parquet-wasm';
import { ParquetFileWriter, ROW_GROUP_LIMITS, parquetLayout } from '../../src/sink/parquet.ts';
import type { HiveValue } from '../../src/sink/hive-types.ts';

const candidates = ['hyparquet-writer', 'parquet-wasm'] as const;
type Candidate = (typeof candidates)[number];
const benchColumns = [
  { name: 'id', type: 'bigint' },
  { name: 'userid', type: 'bigint' },
  { name: 'url', type: 'string' },
  { name: 'ts', type: 'timestamp' },
  { name: 'country', type: 'string' },
];
const repetitions = 5;
/** The service's fetch size per partition (FETCH_SETTINGS.maxBytesPerPartition): it yields between fetches. */
const fetchBytes = 8 << 20;

/** UTF-8 strings back to back, read out as fresh JS strings. */
interface TextColumn { bytes: Buffer; offsets: Int32Array }
/** The rows, column by column; `sourceBytes` is each row's size as the JSON record it was decoded from. */
interface Source { rows: number; id: BigInt64Array; userid: BigInt64Array; url: TextColumn; ts: BigInt64Array; country: TextColumn; sourceBytes: Uint16Array }

function textColumn(count: number, valueAt: (i: number) => string): TextColumn {
  const offsets = new Int32Array(count + 1);
  let bytes = Buffer.allocUnsafe(1 << 20);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const s = valueAt(i);
    const need = Buffer.byteLength(s);
    if (at + need > bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(bytes.length * 2, at + need));
      bytes.copy(grown, 0, 0, at);
      bytes = grown;
    }
    at += bytes.write(s, at);
    offsets[i + 1] = at;
  }
  return { bytes: bytes.subarray(0, at), offsets };
}

const text = (c: TextColumn, i: number) => c.bytes.toString('utf8', c.offsets[i], c.offsets[i + 1]);

/** The same rows as every earlier run of this comparison (seeded), built straight into columns. */
function makeSource(count: number): Source {
  const countries = ['US', 'FR', 'DE', 'JP', 'BR', 'IN', 'GB', 'CA', 'ES', 'IT', 'NL', 'SE', 'PL', 'MX', 'KR'];
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  const start = 1_735_689_600_000_000n; // 2025-01-01 in microseconds
  const id = new BigInt64Array(count);
  const userid = new BigInt64Array(count);
  const ts = new BigInt64Array(count);
  const urls: string[] = new Array(count);
  const country: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    id[i] = BigInt(i);
    userid[i] = BigInt(next() % 1_000_000);
    urls[i] = `https://example.com/${['news', 'shop', 'blog', 'docs'][next() % 4]}/page-${next() % 50_000}?ref=${next() % 100}`;
    ts[i] = start + BigInt(i) * 1_000_003n;
    country[i] = next() % countries.length;
  }
  const sourceBytes = new Uint16Array(count);
  const iso = (micros: bigint) => new Date(Number(micros / 1000n)).toISOString();
  for (let i = 0; i < count; i++) {
    sourceBytes[i] = Buffer.byteLength(JSON.stringify({ id: i, userid: Number(userid[i]), url: urls[i], ts: iso(ts[i]!), country: countries[country[i]!] }));
  }
  return { rows: count, id, userid, ts, url: textColumn(count, (i) => urls[i]!), country: textColumn(count, (i) => countries[country[i]!]!), sourceBytes };
}

interface FileWriter { append(row: readonly HiveValue[], sourceBytes: number): void; finish(): Promise<Uint8Array> }

/** Feeds every row of `source` through one scratch row, yielding after every fetch's worth of source records. */
async function feed(source: Source, writer: FileWriter | undefined): Promise<Uint8Array | undefined> {
  const row: HiveValue[] = new Array<HiveValue>(benchColumns.length).fill(null);
  let fetched = 0;
  for (let i = 0; i < source.rows; i++) {
    row[0] = source.id[i]!;
    row[1] = source.userid[i]!;
    row[2] = text(source.url, i);
    row[3] = source.ts[i]!;
    row[4] = text(source.country, i);
    const bytes = source.sourceBytes[i]!;
    writer?.append(row, bytes);
    fetched += bytes;
    if (fetched >= fetchBytes) { fetched = 0; await yieldToLoop(); }
  }
  return writer?.finish();
}

// What ships: the service's ParquetFileWriter, i.e. hyparquet-writer plus the Hive type mapping.
function hyparquetWriter(): FileWriter {
  const file = new ParquetFileWriter(parquetLayout(benchColumns));
  return { append: (row, bytes) => file.append(row, bytes), finish: async () => new Uint8Array(Buffer.concat(file.finish())) };
}

/** parquet-wasm fed one Arrow record batch per row group, cut by the same limits as ParquetFileWriter's. */
function parquetWasmWriter(): FileWriter {
  const capacity = ROW_GROUP_LIMITS.rows;
  // The 64-bit columns fill typed arrays, reused from group to group (the IPC message copies them).
  const longs = [new BigInt64Array(capacity), new BigInt64Array(capacity), null, new BigInt64Array(capacity), null];
  let strings: (string[] | null)[] = [null, null, [], null, []];
  let groupRows = 0;
  let groupSourceBytes = 0;
  let input!: ReadableStreamDefaultController<parquetWasm.RecordBatch>;
  const batches = new ReadableStream<parquetWasm.RecordBatch>({ start(c) { input = c; } });
  const properties = new parquetWasm.WriterPropertiesBuilder()
    .setCompression(parquetWasm.Compression.SNAPPY)
    .setMaxRowGroupSize(capacity)
    .build();
  const chunks: Uint8Array[] = [];
  const drained = parquetWasm.transformParquetStream(batches, properties).then(async (out) => {
    for await (const chunk of out as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
  });
  drained.catch(() => undefined); // awaited in finish()

  const int64 = <T extends arrow.Int64 | arrow.TimestampMicrosecond>(type: T, values: BigInt64Array) =>
    // makeData's overloads are per concrete type; this serves two of them. No NULLs in these rows: no validity bitmap.
    arrow.makeVector(arrow.makeData({ type: type as arrow.Int64, length: groupRows, nullCount: 0, data: values.subarray(0, groupRows) }));
  const encodeRowGroup = () => {
    if (groupRows === 0) return;
    const table = new arrow.Table({
      id: int64(new arrow.Int64(), longs[0]!),
      userid: int64(new arrow.Int64(), longs[1]!),
      url: arrow.vectorFromArray(strings[2]!, new arrow.Utf8()),
      ts: int64(new arrow.TimestampMicrosecond(), longs[3]!),
      country: arrow.vectorFromArray(strings[4]!, new arrow.Utf8()),
    });
    for (const batch of parquetWasm.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')).recordBatches()) input.enqueue(batch);
    strings = [null, null, [], null, []];
    groupRows = 0;
    groupSourceBytes = 0;
  };
  return {
    append(row, bytes) {
      for (let c = 0; c < row.length; c++) {
        const longColumn = longs[c];
        if (longColumn) longColumn[groupRows] = row[c] as bigint;
        else strings[c]!.push(row[c] as string);
      }
      groupRows++;
      groupSourceBytes += bytes;
      if (groupRows >= ROW_GROUP_LIMITS.rows || groupSourceBytes >= ROW_GROUP_LIMITS.sourceBytes) encodeRowGroup();
    },
    async finish() {
      encodeRowGroup();
      input.close();
      await drained;
      return new Uint8Array(Buffer.concat(chunks));
    },
  };
}

const writers: Record<Candidate, () => FileWriter> = {
  'hyparquet-writer': hyparquetWriter,
  'parquet-wasm': parquetWasmWriter,
};

export interface WriterResult {
  candidate: Candidate; rows: number; encodeMsMedian: number; encodeMsBest: number; peakRssDeltaMiB: number; fileBytes: number;
  /** Reading the source into the scratch row with no writer: part of encodeMs, the same for both. */
  feedMsMedian: number;
  rowGroups: number;
}

async function measure(candidate: Candidate, rowCount: number): Promise<WriterResult> {
  const writer = writers[candidate];
  await feed(makeSource(1000), writer()); // warm up: JIT, WebAssembly instantiation
  const source = makeSource(rowCount);
  const timed = async (w: (() => FileWriter) | undefined) => {
    const started = performance.now();
    const bytes = await feed(source, w?.());
    return { ms: performance.now() - started, bytes };
  };
  const feedTimes: number[] = [];
  for (let i = 0; i < repetitions; i++) feedTimes.push((await timed(undefined)).ms);
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const times: number[] = [];
  let file: Uint8Array | undefined;
  for (let i = 0; i < repetitions; i++) {
    const r = await timed(writer);
    file = r.bytes;
    times.push(r.ms);
  }
  // maxRSS is the process's peak in KiB; the source was already built when rssBefore was taken.
  const peakRss = process.resourceUsage().maxRSS * 1024;
  times.sort((a, b) => a - b);
  feedTimes.sort((a, b) => a - b);
  const mid = (xs: number[]) => Math.round(xs[Math.floor(xs.length / 2)]!);
  return {
    candidate,
    rows: rowCount,
    encodeMsMedian: mid(times),
    encodeMsBest: Math.round(times[0]!),
    peakRssDeltaMiB: Math.round((peakRss - rssBefore) / 2 ** 20),
    fileBytes: file!.byteLength,
    feedMsMedian: mid(feedTimes),
    rowGroups: parquetMetadata(file!.buffer.slice(file!.byteOffset, file!.byteOffset + file!.byteLength) as ArrayBuffer).row_groups.length,
  };
}

const self = fileURLToPath(import.meta.url);

/** Each candidate on the same rows, each in a child process of its own. */
export function compareParquetWriters(rowCount: number): WriterResult[] {
  return candidates.map((candidate) =>
    JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--child', candidate, String(rowCount)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    })) as WriterResult,
  );
}

if (process.argv[1] === self) {
  const [flag, name, count] = process.argv.slice(2);
  if (flag === '--child') {
    console.log(JSON.stringify(await measure(name as Candidate, Number(count))));
  } else {
    const results = compareParquetWriters(Number(flag ?? 500_000));
    console.log(JSON.stringify({ node: process.version, cpus: cpus().length, results }, null, 2));
  }
}
