// Writes the contract as JSON for the Java meta hook (npm run gen:rules). A unit test fails when the
// committed file differs from what this would write, so Hive and the service cannot drift apart.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { COMBINATIONS, EXTRA_PREFIXES, PATTERNS, PROPERTIES, RESERVED_CLIENT_KEYS, SECRET_KEY_PATTERN } from './rules.ts';
import { describeRule } from './parse.ts';
import { DDL_MESSAGES, schemaChangeJson } from './schema-change.ts';

export const RULES_JSON_PATH = fileURLToPath(
  new URL('../../hooks/src/main/resources/org/apache/hadoop/hive/kafka/tblproperties-rules.json', import.meta.url));

export function rulesJson(): string {
  const doc = {
    comment: 'Generated from src/properties/rules.ts by `npm run gen:rules`; do not edit.',
    properties: PROPERTIES.map((p) => ({ ...p, allowed: describeRule(p.rule) })),
    patterns: PATTERNS,
    combinations: COMBINATIONS,
    extraPrefixes: EXTRA_PREFIXES,
    reservedClientKeys: RESERVED_CLIENT_KEYS,
    secretKeyPattern: SECRET_KEY_PATTERN.source,
    schemaChange: schemaChangeJson(),
    messages: DDL_MESSAGES,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeFileSync(RULES_JSON_PATH, rulesJson());
