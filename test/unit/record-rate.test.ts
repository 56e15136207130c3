// Records per second over a sliding window of per-second counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordRate } from '../../src/observe/record-rate.ts';

const T0 = 1_700_000_000_000; // a whole second

test('nothing committed: 0', () => {
  assert.equal(new RecordRate().perSecond(T0), 0);
});

test('a full window of history: records in the window over the window', () => {
  const rate = new RecordRate(60_000);
  for (let s = 0; s < 120; s++) rate.add(T0 + s * 1000, 30);
  // At T0 + 120 s the window (60 s .. 120 s] holds seconds 60..119.
  assert.equal(rate.perSecond(T0 + 120_000), 30);
});

test('a fresh table divides by the history seen, and by at least 1 s', () => {
  const rate = new RecordRate(60_000);
  rate.add(T0, 500);
  assert.equal(rate.perSecond(T0), 500, 'the first batch alone: over 1 s, not 0 s');
  assert.equal(rate.perSecond(T0 + 500), 500, 'still at least 1 s');
  rate.add(T0 + 9000, 500);
  assert.equal(rate.perSecond(T0 + 10_000), 100, '1000 records in the 10 s since the first');
});

test('the rate decays as batches leave the window, to 0', () => {
  const rate = new RecordRate(10_000);
  for (let s = 0; s < 10; s++) rate.add(T0 + s * 1000, 10);
  assert.equal(rate.perSecond(T0 + 10_000), 10);
  assert.equal(rate.perSecond(T0 + 15_000), 5, 'seconds 0..4 left the window');
  assert.equal(rate.perSecond(T0 + 30_000), 0);
  rate.add(T0 + 30_000, 20);
  assert.equal(rate.perSecond(T0 + 30_000), 2, 'long known: over the whole window, no spike');
});

test('batches of one second add up; memory stays at one counter per second of the window', () => {
  const rate = new RecordRate(5000);
  for (let i = 0; i < 10_000; i++) rate.add(T0 + i, 1); // 10 s of batches, one per ms
  const buckets = (rate as unknown as { buckets: Map<number, number> }).buckets;
  assert.ok(buckets.size <= 6, `${buckets.size} counters`);
  assert.equal(rate.perSecond(T0 + 10_000), 1000);
});
