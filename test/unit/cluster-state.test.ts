// The pieces of the cluster that need no Kafka: the holder file, a new owner taking the state log's
// word into its ledger, and the order of the fenced commit (state log first, then the ledger).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holdTable, readHolder, releaseTable } from '../../src/cluster/holder.ts';
import { Ledger, type PortablePartition } from '../../src/ledger/ledger.ts';
import { recover, type BatchIntent } from '../../src/sink/commit.ts';
import { LocalFileSystem } from '../../src/sink/fs.ts';
import { commitLedger } from '../../src/task/commit-ledger.ts';

const fs = new LocalFileSystem();
const tableDir = () => mkdtempSync(join(tmpdir(), 'hive-kafka-holder-'));

test('of two services racing for a table, exactly one holds it; the other is told who', async () => {
  const dir = tableDir();
  const [a, b] = await Promise.all([holdTable(fs, dir, 'instance:a', 'a'), holdTable(fs, dir, 'instance:b', 'b')]);
  assert.equal([a, b].filter((r) => r.ok).length, 1);
  const loser = [a, b].find((r) => !r.ok)!;
  assert.ok(!loser.ok);
  assert.match(loser.holder.holder, /^instance:[ab]$/);
  assert.equal((await holdTable(fs, dir, (await readHolder(fs, dir))!.holder, 'again')).ok, true, 'the holder holds it again after a restart');
  assert.deepEqual(await fs.list(dir), ['.hive-kafka-holder'], 'no staged holder file is left behind');
});

test('a released table is held by the next service that asks', async () => {
  const dir = tableDir();
  assert.equal((await holdTable(fs, dir, 'cluster:one', 'x')).ok, true);
  assert.equal((await holdTable(fs, dir, 'instance:y', 'y')).ok, false);
  await releaseTable(fs, dir);
  assert.equal((await holdTable(fs, dir, 'instance:y', 'y')).ok, true);
  assert.equal((await readHolder(fs, dir))?.holder, 'instance:y');
});

function ledger(): Ledger {
  const l = Ledger.open(':memory:');
  l.upsertStream({ tableId: 7, dbName: 'default', tableName: 'pv', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
  return l;
}
const intent = (epoch: number, first: number, last: number, partition = 0): BatchIntent => ({
  tableId: 7, kafkaPartition: partition, firstOffset: first, lastOffset: last, recordCount: last - first + 1, ownerEpoch: epoch,
  files: [{ hiddenPath: `/t/.s/${first}.tmp`, finalPath: `/t/pv+${partition}+${first}+${last}.parquet`, partitionValues: null, bucket: null }],
});

test('a new owner takes the log\'s offsets and pending batch over a stale ledger, and reports what only the ledger knew', () => {
  const l = ledger();
  l.initPartitions(7, new Map([[0, 0], [1, 0], [2, 500]]));
  const epoch = l.claimPartitions(7, [0, 1, 2]);
  l.recordIntent(intent(epoch, 0, 9)); // this instance's own stale pending batch
  const pending: PortablePartition['pending'] = { firstOffset: 120, lastOffset: 149, recordCount: 30, ownerEpoch: 3, files: intent(3, 120, 149, 1).files };
  const onlyHere = l.importPortable(7, new Map<number, PortablePartition>([[0, { next: 100, pending: null }], [1, { next: 120, pending }]]));
  assert.deepEqual(l.nextOffsets(7), new Map([[0, 100], [1, 120], [2, 500]]));
  assert.deepEqual(onlyHere, new Map([[2, 500]]), 'partition 2 is known only here: it goes to the log');
  const batches = l.pendingBatches(7);
  assert.equal(batches.length, 1, 'the stale batch of partition 0 is gone');
  assert.deepEqual({ p: batches[0]!.kafkaPartition, first: batches[0]!.firstOffset, last: batches[0]!.lastOffset, files: batches[0]!.files }, { p: 1, first: 120, last: 149, files: pending.files });
  l.markCommitted(batches[0]!);
  assert.equal(l.nextOffsets(7).get(1), 150);
});

test('in a cluster the state log is written first: a fenced write leaves the ledger untouched', async () => {
  const l = ledger();
  l.initPartitions(7, new Map([[0, 0]]));
  const epoch = l.claimPartitions(7, [0]);
  const written: [number, PortablePartition][] = [];
  let fenced = false;
  const port = commitLedger(l, async (p, state) => {
    if (fenced) throw Object.assign(new Error('another instance claimed it'), { name: 'OwnershipLostError' });
    written.push([p, state]);
  });
  const { batchId: id } = await port.recordIntent(intent(epoch, 0, 9));
  assert.deepEqual(written.map(([p, s]) => [p, s.next, s.pending?.lastOffset]), [[0, 0, 9]]);
  await port.markCommitted({ ...intent(epoch, 0, 9), batchId: id });
  assert.deepEqual(written.map(([p, s]) => [p, s.next, s.pending]), [[0, 0, written[0]![1].pending], [0, 10, null]]);
  assert.equal(l.nextOffsets(7).get(0), 10);

  fenced = true;
  await assert.rejects(Promise.resolve(port.recordIntent(intent(epoch, 10, 19))), /another instance claimed it/);
  assert.equal(l.pendingBatches(7).length, 0, 'no intent in the ledger after a fenced write');
  assert.equal(l.nextOffsets(7).get(0), 10);
});

test('in a cluster a pending batch whose staged files were cleared before a hand-over is read again by the new owner', async () => {
  // Instance A: its intent reached the state log, not its ledger (an ambiguous write); its restart
  // cleared staging as holding no intent. Instance B takes the table over with the log's pending batch.
  const b = ledger();
  b.initPartitions(7, new Map([[0, 0]]));
  const logged = intent(3, 120, 149);
  b.importPortable(7, new Map<number, PortablePartition>([[0, { next: 120, pending: { firstOffset: 120, lastOffset: 149, recordCount: 30, ownerEpoch: 3, files: logged.files } }]]));
  const written: [number, PortablePartition][] = [];
  const port = commitLedger(b, async (p, state) => { written.push([p, state]); });
  const empty = { writeFileDurably: async () => {}, rename: async () => { throw new Error('ENOENT'); }, exists: async (path: string) => path === '/t/.s',
    list: async () => [], mkdirs: async () => {}, remove: async () => {} };
  b.claimPartitions(7, [0]);
  // Before, this failed on 'batch file lost' at every restart, for good.
  assert.equal(await recover({ fs: empty, ledger: port, registerPartitions: async () => {}, stillAtLocation: async () => true }, 7, '/t', [0]), 1);
  assert.deepEqual(written, [[0, { next: 120, pending: null }]], 'the state log forgets the batch first');
  assert.equal(b.pendingBatches(7).length, 0);
  assert.equal(b.nextOffsets(7).get(0), 120, 'read again from its first offset');
});

test('a service alone writes only its ledger', () => {
  const l = ledger();
  assert.equal(commitLedger(l, undefined), l);
});
