// Kafka record batches as bytes, for the twins of unit tests. @platformatic/kafka's producer code
// (createRecordsBatch) writes the batch and its records; the header fields a producer does not choose
// there (first offset, transactional and control bits, producer id, max timestamp) are then set in
// place. Nothing checks the CRC on the read path, so it is left as written.
import { createRecordsBatch, type RecordsBatch } from '@platformatic/kafka';

export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export function encodeBatch(b: RecordsBatch, compression: Compression = 'none'): Buffer {
  const messages = b.records.map((r) => ({
    topic: 't', key: r.key ?? undefined, value: r.value ?? undefined, timestamp: b.firstTimestamp + r.timestampDelta,
    headers: r.headers.length > 0 ? new Map(r.headers.map(([k, v]) => [k!, v!])) : undefined,
  }));
  // The library numbers records 0, 1, 2 ... and takes the first record's time as the batch's (the
  // records' times, base plus delta, are the same either way).
  b.records.forEach((r, i) => { if (r.offsetDelta !== i) throw new Error(`record ${i} has offset delta ${r.offsetDelta}; this encoder writes deltas 0, 1, 2 ...`); });
  const bytes = Buffer.from(createRecordsBatch(messages as never, { compression }).buffer);
  bytes.writeBigInt64BE(b.firstOffset, 0);
  bytes.writeInt16BE((bytes.readInt16BE(21) & 0x07) | (b.attributes & ~0x07), 21);
  bytes.writeInt32BE(b.lastOffsetDelta, 23);
  bytes.writeBigInt64BE(b.maxTimestamp, 35);
  bytes.writeBigInt64BE(b.producerId, 43);
  return bytes;
}

export function encodeBatches(batches: readonly RecordsBatch[], compression: Compression = 'none'): Buffer {
  return Buffer.concat(batches.map((b) => encodeBatch(b, compression)));
}
