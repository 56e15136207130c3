// A missing service fails the suite loudly, naming the service and where it was looked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

function runWith(env: Record<string, string>, file: string) {
  // Without this, a `node --test` started from inside a test thinks it is nested and runs nothing.
  const { NODE_TEST_CONTEXT: _nested, ...parentEnv } = process.env;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], {
    env: { ...parentEnv, ...env }, encoding: 'utf8', timeout: 120_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

test('the Kafka tests fail, naming the broker, when no broker answers', () => {
  const r = runWith({ HIVE_KAFKA_BROKERS: '127.0.0.1:1' }, 'test/integration/kafka.test.ts');
  assert.notEqual(r.status, 0);
  assert.match(r.output, /Kafka broker is not reachable at 127\.0\.0\.1:1/);
  assert.doesNotMatch(r.output, /# skip [1-9]/);
});

test('the metastore tests fail, naming the metastore, when none answers', () => {
  const r = runWith({ HIVE_KAFKA_HMS_URI: 'thrift://127.0.0.1:1' }, 'test/integration/metastore.test.ts');
  assert.notEqual(r.status, 0);
  assert.match(r.output, /Hive Metastore is not reachable at thrift:\/\/127\.0\.0\.1:1/);
});

test('the Hive tests fail, naming HiveServer2, when none answers', () => {
  const r = runWith({ HIVE_KAFKA_HS2: '127.0.0.1:1' }, 'test/integration/hive.test.ts');
  assert.notEqual(r.status, 0);
  assert.match(r.output, /HiveServer2 is not reachable at 127\.0\.0\.1:1/);
});
