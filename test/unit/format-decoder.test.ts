// The decoder a task gets: format, then mapping / time partitions / same-name rule, then Hive types;
// and the refusals `hive-kafka validate` and the service give for a bad mapping, with its position.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDecoder } from '../../src/format/decoder.ts';
import { schemaRegistries } from '../../src/format/registries.ts';
import { parseTableProperties, type StreamSpec } from '../../src/properties/parse.ts';
import type { HiveValue } from '../../src/sink/hive-types.ts';
import type { SourceRecord } from '../../src/task/source.ts';
import { validateSql } from '../../src/cli/validate.ts';
import { TableFormatError } from '../../src/format/format.ts';

const specOf = (props: Record<string, string>): StreamSpec => {
  const r = parseTableProperties({ 'kafka.topic': 't', 'kafka.broker.list': 'h:9092', ...props });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.spec;
};
const record = (value: string | null, extra: Partial<SourceRecord> = {}): SourceRecord =>
  ({ offset: 7, value: value === null ? null : Buffer.from(value), timestamp: Date.UTC(2024, 0, 2, 3, 4, 5), key: Buffer.from('k1'), ...extra });

async function decodeAll(props: Record<string, string>, columns: [string, string][], keys: [string, string][], values: (string | SourceRecord)[]) {
  const table = { table: 'db.t', columns: columns.map(([name, type]) => ({ name, type })), partitionKeys: keys.map(([name, type]) => ({ name, type })) };
  const decoder = await openDecoder(specOf(props), table, schemaRegistries({}));
  return values.map((v) => {
    const row: HiveValue[] = new Array(columns.length).fill(null);
    const pv: (string | null)[] = new Array(keys.length).fill(null);
    const outcome = decoder.decode(typeof v === 'string' ? record(v) : v, 3, row, pv);
    return outcome === 'filtered' ? 'filtered' : { row, pv };
  });
}

test('json through a mapping: nested path, rename, metadata, WHERE, and time partitions; unmapped columns keep the same-name rule', async () => {
  const got = await decodeAll(
    { 'kafka.mapping': "SELECT payload.user.id AS userid, __key AS k, __partition AS p, date_format(from_unixtime(ts / 1000), 'yyyy-MM-dd') AS dt, hour(from_unixtime(ts / 1000)) AS hr WHERE kind = 'view'" },
    [['userid', 'bigint'], ['k', 'string'], ['p', 'int'], ['url', 'string']], [['dt', 'string'], ['hr', 'int']],
    ['{"kind":"view","url":"/a","ts":1704164645000,"payload":{"user":{"id":1234567890123456789}}}', '{"kind":"click","url":"/b","ts":0}'],
  );
  assert.deepEqual(got, [{ row: [1234567890123456789n, 'k1', 3, '/a'], pv: ['2024-01-02', '3'] }, 'filtered']);
});

test('kafka.partition.time=timestamp puts a record in the dt partition of its Kafka timestamp; other keys keep the same-name rule', async () => {
  const got = await decodeAll({ 'kafka.partition.time': 'timestamp' }, [['id', 'int']], [['dt', 'string'], ['country', 'string']],
    [record('{"id":1,"country":"fr"}', { timestamp: Date.UTC(2024, 2, 1, 23, 59) })]);
  assert.deepEqual(got, [{ row: [1], pv: ['2024-03-01', 'fr'] }]);
  // From a field of the value, before 1970 too (a Kafka timestamp cannot be negative).
  const byField = await decodeAll({ 'kafka.partition.time': 'field:ts', 'kafka.partition.time.format': 'dt=yyyy-MM-dd,hr=HH' }, [['id', 'int']], [['dt', 'string'], ['hr', 'int']],
    ['{"id":2,"ts":-3600000}']);
  assert.deepEqual(byField, [{ row: [2], pv: ['1969-12-31', '23'] }]);
});

