// `hive-kafka ledger rebuild db.table`: a lost or empty ledger is rebuilt from the metastore (what the
// table is) and from the names of the published files (where ingestion got to), which carry each
// batch's Kafka partition and offsets (src/sink/published-names.ts). A compaction's merged files carry the highest
// offset per Kafka partition in their footers instead (src/sink/compact.ts). This is the one place
// that lists a whole table directory; normal restarts never do.
import { posix } from 'node:path';
import type { Partition, Table } from '../metastore/types.ts';
import { streamRecord, type StoredLayout } from '../properties/stream.ts';
import { batchOffsetsOfName, COMPACTED_ROOT, lastOffsetsOf, readPlanMarker } from '../sink/compact.ts';
import type { FileSystem } from '../sink/fs.ts';
import { publishedFilesUnder, publishedNameParser } from '../sink/published-names.ts';
import { partitionDir, partitionLocation } from '../sink/partition-path.ts';
import { DEADLETTER_DIR } from '../system/tables.ts';
import type { Ledger } from './ledger.ts';

/** A directory path without its trailing slashes, as the ledger records directories. */
const trim = (path: string) => path.replace(/\/+$/, '');

/** A compaction's merged file (src/sink/compact.ts), bucketed or not: its offsets are in its footer. */
const MERGED_FILE = /^(\d{6}_0_)?compacted-.+\.parquet$/;

/**
 * Highest published last offset per Kafka partition of `topic` under `dir`, skipping hidden entries
 * but for the dead letters' directory and the compactions' directories, whose merged files carry their offsets in their footers.
 * Merged files can also sit where batches do: a RENAME moves the directory Hive reads a compacted
 * unpartitioned table from (a compaction's) to the new name's directory, merged files and all.
 */
export async function lastPublishedOffsets(fs: FileSystem, dir: string, topic: string): Promise<Map<number, number>> {
  const last = new Map<number, number>();
  const parse = publishedNameParser(topic);
  const note = (partition: number, offset: number) => last.set(partition, Math.max(last.get(partition) ?? -1, offset));
  // Every bucket file of a batch carries the batch's offsets, so any one of them is enough. A batch
  // whose every record was refused under kafka.error.policy=deadletter has only its dead letters' file.
  for (const published of await publishedFilesUnder(fs, dir, topic, [DEADLETTER_DIR])) note(published.partition, published.last);
  for (const path of await mergedFilesUnder(fs, dir)) for (const [p, o] of lastOffsetsOf(posix.basename(path), await fs.readFile(path))) note(p, o);
  const compacted = posix.join(dir, COMPACTED_ROOT);
  if (await fs.exists(compacted)) {
    for (const id of await fs.list(compacted)) {
      const d = posix.join(compacted, id);
      for (const name of await fs.list(d)) {
        if (name.startsWith('.') || name.startsWith('_') || !name.endsWith('.parquet')) continue;
        const published = parse(name);
        if (published) { note(published.partition, published.last); continue; }
        if (batchOffsetsOfName(name)) continue; // another topic's batch
        for (const [p, o] of lastOffsetsOf(name, await fs.readFile(posix.join(d, name)))) note(p, o);
      }
    }
  }
  return last;
}

/** Merged files in `dir` and its Hive partition directories (k=v), not in hidden ones. */
async function mergedFilesUnder(fs: FileSystem, dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string): Promise<void> => {
    for (const name of await fs.list(d)) {
      if (MERGED_FILE.test(name)) out.push(posix.join(d, name));
      else if (name.includes('=') && !name.startsWith('.') && !name.startsWith('_')) await visit(posix.join(d, name));
    }
  };
  if (await fs.exists(dir)) await visit(dir);
  return out;
}

/**
 * A table compacted before this ledger knew it (a rebuilt or new ledger, another service's table): its
 * batches go where Hive reads it, as a compaction of this ledger would have sent them.
 */
export function adoptCompactedLocation(ledger: Ledger, tableId: number, layout: StoredLayout, fsFor: (location: string) => { path: string }): void {
  if (layout.compactedLocation === undefined) return;
  ledger.adoptMovedDir(tableId, trim(fsFor(layout.location).path), trim(fsFor(layout.compactedLocation).path));
}

