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
