// What a DROP leaves at the table's location, removed once the table's tasks have stopped.
import { posix } from 'node:path';
import { stagingDir } from './commit.ts';
import { removeDirOfFiles, type FileSystem } from './fs.ts';

/** What the dropped table wrote under the location, as its ledger recorded it. */
export interface DroppedTableFiles {
  /**
   * Final paths of its late batches' files (Parquet and dead letters). The file at such a path is its
   * own: the ledger records a path for one batch only (a name a table created since takes over is
   * renamed in the dropped table's rows, and that table waits for this clean-up first), a batch
   * records its paths before it publishes, and a publish never replaces a file.
   */
  files: readonly string[];
  /** Directories only it made and no Hive partition points at: its unswitched compactions' outputs and their staging. */
  dirs: readonly string[];
}

/**
 * Hive deleted the location of a table whose data goes with it (`purgedOnDrop`), but a batch committed
 * between that purge and the moment the DROP reached the service re-created it: so the location goes
 * again. Otherwise only the staging files go. While a live table uses the location (DROP, then CREATE
 * of the same name) the location stays: the dropped table's own late files go (`ownFiles`), the rest stays.
 * Returns how many of those own files and directories went (0 in every other case).
 */
export async function removeDroppedFiles(fs: Pick<FileSystem, 'exists' | 'list' | 'remove' | 'removeTree'>, path: string,
  opts: { purgedOnDrop: boolean; locationInUse: boolean; ownFiles?: DroppedTableFiles }): Promise<number> {
  if (opts.locationInUse) return opts.purgedOnDrop && opts.ownFiles ? removeOwnFiles(fs, path, opts.ownFiles) : 0;
  if (opts.purgedOnDrop) {
    await fs.removeTree(path);
    return 0;
  }
  const root = posix.dirname(stagingDir(path, 0));
  if (!(await fs.exists(root))) return 0;
  for (const p of await fs.list(root)) await removeDirOfFiles(fs, posix.join(root, p));
  await fs.remove(root);
  return 0;
}

/**
 * Hive purged the location at the DROP, so whatever of the dropped table's is there now was written
 * after it. Its files go; the directories they were in stay: a Hive partition the dropped table's
 * tasks registered for its name (the new table's now) may point there, and Hive fails a query of a
 * storage-handler table over a partition whose directory is missing.
 */
async function removeOwnFiles(fs: Pick<FileSystem, 'exists' | 'list' | 'remove' | 'removeTree'>, path: string, own: DroppedTableFiles): Promise<number> {
  const under = (p: string) => p.startsWith(`${path}/`);
  let removed = 0;
  for (const file of own.files.filter(under)) {
    if (!(await fs.exists(file))) continue;
    await fs.remove(file);
    removed += 1;
  }
  for (const dir of own.dirs.filter(under)) {
    if (!(await fs.exists(dir))) continue;
    await fs.removeTree(dir);
    removed += 1;
  }
  return removed;
}
