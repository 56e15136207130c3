// After a RENAME the metastore has moved the table's directory (Hive 4 moves a table translated to
// external to the new name's path, even from an explicit LOCATION). The service hears of it a moment later,
// and in that moment its tasks went on writing to the old location: batches published there would
// be committed in the ledger but outside every directory Hive reads, and a batch whose hidden file
// moved with the directory would find neither of its names. Before the table's tasks start again,
// this moves what they left at the old location to the same place under the new one, then points
// every path of the ledger there. Safe to repeat: a crash in between finishes it at the next start.
import { posix } from 'node:path';
import type { BatchFile } from './commit.ts';
import { compactionStaging, type Compaction } from './compact.ts';
import { removeDirOfFiles, type FileSystem } from './fs.ts';
import { publishedFilesUnder } from './published-names.ts';

export interface RelocationLedger {
  batchPartitions(tableId: number): number[];
  batchesNewestFirst(tableId: number, kafkaPartition: number, beforeBatchId: number, limit: number): { batchId: number; lastOffset: number; files: BatchFile[] }[];
  finishRelocation(tableId: number, fromLocation: string, fromDir: string, toDir: string): void;
  openCompactions(tableId: number): Compaction[];
  batchFilesIn(tableId: number, dir: string): string[];
  cancelCompaction(tableId: number, c: Pick<Compaction, 'compactionId' | 'naturalDir' | 'newDir'>, toDir: string): void;
  /** Next offset to read per Kafka partition: what is committed, here or (in a cluster) by an earlier owner. */
  nextOffsets(tableId: number): Map<number, number>;
  /** The partition's batch that ends at `lastOffset`, if this ledger recorded it (in a cluster another member may have). */
  batchEndingAt(tableId: number, kafkaPartition: number, lastOffset: number): { firstOffset: number; files: number } | undefined;
}

export interface Relocation {
  tableId: number;
  fromLocation: string;
  /** Both directories on `fs`: a rename never changes file system. */
  fromDir: string;
  toDir: string;
  /** The table's topic: published file names carry it with their offsets. */
  topic: string;
  /** Directories (relative to the table's) where a batch has files besides its Parquet ones: the dead letters. */
  sideDirs?: readonly string[];
  /**
   * Another live table has the old location now (RENAME, then CREATE of the old name): the staging
   * there and the directory itself are its own, and stay; only this table's recorded files move.
   */
  fromLocationInUse?: boolean;
}

const PAGE = 50;

/** A batch of one Kafka partition, named by its last offset. */
const batchKey = (kafkaPartition: number, lastOffset: number) => `${kafkaPartition}+${lastOffset}`;

/**
 * Moves the table's files left under fromDir to toDir, then rebases the ledger. Returns the files moved,
 * the compactions given up, and the files named for the topic that stayed because no chain of committed
 * batches reached them (another table's, or a batch behind an offset gap: see moveUnrecorded).
 */
export async function relocate(fs: Pick<FileSystem, 'exists' | 'mkdirs' | 'rename' | 'list' | 'remove'>, ledger: RelocationLedger, r: Relocation): Promise<{ moved: number; compactionsGivenUp: number; stayed: number }> {
  const under = (p: string) => p.startsWith(`${r.fromDir}/`);
  const target = (p: string) => r.toDir + p.slice(r.fromDir.length);
  const dirsLeft = new Set<string>();
  const moveToNew = async (path: string) => {
    await fs.mkdirs(posix.dirname(target(path)));
    await fs.rename(path, target(path)); // never replaces: a file at both places stops here, named
    dirsLeft.add(posix.dirname(path));
  };
  const movedBatches = new Set<string>();
  let moved = 0;
  let compactionsGivenUp = 0;
  let stayed = 0;
  if (await fs.exists(r.fromDir)) {
    // The move was one atomic rename of the directory, and a partition's batches publish one after
    // another: going back from the newest, the first batch with nothing at the old location was
    // published before the move, and so was every batch before it.
    for (const partition of ledger.batchPartitions(r.tableId)) {
      let before = Number.MAX_SAFE_INTEGER;
      walk: for (;;) {
        const page = ledger.batchesNewestFirst(r.tableId, partition, before, PAGE);
        if (page.length === 0) break;
        for (const batch of page) {
          // A batch without files (every record filtered out) says nothing about the move.
          const paths = batch.files.flatMap((f) => [f.hiddenPath, f.finalPath]).filter(under);
          if (paths.length === 0) continue;
          let left = 0;
          for (const path of paths) {
            if (!(await fs.exists(path))) continue;
            await moveToNew(path);
            left += 1;
          }
          if (left === 0) break walk;
          moved += left;
          movedBatches.add(batchKey(partition, batch.lastOffset));
        }
        before = page.at(-1)!.batchId;
      }
    }
    const byName = await moveUnrecorded(fs, ledger, r, movedBatches, moveToNew);
    moved += byName.moved;
    stayed = byName.stayed;
  }
  // A compaction planned, not switched, of the directory Hive read and moved: the batches published
  // since its plan are in its own directory, which Hive never read and which may not have moved with
  // the table (an unpartitioned table read from a compacted directory). They go to the new location,
  // the compaction is given up, and the next one is planned there.
  for (const c of ledger.openCompactions(r.tableId)) {
    if (c.state !== 'planned' || c.oldDir !== r.fromDir) continue;
    const now = (p: string) => (under(p) ? target(p) : p);
    for (const path of ledger.batchFilesIn(r.tableId, c.newDir)) {
      if (!(await fs.exists(now(path)))) continue;
      await fs.rename(now(path), posix.join(r.toDir, posix.basename(path)));
      moved += 1;
    }
    // Left in it: the plan marker and merged copies of files the table has at its new location.
    for (const dir of [now(c.newDir), now(compactionStaging(c.naturalDir, c))]) if (await fs.exists(dir)) await removeDirOfFiles(fs, dir);
    ledger.cancelCompaction(r.tableId, c, r.toDir);
    compactionsGivenUp += 1;
  }
  ledger.finishRelocation(r.tableId, r.fromLocation, r.fromDir, r.toDir);
  if (await fs.exists(r.fromDir)) await removeLeftovers(fs, r.fromDir, dirsLeft, { staging: !r.fromLocationInUse, root: !r.fromLocationInUse });
  return { moved, compactionsGivenUp, stayed };
}

