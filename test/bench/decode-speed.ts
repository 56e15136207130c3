// Decoding cost per record, offline: today's general path (parseRecordJson + makeRowDecoder +
// partitionValueOf) against makeRecordDecoder's fast path, on 500,000 synthetic ~200-byte records
// (id bigint, userid bigint, url string, ts timestamp, country string). Prints µs per record, the
// median of 3 runs, for the table unpartitioned and partitioned by country.
//
//   node --import tsx test/bench/decode-speed.ts [records]
import type { HiveValue } from '../../src/sink/hive-types.ts';
import { makeRowDecoder, parseRecordJson, partitionValueOf, type ColumnSpec } from '../../src/hive/convert.ts';
import { makeRecordDecoder } from '../../src/format/json-scan.ts';

const count = Number(process.argv[2] ?? 500_000);
const runs = 3;
const columns: ColumnSpec[] = [
  { name: 'id', type: 'bigint' },
  { name: 'userid', type: 'bigint' },
  { name: 'url', type: 'string' },
  { name: 'ts', type: 'timestamp' },
  { name: 'country', type: 'string' },
];
const countries = ['US', 'FR', 'DE', 'JP', 'BR', 'IN', 'GB', 'CA', 'ES', 'IT', 'NL', 'SE', 'PL', 'MX', 'KR'];

function makeRecords(): Buffer[] {
  const start = Date.parse('2026-11-30T00:00:00Z');
  const records: Buffer[] = [];
  for (let id = 0; id < count; id++) {
    const path = `products/${(id * 40503) % 100_000}/reviews?page=${id % 50}&sort=recent&ref=campaign-${id % 997}`;
    records.push(Buffer.from(JSON.stringify({
      id,
      userid: (id * 2654435761) % 1_000_000,
      url: `https://shop.example.com/${path}&utm_source=newsletter`,
      ts: new Date(start + id * 1000).toISOString().replace('.000', ''),
      country: countries[id % countries.length],
    })));
  }
  return records;
}

type Decode = (value: Buffer, row: HiveValue[], partitionValues: (string | null)[]) => void;

function generalPath(keys: ColumnSpec[]): Decode {
  const decodeRow = makeRowDecoder(columns);
  return (value, row, partitionValues) => {
    const json = parseRecordJson(value);
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('the value is not a JSON object');
    decodeRow(json).forEach((v, i) => { row[i] = v; });
    keys.forEach((key, i) => { partitionValues[i] = partitionValueOf(json, key) ?? null; });
  };
}

function fastPath(keys: ColumnSpec[]): Decode {
  const decode = makeRecordDecoder(columns, keys);
  return (value, row, partitionValues) => {
    if (decode(value, row, partitionValues) !== 'fast') throw new Error(`not decoded by the fast path: ${value.toString()}`);
  };
}

/** µs per record of one pass over all records. */
function time(decode: Decode, records: Buffer[], keys: ColumnSpec[]): number {
  const row: HiveValue[] = columns.map(() => null);
  const partitionValues: (string | null)[] = keys.map(() => null);
  const start = process.hrtime.bigint();
  for (const record of records) decode(record, row, partitionValues);
  return Number(process.hrtime.bigint() - start) / 1000 / records.length;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const records = makeRecords();
const averageBytes = records.reduce((sum, r) => sum + r.length, 0) / records.length;
console.log(`${count} records, ${averageBytes.toFixed(0)} bytes on average, Node ${process.version}, median of ${runs}`);
for (const keys of [[], [{ name: 'country', type: 'string' }]]) {
  const paths = { general: generalPath(keys), fast: fastPath(keys) };
  const times: Record<keyof typeof paths, number[]> = { general: [], fast: [] };
  for (const decode of Object.values(paths)) time(decode, records.slice(0, 50_000), keys); // warm up
  for (let run = 0; run < runs; run++) {
    for (const name of ['general', 'fast'] as const) times[name].push(time(paths[name], records, keys));
  }
  const general = median(times.general);
  const fast = median(times.fast);
  const table = keys.length === 0 ? 'unpartitioned' : 'partitioned by country';
  console.log(`${table}: general ${general.toFixed(2)} µs/record, fast ${fast.toFixed(2)} µs/record (${(general / fast).toFixed(1)}x)`);
}
