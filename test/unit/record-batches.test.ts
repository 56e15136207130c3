import { test } from 'node:test';
import zlib from 'node:zlib';
import assert from 'node:assert/strict';
import { Reader, readRecordsBatches, type RecordsBatch } from '@platformatic/kafka';
import { decodeCommittedRecords, CONTROL, TIMESTAMP_LOG_APPEND, TRANSACTIONAL } from '../../src/task/record-batches.ts';
import { committedRecords } from '../../src/task/source-platformatic.ts';
import type { SourceRecord } from '../../src/task/source.ts';
import { encodeBatch, encodeBatches, type Compression } from './helpers/record-batches.ts';

// A seeded generator: the same corpus on every run, so a failure can be replayed.
function random(seed: number) {
  let s = seed >>> 0;
  const next = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]! };
}

function batch(firstOffset: bigint, firstTimestamp: bigint, records: { key: Buffer | null; value: Buffer | null; at: bigint; headers: [Buffer, Buffer][] }[], attributes = 0, producerId = -1n): RecordsBatch {
  return {
    firstOffset, length: 0, partitionLeaderEpoch: 0, magic: 2, crc: 0, attributes, lastOffsetDelta: records.length - 1,
    firstTimestamp, maxTimestamp: records.reduce((m, r) => (r.at > m ? r.at : m), firstTimestamp), producerId, producerEpoch: 0, firstSequence: 0,
    records: records.map((r, i) => ({ length: 0, attributes: 0, timestampDelta: r.at - firstTimestamp, offsetDelta: i, key: r.key, value: r.value, headers: r.headers })),
  };
}

const plain = (records: readonly SourceRecord[]) => records.map((r) => ({ offset: r.offset, timestamp: r.timestamp, key: r.key?.toString('hex') ?? null, value: r.value?.toString('hex') ?? null,
  headers: r.headers ? [...r.headers].map(([k, v]) => [k, v.toString('hex')]) : undefined }));

/** What the library's parser and the filter the sources used before give for the same bytes. */
const byLibrary = (bytes: Buffer, aborted: { producerId: bigint; firstOffset: bigint }[], from: bigint) => committedRecords(readRecordsBatches(Reader.from(bytes)), aborted, from);

// zstd is left out: Node 20's zlib has no zstd, so the library cannot encode (or decode) it here.
const COMPRESSIONS: Compression[] = ['none', 'gzip', 'snappy', 'lz4'];

test('the bytes decoder gives what the library\'s parser gives: 400 random responses with every kind of batch and record', () => {
  const rnd = random(20261201);
  for (let round = 0; round < 400; round++) {
    const batches: RecordsBatch[] = [];
    const aborted: { producerId: bigint; firstOffset: bigint }[] = [];
    const compression = rnd.pick(COMPRESSIONS);
    let offset = BigInt(rnd.int(1000)) * (rnd.next() < 0.1 ? 2n ** 40n : 1n);
    const open = new Map<bigint, boolean>(); // producer id → its transaction aborts
    for (let b = 0; b < 1 + rnd.int(6); b++) {
      const kind = rnd.pick(['plain', 'plain', 'transactional', 'marker'] as const);
      const ts = 1_700_000_000_000n + BigInt(rnd.int(1_000_000));
      if (kind === 'marker' && open.size > 0) {
        const [pid, aborts] = [...open][rnd.int(open.size)]!;
        open.delete(pid);
        const key = Buffer.from([0, 0, 0, aborts ? 0 : 1]);
        batches.push(batch(offset, ts, [{ key, value: Buffer.alloc(6), at: ts, headers: [] }], TRANSACTIONAL | CONTROL, pid));
        offset += 1n;
        continue;
      }
      const records = Array.from({ length: 1 + rnd.int(40) }, (_, i) => ({
        key: rnd.next() < 0.5 ? null : Buffer.from(`k${rnd.int(100)}`),
        value: rnd.next() < 0.05 ? null : rnd.next() < 0.1 ? Buffer.alloc(0) : Buffer.from(JSON.stringify({ id: i, s: 'é'.repeat(rnd.int(300)) })),
        // Deltas either way, some far from the first record's time.
        at: i === 0 ? ts : ts + BigInt(rnd.int(2_000_000) - 1_000_000) * (rnd.next() < 0.05 ? 1_000_000n : 1n),
        headers: Array.from({ length: rnd.int(3) }, () => [Buffer.from(rnd.pick(['trace', 'src', 'trace'])), Buffer.from(String(rnd.int(1e6)))] as [Buffer, Buffer]),
      }));
      let attributes = rnd.next() < 0.2 ? TIMESTAMP_LOG_APPEND : 0;
      let pid = -1n;
      if (kind === 'transactional') {
        pid = BigInt(1 + rnd.int(3));
        attributes |= TRANSACTIONAL;
        if (!open.has(pid)) {
          const aborts = rnd.next() < 0.5;
          open.set(pid, aborts);
          if (aborts) aborted.push({ producerId: pid, firstOffset: offset });
        }
      }
      batches.push(batch(offset, ts, records, attributes, pid));
      offset += BigInt(records.length);
    }
    const bytes = encodeBatches(batches, compression);
    const first = batches[0]!.firstOffset;
    const from = rnd.next() < 0.3 ? first + BigInt(rnd.int(Number(offset - first))) : first;
    const mine = decodeCommittedRecords(bytes, aborted, from);
    assert.deepEqual(plain(mine.records), plain(byLibrary(bytes, aborted, from)), `round ${round} (${compression})`);
    assert.equal(mine.next, offset, `round ${round}: the next offset is past the last batch`);
  }
});

