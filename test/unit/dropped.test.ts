// What a DROP's clean-up removes at the table's location, on real files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDroppedFiles } from '../../src/sink/dropped.ts';
import { LocalFileSystem } from '../../src/sink/fs.ts';

function location(): { dir: string; staged: string; published: string } {
  const dir = join(mkdtempSync(join(tmpdir(), 'hive-kafka-dropped-')), 't');
  mkdirSync(join(dir, '.hive-kafka-staging', '0'), { recursive: true });
  const staged = join(dir, '.hive-kafka-staging', '0', '100-g0.1.tmp');
  const published = join(dir, 't+0+0+99.parquet');
  writeFileSync(staged, 'x');
  writeFileSync(published, 'x');
  return { dir, staged, published };
}

test('a dropped table whose data goes with it: its location goes again', async () => {
  const l = location();
  await removeDroppedFiles(new LocalFileSystem(), l.dir, { purgedOnDrop: true, locationInUse: false });
  assert.ok(!existsSync(l.dir));
});

test('a dropped external table: only its staging goes, its published files stay', async () => {
  const l = location();
  await removeDroppedFiles(new LocalFileSystem(), l.dir, { purgedOnDrop: false, locationInUse: false });
  assert.ok(!existsSync(join(l.dir, '.hive-kafka-staging')));
  assert.ok(existsSync(l.published));
});

test('a table created again at the dropped one\'s location: nothing goes, its staged batch included', async () => {
  for (const purgedOnDrop of [true, false]) {
    const l = location();
    await removeDroppedFiles(new LocalFileSystem(), l.dir, { purgedOnDrop, locationInUse: true });
    // Before, the staging directory went: the new table's batch, recorded as intent, failed on "batch file lost" for good.
    assert.ok(existsSync(l.staged), `purgedOnDrop ${purgedOnDrop}`);
    assert.ok(existsSync(l.published));
  }
});

test('a table created again before the DROP was applied: what the dropped table wrote after Hive purged the location goes, nothing else', async () => {
  const l = location();
  // After Hive's purge the dropped table's tasks published a batch into a partition directory and a
  // compaction of it (not switched) wrote its output; the new table's staged batch and a file of someone else's are there too.
  const partitionDir = join(l.dir, 'dt=2026-12-07');
  mkdirSync(partitionDir);
  const late = join(partitionDir, 't+0+100+199.parquet');
  writeFileSync(late, 'x');
  const compacted = join(l.dir, '_hive_kafka_compacted', '4-ab12');
  mkdirSync(compacted, { recursive: true });
  writeFileSync(join(compacted, 'part-0.parquet'), 'x');
  const purgedBefore = join(l.dir, 't+0+0+49.parquet'); // recorded, gone with Hive's purge
  const removed = await removeDroppedFiles(new LocalFileSystem(), l.dir, {
    purgedOnDrop: true, locationInUse: true,
    ownFiles: { files: [late, purgedBefore, '/elsewhere/t+0+200+299.parquet'], dirs: [compacted] },
  });
  assert.equal(removed, 2);
  assert.ok(!existsSync(late), 'the late file');
  assert.ok(existsSync(partitionDir), 'its directory stays: a Hive partition of the name may point there');
  assert.ok(!existsSync(compacted));
  assert.ok(existsSync(l.dir) && existsSync(l.staged) && existsSync(l.published), 'the location, the new table\'s staged batch and a file not recorded stay');
  // Not purged by the DROP (external.table.purge=false): its files stay, as Hive keeps them.
  const kept = join(l.dir, 't+0+300+399.parquet');
  writeFileSync(kept, 'x');
  assert.equal(await removeDroppedFiles(new LocalFileSystem(), l.dir, { purgedOnDrop: false, locationInUse: true, ownFiles: { files: [kept], dirs: [] } }), 0);
  assert.ok(existsSync(kept));
});
