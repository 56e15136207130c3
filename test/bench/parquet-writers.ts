// Which Parquet writer encodeParquet should use: encodes the same 500,000 decoded rows
// (id bigint, userid bigint, url string, ts timestamp, country string) with each candidate and prints,
// per candidate, the encode time, the peak RSS growth and the file size as JSON.
//
//   npx tsx test/bench/parquet-writers.ts [rows]
//
// Each candidate runs in its own child process, so one's heap and WebAssembly memory cannot inflate
// the other's peak RSS. Both get the rows in the decoder's value model (bigint ids, bigint epoch
// microseconds) and pay for their own conversion: hyparquet-writer through encodeParquet itself,
// parquet-wasm through an Arrow table (built with apache-arrow, passed as IPC). Both write SNAPPY,
// 100,000-row row groups and statistics, with the same Parquet types (timestamps as local MICROS).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { encodeParquet } from '../../src/sink/parquet.ts';
import * as arrow from 'apache-arrow';
import * as parquetWasm from 'parquet-wasm';

type Row = [bigint, bigint, string, bigint, string];
const candidates = ['hyparquet-writer', 'parquet-wasm'] as const;
type Candidate = (typeof candidates)[number];
const rowGroupSize = 100_000; // what encodeParquet uses
const benchColumns = [
  { name: 'id', type: 'bigint' },
  { name: 'userid', type: 'bigint' },
  { name: 'url', type: 'string' },
  { name: 'ts', type: 'timestamp' },
  { name: 'country', type: 'string' },
];
const repetitions = 5;

function makeRows(count: number): Row[] {
  const countries = ['US', 'FR', 'DE', 'JP', 'BR', 'IN', 'GB', 'CA', 'ES', 'IT', 'NL', 'SE', 'PL', 'MX', 'KR'];
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  const start = 1_735_689_600_000_000n; // 2025-01-01 in microseconds
  const rows: Row[] = [];
  for (let i = 0; i < count; i++) {
    rows.push([
      BigInt(i),
      BigInt(next() % 1_000_000),
      `https://example.com/${['news', 'shop', 'blog', 'docs'][next() % 4]}/page-${next() % 50_000}?ref=${next() % 100}`,
      start + BigInt(i) * 1_000_003n,
      countries[next() % countries.length]!,
    ]);
  }
  return rows;
}

// What ships: encodeParquet is hyparquet-writer plus the Hive type mapping.
function withHyparquetWriter(rows: Row[]): Uint8Array {
  return encodeParquet(benchColumns, rows);
}

/** Int64-backed Arrow data straight from a BigInt64Array (no per-value builder), with a null bitmap. */
function int64Data<T extends arrow.Int64 | arrow.TimestampMicrosecond>(type: T, values: (bigint | null)[]): arrow.Data<T> {
  const data = new BigInt64Array(values.length);
  const nullBitmap = new Uint8Array((values.length + 7) >> 3);
  let nullCount = 0;
  values.forEach((value, i) => {
    if (value === null) nullCount++;
    else {
      data[i] = value;
      nullBitmap[i >> 3]! |= 1 << (i & 7);
    }
  });
  // makeData's overloads are per concrete type; this helper serves two of them.
  return arrow.makeData({ type: type as arrow.Int64, length: values.length, nullCount, nullBitmap, data }) as unknown as arrow.Data<T>;
}

function withParquetWasm(rows: Row[]): Uint8Array {
  const column = <T>(index: number) => rows.map((row) => row[index] as T);
  const table = new arrow.Table({
    id: arrow.makeVector(int64Data(new arrow.Int64(), column<bigint>(0))),
    userid: arrow.makeVector(int64Data(new arrow.Int64(), column<bigint>(1))),
    url: arrow.vectorFromArray(column<string>(2), new arrow.Utf8()),
    ts: arrow.makeVector(int64Data(new arrow.TimestampMicrosecond(), column<bigint>(3))),
    country: arrow.vectorFromArray(column<string>(4), new arrow.Utf8()),
  });
  const wasmTable = parquetWasm.Table.fromIPCStream(arrow.tableToIPC(table, 'stream'));
  const properties = new parquetWasm.WriterPropertiesBuilder()
    .setCompression(parquetWasm.Compression.SNAPPY)
    .setMaxRowGroupSize(rowGroupSize)
    .build();
  return parquetWasm.writeParquet(wasmTable, properties);
}

const encoders: Record<Candidate, (rows: Row[]) => Uint8Array> = {
  'hyparquet-writer': withHyparquetWriter,
  'parquet-wasm': withParquetWasm,
};

function measure(candidate: Candidate, rowCount: number) {
  const encode = encoders[candidate];
  encode(makeRows(1000)); // warm up: JIT, WebAssembly instantiation
  const rows = makeRows(rowCount);
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < repetitions; i++) {
    const started = performance.now();
    bytes = encode(rows).byteLength;
    times.push(performance.now() - started);
  }
  // maxRSS is the process's peak in KiB; the rows were already built when rssBefore was taken.
  const peakRss = process.resourceUsage().maxRSS * 1024;
  times.sort((a, b) => a - b);
  return {
    candidate,
    rows: rowCount,
    encodeMsMedian: Math.round(times[Math.floor(times.length / 2)]!),
    encodeMsBest: Math.round(times[0]!),
    peakRssDeltaMiB: Math.round((peakRss - rssBefore) / 2 ** 20),
    fileBytes: bytes,
  };
}

const self = fileURLToPath(import.meta.url);

/** Each candidate on the same rows, each in a child process of its own. */
export function compareParquetWriters(rowCount: number): ReturnType<typeof measure>[] {
  return candidates.map((candidate) =>
    JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--child', candidate, String(rowCount)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    })),
  );
}

if (process.argv[1] === self) {
  const [flag, name, count] = process.argv.slice(2);
  if (flag === '--child') {
    console.log(JSON.stringify(measure(name as Candidate, Number(count))));
  } else {
    const results = compareParquetWriters(Number(flag ?? 500_000));
    console.log(JSON.stringify({ node: process.version, cpus: (await import('node:os')).cpus().length, results }, null, 2));
  }
}
