// kafka.schema.compatibility walked mode by mode, and the same rules in the JSON the Java meta hook reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  DDL_MESSAGES, hiveWriteRefusal, isWidening, MODES, schemaChangeJson, schemaChangeProblems, topicChangeProblem,
  type ColumnDef, type SchemaCompatibility,
} from '../../src/properties/schema-change.ts';
import { RULES_JSON_PATH } from '../../src/properties/export-rules.ts';

const table = 'default.pageviews';
const before: ColumnDef[] = [
  { name: 'id', type: 'bigint' }, { name: 'userid', type: 'int' }, { name: 'page_url', type: 'varchar(100)' },
];
const withChange = (name: string, type: string) => before.map((c) => (c.name === name ? { name, type } : c));
const modes = Object.keys(MODES) as SchemaCompatibility[];

test('adding a column is allowed in every mode', () => {
  for (const mode of modes) {
    assert.deepEqual(schemaChangeProblems(table, before, [...before, { name: 'referrer', type: 'string' }], mode), [], mode);
  }
});

test('an unchanged schema passes in every mode; names match case-insensitively and type spelling is normalised', () => {
  const respelled = [{ name: 'ID', type: 'BIGINT' }, { name: 'UserId', type: ' int ' }, { name: 'page_url', type: 'VARCHAR( 100 )' }];
  for (const mode of modes) assert.deepEqual(schemaChangeProblems(table, before, respelled, mode), [], mode);
  assert.deepEqual(schemaChangeProblems(table, [{ name: 'd', type: 'decimal' }], [{ name: 'd', type: 'decimal(10,0)' }], 'FULL'), []);
});

test('NONE: any change passes (Hive itself judges it)', () => {
  assert.deepEqual(schemaChangeProblems(table, before, withChange('userid', 'string'), 'NONE'), []);
  assert.deepEqual(schemaChangeProblems(table, before, withChange('page_url', 'varchar(10)'), 'NONE'), []);
  assert.deepEqual(schemaChangeProblems(table, before, before.slice(0, 2), 'NONE'), [], 'a dropped column');
});

test('BACKWARD: widenings pass, narrowings and other changes are refused naming table, column, types and mode', () => {
  for (const [from, to] of [['int', 'bigint'], ['tinyint', 'smallint'], ['smallint', 'bigint'], ['int', 'double'], ['float', 'double'],
    ['varchar(10)', 'varchar(10)'], ['varchar(10)', 'varchar(20)'], ['varchar(10)', 'string'], ['decimal(5,2)', 'decimal(12,2)']]) {
    assert.deepEqual(schemaChangeProblems(table, [{ name: 'c', type: from! }], [{ name: 'c', type: to! }], 'BACKWARD'), [], `${from} -> ${to}`);
  }
  for (const [from, to] of [['bigint', 'int'], ['int', 'string'], ['bigint', 'double'], ['double', 'float'], ['varchar(20)', 'varchar(10)'],
    ['string', 'varchar(10)'], ['char(5)', 'string'], ['decimal(5,2)', 'decimal(12,3)'], ['decimal(12,2)', 'decimal(5,2)'],
    ['array<int>', 'array<bigint>'], ['int', 'timestamp']]) {
    const problems = schemaChangeProblems(table, [{ name: 'c', type: from! }], [{ name: 'c', type: to! }], 'BACKWARD');
    assert.equal(problems.length, 1, `${from} -> ${to}`);
    assert.ok(problems[0]!.startsWith(`table ${table}: column 'c' cannot change from ${from} to ${to} under kafka.schema.compatibility=BACKWARD`), problems[0]);
    assert.match(problems[0]!, /ADD COLUMNS a new column/);
    assert.match(problems[0]!, /'kafka\.schema\.compatibility'='NONE'/, 'not a widening: only NONE allows it');
  }
});

test('BACKWARD, FORWARD and FULL refuse a dropped or renamed column', () => {
  const renamed = [before[0]!, { name: 'user_id', type: 'int' }, before[2]!];
  for (const mode of ['BACKWARD', 'FORWARD', 'FULL'] as const) {
    const problems = schemaChangeProblems(table, before, renamed, mode);
    assert.deepEqual(problems, [`table ${table}: column 'userid' (int) cannot be dropped or renamed under kafka.schema.compatibility=${mode} `
      + `(${MODES[mode].meaning}). Keep the column and ADD COLUMNS the new one, `
      + `or first ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.schema.compatibility'='NONE').`]);
  }
});

test('FORWARD and FULL refuse every type change, and point at BACKWARD for a widening', () => {
  for (const mode of ['FORWARD', 'FULL'] as const) {
    const [widening] = schemaChangeProblems(table, before, withChange('userid', 'bigint'), mode);
    assert.ok(widening!.includes(`column 'userid' cannot change from int to bigint under kafka.schema.compatibility=${mode}`), widening);
    assert.ok(widening!.endsWith(`ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.schema.compatibility'='BACKWARD').`), widening);
    const [other] = schemaChangeProblems(table, before, withChange('userid', 'string'), mode);
    assert.ok(other?.endsWith("('kafka.schema.compatibility'='NONE')."), other);
  }
});

test('every problem is reported, in column order', () => {
  const after = [{ name: 'id', type: 'int' }, { name: 'page_url', type: 'string' }];
  const problems = schemaChangeProblems(table, before, after, 'BACKWARD');
  assert.equal(problems.length, 2);
  assert.match(problems[0]!, /column 'id' cannot change from bigint to int/);
  assert.match(problems[1]!, /column 'userid' \(int\) cannot be dropped or renamed/);
});

test('isWidening needs the arguments of sized types', () => {
  assert.equal(isWidening('varchar(10)', 'varchar(9)'), false);
  assert.equal(isWidening('decimal(5)', 'decimal(6,0)'), true);
  assert.equal(isWidening('struct<a:int>', 'struct<a:bigint>'), false);
});

test('a topic change or removal is refused with what to do instead; an unchanged topic passes', () => {
  assert.equal(topicChangeProblem(table, 'A', 'A'), undefined);
  assert.equal(topicChangeProblem(table, 'A', ' A '), undefined, 'values are compared as the parser reads them (trimmed)');
  assert.equal(topicChangeProblem(table, 'A', 'B'),
    "table default.pageviews: kafka.topic cannot change on an existing stream table (it reads 'A'; asked 'B'): "
    + "the table's offsets belong to topic A. To ingest topic B, CREATE a new table with kafka.topic='B' (or DROP TABLE and re-create it).");
  assert.match(topicChangeProblem(table, 'A', undefined)!, /^table default\.pageviews: kafka\.topic cannot be removed from an existing stream table \(it reads 'A'\)/);
});

test('an INSERT from Hive is refused naming the table and its topic', () => {
  assert.equal(hiveWriteRefusal(table, 'pv'),
    'table default.pageviews is filled by hive-kafka from Kafka topic pv; Hive cannot write to it: produce to the topic instead, or INSERT into a plain table.');
});

test('the rules JSON in hooks/ carries exactly these modes, widenings and messages for the Java meta hook', () => {
  const doc = JSON.parse(readFileSync(RULES_JSON_PATH, 'utf8')) as { schemaChange: unknown; messages: unknown };
  assert.deepEqual(doc.schemaChange, JSON.parse(JSON.stringify(schemaChangeJson())), 'run npm run gen:rules');
  assert.deepEqual(doc.messages, { ...DDL_MESSAGES }, 'run npm run gen:rules');
});
