// The compaction protocol, in one place. Frequent commits leave a partition directory with many
// small files; a compaction merges them into a new directory and points the Hive partition there in
// one metastore call (an unpartitioned table: the table itself), so a reader sees the old directory or
// the new one, never both and never half.
//
//   0. mark: write into the new directory which partition it is for and where Hive reads it now
//      (PLAN_MARKER), so that a ledger lost after the plan can be rebuilt with the plan in it
//   1. plan (ledger, one transaction): choose the new directory; batches recorded from then on
//      publish there. Refused while a recorded batch still has to publish into the old directory
//      (the marked directory is then removed).
//   2. write: list the old directory (nothing enters it any more) and write its files, merged toward
//      the target size (one file per bucket in a bucketed table), into the new directory: each under
//      a hidden name in staging, then renamed, skipped if already there
//   3. switch: set the Hive partition's location to the new directory (alter_partition; for an
//      unpartitioned table alter_table, whose notice the service knows for its own); mark it in the ledger
//   4. clean: after a grace period (queries planned on the old directory finish), remove the old
//      directory's files and the directory (the table's own directory stays); mark the compaction done
//
// A crash at any point is rolled forward from the ledger's row: every step is idempotent, and the old
// directory's files are removed only after Hive reads the new one. Batches committed between 1 and 3
// are in the new directory and become visible at 3 (seconds later): never twice, never lost.
// Row groups are copied, not decoded (parquet-merge.ts), so values stay bit for bit what they were.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { z } from 'zod';
import { removeDirOfFiles, type FileSystem } from './fs.ts';
import { mergeParquet, parquetKeyValues, parquetSchemaKey } from './parquet-merge.ts';

/** One compaction of a partition directory, as the ledger records it. */
export interface Compaction {
  compactionId: number;
  tableId: number;
  partitionValues: string[];
  naturalDir: string;
  oldDir: string;
  newDir: string;
  state: 'planned' | 'switched' | 'done';
  plannedAt: number;
  switchedAt: number | null;
}

/** Where a test can make the process die; the kill -9 compaction test names these. */
export type CompactionStep = 'compaction-planned' | 'compaction-between-outputs' | 'compaction-written' | 'compaction-switched' | 'compaction-cleaned';

export type CompactionFileSystem = Pick<FileSystem, 'list' | 'readFile' | 'writeFileDurably' | 'rename' | 'exists' | 'mkdirs' | 'remove'>;

export interface CompactionDeps {
  fs: CompactionFileSystem;
  /** Table location as a path on `fs`; staging lives under it. */
  tableDir: string;
  /** A path on `fs` as the location URI the metastore stores (file:/..., hdfs://nn:8020/...). */
  toLocation(path: string): string;
  /** Where Hive reads the partition now; undefined when it has no such partition. */
  partitionLocation(values: string[]): Promise<string | undefined>;
  setPartitionLocation(values: string[], location: string): Promise<void>;
  switched(compactionId: number, counts: { inputFiles: number; outputFiles: number }): void;
  done(compactionId: number): void;
  /** Test hook: called at each step; the kill -9 tests exit the process here. */
  reached?(step: CompactionStep): void;
  /** True once the table is dropped or runs elsewhere: the compaction stops before its next write. */
  gone?(): boolean;
}

export interface CompactionSettings {
  targetFileBytes: number;
  /** 0 for a table without buckets: then files are packed by size. */
  numBuckets: number;
  /** How long the old directory stays after the switch. */
  graceMs: number;
}

/**
 * Footer key of a merged file: the highest offset per Kafka partition among the batches it holds
 * ({"0": 1234, ...}), which its name cannot say. `hive-kafka ledger rebuild` reads it.
 */
export const LAST_OFFSETS_KEY = 'hive-kafka.last.offsets';

/** Parent of the compactions' directories, hidden from Hive's listing of the table. */
export const COMPACTED_ROOT = '_hive_kafka_compacted';

