import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/cli/config.ts';

test('kafkaClient: kafkajs by default, platformatic from HIVE_KAFKA_CLIENT, anything else refused naming the key', () => {
  assert.equal(loadConfig(undefined, {}).kafkaClient, 'kafkajs');
  assert.equal(loadConfig(undefined, { HIVE_KAFKA_CLIENT: 'platformatic' }).kafkaClient, 'platformatic');
  assert.throws(() => loadConfig(undefined, { HIVE_KAFKA_CLIENT: 'rdkafka' }), /kafkaClient: .*"kafkajs"\|"platformatic"/);
});
