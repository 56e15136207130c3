// The per-task Kafka clients' log-start probes: one admin per Kafka connection for the worker's life,
// however many tasks start and restart (an admin per task start was never closed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin } from 'kafkajs';
import { LogStartProbes, type LogStartConnection } from '../../src/task/log-start.ts';

function fakeAdmins(failFirst = false) {
  const made: LogStartConnection[] = [];
  const connect = async (c: LogStartConnection): Promise<Admin> => {
    made.push(c);
    if (failFirst && made.length === 1) throw new Error('connection refused');
    return { fetchTopicOffsets: async () => [{ partition: 0, offset: '9', high: '9', low: '4' }, { partition: 1, offset: '7', high: '7', low: '0' }] } as unknown as Admin;
  };
  return { made, connect };
}

test('task starts on one connection share one admin; another connection gets its own', async () => {
  const { made, connect } = fakeAdmins();
  const probes = new LogStartProbes(connect);
  const plain = { brokers: ['b:9092', 'a:9092'], auth: {} };
  for (let task = 0; task < 5; task++) assert.deepEqual(await probes.offsets(plain, 't', [0]), new Map([[0, 4]]));
  assert.deepEqual(await probes.offsets({ brokers: ['a:9092', 'b:9092'], auth: {} }, 'u', [0, 1]), new Map([[0, 4], [1, 0]]), 'the same brokers in another order');
  await probes.offsets({ brokers: ['a:9092', 'b:9092'], auth: { ssl: true } }, 't', [1]);
  assert.equal(made.length, 2);
});

test('a failed connect is not kept: the next task start connects again', async () => {
  const { made, connect } = fakeAdmins(true);
  const probes = new LogStartProbes(connect);
  const c = { brokers: ['a:9092'], auth: {} };
  await assert.rejects(probes.offsets(c, 't', [0]), /connection refused/);
  assert.deepEqual(await probes.offsets(c, 't', [0]), new Map([[0, 4]]));
  assert.equal(made.length, 2);
});