/**
 * Written into a compaction's directory before the ledger records the plan: which partition it is
 * for and which directory it replaces. Batches publish into the new directory from the plan on, and
 * Hive reads them only after the switch: a ledger lost in between is rebuilt with the plan from this
 * (`adoptPlannedCompactions` in src/ledger/rebuild.ts), and the compaction rolled forward. Hidden
 * from Hive ('_'). A crash before the plan leaves a directory holding only this file: never adopted.
 */
export const PLAN_MARKER = '_hive_kafka_compaction.json';

export interface PlanMarker {
  partitionValues: string[];
  /** Paths on the table's file system, as the ledger records them. */
  naturalDir: string;
  oldDir: string;
}

const planMarkerSchema = z.object({ partitionValues: z.array(z.string()), naturalDir: z.string(), oldDir: z.string() });

/** Step 0: the marker, under a hidden name first and then renamed, so it is never read half written. */
export async function markPlan(fs: Pick<FileSystem, 'mkdirs' | 'writeFileDurably' | 'rename' | 'exists'>, newDir: string, marker: PlanMarker): Promise<void> {
  await fs.mkdirs(newDir);
  const target = posix.join(newDir, PLAN_MARKER);
  if (await fs.exists(target)) return;
  const hidden = posix.join(newDir, `.${PLAN_MARKER}.tmp`);
  await fs.writeFileDurably(hidden, new TextEncoder().encode(JSON.stringify(marker)));
  await fs.rename(hidden, target);
}

/** The marker of a compaction's directory; undefined when it has none (written before 2026-12-02, or a crash before its rename). */
export async function readPlanMarker(fs: Pick<FileSystem, 'exists' | 'readFile'>, dir: string): Promise<PlanMarker | undefined> {
  const path = posix.join(dir, PLAN_MARKER);
  if (!(await fs.exists(path))) return undefined;
  const parsed = planMarkerSchema.safeParse(JSON.parse(new TextDecoder().decode(await fs.readFile(path))));
  if (!parsed.success) throw new Error(`${path} is not a compaction plan marker: ${parsed.error.message}`);
  return parsed.data;
}

/** A batch file's Kafka partition and last offset, from its name (<topic>+<partition>+<first>+<last>.parquet, maybe after a bucket prefix). */
export function batchOffsetsOfName(name: string): { partition: number; last: number } | undefined {
  const m = /\+(\d+)\+(\d+)\+(\d+)\.parquet$/.exec(name);
  return m ? { partition: Number(m[1]), last: Number(m[3]) } : undefined;
}

/** The highest offset per Kafka partition a file holds: from a batch file's name, or a merged file's footer. */
export function lastOffsetsOf(name: string, bytes: Uint8Array): Map<number, number> {
  const batch = batchOffsetsOfName(name);
  if (batch) return new Map([[batch.partition, batch.last]]);
  const kept = name.endsWith('.parquet') ? parquetKeyValues(bytes)[LAST_OFFSETS_KEY] : undefined;
  return new Map(kept === undefined ? [] : Object.entries(JSON.parse(kept) as Record<string, number>).map(([p, o]) => [Number(p), o]));
}

/**
 * Directory a compaction writes into: hidden from Hive's listing of the table, one per compaction.
 * The random part keeps it apart from every other ledger's compactions of the table (a new or rebuilt
 * ledger numbers its compactions from 1 again): an output file of the same name already there would
 * count as published, and two partitions would read one directory. The ledger keeps the name it got.
 */
export function compactedDir(tableDir: string, compactionId: number, unique = randomBytes(4).toString('hex')): string {
  return posix.join(tableDir, COMPACTED_ROOT, `${compactionId}-${unique}`);
}

