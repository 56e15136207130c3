import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kafkaAuth } from '../../src/task/kafka-auth.ts';

const profiles = {
  scram: { 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.username': 'u', 'sasl.password': 'p' },
  tls: { 'security.protocol': 'SSL' },
  broken: { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'GSSAPI' },
};

test('no profile means a plaintext client', () => { assert.deepEqual(kafkaAuth('table t', undefined, profiles), {}); });

test('a SASL profile becomes kafkajs ssl and sasl settings', () => {
  assert.deepEqual(kafkaAuth('table t', 'scram', profiles), { ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } });
  assert.deepEqual(kafkaAuth('table t', 'tls', profiles), { ssl: true });
});

test('a missing or unusable profile is an error naming the table and the profile', () => {
  assert.throws(() => kafkaAuth('table db.t', 'nope', profiles), /table db\.t: kafka\.credentials\.profile 'nope' is not defined in the service config/);
  assert.throws(() => kafkaAuth('table db.t', 'broken', profiles), /credentials profile 'broken': SASL needs sasl\.mechanism/);
});
