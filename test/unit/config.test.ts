import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/cli/config.ts';

test('kafkaClient: shared by default, kafkajs or platformatic from HIVE_KAFKA_CLIENT, anything else refused naming the key', () => {
  assert.equal(loadConfig(undefined, {}).kafkaClient, 'shared');
  assert.equal(loadConfig(undefined, { HIVE_KAFKA_CLIENT: 'kafkajs' }).kafkaClient, 'kafkajs');
  assert.equal(loadConfig(undefined, { HIVE_KAFKA_CLIENT: 'platformatic' }).kafkaClient, 'platformatic');
  assert.throws(() => loadConfig(undefined, { HIVE_KAFKA_CLIENT: 'rdkafka' }), /kafkaClient: .*"shared"\|"kafkajs"\|"platformatic"/);
});

test('workerThreads: the cores by default, HIVE_KAFKA_WORKER_THREADS, at least 1', () => {
  assert.ok(loadConfig(undefined, {}).workerThreads >= 1);
  assert.equal(loadConfig(undefined, { HIVE_KAFKA_WORKER_THREADS: '3' }).workerThreads, 3);
  assert.throws(() => loadConfig(undefined, { HIVE_KAFKA_WORKER_THREADS: '0' }), /workerThreads/);
});
