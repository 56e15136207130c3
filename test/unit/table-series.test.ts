// A dropped or renamed table's Prometheus series go; the live tables' series stay with their values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { forgetGoneTables } from '../../src/observe/table-series.ts';

test('series of tables not live are removed, with every label set and histogram bucket; live ones keep their values', async () => {
  const registry = new Registry();
  const commits = new Counter({ name: 'commits_total', help: 'x', labelNames: ['table'], registers: [registry] });
  const failures = new Counter({ name: 'failures_total', help: 'x', labelNames: ['table', 'retriable'], registers: [registry] });
  const seconds = new Histogram({ name: 'commit_seconds', help: 'x', labelNames: ['table'], buckets: [0.1, 1], registers: [registry] });
  for (const table of ['db.kept', 'db.dropped', 'db.old_name']) {
    commits.inc({ table }, 3);
    failures.inc({ table, retriable: 'true' });
    failures.inc({ table, retriable: 'false' });
    seconds.observe({ table }, 0.5);
  }

  await forgetGoneTables([commits, failures, seconds], new Set(['db.kept', 'db.new_name']));

  const text = await registry.metrics();
  assert.doesNotMatch(text, /db\.dropped|db\.old_name/);
  assert.match(text, /^commits_total\{table="db\.kept"\} 3$/m);
  assert.match(text, /^failures_total\{table="db\.kept",retriable="false"\} 1$/m);
  assert.match(text, /^commit_seconds_bucket\{le="1",table="db\.kept"\} 1$/m);
  assert.match(text, /^commit_seconds_count\{table="db\.kept"\} 1$/m);
  // A series removed starts again from zero if the name comes back (DROP, then CREATE of the same name).
  commits.inc({ table: 'db.dropped' });
  assert.match(await registry.metrics(), /^commits_total\{table="db\.dropped"\} 1$/m);
});
