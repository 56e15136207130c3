// Decodes notification events recorded from the real metastore (npm run fixtures:events), offline.
// The fixtures come from: CREATE TABLE default.fixture_plain (id BIGINT, name STRING)
// PARTITIONED BY (dt STRING) TBLPROPERTIES ('a'='1'); ALTER ... SET TBLPROPERTIES ('a'='2'); DROP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { decodeMessage } from '../../src/metastore/events.ts';
import type { NotificationEvent } from '../../src/metastore/types.ts';

function loadFixture(file: string): NotificationEvent {
  const raw = JSON.parse(readFileSync(new URL(`../../fixtures/events/${file}`, import.meta.url), 'utf8'));
  return { ...raw, eventId: BigInt(raw.eventId) };
}

/** The same event as JSONMessageEncoder (json-0.2) would have written it. */
function asPlainJson(event: NotificationEvent): NotificationEvent {
  const json = gunzipSync(Buffer.from(event.message, 'base64')).toString('utf8');
  return { ...event, message: json, messageFormat: 'json-0.2' };
}

const createEvent = loadFixture('create_table.json');
const alterEvent = loadFixture('alter_table.json');
const dropEvent = loadFixture('drop_table.json');

const expectedColumns = [
  { name: 'id', type: 'bigint' },
  { name: 'name', type: 'string' },
];

test('the fixtures are real gzip(json-2.0) events for default.fixture_plain', () => {
  for (const event of [createEvent, alterEvent, dropEvent]) {
    assert.equal(event.messageFormat, 'gzip(json-2.0)');
    assert.equal(event.dbName, 'default');
    assert.equal(event.tableName, 'fixture_plain');
  }
  assert.ok(createEvent.eventId < alterEvent.eventId && alterEvent.eventId < dropEvent.eventId);
});

test('CREATE_TABLE decodes to the created table', () => {
  const decoded = decodeMessage(createEvent);
  assert.equal(decoded.type, 'CREATE_TABLE');
  const { table } = decoded;
  assert.equal(table.dbName, 'default');
  assert.equal(table.tableName, 'fixture_plain');
  assert.equal(table.catName, 'hive');
  assert.deepEqual(table.storage.columns, expectedColumns);
  assert.deepEqual(table.partitionKeys, [{ name: 'dt', type: 'string' }]);
  assert.equal(table.parameters.a, '1');
  // HMS 4.1 turns a plain managed CREATE TABLE into an external table that purges its data.
  assert.equal(table.tableType, 'EXTERNAL_TABLE');
  assert.equal(table.parameters.TRANSLATED_TO_EXTERNAL, 'TRUE');
  assert.equal(table.storage.serde.serializationLib, 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe');
  assert.equal(table.storage.inputFormat, 'org.apache.hadoop.mapred.TextInputFormat');
  assert.match(table.storage.location ?? '', /\/fixture_plain$/);
  assert.equal(typeof table.id, 'bigint');
});

test('ALTER_TABLE decodes the table before and after SET TBLPROPERTIES', () => {
  const decoded = decodeMessage(alterEvent);
  assert.equal(decoded.type, 'ALTER_TABLE');
  assert.equal(decoded.isTruncateOp, false);
  assert.equal(decoded.before.parameters.a, '1');
  assert.equal(decoded.after.parameters.a, '2');
  assert.equal(decoded.after.tableName, 'fixture_plain');
  assert.deepEqual(decoded.before.storage.columns, expectedColumns);
  assert.deepEqual(decoded.after.storage.columns, expectedColumns);
  assert.deepEqual(decoded.after.partitionKeys, [{ name: 'dt', type: 'string' }]);
});

test('DROP_TABLE decodes to the table as it was when dropped', () => {
  const decoded = decodeMessage(dropEvent);
  assert.equal(decoded.type, 'DROP_TABLE');
  assert.equal(decoded.table.tableName, 'fixture_plain');
  assert.equal(decoded.table.dbName, 'default');
  assert.equal(decoded.table.parameters.a, '2');
  assert.deepEqual(decoded.table.storage.columns, expectedColumns);
});

test('json-0.2 messages decode to the same result as gzip(json-2.0)', () => {
  for (const event of [createEvent, alterEvent, dropEvent]) {
    assert.deepEqual(decodeMessage(asPlainJson(event)), decodeMessage(event));
  }
});

test('isTruncateOp, a string in the message, becomes a boolean', () => {
  const plain = asPlainJson(alterEvent);
  const message = { ...JSON.parse(plain.message), isTruncateOp: 'true' };
  const decoded = decodeMessage({ ...plain, message: JSON.stringify(message) });
  assert.equal(decoded.type, 'ALTER_TABLE');
  assert.equal(decoded.isTruncateOp, true);
});

test('an unknown message format throws, naming the format and the event', () => {
  const event = { ...createEvent, messageFormat: 'avro-9' };
  assert.throws(() => decodeMessage(event), (error: Error) => {
    assert.match(error.message, /"avro-9"/);
    assert.match(error.message, new RegExp(`event ${createEvent.eventId}\\b`));
    return true;
  });
});

test('events other than table DDL are reported as OTHER without decoding', () => {
  const event = { ...createEvent, eventType: 'ADD_PARTITION', message: 'not decoded' };
  assert.deepEqual(decodeMessage(event), { type: 'OTHER', eventType: 'ADD_PARTITION' });
});

test('a table that is not Thrift JSON throws, naming the event and the field', () => {
  const plain = asPlainJson(createEvent);
  const message = { ...JSON.parse(plain.message), tableObjJson: '{"1":{"str"' };
  assert.throws(
    () => decodeMessage({ ...plain, message: JSON.stringify(message) }),
    new RegExp(`event ${createEvent.eventId} \\(CREATE_TABLE\\): tableObjJson is not a Thrift JSON Table`),
  );
});
