// What a RENAME's directory move leaves behind: batches the tasks published (or wrote, not yet
// published) at the old location after Hive moved it go to the same place under the new one, the
// ledger's paths follow, and nothing of ours is left at the old location. Real files, real ledger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Ledger } from '../../src/ledger/ledger.ts';
import { LocalFileSystem } from '../../src/sink/local.ts';
import { relocate } from '../../src/sink/relocate.ts';
import type { BatchIntent } from '../../src/sink/commit.ts';

function setUp() {
  const root = mkdtempSync(join(tmpdir(), 'relocate-'));
  const from = join(root, 'old_name');
  const to = join(root, 'new_name');
  const ledger = Ledger.open(':memory:');
  ledger.upsertStream({ tableId: 7, dbName: 'default', tableName: 'old_name', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
  ledger.initPartitions(7, new Map([[0, 0]]));
  const epoch = ledger.claimPartitions(7, [0]);
  const batch = (first: number, last: number, dt: string): BatchIntent => ({
    tableId: 7, kafkaPartition: 0, firstOffset: first, lastOffset: last, recordCount: last - first + 1, ownerEpoch: epoch,
    files: [{ hiddenPath: join(from, '.hive-kafka-staging', '0', `${first}-0.tmp`), finalPath: join(from, `dt=${dt}`, `t+0+${first}+${last}.parquet`), partitionValues: [dt], bucket: null }],
  });
  const put = (path: string) => { mkdirSync(dirname(path), { recursive: true }); writeFileSync(path, 'x'); };
  return { root, from, to, ledger, batch, put };
}

test('published and pending files left at the old location move under the new one; the ledger points there; the old location goes', async () => {
  const { from, to, ledger, batch, put } = setUp();
  // Two batches published before Hive moved the directory...
  for (const b of [batch(0, 9, 'a'), batch(10, 19, 'b')]) { put(b.files[0]!.finalPath); ledger.markCommitted(ledger.recordIntent(b)); }
  renameSync(from, to); // ... Hive's move ...
  // ... then one published at the old location, and one whose hidden file is there, its intent recorded.
  const straggler = batch(20, 29, 'b');
  put(straggler.files[0]!.finalPath);
  ledger.markCommitted(ledger.recordIntent(straggler));
  ledger.markCommitted(ledger.recordIntent({ ...batch(30, 34, 'c'), files: [] })); // every record filtered out: no file
  const pending = batch(35, 39, 'c');
  put(pending.files[0]!.hiddenPath);
  ledger.recordIntent(pending);
  put(join(from, '.hive-kafka-staging', '0', '40-g1.7.tmp')); // a batch still filling: never recorded
  ledger.recordRelocation(7, 'file:/old_name', 'file:/new_name');

  const moved = await relocate(new LocalFileSystem(), ledger, { tableId: 7, fromLocation: 'file:/old_name', fromDir: from, toDir: to });

  assert.equal(moved, 2);
  assert.equal(existsSync(from), false, 'nothing of ours left at the old location');
  assert.deepEqual(readdirSync(join(to, 'dt=b')).sort(), ['t+0+10+19.parquet', 't+0+20+29.parquet']);
  assert.ok(existsSync(join(to, '.hive-kafka-staging', '0', '35-0.tmp')));
  assert.ok(ledger.publishedFiles(7).every((p) => p.startsWith(`${to}/`)), ledger.publishedFiles(7).join(', '));
  assert.deepEqual(ledger.pendingBatches(7)[0]!.files.map((f) => [f.hiddenPath, f.finalPath]),
    [[join(to, '.hive-kafka-staging', '0', '35-0.tmp'), join(to, 'dt=c', 't+0+35+39.parquet')]]);
  assert.deepEqual(ledger.relocations(7), []);
  // Repeated (a crash after the moves, before the ledger): nothing moves twice, nothing fails.
  assert.equal(await relocate(new LocalFileSystem(), ledger, { tableId: 7, fromLocation: 'file:/old_name', fromDir: from, toDir: to }), 0);
});

test('what another table keeps at the old location stays', async () => {
  const { from, to, ledger, batch, put } = setUp();
  const b = batch(0, 9, 'a');
  put(b.files[0]!.finalPath);
  ledger.markCommitted(ledger.recordIntent(b));
  renameSync(from, to);
  put(join(from, 'someone-elses.parquet')); // a table created at the old name since
  await relocate(new LocalFileSystem(), ledger, { tableId: 7, fromLocation: 'file:/old_name', fromDir: from, toDir: to });
  assert.deepEqual(readdirSync(from), ['someone-elses.parquet']);
  assert.ok(existsSync(b.files[0]!.finalPath.replace(from, to)));
});