test('a batch cut off at the end of a response is left for the next fetch', () => {
  const at = 1_000n;
  const whole = [batch(10n, at, [{ key: null, value: Buffer.from('a'), at, headers: [] }]), batch(11n, at, [{ key: null, value: Buffer.from('b'), at, headers: [] }, { key: null, value: Buffer.from('c'), at, headers: [] }])];
  const bytes = encodeBatches(whole);
  for (const cut of [bytes.length - 1, encodeBatch(whole[0]!).length + 5, encodeBatch(whole[0]!).length + 14]) {
    const r = decodeCommittedRecords(bytes.subarray(0, cut), [], 0n);
    assert.deepEqual(r.records.map((x) => x.value!.toString()), ['a'], `cut at ${cut}`);
    assert.equal(r.next, 11n);
  }
  assert.deepEqual(decodeCommittedRecords(bytes.subarray(0, 20), [], 0n), { records: [], next: undefined });
});

test('values, keys and headers are views into the response, not copies', () => {
  const bytes = encodeBatch(batch(0n, 1n, [{ key: Buffer.from('k'), value: Buffer.from('v'), at: 1n, headers: [[Buffer.from('h'), Buffer.from('x')]] }]));
  const [r] = decodeCommittedRecords(bytes, [], 0n).records;
  assert.equal(r!.value!.buffer, bytes.buffer);
  assert.equal(r!.key!.buffer, bytes.buffer);
});

test('a batch whose body its codec cannot read ends the records there, naming the offset and the codec; zstd without zlib zstd says what reads it', () => {
  const before = encodeBatch(batch(5n, 1n, [{ key: null, value: Buffer.from('a'), at: 1n, headers: [] }, { key: null, value: Buffer.from('b'), at: 1n, headers: [] }]));
  const zstdBatch = encodeBatch(batch(7n, 1n, [{ key: null, value: Buffer.from('v'), at: 1n, headers: [] }]));
  zstdBatch.writeInt16BE((zstdBatch.readInt16BE(21) & ~0x07) | 4, 21); // codec 4 (zstd) on an uncompressed body
  const after = encodeBatch(batch(8n, 1n, [{ key: null, value: Buffer.from('c'), at: 1n, headers: [] }]));
  const zstd = decodeCommittedRecords(Buffer.concat([before, zstdBatch, after]), [], 6n);
  assert.deepEqual(zstd.records.map((r) => [r.offset, r.value!.toString()]), [[6, 'b']], 'the records before it, none after');
  assert.equal(zstd.next, 7n, 'the next fetch starts at the unreadable batch');
  assert.equal(zstd.unreadable?.offset, 7n);
  const nodeReadsZstd = typeof (zlib as { zstdDecompressSync?: unknown }).zstdDecompressSync === 'function';
  assert.match(zstd.unreadable!.reason, nodeReadsZstd
    ? /^record batch at offset 7 is compressed with zstd and cannot be read: /
    : new RegExp(`^record batch at offset 7 is compressed with zstd and cannot be read: zstd is not supported in the current Node.js version\\. Node\\.js ${process.version.replace(/\./g, '\\.')} cannot read zstd: run the service on Node\\.js 22\\.15 or later, or have the producers use compression\\.type gzip, snappy or lz4\\.$`));
  const gzipBatch = encodeBatch(batch(9n, 1n, [{ key: null, value: Buffer.from('v'), at: 1n, headers: [] }]));
  gzipBatch.writeInt16BE((gzipBatch.readInt16BE(21) & ~0x07) | 1, 21); // gzip flag on bytes that are not gzip
  const gzip = decodeCommittedRecords(gzipBatch, [], 0n);
  assert.deepEqual([gzip.records, gzip.next, gzip.unreadable?.offset], [[], undefined, 9n]);
  assert.match(gzip.unreadable!.reason, /^record batch at offset 9 is compressed with gzip and cannot be read: .+\.$/);
});

test('an old message format (v0, v1) is refused naming the offset, not misread', () => {
  const bytes = encodeBatch(batch(42n, 1n, [{ key: null, value: Buffer.from('v'), at: 1n, headers: [] }]));
  bytes.writeInt8(1, 16);
  const decoded = decodeCommittedRecords(bytes, [], 0n);
  assert.deepEqual([decoded.records, decoded.next, decoded.unreadable?.offset], [[], undefined, 42n]);
  assert.match(decoded.unreadable!.reason, /^record batch at offset 42 has message format v1; only v2/);
});
