// Kafka record batches (message format v2) as a read_committed consumer sees them.
//
// decodeCommittedRecords reads a partition's records straight from the bytes of a Fetch response: one
// pass over each batch, no object per record but the SourceRecord itself, offsets and timestamps as
// numbers. @platformatic/kafka's parser (readRecordsBatches) builds an object per record with BigInt
// timestamps, reading every byte through a DynamicBuffer; on the benchmark's records it took about
// 3.6 µs a record against 0.35 µs here, a third of a worker thread's CPU (README, "Benchmarks").
// Compressed batches are inflated by that library's own codecs, as before.
//
// CommittedFilter is the one read_committed rule of both: the response's aborted transactions, in
// offset order, mark a producer aborted from the transaction's first offset to its abort marker, as
// the Java consumer does.
import { compressionsAlgorithmsByBitmask } from '@platformatic/kafka';
import type { SourceRecord } from './source.ts';

export const TIMESTAMP_LOG_APPEND = 0x08;
export const TRANSACTIONAL = 0x10;
export const CONTROL = 0x20;
const COMPRESSION = 0x07;

export interface AbortedTransaction { producerId: bigint; firstOffset: bigint }

/** Which batches of one response a read_committed consumer keeps; batches are given in offset order. */
export class CommittedFilter {
  private readonly pending: AbortedTransaction[];
  private nextPending = 0;
  private readonly aborting = new Set<bigint>();

  constructor(aborted: readonly AbortedTransaction[]) {
    this.pending = [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  }

  /** Whether the batch's records are delivered. `controlKey`: the key of a control batch's first record. */
  keeps(lastOffset: bigint, attributes: number, producerId: bigint, controlKey: () => Buffer | null | undefined): boolean {
    while (this.nextPending < this.pending.length && this.pending[this.nextPending]!.firstOffset <= lastOffset) this.aborting.add(this.pending[this.nextPending++]!.producerId);
    if (attributes & CONTROL) {
      // A control record's key is version (int16) and type (int16): 0 aborts, 1 commits.
      const key = controlKey();
      if (key && key.length >= 4 && key.readInt16BE(2) === 0) this.aborting.delete(producerId);
      return false;
    }
    return !(attributes & TRANSACTIONAL && this.aborting.has(producerId));
  }
}

/** Offsets of a batch's header fields (KIP-98 RecordBatch). */
const AT = { length: 8, magic: 16, attributes: 21, lastOffsetDelta: 23, firstTimestamp: 27, maxTimestamp: 35, producerId: 43, count: 57, records: 61 } as const;

export interface DecodedRecords {
  records: SourceRecord[];
  /** One past the last complete batch read (control batches and aborted records included); undefined when there was none. */
  next: bigint | undefined;
  /** A batch that cannot be read (a codec this Node.js lacks, an old message format, bytes that do not parse): `records` end before it. */
  unreadable?: { offset: bigint; reason: string };
}

/**
 * The records of one partition's Fetch response from offset `from` on, without control records or
 * records of aborted transactions. A batch cut off at the end of the response (the broker fills up to
 * the byte limit) is left for the next fetch. Record values, keys and headers are views into `bytes`
 * (or into the inflated batch), not copies. A batch that cannot be read ends the records there and is
 * named in `unreadable`.
 */
export function decodeCommittedRecords(bytes: Buffer, aborted: readonly AbortedTransaction[], from: bigint): DecodedRecords {
  const filter = new CommittedFilter(aborted);
  const records: SourceRecord[] = [];
  const fromNumber = Number(from);
  let next: bigint | undefined;
  let pos = 0;
  while (pos + AT.magic <= bytes.length) {
    const end = pos + 12 + bytes.readInt32BE(pos + AT.length);
    if (end > bytes.length) break;
    const kept = records.length;
    try {
      next = readBatch(bytes, pos, end, filter, fromNumber, records);
    } catch (e) {
      // The records before this batch stand; it and everything after wait for a service that reads it.
      records.length = kept;
      return { records, next, unreadable: { offset: bytes.readBigInt64BE(pos), reason: (e as Error).message } };
    }
    pos = end;
  }
  return { records, next };
}

/** One batch's kept records appended to `records`; returns one past its last offset. Throws, naming the batch, when it cannot be read. */
function readBatch(bytes: Buffer, pos: number, end: number, filter: CommittedFilter, fromNumber: number, records: SourceRecord[]): bigint {
  const firstOffset = bytes.readBigInt64BE(pos);
  const magic = bytes.readInt8(pos + AT.magic);
  if (magic !== 2) throw new Error(`record batch at offset ${firstOffset} has message format v${magic}; only v2 (Kafka 0.11 and later) is read`);
  const attributes = bytes.readInt16BE(pos + AT.attributes);
  const lastOffset = firstOffset + BigInt(bytes.readInt32BE(pos + AT.lastOffsetDelta));
  const count = bytes.readInt32BE(pos + AT.count);
  const compression = attributes & COMPRESSION;
  let body = bytes;
  let at = pos + AT.records;
  let bodyEnd = end;
  if (compression !== 0) {
    const codec = compressionsAlgorithmsByBitmask[compression as keyof typeof compressionsAlgorithmsByBitmask];
    if (!codec) throw new Error(`record batch at offset ${firstOffset} has compression codec ${compression}, which no Kafka version defines`);
    body = decompress(codec, compression, firstOffset, bytes.subarray(at, end));
    at = 0;
    bodyEnd = body.length;
  }
  const reader = new RecordReader(body, at, bodyEnd);
  const keep = filter.keeps(lastOffset, attributes, bytes.readBigInt64BE(pos + AT.producerId), () => (count > 0 ? reader.peekKey() : undefined));
  if (keep) {
    const base = Number(firstOffset);
    const logAppendTime = (attributes & TIMESTAMP_LOG_APPEND) !== 0;
    const firstTimestamp = Number(bytes.readBigInt64BE(pos + AT.firstTimestamp));
    const maxTimestamp = Number(bytes.readBigInt64BE(pos + AT.maxTimestamp));
    for (let i = 0; i < count; i++) {
      const r = reader.record(base, firstTimestamp);
      if (r.offset < fromNumber) continue; // a fetch starting inside a batch gets the whole batch
      if (logAppendTime) r.timestamp = maxTimestamp;
      records.push(r);
    }
  }
  return lastOffset + 1n;
}

const codecNames: Record<number, string> = { 1: 'gzip', 2: 'snappy', 3: 'lz4', 4: 'zstd' };

/** A batch body decompressed, or an error naming the batch, its codec and what would read it. */
function decompress(codec: { decompressSync(data: Buffer): Buffer; available?: boolean }, compression: number, firstOffset: bigint, data: Buffer): Buffer {
  try {
    return codec.decompressSync(data);
  } catch (e) {
    const name = codecNames[compression] ?? `codec ${compression}`;
    // Node 20's zlib has no zstd (22.15 and 23.8 have): the producers' compression.type decides.
    const way = codec.available === false ? ` Node.js ${process.version} cannot read ${name}: run the service on Node.js 22.15 or later, or have the producers use compression.type gzip, snappy or lz4.` : '';
    throw new Error(`record batch at offset ${firstOffset} is compressed with ${name} and cannot be read: ${(e as Error).message}.${way}`);
  }
}

/** Reads the records of one batch body: varints (zig-zag) and length-prefixed byte strings. */
class RecordReader {
  constructor(private readonly b: Buffer, private pos: number, private readonly end: number) {}

