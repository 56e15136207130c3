// `hive-kafka validate` names each known mistake (`//` comments, a missing comma, clauses out of Hive's
// order) with line, column and fix, and then only what the grammar still finds: no knock-on errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateSql } from '../../src/cli/validate.ts';

const SEED = 'fixtures/ddl/seed_000_as_written.sql';
const seed = readFileSync(SEED, 'utf8');
const ORDER = "Hive's CREATE TABLE takes its clauses in this order: COMMENT, PARTITIONED BY, CLUSTERED BY, SKEWED BY, ROW FORMAT, STORED AS or STORED BY, LOCATION, TBLPROPERTIES";

const SEED_PROBLEMS = [
  "5:2: syntax error: '//' does not start a comment in Hive SQL; write '--' instead (the same at 8:1, 10:41, 12:49, 14:40)",
  '14:39: syntax error: missing comma between the properties "kafka.extra.propertie.key1" and "kafka.extra.propertie.key2" (15:1): add \',\' after "value"',
  `17:1: syntax error: STORED BY must come before TBLPROPERTIES (4:2): move it up; ${ORDER}`,
];

test("seed 000's CREATE TABLE as written: exactly its three mistakes, each with line, column and fix", () => {
  const problems = validateSql(seed);
  assert.deepEqual(problems, SEED_PROBLEMS);
  assert.match(problems[0]!, /write '--'/);
  assert.match(problems[1]!, /add ',' after "value"/);
  assert.match(problems[2]!, /STORED BY must come before TBLPROPERTIES/);
});

test('the seed with its three mistakes fixed has no syntax error left: only its placeholder value is refused', () => {
  const fixed = seed.replaceAll('//', '--')
    .replace('"kafka.extra.propertie.key1" = "value"', '"kafka.extra.propertie.key1" = "value",')
    .replace(/(TBLPROPERTIES \([\s\S]*\))\n(STORED BY '[^']+');/, '$2\n$1;');
  const problems = validateSql(fixed);
  assert.equal(problems.length, 1, problems.join('\n'));
  assert.match(problems[0]!, /^1:2: table kafka_example: property 'kafka.schema.compatibility' = 'some_property' is invalid/);
});

test('the seed as the demo uses it (fixtures/ddl/valid/seed_000.sql) passes', () => {
  assert.deepEqual(validateSql(readFileSync('fixtures/ddl/valid/seed_000.sql', 'utf8')), []);
});

const HANDLER = "STORED BY 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler'";
const PROPS = "TBLPROPERTIES ('kafka.topic'='t', 'kafka.broker.list'='h:9092')";

test('a // comment alone: named once with every place it occurs, and nothing else', () => {
  assert.deepEqual(validateSql(`// pageviews\nCREATE TABLE t (a BIGINT) ${HANDLER}\n${PROPS}; // done\n`), [
    "1:1: syntax error: '//' does not start a comment in Hive SQL; write '--' instead (the same at 3:66)",
  ]);
});

test('a // inside a string, a backquoted name or a -- comment is no mistake', () => {
  assert.deepEqual(validateSql(`CREATE TABLE t (\`a//b\` BIGINT COMMENT 'x // y') -- see http://example.com\n${HANDLER}\n${PROPS};`), []);
});

test('a missing comma between TBLPROPERTIES pairs alone', () => {
  assert.deepEqual(validateSql(`CREATE TABLE t (a BIGINT) ${HANDLER}\nTBLPROPERTIES ('kafka.topic'='t'\n  'kafka.broker.list'='h:9092');`), [
    "2:33: syntax error: missing comma between the properties 'kafka.topic' and 'kafka.broker.list' (3:3): add ',' after 't'",
  ]);
});

test('a missing comma between columns, in the column list and in PARTITIONED BY, after a type or a comment', () => {
  assert.deepEqual(validateSql(`CREATE TABLE t (a BIGINT\n  b MAP<STRING,INT>, c STRING COMMENT 'the c' d DECIMAL(10,2))\nPARTITIONED BY (dt STRING country STRING)\n${HANDLER}\n${PROPS};`), [
    '1:25: syntax error: missing comma between the columns a and b: add \',\' after BIGINT',
    "2:46: syntax error: missing comma between the columns c and d: add ',' after the comment 'the c'",
    '3:26: syntax error: missing comma between the columns dt and country: add \',\' after STRING',
  ]);
});

test('clauses out of order alone: each misplaced clause named, the whole order given once', () => {
  assert.deepEqual(validateSql(`CREATE TABLE t (a BIGINT)\n${PROPS}\nLOCATION '/tmp/t'\n${HANDLER};`), [
    `3:1: syntax error: LOCATION must come before TBLPROPERTIES (2:1): move it up; ${ORDER}`,
    '4:1: syntax error: STORED BY must come before TBLPROPERTIES (2:1): move it up',
  ]);
});

test('STORED AS DIRECTORIES of SKEWED BY and the query of CREATE TABLE ... AS SELECT are not clauses', () => {
  assert.deepEqual(validateSql('CREATE TABLE t (a INT) SKEWED BY (a) ON (1) STORED AS DIRECTORIES STORED AS ORC LOCATION \'/x\';'), []);
  assert.deepEqual(validateSql('CREATE TABLE t STORED AS ORC AS SELECT location, a AS b FROM x;'), []);
});

test('after a known mistake only what the grammar still finds is reported, at its place in the original text', () => {
  assert.deepEqual(validateSql(`// c\nCREATE TABLE t (a BIGINT) ${HANDLER} LOCATON '/x';`), [
    "1:1: syntax error: '//' does not start a comment in Hive SQL; write '--' instead",
    "2:94: syntax error: 'LOCATON' is not valid at this position, expecting a keyword",
  ]);
});

test('without a known mistake the grammar speaks as before', () => {
  assert.deepEqual(validateSql('CREATE TABLE t (a INT b) STORED AS ORC;'), ["1:23: syntax error: 'b' is not valid at this position, expecting a keyword"]);
});

test('the DDL corpus: every valid fixture passes, every invalid one is refused naming its property, not its syntax', () => {
  const dir = (kind: string) => join('fixtures/ddl', kind);
  for (const f of readdirSync(dir('valid'))) assert.deepEqual(validateSql(readFileSync(join(dir('valid'), f), 'utf8')), [], f);
  for (const f of readdirSync(dir('invalid'))) {
    const sql = readFileSync(join(dir('invalid'), f), 'utf8');
    const property = /^-- expect-property: (.+)$/m.exec(sql)![1]!.trim();
    const problems = validateSql(sql);
    assert.ok(problems.length > 0 && problems.every((p) => !p.includes('syntax error')), `${f}: ${problems.join('\n')}`);
    assert.ok(problems.some((p) => p.includes(`property '${property}'`)), `${f}: ${problems.join('\n')}`);
  }
});

test('hive-kafka validate prints the seed\'s three mistakes with the file name and exits 1', () => {
  const run = spawnSync(process.execPath, ['bin/hive-kafka.mjs', 'validate', SEED], { encoding: 'utf8' });
  assert.equal(run.status, 1, run.stderr);
  assert.deepEqual(run.stderr.trimEnd().split('\n'), SEED_PROBLEMS.map((p) => `${SEED}:${p}`));
});
