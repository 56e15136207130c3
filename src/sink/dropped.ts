// What a DROP leaves at the table's location, removed once the table's tasks have stopped.
import { posix } from 'node:path';
import { stagingDir } from './commit.ts';
import { removeDirOfFiles, type FileSystem } from './fs.ts';

/**
 * Hive deleted the location of a table whose data goes with it (`purgedOnDrop`), but a batch committed
 * between that purge and the moment the DROP reached the service re-created it: so the location goes
 * again. Otherwise only the staging files go. Nothing goes while a live table uses the location (DROP,
 * then CREATE of the same name): its staged batches are there now.
 */
export async function removeDroppedFiles(fs: Pick<FileSystem, 'exists' | 'list' | 'remove' | 'removeTree'>, path: string,
  opts: { purgedOnDrop: boolean; locationInUse: boolean }): Promise<void> {
  if (opts.locationInUse) return;
  if (opts.purgedOnDrop) {
    await fs.removeTree(path);
    return;
  }
  const root = posix.dirname(stagingDir(path, 0));
  if (!(await fs.exists(root))) return;
  for (const p of await fs.list(root)) await removeDirOfFiles(fs, posix.join(root, p));
  await fs.remove(root);
}