test('csv: header by name, quoted delimiters, empty non-string field is NULL, the header row is filtered', async () => {
  const got = await decodeAll({ 'kafka.value.format': 'csv', 'kafka.csv.header': 'true' }, [['id', 'int'], ['name', 'string'], ['note', 'string']], [],
    ['name,id,note', '"Smith, John",1,"said ""hi"""', 'x,,'],
  );
  assert.deepEqual(got, ['filtered', { row: [1, 'Smith, John', 'said "hi"'], pv: [] }, { row: [null, 'x', ''], pv: [] }]);
});

test('a tombstone is a record error naming why', async () => {
  await assert.rejects(async () => decodeAll({}, [['id', 'int']], [], [record(null)]), /not a JSON object/);
  await assert.rejects(async () => decodeAll({ 'kafka.value.format': 'csv' }, [['id', 'int']], [], [record(null)]), /no value \(a tombstone\)/);
});

test('a bad mapping fails the table before it reads anything, naming the problem and its position', async () => {
  const open = (mapping: string) => openDecoder(specOf({ 'kafka.mapping': mapping }), { table: 'db.t', columns: [{ name: 'a', type: 'int' }, { name: 'd', type: 'date' }], partitionKeys: [] }, schemaRegistries({}));
  for (const [mapping, pattern] of [
    ['SELECT frobnicate(a) AS a', /line 1 column 8.*frobnicate/],
    ['SELECT a AS a,\n  FROM', /line 2/],
    ['SELECT to_date(x) AS a', /line 1 column 8.*to_date/],
    ['SELECT a AS nope', /nope is not a column/],
  ] as const) {
    await assert.rejects(open(mapping), (e: Error) => e instanceof TableFormatError && /kafka\.mapping/.test(e.message) && pattern.test(e.message), mapping);
  }
});

test('hive-kafka validate refuses a bad mapping against the statement\'s own columns, with the position in the mapping', () => {
  const ddl = (mapping: string) => `CREATE TABLE t (userid BIGINT, flag BOOLEAN) PARTITIONED BY (dt STRING)
STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'
TBLPROPERTIES ('kafka.topic' = 'x', 'kafka.broker.list' = 'h:9092', 'kafka.mapping' = "${mapping}");`;
  assert.deepEqual(validateSql(ddl("SELECT payload.id AS userid, to_date(ts) AS dt")), []);
  const problems = (m: string) => validateSql(ddl(m)).join('\n');
  assert.match(problems('SELECT frob(x) AS userid'), /1:1: table t: property 'kafka.mapping' is refused: kafka.mapping, line 1 column 8: .*frob/);
  assert.match(problems('SELECT x AS userid WHERE'), /property 'kafka.mapping'.*line 1 column/);
  assert.match(problems('SELECT to_date(x) AS userid'), /property 'kafka.mapping'.*line 1 column 8.*userid/);
  assert.match(problems('SELECT x AS other'), /property 'kafka.mapping'.*other is not a column/);
});

test('avro: a new field with a default asks for a column under BACKWARD, except on a table whose mapping decides the columns', async () => {
  const avro = (await import('avsc')).default;
  const schema = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }, { name: 'email', type: ['null', 'string'], default: null }] };
  const value = Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), avro.Type.forSchema(schema as never).toBuffer({ id: 1, email: 'a@b' })]);
  const registries = { forTable: () => ({ schemaById: async () => JSON.stringify(schema) }) } as never;
  const table = { table: 'db.t', columns: [{ name: 'id', type: 'bigint' }], partitionKeys: [] };
  const props = { 'kafka.value.format': 'avro', 'kafka.schema.registry.url': 'http://r:8081', 'kafka.schema.compatibility': 'BACKWARD' };
  const plain = await openDecoder(specOf(props), table, registries);
  assert.deepEqual(await plain.prepare([record(null, { value })]), { index: 0, kind: 'add', columns: [{ name: 'email', type: 'string' }], reason: (await plain.prepare([record(null, { value })]))!.reason });
  const mapped = await openDecoder(specOf({ ...props, 'kafka.mapping': 'SELECT id' }), table, registries);
  assert.equal(await mapped.prepare([record(null, { value })]), undefined);
  const row: HiveValue[] = [null];
  assert.equal(mapped.decode(record(null, { value }), 0, row, []), 'row');
  assert.deepEqual(row, [1n]);
});
