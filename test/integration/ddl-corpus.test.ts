// One corpus of DDL, two judges that must agree: Hive (the meta hook in hooks/, through beeline) and
// `hive-kafka validate`. Every invalid fixture is refused by both, each naming the property.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { validateSql } from '../../src/cli/validate.ts';
import { requireHiveServer2, requireMetastore } from './helpers/services.ts';
import { runBeeline, runBeelineFile } from './helpers/beeline.ts';

const run = promisify(execFile);
const dir = (kind: string) => join('fixtures/ddl', kind);
const fixtures = (kind: string) => readdirSync(dir(kind)).filter((f) => f.endsWith('.sql')).sort()
  .map((f) => ({ name: f.replace(/\.sql$/, ''), path: join(dir(kind), f), sql: readFileSync(join(dir(kind), f), 'utf8') }));
const invalid = fixtures('invalid');
const valid = fixtures('valid');
const expected = (sql: string) => /^-- expect-property: (.+)$/m.exec(sql)![1]!.trim();

before(async () => { await requireMetastore(); await requireHiveServer2(); });

test('the corpus has at least 30 invalid cases', () => { assert.ok(invalid.length >= 30, `only ${invalid.length}`); });

test('hive-kafka validate refuses every invalid fixture, naming the property, and accepts the valid ones', () => {
  for (const f of invalid) {
    const problems = validateSql(f.sql);
    assert.ok(problems.some((p) => p.includes(`property '${expected(f.sql)}'`)), `${f.name}: ${JSON.stringify(problems)}`);
  }
  for (const f of valid) assert.deepEqual(validateSql(f.sql), [], f.name);
});

test('beeline refuses every invalid fixture, naming the property, and no table is created', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'ddl-')), 'invalid.sql');
  writeFileSync(file, invalid.map((f) => f.sql).join('\n'));
  const result = await run('bash', ['test/stack/beeline.sh', '--force=true', '--silent=true', '-f', file], { maxBuffer: 64 << 20 })
    .catch((e: { stdout: string; stderr: string }) => e);
  const output = `${result.stdout}${result.stderr}`;
  for (const f of invalid) {
    assert.ok(output.includes(`table default.ddl_invalid_${f.name}: property '${expected(f.sql)}'`), `beeline did not refuse ${f.name} naming ${expected(f.sql)}`);
  }
  const tables = await runBeeline("SHOW TABLES LIKE 'ddl_invalid_*'");
  assert.equal(tables.trim(), '');
});

test('beeline accepts every valid fixture', async () => {
  for (const f of valid) {
    const table = /CREATE TABLE (\w+)/.exec(f.sql)![1]!;
    await runBeelineFile(f.path);
    try {
      assert.match(await runBeeline(`SHOW TBLPROPERTIES ${table}('storage_handler')`), /KafkaStreamStorageHandler/);
    } finally {
      await runBeeline(`DROP TABLE IF EXISTS ${table}`);
    }
  }
});
