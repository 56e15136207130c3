import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FencedError, KEPT_ERRORS, Ledger } from '../../src/ledger/ledger.ts';
import type { BatchIntent } from '../../src/sink/commit.ts';

function ledgerWithStream(): Ledger {
  const l = Ledger.open(':memory:');
  l.upsertStream({ tableId: 7, dbName: 'default', tableName: 'pageviews', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
  l.initPartitions(7, new Map([[0, 0], [1, 100]]));
  return l;
}

const intent = (epoch: number, first: number, last: number): BatchIntent => ({
  tableId: 7, kafkaPartition: 0, firstOffset: first, lastOffset: last, recordCount: last - first + 1, ownerEpoch: epoch,
  files: [{ hiddenPath: `/t/_tmp.${first}`, finalPath: `/t/pageviews+0+${first}+${last}.parquet`, partitionValues: ['2024-01-01'], bucket: null }],
});

test('a committed batch moves the next offset past its last record', () => {
  const l = ledgerWithStream();
  const epoch = l.claimPartitions(7, [0, 1]);
  const id = l.recordIntent(intent(epoch, 0, 9));
  assert.equal(l.nextOffsets(7).get(0), 0, 'intent alone does not move the offset');
  assert.equal(l.pendingBatches(7).length, 1);
  l.markCommitted(id);
  l.markCommitted(id); // replaying a commit is harmless
  assert.equal(l.nextOffsets(7).get(0), 10);
  assert.equal(l.pendingBatches(7).length, 0);
  assert.deepEqual(l.publishedFiles(7), ['/t/pageviews+0+0+9.parquet']);
});

test('record counts and last commit times are kept by the commit itself, a replay counted once; an older ledger gets them from its batches', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.db');
  const l = Ledger.open(path);
  l.upsertStream({ tableId: 7, dbName: 'default', tableName: 'pageviews', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
  l.initPartitions(7, new Map([[0, 0], [1, 100]]));
  const epoch = l.claimPartitions(7, [0, 1]);
  const first = l.recordIntent({ ...intent(epoch, 0, 9), filteredCount: 2, rejectedCount: 1, recordCount: 7 });
  l.markCommitted(first);
  l.markCommitted(first); // a replayed commit
  l.markCommitted(l.recordIntent({ ...intent(epoch, 100, 119), kafkaPartition: 1, files: [] }));
  l.recordIntent(intent(epoch, 10, 19)); // written, not committed: not counted
  const counts = l.recordCounts(7);
  const times = l.lastCommitTimes(7);
  assert.deepEqual(counts, { stored: 27, filtered: 2, rejected: 1 });
  assert.deepEqual([...times.keys()].sort(), [0, 1]);
  const db = (l as unknown as { db: { exec(sql: string): void; prepare(sql: string): { all(...a: unknown[]): { detail: string }[] } } }).db;
  const plan = (sql: string) => db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(7).map((r) => r.detail).join('; ');
  assert.doesNotMatch(plan('SELECT COALESCE(SUM(stored_records), 0) FROM partition_offsets WHERE table_id = ?'), /batches/);
  assert.match(plan('SELECT hidden_path FROM batch_files WHERE batch_id = ?'), /USING INDEX batch_files_by_batch/);
  // The ledger as it was before these columns: the migration sums what its batches hold.
  db.exec(`DROP INDEX batch_files_by_batch; ALTER TABLE partition_offsets DROP COLUMN stored_records; ALTER TABLE partition_offsets DROP COLUMN filtered_records;
    ALTER TABLE partition_offsets DROP COLUMN rejected_records; ALTER TABLE partition_offsets DROP COLUMN last_commit_at; DELETE FROM schema_migrations WHERE version = 8;`);
  l.close();
  const again = Ledger.open(path);
  assert.deepEqual(again.recordCounts(7), counts);
  assert.deepEqual(again.lastCommitTimes(7), times);
  again.close();
});

test('a replaced owner is fenced from recording intents', () => {
  const l = ledgerWithStream();
  const old = l.claimPartitions(7, [0]);
  const successor = l.claimPartitions(7, [0]);
  assert.ok(successor > old);
  assert.throws(() => l.recordIntent(intent(old, 0, 9)), FencedError);
  assert.doesNotThrow(() => l.recordIntent(intent(successor, 0, 9)));
});

test('an intent may not overlap committed offsets nor pile up behind a pending batch', () => {
  const l = ledgerWithStream();
  const epoch = l.claimPartitions(7, [0]);
  l.markCommitted(l.recordIntent(intent(epoch, 0, 9)));
  assert.throws(() => l.recordIntent(intent(epoch, 5, 12)), /does not start at or after the next offset 10/);
  l.recordIntent(intent(epoch, 10, 19));
  assert.throws(() => l.recordIntent(intent(epoch, 20, 29)), /already has a batch waiting/);
});

test('known partitions keep their offsets when partitions are initialised again', () => {
  const l = ledgerWithStream();
  l.initPartitions(7, new Map([[0, 500], [2, 0]]));
  assert.deepEqual([...l.nextOffsets(7)].sort(), [[0, 0], [1, 100], [2, 0]]);
});

test('rebuild sets next = last published offset + 1 and never moves backwards', () => {
  const l = ledgerWithStream();
  l.rebuildOffsets(7, new Map([[0, 41], [1, 50], [3, 9]]));
  assert.deepEqual(Object.fromEntries(l.nextOffsets(7)), { 0: 42, 1: 100, 3: 10 });
});

test('the cursor, history and state survive a reopen of the file', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.db');
  const a = Ledger.open(path);
  a.upsertStream({ tableId: 1, dbName: 'db', tableName: 't', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
  a.setDesiredState(1, 'paused', 'paused');
  a.setDesiredState(1, 'dropped', 'dropped');
  a.setWatcherCursor(12345678901234n);
  a.close();
  const b = Ledger.open(path);
  assert.equal(b.watcherCursor(), 12345678901234n);
  assert.equal(b.listStreams().length, 0, 'a dropped table is not live');
  assert.equal(b.listStreams({ includeDropped: true })[0]?.desiredState, 'dropped');
  assert.deepEqual(b.history(1).map((h) => h.event), ['created', 'paused', 'dropped'], 'history is kept for audit');
  b.close();
});

test('history events say where they came from: a metastore notice (every member records it) or this service', () => {
  const l = ledgerWithStream();
  l.fromMetastore(() => l.setDesiredState(7, 'paused', 'paused'));
  l.setFailure(7, 'boom', 'task-failed', { error: 'boom' });
  assert.throws(() => l.fromMetastore(() => { l.appendHistory(7, 'altered'); throw new Error('in the middle'); }), /in the middle/);
  l.appendHistory(7, 'offset-gap');
  assert.deepEqual(l.allHistory().map((h) => `${h.event} ${h.origin}`), [
    'created service', 'paused metastore', 'task-failed service', 'altered metastore', 'offset-gap service']);
});

test('a task failing the same way again is counted on its row; another task, another error or an event between starts a new row', () => {
  const l = ledgerWithStream();
  const refused = (port: number) => `KafkaJSConnectionError: connect ECONNREFUSED 10.0.0.7:${port}`;
  for (let i = 0; i < 50; i++) {
    l.appendOrCountHistory(7, 'task-failed', { task: 'task-0', partitions: [0], error: refused(9092 + (i % 2)) });
    l.appendOrCountHistory(7, 'task-failed', { task: 'task-1', partitions: [1], error: refused(9092) });
  }
  l.appendOrCountHistory(7, 'task-failed', { task: 'task-0', partitions: [0], error: 'hung: no heartbeat for 31 s; killed and replaced' });
  l.appendHistory(7, 'altered');
  l.appendOrCountHistory(7, 'task-failed', { task: 'task-0', partitions: [0], error: refused(9092) });
  const rows = l.history(7).map((h) => ({ event: h.event, ...(h.detail as { task?: string; repeats?: number; lastError?: string }) }));
  assert.deepEqual(rows.map((r) => [r.event, r.task, r.repeats]), [
    ['created', undefined, undefined],
    ['task-failed', 'task-0', 49],
    ['task-failed', 'task-1', 49],
    ['task-failed', 'task-0', undefined],
    ['altered', undefined, undefined],
    ['task-failed', 'task-0', undefined],
  ]);
  assert.equal(rows[1]!.lastError, refused(9093), 'the counted row keeps the first error and shows the last');
});

test('the history version moves with every change of the history, and only then', () => {
  const l = ledgerWithStream();
  const moved = (what: string, change: () => void) => {
    const before = l.historyVersion();
    change();
    assert.ok(l.historyVersion() > before, `${what} moves the history version`);
  };
  moved('an appended event', () => l.appendHistory(7, 'altered'));
  moved('a DDL state', () => l.setDesiredState(7, 'paused', 'paused'));
  moved('a failure', () => l.setFailure(7, 'boom', 'task-failed', { error: 'boom' }));
  moved('a first failure of a task', () => l.appendOrCountHistory(7, 'task-failed', { task: 'task-0', partitions: [0], error: 'refused 1' }));
  moved('a repeat counted on its row', () => l.appendOrCountHistory(7, 'task-failed', { task: 'task-0', partitions: [0], error: 'refused 2' }));
  const still = l.historyVersion();
  l.allHistory();
  l.history(7);
  l.setFailure(7, null);
  l.recordError(7, 'task', 'not history');
  assert.equal(l.historyVersion(), still, 'reads, and changes that add no event, leave it');
});

test('a table keeps its newest 100 errors, found by index: status asks for every table\'s latest each round', () => {
  const l = ledgerWithStream();
  for (let i = 0; i < 150; i++) l.recordError(7, 'task', `try ${i}`);
  for (let i = 0; i < 3; i++) l.recordError(null, 'watcher', `metastore down ${i}`);
  const kept = l.recentErrors(7, 1000);
  assert.equal(kept.length, KEPT_ERRORS);
  assert.deepEqual([kept[0]!.message, kept.at(-1)!.message], ['try 149', 'try 50']);
  assert.equal(l.recentErrors(8, 1).length, 0);
  const db = (l as unknown as { db: { prepare(sql: string): { all(...a: unknown[]): { detail: string }[] } } }).db;
  const plan = db.prepare('EXPLAIN QUERY PLAN SELECT at, scope, message FROM errors WHERE table_id = ? ORDER BY id DESC LIMIT ?').all(7, 1).map((r) => r.detail).join('; ');
  assert.match(plan, /USING INDEX errors_by_table/, plan);
});

test('heartbeats of many tasks are written together, each to its own task', () => {
  const l = ledgerWithStream();
  l.saveTask({ tableId: 7, taskId: 'task-0', partitions: [0], state: 'running' });
  l.saveTask({ tableId: 7, taskId: 'task-1', partitions: [1], state: 'running' });
  l.heartbeats([]);
  assert.deepEqual(l.tasks(7).map((t) => t.heartbeatAt), [null, null], 'no beats, no change');
  l.heartbeats([{ tableId: 7, taskId: 'task-0', at: 1000 }, { tableId: 7, taskId: 'task-1', at: 2000 }, { tableId: 7, taskId: 'task-9', at: 3000 }]);
  assert.deepEqual(l.tasks(7).map((t) => [t.taskId, t.heartbeatAt]), [['task-0', 1000], ['task-1', 2000]], 'a beat of a task the ledger no longer has is dropped');
});

test('atomically: the writes inside commit together, or none of them when one throws (as a notice of a RENAME records its row, relocation and history)', () => {
  const l = ledgerWithStream();
  assert.throws(() => l.atomically(() => {
    l.upsertStream({ tableId: 7, dbName: 'default', tableName: 'renamed', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
    l.appendHistory(7, 'renamed', { from: 'default.pageviews' });
    throw new Error('the process died here');
  }), /the process died here/);
  assert.equal(l.getStream(7)!.tableName, 'pageviews', 'the stream row is as before');
  assert.equal(l.history(7).filter((h) => h.event === 'renamed').length, 0, 'no history row');
  l.atomically(() => {
    l.upsertStream({ tableId: 7, dbName: 'default', tableName: 'renamed', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
    l.appendHistory(7, 'renamed', { from: 'default.pageviews' });
  });
  assert.equal(l.getStream(7)!.tableName, 'renamed');
  assert.equal(l.history(7).filter((h) => h.event === 'renamed').length, 1);
});

test('a dropped table\'s late files: its batches committed since a time, or not committed', async () => {
  const l = ledgerWithStream();
  const epoch = l.claimPartitions(7, [0, 1]);
  assert.deepEqual(l.batchPartitions(7), []);
  l.markCommitted(l.recordIntent(intent(epoch, 0, 9)));
  await new Promise((r) => setTimeout(r, 5));
  const since = Date.now();
  l.markCommitted(l.recordIntent(intent(epoch, 10, 19)));
  l.recordIntent(intent(epoch, 20, 29)); // written, not committed
  assert.deepEqual(l.filesOfTableSince(7, since), ['/t/pageviews+0+10+19.parquet', '/t/pageviews+0+20+29.parquet']);
  assert.deepEqual(l.batchPartitions(7), [0]);
  // Why such a file is the dropped table's: no other batch can record its path.
  l.upsertStream({ tableId: 8, dbName: 'default', tableName: 'pageviews', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
  l.initPartitions(8, new Map([[0, 0]]));
  assert.throws(() => l.recordIntent({ ...intent(l.claimPartitions(8, [0]), 20, 29), tableId: 8 }),
    /table 8: batch file \/t\/pageviews\+0\+20\+29.parquet is already recorded for table default.pageviews \(id 7\), partition 0 offsets 20..29; .*give one of them another LOCATION/);
  // Renamed away while paused: its paths follow it when it runs again (src/sink/relocate.ts), which is the way out.
  l.recordRelocation(7, 'file:/t', 'file:/t_archive');
  assert.throws(() => l.recordIntent({ ...intent(l.claimPartitions(8, [0]), 20, 29), tableId: 8 }),
    /that table was renamed away from this location and its files are recorded here until its tasks run again: resume default.pageviews$/);
});

test('DROP, then CREATE of the same table over the same topic: the dropped table\'s batches give their file names up to the new one', () => {
  const l = ledgerWithStream();
  const old = l.claimPartitions(7, [0, 1]);
  l.markCommitted(l.recordIntent(intent(old, 0, 9)));
  l.recordIntent(intent(old, 10, 19)); // written, never committed: its table was dropped first
  l.setDesiredState(7, 'dropped', 'dropped');
  l.upsertStream({ tableId: 8, dbName: 'default', tableName: 'pageviews', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
  l.initPartitions(8, new Map([[0, 0]]));
  const epoch = l.claimPartitions(8, [0]);
  // Before 2026-12-07 this failed on the UNIQUE path at every retry, and the table never ingested.
  l.markCommitted(l.recordIntent({ ...intent(epoch, 0, 9), tableId: 8 }));
  l.markCommitted(l.recordIntent({ ...intent(epoch, 10, 19), tableId: 8 }));
  assert.deepEqual(l.publishedFiles(8), ['/t/pageviews+0+0+9.parquet', '/t/pageviews+0+10+19.parquet']);
  assert.deepEqual(l.nextOffsets(8).get(0), 20);
  // The dropped table's rows stay, for audit, under names no file has: its clean-up finds nothing of the new table's.
  assert.deepEqual(l.publishedFiles(7), ['/t/pageviews+0+0+9.parquet (name given up to table 8)']);
  assert.deepEqual(l.filesOfTableSince(7, 0), ['/t/pageviews+0+0+9.parquet (name given up to table 8)', '/t/pageviews+0+10+19.parquet (name given up to table 8)']);
  assert.deepEqual(l.pendingBatches(7).map((b) => b.files[0]!.finalPath), ['/t/pageviews+0+10+19.parquet (name given up to table 8)']);
  // A third table of the name takes it from the second once that one is dropped too.
  l.setDesiredState(8, 'dropped', 'dropped');
  l.upsertStream({ tableId: 9, dbName: 'default', tableName: 'pageviews', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
  l.initPartitions(9, new Map([[0, 0]]));
  l.recordIntent({ ...intent(l.claimPartitions(9, [0]), 0, 9), tableId: 9 });
  assert.deepEqual(l.publishedFiles(8), ['/t/pageviews+0+0+9.parquet (name given up to table 9)', '/t/pageviews+0+10+19.parquet']);
});
