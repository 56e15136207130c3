// src/task/topic-offsets.ts: kafkajs's bare TypeError for a topic without partition leaders is
// tried again, then reported naming the topic; every other error passes through untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LEADERLESS_WAITS_MS, TopicNotReadyError, topicOffsets } from '../../src/task/topic-offsets.ts';

// What kafkajs 2.2.4's admin throws when a ListOffsets round found no leader for the topic.
const leaderless = () => new TypeError("Cannot destructure property 'partitions' of 'low.pop(...)' as it is undefined.");
const offsets = [{ partition: 0, offset: '5', high: '5', low: '0' }];

test('a topic whose leaders appear after two tries yields its offsets, having waited the first two waits', async () => {
  const waits: number[] = [];
  let calls = 0;
  const got = await topicOffsets('orders', 'the table is tried again at the supervisor\'s next tick', async () => { if (++calls <= 2) throw leaderless(); return offsets; }, async (ms) => { waits.push(ms); });
  assert.deepEqual(got, offsets);
  assert.equal(calls, 3);
  assert.deepEqual(waits, LEADERLESS_WAITS_MS.slice(0, 2));
});

test('a topic that stays without leaders fails naming the topic, what it means and what happens next', async () => {
  let calls = 0;
  const error = await topicOffsets('orders', 'the table is tried again at the supervisor\'s next tick', async () => { calls++; throw leaderless(); }, async () => {}).catch((e: unknown) => e);
  assert.ok(error instanceof TopicNotReadyError);
  assert.equal(calls, LEADERLESS_WAITS_MS.length + 1);
  assert.match(error.message, /Kafka topic "orders" has partitions without a leader/);
  assert.match(error.message, /tried again at the supervisor's next tick/);
  assert.match(error.message, /low\.pop/, 'kafkajs\'s own words stay in the message');
});

test('any other error is thrown at once, unchanged', async () => {
  const refused = Object.assign(new Error('This server does not host this topic-partition'), { name: 'KafkaJSProtocolError' });
  let calls = 0;
  const error = await topicOffsets('orders', 'the table is tried again at the supervisor\'s next tick', async () => { calls++; throw refused; }, async () => { assert.fail('no wait'); }).catch((e: unknown) => e);
  assert.equal(error, refused);
  assert.equal(calls, 1);
});
