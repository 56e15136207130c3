// The @platformatic/kafka source's own read_committed filter and connection settings. The filter is
// checked on the two cases where the library's filter (1.35.0) lets aborted records through; the
// real-broker side is test/integration/kafka-client.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordsBatch } from '@platformatic/kafka';
import { committedRecords, platformaticConnection } from '../../src/task/source-platformatic.ts';

const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;

function batch(firstOffset: number, producerId: number, values: string[], attributes = 0): RecordsBatch {
  return {
    firstOffset: BigInt(firstOffset), length: 0, partitionLeaderEpoch: 0, magic: 2, crc: 0, attributes,
    lastOffsetDelta: values.length - 1, firstTimestamp: 1000n, maxTimestamp: 2000n, producerId: BigInt(producerId), producerEpoch: 0, firstSequence: 0,
    records: values.map((v, i) => ({ length: 0, attributes: 0, timestampDelta: BigInt(i), offsetDelta: i, key: null, value: Buffer.from(v), headers: [] })),
  };
}

function marker(offset: number, producerId: number, type: 'abort' | 'commit'): RecordsBatch {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type === 'abort' ? 0 : 1, 2);
  const b = batch(offset, producerId, ['x'], TRANSACTIONAL | CONTROL);
  b.records[0]!.key = key;
  return b;
}

const values = (records: { value: Buffer | null }[]) => records.map((r) => r.value!.toString());

test('plain records from the requested offset on, with offsets and timestamps', () => {
  const out = committedRecords([batch(10, -1, ['a', 'b', 'c']), batch(13, -1, ['d'])], [], 11n);
  assert.deepEqual(out.map((r) => [r.offset, r.value!.toString(), r.timestamp]), [[11, 'b', 1001], [12, 'c', 1002], [13, 'd', 1000]]);
});

test('log-append-time batches give every record the batch timestamp', () => {
  assert.deepEqual(committedRecords([batch(0, -1, ['a', 'b'], 0x08)], [], 0n).map((r) => r.timestamp), [2000, 2000]);
});

test('two aborted transactions of one producer in one response: neither reaches the task', () => {
  const batches = [
    batch(0, 7, ['a1', 'a2'], TRANSACTIONAL), marker(2, 7, 'abort'),
    batch(3, 7, ['b1'], TRANSACTIONAL), marker(4, 7, 'abort'),
    batch(5, 7, ['c1', 'c2'], TRANSACTIONAL), marker(7, 7, 'commit'),
  ];
  const aborted = [{ producerId: 7n, firstOffset: 0n }, { producerId: 7n, firstOffset: 3n }];
  assert.deepEqual(values(committedRecords(batches, aborted, 0n)), ['c1', 'c2']);
});

test('an aborted transaction whose marker comes in a later response is dropped in both', () => {
  // First response: the aborted producer's records and another producer's, no marker yet.
  const first = [batch(0, 7, ['a1'], TRANSACTIONAL), batch(1, 8, ['ok1'], TRANSACTIONAL), batch(2, 7, ['a2'], TRANSACTIONAL)];
  assert.deepEqual(values(committedRecords(first, [{ producerId: 7n, firstOffset: 0n }], 0n)), ['ok1']);
  // Second response from offset 3: the broker lists the transaction again; its marker ends it.
  const second = [batch(3, 7, ['a3'], TRANSACTIONAL), marker(4, 7, 'abort'), marker(5, 8, 'commit'), batch(6, 7, ['next'], TRANSACTIONAL)];
  assert.deepEqual(values(committedRecords(second, [{ producerId: 7n, firstOffset: 0n }], 3n)), ['next']);
});

test('an aborted transaction starting after a batch does not touch that batch of the same producer', () => {
  const batches = [batch(0, 7, ['ok'], TRANSACTIONAL), marker(1, 7, 'commit'), batch(2, 7, ['bad'], TRANSACTIONAL), marker(3, 7, 'abort')];
  assert.deepEqual(values(committedRecords(batches, [{ producerId: 7n, firstOffset: 2n }], 0n)), ['ok']);
});

test('read_uncommitted (no aborted transactions listed) keeps aborted records, never control records', () => {
  const batches = [batch(0, 7, ['a1'], TRANSACTIONAL), marker(1, 7, 'abort')];
  assert.deepEqual(values(committedRecords(batches, [], 0n)), ['a1']);
});

test('credentials map to platformatic tls and sasl; anything else is refused naming sasl.mechanism', () => {
  const base = { brokers: ['b:9092'], clientOverrides: { 'request.timeout.ms': '5000' } };
  const c = platformaticConnection({ ...base, auth: { ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } } });
  assert.deepEqual([c.tls, c.sasl, c.requestTimeout, c.bootstrapBrokers], [{}, { mechanism: 'SCRAM-SHA-512', username: 'u', password: 'p' }, 5000, ['b:9092']]);
  assert.equal(platformaticConnection({ ...base, auth: {} }).tls, undefined);
  assert.throws(() => platformaticConnection({ ...base, auth: { sasl: { mechanism: 'aws', authorizationIdentity: 'x', accessKeyId: 'a', secretAccessKey: 's' } } }),
    /sasl\.mechanism 'aws' cannot be used with kafkaClient 'platformatic'/);
});
