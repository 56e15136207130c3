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

  const done = await relocate(new LocalFileSystem(), ledger, { tableId: 7, fromLocation: 'file:/old_name', fromDir: from, toDir: to, topic: 't' });

  assert.deepEqual(done, { moved: 2, compactionsGivenUp: 0, stayed: 0 });
  assert.equal(existsSync(from), false, 'nothing of ours left at the old location');
  assert.deepEqual(readdirSync(join(to, 'dt=b')).sort(), ['t+0+10+19.parquet', 't+0+20+29.parquet']);
  assert.ok(existsSync(join(to, '.hive-kafka-staging', '0', '35-0.tmp')));
  assert.ok(ledger.publishedFiles(7).every((p) => p.startsWith(`${to}/`)), ledger.publishedFiles(7).join(', '));
  assert.deepEqual(ledger.pendingBatches(7)[0]!.files.map((f) => [f.hiddenPath, f.finalPath]),
    [[join(to, '.hive-kafka-staging', '0', '35-0.tmp'), join(to, 'dt=c', 't+0+35+39.parquet')]]);
  assert.deepEqual(ledger.relocations(7), []);
  // Repeated (a crash after the moves, before the ledger): nothing moves twice, nothing fails.
  assert.deepEqual(await relocate(new LocalFileSystem(), ledger, { tableId: 7, fromLocation: 'file:/old_name', fromDir: from, toDir: to, topic: 't' }), { moved: 0, compactionsGivenUp: 0, stayed: 0 });
});

test('what another table keeps at the old location stays', async () => {
  const { from, to, ledger, batch, put } = setUp();
  const b = batch(0, 9, 'a');
  put(b.files[0]!.finalPath);
  ledger.markCommitted(ledger.recordIntent(b));
  renameSync(from, to);
  put(join(from, 'someone-elses.parquet')); // a table created at the old name since
  await relocate(new LocalFileSystem(), ledger, { tableId: 7, fromLocation: 'file:/old_name', fromDir: from, toDir: to, topic: 't' });
  assert.deepEqual(readdirSync(from), ['someone-elses.parquet']);
  assert.ok(existsSync(b.files[0]!.finalPath.replace(from, to)));
});

test('a table created since at the old location keeps its staging and its directory; this table\'s files still move', async () => {
  const { from, to, ledger, batch, put } = setUp();
  const before = batch(0, 4, 'a');
  put(before.files[0]!.finalPath);
  ledger.markCommitted(ledger.recordIntent(before));
  renameSync(from, to);
  const straggler = batch(5, 9, 'a'); // published at the old location after Hive's move
  put(straggler.files[0]!.finalPath);
  ledger.markCommitted(ledger.recordIntent(straggler));
  ledger.recordRelocation(7, 'file:/old_name', 'file:/new_name');
  // The new table of the old name, running there (the relocation of a paused table waits for its resume).
  const itsBatch = join(from, '.hive-kafka-staging', '0', '100-0.tmp');
  put(itsBatch);
  put(join(from, '.hive-kafka-holder'));
  await relocate(new LocalFileSystem(), ledger, { tableId: 7, fromLocation: 'file:/old_name', fromDir: from, toDir: to, topic: 't', fromLocationInUse: true });
  assert.deepEqual(readdirSync(join(to, 'dt=a')).sort(), ['t+0+0+4.parquet', 't+0+5+9.parquet'], 'this table\'s file moved');
  assert.ok(existsSync(itsBatch), 'the new table\'s batch being written stays');
  assert.deepEqual(readdirSync(from).sort(), ['.hive-kafka-holder', '.hive-kafka-staging']);
});

test('a compaction planned and not switched when Hive moved the table: the batches published into its directory go to the new location, and it is given up', async (t) => {
  for (const readFrom of ['the compacted directory of an earlier compaction', 'the table directory itself'] as const) {
    await t.test(readFrom, async () => {
      const { from, to, ledger, put } = setUp();
      const batch = (first: number, last: number) => {
        const intent = ledger.recordIntent({ tableId: 7, kafkaPartition: 0, firstOffset: first, lastOffset: last, recordCount: last - first + 1, ownerEpoch: ledger.claimPartitions(7, [0]),
          files: [{ hiddenPath: join(from, '.hive-kafka-staging', '0', `${first}-0.tmp`), finalPath: join(from, `t+0+${first}+${last}.parquet`), partitionValues: null, bucket: null }] });
        put(intent.files[0]!.finalPath); // where the ledger bound it
        ledger.markCommitted(intent);
      };
      let hiveReads = from;
      if (readFrom === 'the compacted directory of an earlier compaction') {
        const first = ledger.planCompaction(7, from, [], join(from, '_hive_kafka_compacted', '1-aaaa'))!;
        batch(0, 9);
        ledger.compactionSwitched(first.compactionId, { inputFiles: 0, outputFiles: 1 });
        ledger.compactionDone(first.compactionId);
        hiveReads = first.newDir;
      } else {
        batch(0, 9);
      }
      const planned = ledger.planCompaction(7, from, [], join(from, '_hive_kafka_compacted', '2-bbbb'))!;
      assert.equal(planned.oldDir, hiveReads);
      put(join(planned.newDir, '_hive_kafka_compaction.json'));
      put(join(planned.newDir, 'compacted-2-bbbb-0000.parquet')); // a merged copy of what Hive reads
      batch(10, 19); // published into the planned compaction's directory
      renameSync(hiveReads, to); // Hive's RENAME moves the directory it reads, and only that one
      ledger.recordRelocation(7, `file:${hiveReads}`, `file:${to}`);

      assert.deepEqual(await relocate(new LocalFileSystem(), ledger, { tableId: 7, fromLocation: `file:${hiveReads}`, fromDir: hiveReads, toDir: to, topic: 't' }), { moved: 1, compactionsGivenUp: 1, stayed: 0 });

      assert.deepEqual(readdirSync(to).filter((n) => n.endsWith('.parquet')).sort(), ['t+0+0+9.parquet', 't+0+10+19.parquet']);
      assert.deepEqual(ledger.publishedFiles(7), [join(to, 't+0+0+9.parquet'), join(to, 't+0+10+19.parquet')]);
      assert.deepEqual(ledger.openCompactions(7), [], 'the planned compaction is given up');
      for (const dir of [planned.newDir, join(to, '_hive_kafka_compacted', '2-bbbb')]) assert.equal(existsSync(dir), false, `${dir} removed`);
      // Batches from now on are bound for the new location itself, and a compaction can be planned there.
      assert.equal(ledger.recordIntent({ tableId: 7, kafkaPartition: 0, firstOffset: 20, lastOffset: 29, recordCount: 10, ownerEpoch: ledger.claimPartitions(7, [0]),
        files: [{ hiddenPath: join(to, '.hive-kafka-staging', '0', '20-0.tmp'), finalPath: join(to, 't+0+20+29.parquet'), partitionValues: null, bucket: null }] }).files[0]!.finalPath,
      join(to, 't+0+20+29.parquet'));
    });
  }
});