/** file:/x, file:///x and a trailing slash name the same place. */
function sameLocation(a: string, b: string): boolean {
  const norm = (l: string) => l.replace(/^file:\/\/(localhost)?\//, 'file:/').replace(/\/+$/, '');
  return norm(a) === norm(b);
}

/** Named after the compaction's directory, so that it is just as much its own. */
export function compactionStaging(tableDir: string, c: Pick<Compaction, 'newDir'>): string {
  return posix.join(tableDir, '.hive-kafka-staging', `compaction-${posix.basename(c.newDir)}`);
}

/**
 * Steps 2 to 4 for a planned or switched compaction. Returns true when it is done; false when it
 * waits for its grace period (call again later).
 */
export async function runCompaction(deps: CompactionDeps, c: Compaction, settings: CompactionSettings, now = Date.now()): Promise<boolean> {
  if (c.state === 'planned') {
    const inputs = await visibleFiles(deps.fs, c.oldDir);
    const outputs = await writeOutputs(deps, c, inputs, settings);
    deps.reached?.('compaction-written');
    stopIfGone(deps, c);
    // Only ever from the directory Hive reads now (or again, after a crash that hid the switch).
    const readsAt = await deps.partitionLocation(c.partitionValues);
    const [oldLocation, newLocation] = [deps.toLocation(c.oldDir), deps.toLocation(c.newDir)];
    if (readsAt === undefined || (!sameLocation(readsAt, oldLocation) && !sameLocation(readsAt, newLocation))) {
      throw new Error(`compaction ${c.compactionId}: partition (${c.partitionValues.join(', ')}) is at ${readsAt ?? 'no location'}, not at ${oldLocation}; ` +
        'it was moved outside hive-kafka, so its files are left where they are');
    }
    await deps.setPartitionLocation(c.partitionValues, newLocation);
    deps.switched(c.compactionId, { inputFiles: inputs.length, outputFiles: outputs });
    deps.reached?.('compaction-switched');
    c = { ...c, state: 'switched', switchedAt: now };
  }
  if (c.state === 'switched') {
    if (now - (c.switchedAt ?? now) < settings.graceMs) return false;
    const bare = (d: string) => d.replace(/\/+$/, '');
    if (bare(c.oldDir) === bare(deps.tableDir) || (c.partitionValues.length === 0 && bare(c.oldDir) === bare(c.naturalDir))) {
      // An unpartitioned table's own directory also holds its hidden directories: only its data files go.
      // (Its directory before a RENAME too: Hive moved only the compacted directory it read from.)
      for (const name of await visibleFiles(deps.fs, c.oldDir)) await deps.fs.remove(posix.join(c.oldDir, name));
    } else if (await deps.fs.exists(c.oldDir)) {
      await removeDirOfFiles(deps.fs, c.oldDir);
    }
    const staging = compactionStaging(deps.tableDir, c);
    if (await deps.fs.exists(staging)) await removeDirOfFiles(deps.fs, staging);
    deps.reached?.('compaction-cleaned');
    deps.done(c.compactionId);
  }
  return true;
}

function stopIfGone(deps: CompactionDeps, c: Compaction): void {
  if (deps.gone?.()) throw new Error(`compaction ${c.compactionId}: the table was dropped or runs elsewhere now; stopped before its next write`);
}

/** Names Hive reads in a directory (it skips names starting with '.' or '_'), sorted. */
async function visibleFiles(fs: CompactionFileSystem, dir: string): Promise<string[]> {
  if (!(await fs.exists(dir))) return [];
  return (await fs.list(dir)).filter((name) => !name.startsWith('.') && !name.startsWith('_'));
}

/**
 * Writes every input into the new directory, merged; returns the number of output files. The
 * grouping depends only on the inputs' names and bytes, so a rerun after a crash names the same
 * outputs and skips those already published.
 */
async function writeOutputs(deps: CompactionDeps, c: Compaction, inputs: readonly string[], settings: CompactionSettings): Promise<number> {
  const { fs } = deps;
  const staging = compactionStaging(deps.tableDir, c);
  await fs.mkdirs(staging);
  await fs.mkdirs(c.newDir);
  let outputs = 0;
  // Merged files are named after the compaction's directory, not only its number: an input kept whole
  // keeps its name, and one an earlier ledger's compaction of the same number merged would otherwise
  // take the new merged file's name, which then counts as published and is skipped (its records lost).
  const label = posix.basename(c.newDir);
  /** A single file keeps its name and bytes; merged files are named after the compaction. */
  const publish = async (name: string, files: { name: string; bytes: Uint8Array }[]) => {
    if (outputs > 0) deps.reached?.('compaction-between-outputs');
    stopIfGone(deps, c);
    outputs++;
    const target = posix.join(c.newDir, name);
    if (await fs.exists(target)) return;
    // One file is copied as it is, unless it is a batch file taking a merged file's name: its offsets then go into its footer.
    const renamedBatch = files.length === 1 && batchOffsetsOfName(files[0]!.name) !== undefined && batchOffsetsOfName(name) === undefined;
    const bytes = files.length === 1 && !renamedBatch ? files[0]!.bytes
      : mergeParquet(files.map((f) => f.bytes), { [LAST_OFFSETS_KEY]: JSON.stringify(Object.fromEntries(highest(files))) });
    const hidden = posix.join(staging, `${name}.tmp`);
    await fs.writeFileDurably(hidden, bytes);
    await fs.rename(hidden, target);
  };

  const read = async (name: string) => ({ name, bytes: await fs.readFile(posix.join(c.oldDir, name)) });
  if (settings.numBuckets > 0) {
    // One file per bucket: Hive's TABLESAMPLE and bucket pruning assume it.
    const byBucket = new Map<string, string[]>();
    for (const name of inputs) {
      const bucket = /^(\d{6})_/.exec(name)?.[1];
      const key = bucket ?? `other:${name}`;
      byBucket.set(key, [...(byBucket.get(key) ?? []), name]);
    }
    for (const [key, names] of [...byBucket].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const files = await Promise.all(names.map(read));
      if (key.startsWith('other:')) { await publish(names[0]!, files); continue; }
      let part = 0;
      for (const run of schemaRuns(files)) await publish(`${key}_0_compacted-${label}${part++ === 0 ? '' : `-${part - 1}`}.parquet`, run);
    }
  } else {
    let group: { name: string; bytes: Uint8Array }[] = [];
    let size = 0;
    let part = 0;
    const flush = async () => {
      for (const run of schemaRuns(group)) await publish(`compacted-${label}-${String(part++).padStart(4, '0')}.parquet`, run);
      group = [];
      size = 0;
    };
    for (const name of inputs) {
      const file = await read(name);
      // Files at half the target or more are kept whole: merging them could only overshoot it.
      if (!name.endsWith('.parquet') || file.bytes.length >= settings.targetFileBytes / 2) { await publish(name, [file]); continue; }
      if (group.length > 0 && size + file.bytes.length > settings.targetFileBytes) await flush();
      group.push(file);
      size += file.bytes.length;
    }
    if (group.length > 0) await flush();
  }
  return outputs;
}

/** The highest offset per Kafka partition over the files. */
function highest(files: readonly { name: string; bytes: Uint8Array }[]): Map<number, number> {
  const last = new Map<number, number>();
  for (const f of files) for (const [p, o] of lastOffsetsOf(f.name, f.bytes)) last.set(p, Math.max(last.get(p) ?? -1, o));
  return new Map([...last].sort(([a], [b]) => a - b)); // sorted: the footer's JSON is the same for the same offsets
}

/** Consecutive files with the same Parquet schema (a column added by schema evolution starts a new run). */
function schemaRuns(files: { name: string; bytes: Uint8Array }[]): { name: string; bytes: Uint8Array }[][] {
  const runs: { name: string; bytes: Uint8Array }[][] = [];
  let key: string | undefined;
  for (const f of files) {
    const k = parquetSchemaKey(f.bytes);
    if (k !== key || runs.length === 0) runs.push([]);
    key = k;
    runs.at(-1)!.push(f);
  }
  return runs;
}
