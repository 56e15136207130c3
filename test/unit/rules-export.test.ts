// The Java meta hook enforces the JSON export of src/properties/rules.ts; it must never lag behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RULES_JSON_PATH, rulesJson } from '../../src/properties/export-rules.ts';
import { readmeRows } from '../../src/lifecycle/readme-rows.ts';

test('the rules JSON in hooks/ is what src/properties exports (run npm run gen:rules if not)', () => {
  assert.equal(readFileSync(RULES_JSON_PATH, 'utf8'), rulesJson());
});

test('the README lists every property with its default, allowed values and ALTER effect', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const row of readmeRows().split('\n')) assert.ok(readme.includes(row), `README lacks the row:\n${row}`);
});