/**
 * Likewise for a partitioned table: each partition Hive reads from a compaction's directory gets its
 * batches there, not in its natural directory, where Hive would never see them.
 */
export function adoptCompactedPartitions(ledger: Ledger, tableId: number, layout: StoredLayout, partitions: readonly Pick<Partition, 'values' | 'storage'>[],
  fsFor: (location: string) => { path: string }): void {
  if (layout.partitionKeys.length === 0) return;
  const root = `${trim(layout.location)}/${COMPACTED_ROOT}/`;
  const keys = layout.partitionKeys.map((k) => k.name);
  for (const { values, storage } of partitions) {
    if (!storage.location?.startsWith(root)) continue; // where the service put it, or moved by someone else
    const natural = partitionLocation(layout.location, partitionDir(keys, values));
    ledger.adoptMovedDir(tableId, trim(fsFor(natural).path), trim(fsFor(storage.location).path));
  }
}

/**
 * Compactions a lost ledger planned and did not switch: Hive still reads the directory the marker names
 * as the old one, while batches published after the plan are in the new directory. Each is recorded
 * as planned, so the compactor rolls it forward and the switch makes those batches visible. A marked
 * directory holding nothing Hive would read (a crash before the plan, or nothing written yet) is left.
 */
export async function adoptPlannedCompactions(ledger: Ledger, tableId: number, layout: StoredLayout, partitions: readonly Pick<Partition, 'values' | 'storage'>[],
  fsFor: (location: string) => { fs: FileSystem; path: string }): Promise<string[]> {
  const { fs, path } = fsFor(layout.location);
  const root = posix.join(path, COMPACTED_ROOT);
  if (!(await fs.exists(root))) return [];
  const readsAt = (values: readonly string[]): string | undefined => (layout.partitionKeys.length === 0
    ? layout.compactedLocation ?? layout.location
    : partitions.find((p) => JSON.stringify(p.values) === JSON.stringify(values))?.storage.location);
  const adopted: string[] = [];
  for (const name of await fs.list(root)) {
    const dir = posix.join(root, name);
    const marker = await readPlanMarker(fs, dir);
    if (!marker) continue;
    const location = readsAt(marker.partitionValues);
    // Switched (Hive reads this directory or a later one), or the partition is gone.
    if (location === undefined || trim(fsFor(location).path) !== trim(marker.oldDir)) continue;
    if (!(await fs.list(dir)).some((entry) => !entry.startsWith('.') && !entry.startsWith('_'))) continue;
    ledger.adoptPlannedCompaction(tableId, { ...marker, newDir: dir });
    adopted.push(dir);
  }
  return adopted;
}

export async function rebuildLedger(ledger: Ledger, table: Table, partitions: readonly Partition[],
  fsFor: (location: string) => { fs: FileSystem; path: string }): Promise<{ nextOffsets: Map<number, number>; plannedCompactions: string[] }> {
  const record = streamRecord(table);
  if (!record.ok) throw new Error(record.message);
  const { tableId, spec, layout } = record;
  ledger.upsertStream({
    tableId, dbName: table.dbName, tableName: table.tableName, specJson: JSON.stringify(spec),
    layoutJson: JSON.stringify(layout), desiredState: spec.paused ? 'paused' : 'running',
  });
  const { fs, path } = fsFor(layout.location);
  adoptCompactedLocation(ledger, tableId, layout, fsFor);
  adoptCompactedPartitions(ledger, tableId, layout, partitions, fsFor);
  const planned = await adoptPlannedCompactions(ledger, tableId, layout, partitions, fsFor);
  const last = await lastPublishedOffsets(fs, path, spec.topic);
  ledger.rebuildOffsets(tableId, last);
  ledger.appendHistory(tableId, 'ledger-rebuilt', { partitions: Object.fromEntries(last), ...(planned.length > 0 ? { plannedCompactions: planned } : {}) });
  return { nextOffsets: ledger.nextOffsets(tableId), plannedCompactions: planned };
}