test('in a cluster, the newest batches an owner that died published at the old location move too, found by their names from the committed offsets', async () => {
  const { from, to, ledger, put } = setUp();
  // This member's ledger knows the table only from the state log: offsets, no batches of the dead owner.
  ledger.importPortable(7, new Map([[0, { next: 40, pending: null }], [1, { next: 15, pending: null }]]));
  const at = (dir: string, ...names: string[]) => names.forEach((n) => put(join(dir, n)));
  // Published before Hive moved the directory, so now at the new location ...
  at(join(to, 'dt=a'), 't+0+0+9.parquet', 't+0+10+19.parquet');
  at(join(to, 'dt=a'), 't+1+0+14.parquet');
  // ... and after it, by the owner that died before its own move: two batches, one of them in two Hive
  // partitions, bucketed, with a dead letter beside it.
  at(join(from, 'dt=a'), 't+0+20+29.parquet', '000000_0_t+0+30+39.parquet', '000001_0_t+0+30+39.parquet');
  at(join(from, 'dt=b'), 't+0+30+39.parquet');
  at(join(from, '_hive_kafka_deadletter', 'records'), 't+0+30+39.jsonl');
  // Not ours to move: an older batch that does not chain to the committed offset, another topic's file.
  at(join(from, 'dt=a'), 't+0+0+4.parquet', 'other+0+20+39.parquet');
  ledger.recordRelocation(7, 'file:/old_name', 'file:/new_name');

  const done = await relocate(new LocalFileSystem(), ledger, { tableId: 7, fromLocation: 'file:/old_name', fromDir: from, toDir: to, topic: 't', sideDirs: ['_hive_kafka_deadletter/records'] });

  assert.deepEqual(done, { moved: 5, compactionsGivenUp: 0, stayed: 1 });
  assert.deepEqual(readdirSync(join(to, 'dt=a')).sort(), ['000000_0_t+0+30+39.parquet', '000001_0_t+0+30+39.parquet', 't+0+0+9.parquet', 't+0+10+19.parquet', 't+0+20+29.parquet', 't+1+0+14.parquet']);
  assert.deepEqual(readdirSync(join(to, 'dt=b')), ['t+0+30+39.parquet']);
  assert.deepEqual(readdirSync(join(to, '_hive_kafka_deadletter', 'records')), ['t+0+30+39.jsonl']);
  assert.deepEqual(readdirSync(join(from, 'dt=a')).sort(), ['other+0+20+39.parquet', 't+0+0+4.parquet']);
  assert.deepEqual(ledger.relocations(7), []);
});

test('in a cluster, batches of this member and of an owner that died before it, at the old location, all move', async () => {
  const { from, to, ledger, batch, put } = setUp();
  ledger.importPortable(7, new Map([[0, { next: 20, pending: null }]])); // the dead owner committed 0..19
  put(join(to, 'dt=a', 't+0+0+9.parquet')); // its batch published before Hive's move
  put(join(from, 'dt=a', 't+0+10+19.parquet')); // its batch published after it
  const mine = batch(20, 29, 'a'); // this member took over before it heard of the rename
  put(mine.files[0]!.finalPath);
  ledger.markCommitted(ledger.recordIntent(mine));
  ledger.recordRelocation(7, 'file:/old_name', 'file:/new_name');

  assert.deepEqual(await relocate(new LocalFileSystem(), ledger, { tableId: 7, fromLocation: 'file:/old_name', fromDir: from, toDir: to, topic: 't' }), { moved: 2, compactionsGivenUp: 0, stayed: 0 });
  assert.deepEqual(readdirSync(join(to, 'dt=a')).sort(), ['t+0+0+9.parquet', 't+0+10+19.parquet', 't+0+20+29.parquet']);
  assert.equal(existsSync(from), false, 'nothing of ours left at the old location');
});
