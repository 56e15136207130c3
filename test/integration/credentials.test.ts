// A table names a credentials profile; the secret lives only in the service config. Against the
// stack's SASL/PLAIN listener, the table with the profile ingests and one without it cannot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, requireStack, stack } from './helpers/services.ts';
import { runBeeline } from './helpers/beeline.ts';
import { eventually, startService, type RunningService } from './helpers/service.ts';

const SASL_BROKER = '127.0.0.1:9094';
const suffix = randomUUID().slice(0, 8);
const topic = `sasl-${suffix}`;
const withProfile = `sasl_ok_${suffix}`;
const withoutProfile = `sasl_none_${suffix}`;
let service: RunningService;

before(async () => {
  await requireStack();
  await createTopics([{ topic, partitions: 1 }]);
  const producer = new Kafka({ brokers: stack.kafkaBrokers.split(','), logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  await producer.send({ topic, messages: Array.from({ length: 50 }, (_, id) => ({ value: JSON.stringify({ id }) })) });
  await producer.disconnect();
  const config = join(mkdtempSync(join(tmpdir(), 'sasl-')), 'hive-kafka.json');
  writeFileSync(config, JSON.stringify({
    credentialsProfiles: { 'it-sasl': { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'PLAIN', 'sasl.username': 'hivekafka', 'sasl.password': 'test-secret' } },
  }));
  service = await startService({ tables: suffix, configFile: config });
});

after(async () => {
  for (const t of [withProfile, withoutProfile]) await runBeeline(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
  await service?.stop();
});

const create = (table: string, extra: string) => runBeeline(`CREATE TABLE ${table} (id BIGINT) STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
  TBLPROPERTIES ('kafka.topic'='${topic}', 'kafka.broker.list'='${SASL_BROKER}', 'kafka.max.batch.period.ms'='300'${extra})`);

test('a table naming a credentials profile reads from a SASL listener; the secret is not in the table', async () => {
  await create(withProfile, ", 'kafka.credentials.profile'='it-sasl'");
  await eventually('50 rows', async () => ((await runBeeline(`SELECT count(*) FROM ${withProfile}`)).trim() === '50' ? true : undefined), 90_000, 1500);
  const props = await runBeeline(`SHOW TBLPROPERTIES ${withProfile}`);
  assert.doesNotMatch(props, /test-secret/);
});

test('a table without the profile cannot read the SASL listener, and says so in status', async () => {
  await create(withoutProfile, '');
  await eventually('a failure in status', async () => {
    const t = (await service.status()).tables.find((x) => x.table === `default.${withoutProfile}`);
    return t?.lastError ? t : undefined;
  }, 60_000, 500);
  assert.equal((await runBeeline(`SELECT count(*) FROM ${withoutProfile}`)).trim(), '0');
});