  /** The key of the next record, without moving past it (a control batch's marker). */
  peekKey(): Buffer | null {
    const at = this.pos;
    this.varint(); // length
    this.pos++; // attributes
    this.varlong(); // timestamp delta
    this.varint(); // offset delta
    const key = this.bytes();
    this.pos = at;
    return key;
  }

  record(base: number, firstTimestamp: number): SourceRecord {
    const length = this.varint();
    const end = this.pos + length;
    if (end > this.end) throw new Error(`record at offset ${base}+ runs past the end of its batch`);
    this.pos++; // attributes: unused in v2
    const timestamp = firstTimestamp + this.varlong();
    const offset = base + this.varint();
    const key = this.bytes();
    const value = this.bytes();
    const record: SourceRecord = { offset, value, timestamp, key };
    const headerCount = this.varint();
    if (headerCount > 0) {
      const headers = new Map<string, Buffer>();
      for (let h = 0; h < headerCount; h++) {
        const name = this.bytes();
        const v = this.bytes();
        if (name) headers.set(name.toString('utf8'), v ?? Buffer.alloc(0)); // the last value wins when a name repeats
      }
      record.headers = headers;
    }
    this.pos = end;
    return record;
  }

  private varint(): number {
    const b = this.b;
    let raw = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = b[this.pos++]!;
      raw |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80 && shift < 35);
    return (raw >>> 1) ^ -(raw & 1);
  }

  /** A 64-bit zig-zag varint as a number: exact up to 2^53, which timestamp deltas never reach. */
  private varlong(): number {
    const b = this.b;
    let raw = 0;
    let scale = 1;
    let byte: number;
    do {
      byte = b[this.pos++]!;
      raw += (byte & 0x7f) * scale;
      scale *= 128;
    } while (byte & 0x80 && scale <= 2 ** 63);
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }

  private bytes(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    const v = this.b.subarray(this.pos, this.pos + length);
    this.pos += length;
    return v;
  }
}
