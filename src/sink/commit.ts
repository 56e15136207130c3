// The commit protocol, in one place. A batch is the records of one Kafka partition from firstOffset
// (right after the batch before: a partition's batches tile its offsets) to lastOffset (its last
// record), split into one file per Hive partition (and bucket). Three positions, as in Kafka
// Connect: consumed (the task's buffer), written (files under hidden names + the intent in the
// ledger), committed (files published and registered, offset moved in the ledger).
//
//   1. write every file under a hidden name in the table's staging directory, durably (a file the
//      task wrote there in pieces as the batch filled is made durable here; a write makes its directory)
//   2. record the intent (hidden and final names, offsets) in the ledger; fenced by owner epoch
//   3. publish: rename each hidden file to its final name (atomic; skipped if already done; the
//      directory is made only when the rename finds it missing)
//   4. register new Hive partitions in the metastore (add_partitions_req, ifNotExists)
//   5. mark the batch committed in the ledger, moving the next offset past lastOffset
//
// A crash before 2 leaves only hidden files, which recovery clears: the records are consumed again.
// A crash after 2 is finished by recovery (roll forward), which never deletes a published file.
// Every step from 3 on is idempotent, so a fenced-out task racing its successor cannot duplicate
// anything: both rename the same hidden file to the same final name, and only one rename succeeds.
import { posix } from 'node:path';
import type { FileSystem } from './fs.ts';

/** One file of a batch: written under hiddenPath, published by renaming it to finalPath. */
export interface BatchFile {
  hiddenPath: string;
  finalPath: string;
  /** Hive partition values in partition-key order; null for an unpartitioned table. */
  partitionValues: string[] | null;
  bucket: number | null;
}

/** A batch as the ledger records it before publishing: its offsets, counts and files, fenced by ownerEpoch. */
export interface BatchIntent {
  tableId: number;
  kafkaPartition: number;
  firstOffset: number;
  lastOffset: number;
  recordCount: number;
  /** Consumed but not stored: filtered out by the mapping, or refused under skip/deadletter. */
  filteredCount?: number;
  rejectedCount?: number;
  ownerEpoch: number;
  files: BatchFile[];
}

/** A recorded batch, named by the ledger. */
export interface PendingBatch extends BatchIntent { batchId: number }

/** A file a recorded batch promised is under neither of its names. */
export class BatchFileLostError extends Error {
  override readonly name = 'BatchFileLostError';
  constructor(readonly file: BatchFile, options?: ErrorOptions) {
    super(`batch file lost: neither ${file.hiddenPath} nor ${file.finalPath} exists; the table location was changed outside hive-kafka`, options);
  }
}

/** Where a test can make the process die; the kill -9 tests name these. */
export type CommitStep = 'after-hidden-write' | 'after-intent' | 'between-renames' | 'after-publish' | 'after-register';

/** The file system calls the protocol makes: writes under hidden names, no-replace renames, listing staging. */
export type CommitFileSystem = Pick<FileSystem, 'writeFileDurably' | 'rename' | 'exists' | 'list' | 'mkdirs' | 'remove'>;

/**
 * Where the protocol records intents and commits: the local ledger, or (in a cluster) the fenced
 * state log first and then the ledger. A write refused because another instance owns the table now
 * throws, and the protocol stops there.
 */
export interface CommitLedger {
  /** Returns the batch as recorded: a file may go to another directory than asked (a compaction moved it). */
  recordIntent(intent: BatchIntent): PendingBatch | Promise<PendingBatch>;
  markCommitted(batch: PendingBatch): void | Promise<void>;
  pendingBatches(tableId: number): PendingBatch[];
  /** Forgets a recorded batch nothing of which was published: its records are read again from its first offset. */
  discardPending(batch: PendingBatch, why: string): void | Promise<void>;
}

export interface CommitDeps {
  fs: CommitFileSystem;
  ledger: CommitLedger;
  /** add_partitions_req with ifNotExists for these partition value lists. */
  registerPartitions(values: string[][]): Promise<void>;
  /**
   * Whether the metastore has the table, under its name and id, where its batches are bound (no RENAME
   * or DROP the service has not followed yet). Recovery reads a lost batch again only then; never without it.
   */
  stillAtLocation?(): Promise<boolean>;
  /** Test hook: called at each step; the kill -9 tests exit the process here. */
  reached?(step: CommitStep): void;
}

export interface OutputFile {
  /** Directory the file is published into: the table location or a partition directory under it. */
  dir: string;
  finalName: string;
  partitionValues: string[] | null;
  bucket: number | null;
  /** The whole file, or: it was written in pieces under this hidden name in the batch's staging directory, and close() makes it durable. */
  content: { bytes: Uint8Array } | { hiddenPath: string; close(): Promise<void> };
}

/** A batch as a task hands it to the protocol: the intent's offsets and counts, with its files still to write. */
export interface Batch extends Omit<BatchIntent, 'files'> {
  /** Table location as a path on `fs`; the staging directory lives under it. */
  tableDir: string;
  /** In hidden names beside the epoch, which every instance's ledger counts from 1: apart from another instance's staging of the same batch. */
  stagingTag?: string;
  files: OutputFile[];
}

/** Hidden from Hive (its readers skip names starting with '.' or '_'), on the table's file system. */
export function stagingDir(tableDir: string, kafkaPartition: number): string {
  return posix.join(tableDir, '.hive-kafka-staging', String(kafkaPartition));
}