/**
 * In a cluster some of those batches may be another member's, one that died between Hive's move and
 * its own: the state log gave this ledger their offsets, not their files. File names carry the
 * offsets, so the committed batches are followed back from the next offset to read, each found in
 * this ledger or by the names at the old location: those with files there are moved (or were, above),
 * those without files are passed, and the first one found at neither was published before the move.
 * The chain needs each batch to start where the one before ended, as every batch does since its range
 * begins right after the one before (task.ts); a hole among older files (named from their first
 * record, so a transaction's marker left one) stops it there, and what lies behind stays, counted as
 * `stayed`.
 */
async function moveUnrecorded(fs: Pick<FileSystem, 'exists' | 'list'>, ledger: RelocationLedger, r: Relocation,
  movedBatches: ReadonlySet<string>, moveToNew: (path: string) => Promise<void>): Promise<{ moved: number; stayed: number }> {
  const left = await publishedFilesUnder(fs, r.fromDir, r.topic, r.sideDirs);
  if (left.length === 0) return { moved: 0, stayed: 0 };
  const byBatch = new Map<string, typeof left>();
  for (const f of left) {
    const key = batchKey(f.partition, f.last);
    const files = byBatch.get(key);
    if (files) files.push(f); else byBatch.set(key, [f]);
  }
  let moved = 0;
  for (const [partition, next] of ledger.nextOffsets(r.tableId)) {
    for (let end = next - 1; end >= 0;) {
      const named = byBatch.get(batchKey(partition, end));
      if (named) {
        for (const f of named) await moveToNew(f.path);
        moved += named.length;
        end = named[0]!.first - 1;
        continue;
      }
      const recorded = ledger.batchEndingAt(r.tableId, partition, end);
      if (!recorded || (recorded.files > 0 && !movedBatches.has(batchKey(partition, end)))) break;
      end = recorded.firstOffset - 1;
    }
  }
  return { moved, stayed: left.length - moved };
}

/**
 * What the tasks made at the old location and nothing else: hidden files of batches never recorded
 * (their records are read again), the staging directories, then each directory a file was moved out
 * of, up to the old location itself, while empty. Whatever else is there (another table created at
 * that location since) stays.
 */
async function removeLeftovers(fs: Pick<FileSystem, 'exists' | 'list' | 'remove'>, root: string, dirsLeft: ReadonlySet<string>, also: { staging: boolean; root: boolean }): Promise<void> {
  const staging = posix.join(root, '.hive-kafka-staging');
  if (also.staging && (await fs.exists(staging))) {
    for (const p of await fs.list(staging)) {
      const dir = posix.join(staging, p);
      for (const name of await fs.list(dir)) if (name.endsWith('.tmp')) await fs.remove(posix.join(dir, name));
      await removeIfEmpty(fs, dir);
    }
    await removeIfEmpty(fs, staging);
  }
  const chains = [...dirsLeft].flatMap((d) => { const out: string[] = []; for (let x = d; x.startsWith(`${root}/`); x = posix.dirname(x)) out.push(x); return out; });
  for (const dir of [...new Set(chains)].sort((a, b) => b.length - a.length)) await removeIfEmpty(fs, dir);
  if (also.root) await removeIfEmpty(fs, root);
}

async function removeIfEmpty(fs: Pick<FileSystem, 'exists' | 'list' | 'remove'>, dir: string): Promise<void> {
  if ((await fs.exists(dir)) && (await fs.list(dir)).length === 0) await fs.remove(dir);
}
