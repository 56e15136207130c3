// A task whose source fails inside its start: no batch timer is left running for the failed task
// (nothing would ever stop it), and a source whose start throws is stopped (its client may be connected).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IngestionTask, type TaskDeps } from '../../src/task/task.ts';
import { parseTableProperties } from '../../src/properties/parse.ts';
import type { PartitionSource, SourceOptions } from '../../src/task/source.ts';

function taskWith(source: (o: SourceOptions) => PartitionSource) {
  const parsed = parseTableProperties({ 'kafka.topic': 't', 'kafka.broker.list': '127.0.0.1:9092', 'kafka.max.batch.period.ms': '200' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const seen = { failures: [] as string[], timerTicks: 0 };
  // Only what start() reaches: a twin ledger and file system with nothing to recover.
  const deps = {
    fs: { exists: async () => false },
    ledger: { claimPartitions: () => 1, pendingBatches: () => [], nextOffsets: () => new Map([[0, 0]]) },
    registerPartitions: async () => {}, registries: {}, addColumns: async () => [],
    logStartOffsets: async () => new Map(),
    onFailure: (e: Error) => { seen.failures.push(e.message); },
    enter: () => { seen.timerTicks++; }, // the batch timer enters the task at every tick
    openSource: async (o: SourceOptions) => source(o),
  } as unknown as TaskDeps;
  const dir = mkdtempSync(join(tmpdir(), 'task-start-'));
  const task = new IngestionTask({ taskId: 't0', tableId: 1, table: 'db.t', partitions: [0], spec: parsed.spec, layout: { dir, columns: [{ name: 'a', type: 'string' }], partitionKeys: [] }, auth: {} } as never, deps);
  return { task, seen };
}

test('a source that crashes inside its start (a failed group join): the task fails once and runs no batch timer', async () => {
  let stops = 0;
  const { task, seen } = taskWith((o) => ({ start: async () => { o.onCrash(new Error('group join failed')); }, committed: async () => {}, stop: async () => { stops++; } }));
  await task.start();
  await new Promise((r) => setTimeout(r, 400)); // two periods of the timer
  assert.deepEqual(seen.failures, ['group join failed']);
  assert.equal(seen.timerTicks, 0, 'no timer ticks for a failed task');
  assert.ok(stops >= 1, 'the source was stopped');
});

test('a source whose start throws is stopped before the error goes on', async () => {
  let stops = 0;
  const { task } = taskWith(() => ({ start: async () => { throw new Error('no leader for partition 0'); }, committed: async () => {}, stop: async () => { stops++; } }));
  await assert.rejects(task.start(), /no leader/);
  assert.equal(stops, 1);
});