export async function commitBatch(deps: CommitDeps, batch: Batch): Promise<void> {
  const staging = stagingDir(batch.tableDir, batch.kafkaPartition);
  const files: BatchFile[] = [];
  for (const [i, f] of batch.files.entries()) {
    let hiddenPath: string;
    if ('bytes' in f.content) {
      // Files of one batch in different Hive partitions share a final name; the index keeps them apart.
      const tag = batch.stagingTag === undefined ? '' : `-${batch.stagingTag}`;
      hiddenPath = posix.join(staging, `${batch.firstOffset}-${i}-${f.finalName}.${batch.ownerEpoch}${tag}.tmp`);
      await deps.fs.writeFileDurably(hiddenPath, f.content.bytes);
    } else {
      hiddenPath = f.content.hiddenPath;
      await f.content.close();
    }
    files.push({ hiddenPath, finalPath: posix.join(f.dir, f.finalName), partitionValues: f.partitionValues, bucket: f.bucket });
  }
  deps.reached?.('after-hidden-write');

  const intent: BatchIntent = {
    tableId: batch.tableId, kafkaPartition: batch.kafkaPartition, firstOffset: batch.firstOffset,
    lastOffset: batch.lastOffset, recordCount: batch.recordCount, filteredCount: batch.filteredCount, rejectedCount: batch.rejectedCount,
    ownerEpoch: batch.ownerEpoch, files,
  };
  const recorded = await deps.ledger.recordIntent(intent);
  deps.reached?.('after-intent');

  await publishAndCommit(deps, recorded);
}

async function publishAndCommit(deps: CommitDeps, batch: PendingBatch): Promise<void> {
  const { files } = batch;
  for (const [i, f] of files.entries()) {
    if (i > 0) deps.reached?.('between-renames');
    await publish(deps.fs, f);
  }
  deps.reached?.('after-publish');

  const partitions = uniquePartitions(files);
  if (partitions.length > 0) await deps.registerPartitions(partitions);
  deps.reached?.('after-register');

  await deps.ledger.markCommitted(batch);
}

/**
 * Renames first: on the way of a fresh batch the hidden file is there and so, mostly, is the target's
 * directory, and a rename never replaces, so trying costs nothing. Only a failed rename asks why (on
 * HDFS each question is a NameNode call): renamed already (a roll-forward, or a fenced twin won), the
 * target's directory missing (a new Hive partition, or one dropped since), or data lost.
 */
async function publish(fs: CommitFileSystem, f: BatchFile): Promise<void> {
  try {
    await fs.rename(f.hiddenPath, f.finalPath);
    return;
  } catch (error) {
    if ((error as { retriable?: boolean }).retriable) throw error;
    const hiddenThere = await fs.exists(f.hiddenPath);
    if (await fs.exists(f.finalPath)) {
      // Another file holds the name (copied there, or another table's at the same location): never replaced.
      if (hiddenThere) throw new Error(`cannot publish ${f.finalPath}: a file this batch did not write already has that name; hive-kafka never replaces a file: move that file away or give the table another LOCATION`, { cause: error });
      return; // renamed before a crash or a lost answer, or by a fenced-out twin
    }
    if (!hiddenThere) {
      // The intent promised this file; neither name exists, so storage lost data under us.
      throw new BatchFileLostError(f, { cause: error });
    }
    const dir = posix.dirname(f.finalPath);
    if (await fs.exists(dir)) throw error;
    await fs.mkdirs(dir);
    await fs.rename(f.hiddenPath, f.finalPath);
  }
}

async function nothingPublishedInPlace(fs: CommitFileSystem, files: readonly BatchFile[]): Promise<boolean> {
  for (const dir of new Set(files.map((f) => posix.dirname(f.hiddenPath)))) if (!(await fs.exists(dir))) return false;
  for (const f of files) if (await fs.exists(f.finalPath)) return false;
  return true;
}

function uniquePartitions(files: readonly BatchFile[]): string[][] {
  const seen = new Map<string, string[]>();
  for (const f of files) if (f.partitionValues) seen.set(JSON.stringify(f.partitionValues), f.partitionValues);
  return [...seen.values()];
}

/**
 * Before a task consumes: finish every batch recorded as intent (roll forward), then clear hidden
 * files that never got an intent. Only the staging directories are listed, never the table.
 *
 * A batch with a file lost under both names, none of whose files was published, while the metastore
 * has the table where it was and its staging directory is there, is read again instead: nothing of
 * it is visible, and its records are still in Kafka. That happens in a cluster when an intent reached
 * the state log but not the local ledger (an ambiguous write), the task's restart cleared staging as
 * holding no intent, and another instance took the table over. Otherwise the table fails naming the
 * file: once one of its files is published a lost one is lost data, and a table Hive moved (a RENAME,
 * published files and all) is finished by the relocation before the next try.
 */
export async function recover(deps: CommitDeps, tableId: number, tableDir: string, kafkaPartitions: readonly number[]): Promise<number> {
  const pending = deps.ledger.pendingBatches(tableId).filter((b) => kafkaPartitions.includes(b.kafkaPartition));
  for (const b of pending) {
    try {
      await publishAndCommit(deps, b);
    } catch (error) {
      // Published files are checked after the loss: renames only ever go from hidden to final names.
      if (!(error instanceof BatchFileLostError) || !deps.stillAtLocation || !(await deps.stillAtLocation())
        || !(await nothingPublishedInPlace(deps.fs, b.files))) throw error;
      await deps.ledger.discardPending(b, error.message);
    }
  }
  for (const p of kafkaPartitions) {
    const staging = stagingDir(tableDir, p);
    if (!(await deps.fs.exists(staging))) continue;
    for (const name of await deps.fs.list(staging)) await deps.fs.remove(posix.join(staging, name));
  }
  return pending.length;
}
