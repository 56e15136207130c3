import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTableProperties, formatProblems } from '../../src/properties/parse.ts';

const base = { 'kafka.topic': 'pageviews', 'kafka.broker.list': 'localhost:8085' };

test('the seed DDL properties parse with their exact spellings, typos included', () => {
  const r = parseTableProperties({
    ...base,
    'kafka.batch.maxSize': '500000',
    'kafka.max.batch.period.ms': '900000',
    'kafka.max.num.tasks': '5',
    'kafka.read_uncommited': 'true',
    'kafka.extra.propertie.session.timeout.ms': '30000',
    'kafka.extra.property.client.rack': 'r1',
    transient_lastDdlTime: '1700000000', // Hive's own parameters are not ours to judge
  });
  assert.equal(r.ok, true);
  if (!r.ok) return;
  assert.deepEqual(r.spec.brokers, ['localhost:8085']);
  assert.equal(r.spec.batchMaxSize, 500000);
  assert.equal(r.spec.maxBatchPeriodMs, 900000);
  assert.equal(r.spec.maxNumTasks, 5);
  assert.equal(r.spec.readUncommitted, true);
  assert.deepEqual(r.spec.clientOverrides, { 'session.timeout.ms': '30000', 'client.rack': 'r1' });
});

test('defaults apply when a property is absent', () => {
  const r = parseTableProperties(base);
  assert.ok(r.ok);
  assert.equal(r.spec.batchMaxSize, 100000);
  assert.equal(r.spec.maxBatchPeriodMs, 60000);
  assert.equal(r.spec.maxNumTasks, 1);
  assert.equal(r.spec.paused, false);
  assert.deepEqual(r.spec.startOffset, { kind: 'earliest' });
  assert.equal(r.spec.errorPolicy, 'fail');
  assert.equal(r.spec.credentialsProfile, undefined);
});

test('aliases are accepted, and giving both spellings is refused', () => {
  const alias = parseTableProperties({ 'kafka.topic': 't', 'kafka.bootstrap.servers': 'h:1,h2:2', 'kafka.read_uncommitted': 'TRUE' });
  assert.ok(alias.ok);
  assert.deepEqual(alias.spec.brokers, ['h:1', 'h2:2']);
  assert.equal(alias.spec.readUncommitted, true);
  const both = parseTableProperties({ ...base, 'kafka.bootstrap.servers': 'h:1' });
  assert.equal(both.ok, false);
});

test('every problem is reported at once, naming table, property, value and what is allowed', () => {
  const r = parseTableProperties({ 'kafka.broker.list': 'nohost', 'kafka.max.num.tasks': '0', 'kafka.batch.max.size': '10' });
  assert.equal(r.ok, false);
  if (r.ok) return;
  const text = formatProblems('default.pageviews', r.problems);
  assert.match(text, /table default\.pageviews: property 'kafka\.broker\.list' = 'nohost' is invalid: expected a comma-separated list of host:port/);
  assert.match(text, /property 'kafka\.max\.num\.tasks' = '0' is invalid: expected an integer from 1 to 1024/);
  assert.match(text, /property 'kafka\.batch\.max\.size' = '10' is invalid: unknown property; did you mean kafka\.batch\.maxSize\?/);
  assert.match(text, /property 'kafka\.topic' is required/);
});

test('secrets and service-owned client settings are refused in extra properties', () => {
  const r = parseTableProperties({ ...base, 'kafka.extra.propertie.sasl.jaas.config': 'x', 'kafka.extra.property.group.id': 'g' });
  assert.equal(r.ok, false);
  if (r.ok) return;
  const text = formatProblems('db.t', r.problems);
  assert.match(text, /sasl\.jaas\.config' = '\*\*\*' is invalid: secrets must not live in TBLPROPERTIES/);
  assert.match(text, /group\.id is managed by hive-kafka/);
});

test('start offset takes earliest, latest or an epoch in ms', () => {
  const at = parseTableProperties({ ...base, 'kafka.start.offset': '1700000000000' });
  assert.ok(at.ok);
  assert.deepEqual(at.spec.startOffset, { kind: 'timestamp', ms: 1700000000000 });
  assert.equal(parseTableProperties({ ...base, 'kafka.start.offset': 'yesterday' }).ok, false);
});
