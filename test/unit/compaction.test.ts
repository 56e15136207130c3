// Small-file compaction: the ledger's side (where batches go once a directory is moved, when a plan
// is refused, which directories are candidates), the protocol of src/sink/compact.ts on a real local
// file system with real Parquet files (grouping, buckets, switch, grace, crash and rerun), and the
// scheduling of src/lifecycle/compactor.ts.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import type { Logger } from 'pino';
import { parquetReadObjects } from 'hyparquet';
import { Ledger } from '../../src/ledger/ledger.ts';
import type { BatchFile } from '../../src/sink/commit.ts';
import type { Compaction } from '../../src/sink/compact.ts';
import { Compactor } from '../../src/lifecycle/compactor.ts';
import { compactedDir, PLAN_MARKER, runCompaction, type CompactionDeps, type CompactionSettings, type CompactionStep } from '../../src/sink/compact.ts';
import { LocalFileSystem, fileSystems } from '../../src/sink/fs.ts';
import { ParquetFileWriter, parquetLayout, type ParquetColumn } from '../../src/sink/parquet.ts';
import { parquetRowCount } from '../../src/sink/parquet-merge.ts';
import { makeRowDecoder } from '../../src/hive/convert.ts';
import type { HiveValue } from '../../src/sink/hive-types.ts';

// ---- helpers -------------------------------------------------------------------------------------

const TABLE = 1;
const columns: ParquetColumn[] = [{ name: 'id', type: 'bigint' }, { name: 'payload', type: 'string' }];
const decode = makeRowDecoder(columns);

/** A Parquet file from the service's writer; random hex payloads keep SNAPPY from shrinking it much. */
function parquet(ids: readonly number[], payloadChars = 240): Uint8Array {
  const writer = new ParquetFileWriter(parquetLayout(columns));
  for (const id of ids) writer.append(decode({ id: String(id), payload: randomBytes(payloadChars / 2).toString('hex') }) as HiveValue[]);
  return new Uint8Array(Buffer.concat(writer.finish()));
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

/** The id column of a file, sorted. */
async function ids(bytes: Uint8Array): Promise<number[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const rows = await parquetReadObjects({ file, columns: ['id'] });
  return rows.map((r) => Number(r.id as bigint)).sort((a, b) => a - b);
}

function ledgerWithStream(specJson = '{}', layoutJson = '{}', path = ':memory:'): { ledger: Ledger; epoch: number } {
  const ledger = Ledger.open(path);
  ledger.upsertStream({ tableId: TABLE, dbName: 'db', tableName: 't', specJson, layoutJson, desiredState: 'running' });
  ledger.initPartitions(TABLE, new Map([[0, 0]]));
  return { ledger, epoch: ledger.claimPartitions(TABLE, [0]) };
}

/** Records a batch of 10 offsets on Kafka partition 0 with one file per `finalPaths` entry. */
function intentOf(epoch: number, first: number, finalPaths: readonly string[]) {
  const files: BatchFile[] = finalPaths.map((finalPath, i) => ({
    hiddenPath: `/staging/${first}-${i}`, finalPath, partitionValues: [posix.basename(posix.dirname(finalPath)).replace(/^dt=/, '')], bucket: null,
  }));
  return { tableId: TABLE, kafkaPartition: 0, firstOffset: first, lastOffset: first + 9, recordCount: 10, ownerEpoch: epoch, files };
}

/** Records and commits a batch; returns the paths the ledger published it at. */
function commit(ledger: Ledger, epoch: number, finalPaths: readonly string[]): string[] {
  const first = ledger.nextOffsets(TABLE).get(0)!;
  const recorded = ledger.recordIntent(intentOf(epoch, first, finalPaths));
  ledger.markCommitted(recorded);
  return recorded.files.map((f) => f.finalPath);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
after(() => { for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true }); });

/** A test's table on the local disk: <tmp>/t, with partition dt=1 holding `inputs`. */
function tableOnDisk(inputs: ReadonlyMap<string, Uint8Array>) {
  const root = tempDir('hive-kafka-compaction-');
  const tableDir = join(root, 't');
  const oldDir = join(tableDir, 'dt=1');
  mkdirSync(oldDir, { recursive: true });
  for (const [name, bytes] of inputs) writeFileSync(join(oldDir, name), bytes);
  return { root, tableDir, oldDir };
}

class Crash extends Error {}

/** CompactionDeps over LocalFileSystem and a ledger, recording what the protocol asked of Hive. */
/** `crashAt` throws Crash the `crashOn`-th time (default the first) that step is reached, once. */
function harness(tableDir: string, ledger: Ledger, opts: { crashAt?: CompactionStep; crashOn?: number } = {}) {
  const calls = { partitionLocation: 0, set: [] as { values: string[]; location: string }[], switched: [] as { id: number; counts: { inputFiles: number; outputFiles: number } }[], done: [] as number[] };
  let location: string | undefined;
  let crashAt = opts.crashAt;
  let countdown = opts.crashOn ?? 1;
  const deps: CompactionDeps = {
    fs: new LocalFileSystem(),
    tableDir,
    toLocation: (path) => `file:${path}`,
    partitionLocation: async () => { calls.partitionLocation++; return location; },
    setPartitionLocation: async (values, loc) => { calls.set.push({ values, location: loc }); location = loc; },
    switched: (id, counts) => { calls.switched.push({ id, counts }); ledger.compactionSwitched(id, counts); },
    done: (id) => { calls.done.push(id); ledger.compactionDone(id); },
    reached: (step) => { if (step === crashAt && --countdown === 0) { crashAt = undefined; throw new Crash(step); } },
  };
  return { deps, calls, setLocation: (l: string | undefined) => { location = l; } };
}

/** Plans as the compactor does: the directory is named for the id the plan will get. */
function planIn(ledger: Ledger, naturalDir: string, partitionValues: string[], name: (id: number) => string): Compaction | undefined {
  return ledger.planCompaction(TABLE, naturalDir, partitionValues, name(ledger.nextCompactionId()));
}

function plan(ledger: Ledger, tableDir: string, naturalDir: string): Compaction {
  // A fixed unique part: runs compared with each other name the same outputs.
  const planned = planIn(ledger, naturalDir, ['1'], (id) => compactedDir(tableDir, id, '0000000a'));
  assert.ok(planned, 'the compaction is planned');
  return planned;
}

/** The directories a ledger file lists for the compactor (batch_dirs, migration 009), read beside the Ledger. */
async function listedDirs(path: string): Promise<string[]> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT dir FROM batch_dirs WHERE table_id = ? ORDER BY dir').pluck().all(TABLE) as string[];
  } finally {
    db.close();
  }
}

const filesIn = (dir: string) => readdirSync(dir).sort();
/** The names Hive reads (not '.' or '_' ones, such as a plan's marker). */
const dataFilesIn = (dir: string) => filesIn(dir).filter((n) => !n.startsWith('.') && !n.startsWith('_'));

// ---- ledger --------------------------------------------------------------------------------------

test('after a plan, a batch bound for the moved directory is recorded in the new one; other directories are unchanged', () => {
  const { ledger, epoch } = ledgerWithStream();
  const d0 = '/w/t/dt=1';
  const other = '/w/t/dt=2';
  const c = planIn(ledger, d0, ['1'], (id) => compactedDir('/w/t', id))!;
  assert.equal(c.oldDir, d0);
  assert.match(c.newDir, new RegExp(`^/w/t/_hive_kafka_compacted/${c.compactionId}-[0-9a-f]{8}$`), 'numbered and unique: a rebuilt ledger numbers from 1 again');
  assert.equal(c.state, 'planned');

  const recorded = ledger.recordIntent(intentOf(epoch, 0, [`${d0}/t+0+0+9.parquet`, `${other}/t+0+0+9.parquet`]));
  assert.deepEqual(recorded.files.map((f) => f.finalPath), [`${c.newDir}/t+0+0+9.parquet`, `${other}/t+0+0+9.parquet`]);
  assert.deepEqual(recorded.files.map((f) => f.hiddenPath), ['/staging/0-0', '/staging/0-1'], 'hidden paths are not moved');
  assert.deepEqual(recorded.files.map((f) => f.partitionValues), [['1'], ['2']]);
  const pending = ledger.pendingBatches(TABLE);
  assert.equal(pending.length, 1);
  assert.equal(pending[0]!.batchId, recorded.batchId);
  assert.deepEqual(pending[0]!.files, recorded.files, 'what recovery rolls forward is what the task was told');
  ledger.markCommitted(recorded);
  assert.deepEqual(ledger.publishedFiles(TABLE), [`${c.newDir}/t+0+0+9.parquet`, `${other}/t+0+0+9.parquet`].sort());
});

test('planning is refused while a recorded batch publishes into the directory, while another plan of it is open, and for a compacted directory', () => {
  const { ledger, epoch } = ledgerWithStream();
  const d0 = '/w/t/dt=1';
  const newDir = (id: number) => compactedDir('/w/t', id);

  // A written (recorded, not committed) batch with a file in d0 blocks; one in another directory does not.
  const waiting = ledger.recordIntent(intentOf(epoch, 0, [`${d0}/a.parquet`]));
  assert.equal(planIn(ledger, d0, ['1'], newDir), undefined);
  assert.equal(ledger.openCompactions(TABLE).length, 0, 'a refused plan leaves no row');
  ledger.markCommitted(waiting);
  const elsewhere = ledger.recordIntent(intentOf(epoch, 10, ['/w/t/dt=2/b.parquet']));
  const c1 = planIn(ledger, d0, ['1'], newDir);
  assert.ok(c1);
  ledger.markCommitted(elsewhere);

  // Another compaction of the same natural directory is still planned.
  assert.equal(planIn(ledger, d0, ['1'], newDir), undefined);
  // A compaction's new directory is not a natural directory.
  assert.equal(planIn(ledger, c1.newDir, ['1'], newDir), undefined);

  // Once switched, the next plan starts from the new directory, and a batch written there blocks it.
  ledger.compactionSwitched(c1.compactionId, { inputFiles: 1, outputFiles: 1 });
  const intoD1 = ledger.recordIntent(intentOf(epoch, 20, [`${d0}/c.parquet`]));
  assert.equal(intoD1.files[0]!.finalPath, `${c1.newDir}/c.parquet`);
  assert.equal(planIn(ledger, d0, ['1'], newDir), undefined, 'a batch still publishes into the current directory');
  ledger.markCommitted(intoD1);
  const c2 = planIn(ledger, d0, ['1'], newDir);
  assert.ok(c2);
  assert.equal(c2.oldDir, c1.newDir);
  assert.equal(c2.naturalDir, d0);
  assert.notEqual(c2.newDir, c1.newDir);
  assert.equal(planIn(ledger, c1.newDir, ['1'], newDir), undefined);
  assert.equal(planIn(ledger, c2.newDir, ['1'], newDir), undefined);
  assert.deepEqual(ledger.openCompactions(TABLE).map((c) => [c.compactionId, c.state]), [[c1.compactionId, 'switched'], [c2.compactionId, 'planned']]);
});

test('candidates are the directories Hive reads now, by natural directory, never one a compaction left', async () => {
  const { ledger, epoch } = ledgerWithStream();
  const d0 = '/w/t/dt=1';
  const other = '/w/t/dt=2';
  const newDir = (id: number) => compactedDir('/w/t', id);
  commit(ledger, epoch, [`${d0}/a.parquet`, `${other}/a.parquet`]);
  commit(ledger, epoch, [`${d0}/b.parquet`]);
  const now = () => Date.now() + 1000;
  assert.deepEqual(ledger.compactionCandidates(TABLE, now()), [
    { naturalDir: d0, dir: d0, partitionValues: ['1'], files: 2, oldFiles: 2 },
    { naturalDir: other, dir: other, partitionValues: ['2'], files: 1, oldFiles: 1 },
  ]);

  // c1: d0 -> d1; batches then commit into d1.
  const c1 = planIn(ledger, d0, ['1'], newDir)!;
  const d1 = c1.newDir;
  ledger.compactionSwitched(c1.compactionId, { inputFiles: 2, outputFiles: 1 });
  ledger.compactionDone(c1.compactionId);
  assert.deepEqual(commit(ledger, epoch, [`${d0}/c.parquet`]), [`${d1}/c.parquet`]);
  commit(ledger, epoch, [`${d0}/d.parquet`]);
  assert.deepEqual(ledger.compactionCandidates(TABLE, now()).map((c) => [c.naturalDir, c.dir, c.files]), [[d0, d1, 2], [other, other, 1]]);

  // c2: d1 -> d2 (partition_dirs now d0 -> d2); batches commit into d2. batch_files still name files in d0 and d1.
  const c2 = planIn(ledger, d0, ['1'], newDir)!;
  const d2 = c2.newDir;
  assert.equal(c2.oldDir, d1);
  ledger.compactionSwitched(c2.compactionId, { inputFiles: 3, outputFiles: 1 });
  ledger.compactionDone(c2.compactionId);
  const before = Date.now();
  await sleep(3);
  assert.deepEqual(commit(ledger, epoch, [`${d0}/e.parquet`]), [`${d2}/e.parquet`]);
  await sleep(3);
  const middle = Date.now();
  await sleep(3);
  commit(ledger, epoch, [`${d0}/f.parquet`]);
  // c1 and c2 are done: the files they cleaned from d0 and d1 left the ledger; a batch that also published into `other` keeps that file.
  assert.deepEqual(ledger.publishedFiles(TABLE), [`${d2}/e.parquet`, `${d2}/f.parquet`, `${other}/a.parquet`].sort());

  const candidates = ledger.compactionCandidates(TABLE, now());
  assert.deepEqual(candidates, [
    { naturalDir: d0, dir: d2, partitionValues: ['1'], files: 2, oldFiles: 2 },
    { naturalDir: other, dir: other, partitionValues: ['2'], files: 1, oldFiles: 1 },
  ]);
  assert.ok(!candidates.some((c) => c.dir === d1 || c.naturalDir === d1 || c.dir === d0), 'd1 (emptied by c2) and d0 are never candidates');

  // oldFiles counts files committed at or before `olderThan`.
  const at = (olderThan: number) => ledger.compactionCandidates(TABLE, olderThan).find((c) => c.dir === d2)!;
  assert.deepEqual([at(before).files, at(before).oldFiles], [2, 0]);
  assert.deepEqual([at(middle).files, at(middle).oldFiles], [2, 1]);
  assert.deepEqual([at(now()).files, at(now()).oldFiles], [2, 2]);
  assert.equal(ledger.compactionCandidates(TABLE, before).find((c) => c.dir === other)!.oldFiles, 1);

  // Planning the candidate compacts d2, never d1.
  const c3 = planIn(ledger, candidates[0]!.naturalDir, candidates[0]!.partitionValues, newDir)!;
  assert.equal(c3.oldDir, d2);
});

test('candidates follow files a given-up compaction and a RENAME moved to directories they were never recorded in', async () => {
  const path = join(tempDir('hive-kafka-ledger-moved-'), 'ledger.db');
  const { ledger, epoch } = ledgerWithStream('{}', '{}', path);
  const d0 = '/w/t/dt=1';
  commit(ledger, epoch, [`${d0}/a.parquet`]);
  const c1 = planIn(ledger, d0, ['1'], (id) => compactedDir('/w/t', id))!;
  assert.deepEqual(commit(ledger, epoch, [`${d0}/b.parquet`]), [`${c1.newDir}/b.parquet`]);
  const at = () => ledger.compactionCandidates(TABLE, Date.now() + 1000).map((c) => [c.naturalDir, c.dir, c.files]);
  assert.deepEqual(at(), [[d0, c1.newDir, 1]]);

  // A RENAME gives the plan up: its batch is recorded under the new location, where nothing was before.
  ledger.cancelCompaction(TABLE, c1, '/w/u/dt=1');
  assert.deepEqual(at(), [['/w/t/dt=1', '/w/t/dt=1', 1], ['/w/u/dt=1', '/w/u/dt=1', 1]]);
  ledger.finishRelocation(TABLE, 'file:/w/t', '/w/t', '/w/u');
  assert.deepEqual(at(), [['/w/u/dt=1', '/w/u/dt=1', 2]]);
  assert.deepEqual(ledger.compactionCandidates(TABLE, Date.now() + 1000)[0]?.partitionValues, ['1']);
  ledger.close();
  assert.deepEqual(await listedDirs(path), ['/w/u/dt=1'], 'the old location\'s directories, the given-up compaction\'s among them, are no longer listed');
});

test('a compacted table\'s ledger keeps the batches not compacted yet, not every batch it committed', () => {
  const { ledger, epoch } = ledgerWithStream();
  const d0 = '/w/t/dt=1';
  const batchesHeld = () => ledger.batchesNewestFirst(TABLE, 0, Number.MAX_SAFE_INTEGER, 10_000).length;
  for (let cycle = 0; cycle < 10; cycle++) {
    for (let i = 0; i < 15; i++) commit(ledger, epoch, [`${d0}/c${cycle}-${i}.parquet`]);
    const c = planIn(ledger, d0, ['1'], (id) => compactedDir('/w/t', id))!;
    ledger.compactionSwitched(c.compactionId, { inputFiles: 15, outputFiles: 1 });
    commit(ledger, epoch, [`${d0}/after${cycle}-a.parquet`]);
    commit(ledger, epoch, [`${d0}/after${cycle}-b.parquet`]);
    assert.equal(batchesHeld(), (cycle === 0 ? 15 : 17) + 2, `cycle ${cycle}: until the old directory is cleaned, its batches stay`);
    ledger.compactionDone(c.compactionId);
    assert.equal(batchesHeld(), 2, `cycle ${cycle}: the two batches published into the new directory`);
    assert.deepEqual(ledger.publishedFiles(TABLE), [`${c.newDir}/after${cycle}-a.parquet`, `${c.newDir}/after${cycle}-b.parquet`]);
  }
  assert.equal(ledger.nextOffsets(TABLE).get(0), 170 * 10, 'offsets move on as ever');
});

test('a ledger from before the directory list (migration 009) lists the same candidates, and not the old directories of finished compactions', async () => {
  const { default: Database } = await import('better-sqlite3');
  const path = join(tempDir('hive-kafka-ledger-009-'), 'ledger.db');
  const opened = ledgerWithStream('{}', '{}', path);
  let ledger = opened.ledger;
  const epoch = opened.epoch;
  const newDir = (id: number) => compactedDir('/w/t', id);
  for (let i = 0; i < 3; i++) commit(ledger, epoch, ['/w/t/dt=1/a' + i + '.parquet', '/w/t/dt=2/a' + i + '.parquet']);
  const c1 = planIn(ledger, '/w/t/dt=1', ['1'], newDir)!;
  ledger.compactionSwitched(c1.compactionId, { inputFiles: 3, outputFiles: 1 });
  ledger.compactionDone(c1.compactionId);
  commit(ledger, epoch, ['/w/t/dt=1/b.parquet']);
  const c2 = planIn(ledger, '/w/t/dt=1', ['1'], newDir)!;
  ledger.compactionSwitched(c2.compactionId, { inputFiles: 2, outputFiles: 1 });
  commit(ledger, epoch, ['/w/t/dt=1/c.parquet', '/w/t/dt=3/c.parquet']);
  const olderThan = Date.now() + 1000;
  const expected = ledger.compactionCandidates(TABLE, olderThan);
  assert.deepEqual(expected.map((c) => [c.naturalDir, c.dir, c.files]), [['/w/t/dt=1', c2.newDir, 1], ['/w/t/dt=2', '/w/t/dt=2', 3], ['/w/t/dt=3', '/w/t/dt=3', 1]]);
  ledger.close();

  // The ledger as version 008 left it.
  const db = new Database(path);
  db.exec(`DROP TRIGGER batch_dirs_on_record; DROP TRIGGER batch_dirs_on_move; DROP TABLE batch_dirs; DROP INDEX batch_files_by_dir;
    DROP INDEX partition_dirs_by_current; DROP INDEX compactions_by_new_dir; ALTER TABLE batch_files DROP COLUMN dir; DELETE FROM schema_migrations WHERE version IN (9, 11)`);
  // What compactionDone then kept: c1's cleaned files (dt=1's first three batches, one of them with a dt=2 file each).
  const restored = db.prepare('INSERT INTO batch_files (batch_id, hidden_path, final_path, partition_values, bucket) VALUES (?, ?, ?, ?, NULL)');
  const firstBatches = db.prepare("SELECT batch_id FROM batches WHERE table_id = ? ORDER BY batch_id LIMIT 3").pluck().all(TABLE) as number[];
  firstBatches.forEach((id, i) => restored.run(id, `/staging/x${i}`, `/w/t/dt=1/a${i}.parquet`, '["1"]'));
  db.close();

  ledger = Ledger.open(path);
  assert.deepEqual(ledger.compactionCandidates(TABLE, olderThan), expected);
  assert.ok(!ledger.publishedFiles(TABLE).some((p) => p.startsWith('/w/t/dt=1/')), 'migration 011 took the files c1 cleaned out of the ledger');
  assert.equal(ledger.publishedFiles(TABLE).filter((p) => p.startsWith('/w/t/dt=2/')).length, 3, 'and kept the batches\' other files');
  // dt=1 went to c1's directory, which c2 replaced and is not done yet: both stay listed until c2 is done.
  assert.deepEqual(await listedDirs(path), [c1.newDir, c2.newDir, '/w/t/dt=2', '/w/t/dt=3']);
  ledger.compactionDone(c2.compactionId);
  assert.deepEqual(ledger.compactionCandidates(TABLE, olderThan), expected);
  ledger.close();
  assert.deepEqual(await listedDirs(path), [c2.newDir, '/w/t/dt=2', '/w/t/dt=3'], 'c2 done: c1\'s directory is gone');
});

// ---- the protocol --------------------------------------------------------------------------------

const TARGET = 20_000;

/** Eight small files (about 2.6 KB each) around one big file of at least TARGET/2, in name order. */
function unbucketedInputs(): Map<string, Uint8Array> {
  const inputs = new Map<string, Uint8Array>();
  let id = 0;
  for (let i = 0; i < 9; i++) {
    const rows = i === 4 ? 50 : 10;
    inputs.set(`t+0+${String(id).padStart(4, '0')}+${id + rows - 1}.parquet`, parquet(range(id, rows)));
    id += rows;
  }
  return inputs;
}

test('an unbucketed partition is merged toward the target size, switched once, and cleaned after the grace period', async () => {
  const inputs = unbucketedInputs();
  const sizes = [...inputs.values()].map((b) => b.length);
  const big = [...inputs].filter(([, b]) => b.length >= TARGET / 2);
  assert.equal(big.length, 1, `one input of at least TARGET/2 (sizes ${sizes.join(', ')})`);
  assert.ok(sizes.filter((s) => s < TARGET / 2).every((s) => s < TARGET / 5), `small inputs are small (${sizes.join(', ')})`);
  const inputRows = [...inputs.values()].reduce((n, b) => n + parquetRowCount(b), 0);

  const { tableDir, oldDir } = tableOnDisk(inputs);
  const { ledger } = ledgerWithStream();
  const c = plan(ledger, tableDir, oldDir);
  const { deps, calls, setLocation } = harness(tableDir, ledger);
  setLocation(`file:${oldDir}`);
  const settings: CompactionSettings = { targetFileBytes: TARGET, numBuckets: 0, graceMs: 60_000 };

  const t0 = Date.now();
  assert.equal(await runCompaction(deps, c, settings, t0), false, 'waits for the grace period');
  const outputs = filesIn(c.newDir);
  const [bigName, bigBytes] = big[0]!;
  assert.ok(outputs.includes(bigName), 'the big file is kept under its own name');
  assert.ok(Buffer.from(readFileSync(join(c.newDir, bigName))).equals(Buffer.from(bigBytes)), 'and its bytes');
  const merged = outputs.filter((n) => n !== bigName);
  assert.ok(merged.length >= 2, `several merged files: ${outputs.join(', ')}`);
  assert.ok(merged.every((n) => new RegExp(`^compacted-${basename(c.newDir)}-\\d{4}\\.parquet$`).test(n)), merged.join(', '));
  const mergedSizes = merged.map((n) => readFileSync(join(c.newDir, n)).length);
  assert.ok(mergedSizes.every((s) => s <= TARGET), `merged files within the target: ${mergedSizes.join(', ')}`);
  assert.ok(mergedSizes.filter((s) => s < TARGET / 2).length <= 1, `at most one merged file under half the target: ${mergedSizes.join(', ')}`);
  assert.ok(outputs.length < inputs.size);

  const outputBytes = outputs.map((n) => new Uint8Array(readFileSync(join(c.newDir, n))));
  assert.equal(outputBytes.reduce((n, b) => n + parquetRowCount(b), 0), inputRows);
  const allIds = (await Promise.all(outputBytes.map(ids))).flat().sort((a, b) => a - b);
  assert.deepEqual(allIds, range(0, inputRows), 'every row once');

  assert.deepEqual(calls.set, [{ values: ['1'], location: `file:${c.newDir}` }]);
  assert.deepEqual(calls.switched, [{ id: c.compactionId, counts: { inputFiles: inputs.size, outputFiles: outputs.length } }]);
  assert.deepEqual(calls.done, []);
  assert.deepEqual(filesIn(oldDir), [...inputs.keys()].sort(), 'the old directory stays for queries planned on it');
  const staging = join(tableDir, '.hive-kafka-staging', `compaction-${basename(c.newDir)}`);
  assert.ok(existsSync(staging));
  assert.deepEqual(filesIn(staging), [], 'nothing left in staging');

  const [switched] = ledger.openCompactions(TABLE);
  assert.equal(switched?.state, 'switched');
  assert.equal(await runCompaction(deps, switched!, settings, switched!.switchedAt! + settings.graceMs - 1), false);
  assert.ok(existsSync(oldDir));
  assert.equal(await runCompaction(deps, switched!, settings, switched!.switchedAt! + settings.graceMs), true);
  assert.ok(!existsSync(oldDir), 'the old directory is removed');
  assert.ok(!existsSync(staging), 'and the staging directory');
  assert.deepEqual(filesIn(c.newDir), outputs, 'the new directory is untouched');
  assert.deepEqual(calls.done, [c.compactionId]);
  assert.equal(calls.set.length, 1, 'switched once');
  assert.deepEqual(ledger.openCompactions(TABLE), []);
});

test('a bucketed partition ends with exactly one file per bucket, its rows preserved', async () => {
  const inputs = new Map<string, Uint8Array>();
  const rowsOfBucket = new Map<number, number[]>();
  let id = 0;
  for (let bucket = 0; bucket < 4; bucket++) {
    for (let k = 0; k <= bucket; k++) { // bucket b has b + 1 files
      const rows = 5 + k;
      inputs.set(`${String(bucket).padStart(6, '0')}_0_topic+${k}+${id}+${id + rows - 1}.parquet`, parquet(range(id, rows), 40));
      rowsOfBucket.set(bucket, [...(rowsOfBucket.get(bucket) ?? []), ...range(id, rows)]);
      id += rows;
    }
  }
  const { tableDir, oldDir } = tableOnDisk(inputs);
  const { ledger } = ledgerWithStream();
  const c = plan(ledger, tableDir, oldDir);
  const { deps, calls, setLocation } = harness(tableDir, ledger);
  setLocation(`file:${oldDir}`);
  // A tiny target: bucketed tables still get one file per bucket.
  assert.equal(await runCompaction(deps, c, { targetFileBytes: 100, numBuckets: 4, graceMs: 0 }), true);

  const expected = [0, 1, 2, 3].map((b) => `${String(b).padStart(6, '0')}_0_compacted-${basename(c.newDir)}.parquet`);
  assert.deepEqual(filesIn(c.newDir), expected);
  for (let bucket = 0; bucket < 4; bucket++) {
    const bytes = new Uint8Array(readFileSync(join(c.newDir, expected[bucket]!)));
    assert.equal(parquetRowCount(bytes), rowsOfBucket.get(bucket)!.length, `bucket ${bucket} rows`);
    assert.deepEqual(await ids(bytes), rowsOfBucket.get(bucket), `bucket ${bucket} ids`);
  }
  assert.deepEqual(calls.switched, [{ id: c.compactionId, counts: { inputFiles: 10, outputFiles: 4 } }]);
  assert.ok(!existsSync(oldDir));
  assert.deepEqual(calls.done, [c.compactionId]);
});

test('a crash between outputs, then a rerun of the planned compaction, ends as a run without the crash', async () => {
  const inputs = unbucketedInputs();
  const settings: CompactionSettings = { targetFileBytes: TARGET, numBuckets: 0, graceMs: 0 };
  /** crashOn: before which output (2nd, 3rd, ...) the first run dies; 0 for no crash. */
  const result = async (crashOn: number) => {
    const { tableDir, oldDir } = tableOnDisk(inputs);
    const { ledger } = ledgerWithStream();
    const c = plan(ledger, tableDir, oldDir);
    const { deps, calls, setLocation } = harness(tableDir, ledger, crashOn > 0 ? { crashAt: 'compaction-between-outputs', crashOn: crashOn - 1 } : {});
    setLocation(`file:${oldDir}`);
    if (crashOn > 0) {
      await assert.rejects(runCompaction(deps, c, settings), Crash);
      assert.equal(filesIn(c.newDir).length, crashOn - 1, 'the outputs before the crash are published');
      assert.deepEqual(calls.set, [], 'not switched');
      assert.deepEqual(filesIn(oldDir), [...inputs.keys()].sort());
      // The successor rolls forward what the ledger says.
      const [open] = ledger.openCompactions(TABLE);
      assert.equal(open?.state, 'planned');
      assert.equal(await runCompaction(deps, open!, settings), true);
    } else {
      assert.equal(await runCompaction(deps, c, settings), true);
    }
    assert.equal(calls.set.length, 1);
    assert.deepEqual(calls.done, [c.compactionId]);
    assert.ok(!existsSync(oldDir));
    assert.ok(!existsSync(join(tableDir, '.hive-kafka-staging', `compaction-${basename(c.newDir)}`)));
    return {
      files: filesIn(c.newDir).map((name) => ({ name, bytes: Buffer.from(readFileSync(join(c.newDir, name))).toString('base64') })),
      counts: calls.switched.map((s) => s.counts),
    };
  };
  const clean = await result(0);
  // Outputs in order: the big file kept whole, compacted-N-0000, compacted-N-0001.
  assert.equal(clean.files.length, 3, clean.files.map((f) => f.name).join(', '));
  for (const crashOn of [2, 3]) { // after the kept file; after a merged file
    const crashed = await result(crashOn);
    assert.deepEqual(crashed.files.map((f) => f.name), clean.files.map((f) => f.name), 'same outputs, nothing duplicated');
    crashed.files.forEach((f, i) => assert.equal(f.bytes, clean.files[i]!.bytes, `${f.name}: same bytes`));
    assert.deepEqual(crashed.counts, clean.counts);
  }
});

test('the switch is refused when Hive reads the partition elsewhere, and accepted when it already reads the new directory', async () => {
  const inputs = new Map([['a.parquet', parquet(range(0, 3))], ['b.parquet', parquet(range(3, 3))]]);
  const settings: CompactionSettings = { targetFileBytes: TARGET, numBuckets: 0, graceMs: 0 };

  for (const elsewhere of ['file:/somewhere/else', undefined]) {
    const { tableDir, oldDir } = tableOnDisk(inputs);
    const { ledger } = ledgerWithStream();
    const c = plan(ledger, tableDir, oldDir);
    const { deps, calls, setLocation } = harness(tableDir, ledger);
    setLocation(elsewhere);
    await assert.rejects(runCompaction(deps, c, settings), /moved outside hive-kafka/);
    assert.equal(calls.partitionLocation, 1);
    assert.deepEqual(calls.set, [], 'setPartitionLocation not called');
    assert.deepEqual(calls.switched, []);
    assert.equal(ledger.openCompactions(TABLE)[0]?.state, 'planned');
    assert.deepEqual(filesIn(oldDir), ['a.parquet', 'b.parquet'], 'the old files stay');
  }

  // A crash after alter_partition and before the ledger heard of it: Hive reads the new directory already
  // (written here as file:///x/ — the same place as file:/x).
  const { tableDir, oldDir } = tableOnDisk(inputs);
  const { ledger } = ledgerWithStream();
  const c = plan(ledger, tableDir, oldDir);
  const { deps, calls, setLocation } = harness(tableDir, ledger);
  setLocation(`file://${c.newDir}/`);
  assert.equal(await runCompaction(deps, c, settings), true);
  assert.deepEqual(calls.set, [{ values: ['1'], location: `file:${c.newDir}` }]);
  assert.deepEqual(calls.switched.map((s) => s.counts), [{ inputFiles: 2, outputFiles: 1 }]);
  assert.deepEqual(calls.done, [c.compactionId]);
  assert.deepEqual(ledger.openCompactions(TABLE), []);
});

// ---- the compactor -------------------------------------------------------------------------------

function compactorSetup(compaction: { targetFileBytes: number; minFiles: number; minAgeMs: number } | undefined, filesPerPartition: Record<string, number>,
  onStep?: (step: CompactionStep) => void) {
  const root = tempDir('hive-kafka-compactor-');
  const tableDir = join(root, 't');
  const location = `file:${tableDir}`;
  const { ledger, epoch } = ledgerWithStream(JSON.stringify(compaction === undefined ? {} : { compaction }),
    JSON.stringify({ location, dbName: 'db', tableName: 't', columns, partitionKeys: [{ name: 'dt', type: 'string' }], bucketColumns: [], numBuckets: -1 }));
  const rows = new Map<string, number>();
  let id = 0;
  for (const [dt, count] of Object.entries(filesPerPartition)) {
    const dir = join(tableDir, `dt=${dt}`);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < count; i++) {
      const name = `t+0+${id}+${id + 4}.parquet`;
      const [published] = commit(ledger, epoch, [join(dir, name)]);
      writeFileSync(published!, parquet(range(id, 5)));
      id += 5;
    }
    rows.set(dt, count * 5);
  }
  const locations = new Map(Object.keys(filesPerPartition).map((dt) => [dt, `${location}/dt=${dt}`]));
  const set: { table: string; values: string[]; location: string }[] = [];
  const warnings: unknown[] = [];
  const compacted: { table: string; counts: unknown }[] = [];
  const log = { warn: (o: unknown) => { warnings.push(o); }, info: () => {}, debug: () => {}, error: () => {} } as unknown as Logger;
  let runsHere = true;
  let crashAt: CompactionStep | undefined;
  const compactor = new Compactor({
    ledger, fileSystems: fileSystems(), log, runsHere: () => runsHere,
    partitionLocation: async (_db, _t, values) => locations.get(values[0]!),
    setPartitionLocation: async (db, t, values, loc) => { set.push({ table: `${db}.${t}`, values, location: loc }); locations.set(values[0]!, loc); },
    graceMs: 0, periodMs: 3_600_000,
    onCompacted: (table, counts) => { compacted.push({ table, counts }); },
    reached: (step) => { onStep?.(step); if (step === crashAt) { crashAt = undefined; throw new Crash(step); } },
  });
  return {
    ledger, epoch, tableDir, compactor, set, warnings, compacted, rows,
    setRunsHere: (v: boolean) => { runsHere = v; },
    crashAt: (step: CompactionStep) => { crashAt = step; },
  };
}

test('the compactor compacts a partition with enough old files, not one with fewer, and not a table it does not run', async () => {
  const s = compactorSetup({ targetFileBytes: 1 << 20, minFiles: 3, minAgeMs: 60_000 }, { 1: 3, 2: 2 });
  const dt1 = join(s.tableDir, 'dt=1');
  const dt2 = join(s.tableDir, 'dt=2');
  const later = Date.now() + 120_000;

  s.setRunsHere(false);
  await s.compactor.round(later);
  assert.deepEqual(s.set, [], 'another instance runs the table');
  assert.deepEqual(s.ledger.openCompactions(TABLE), []);
  s.setRunsHere(true);

  await s.compactor.round(Date.now());
  assert.deepEqual(s.set, [], 'the files are younger than minAgeMs');
  assert.equal(filesIn(dt1).length, 3);

  await s.compactor.round(later);
  assert.deepEqual(s.warnings, []);
  const newDir = (s.set as { location: string }[])[0]!.location.replace(/^file:/, ''); // the cast undoes deepEqual's narrowing to []
  assert.match(newDir, new RegExp(`^${s.tableDir}/_hive_kafka_compacted/1-[0-9a-f]{8}$`));
  assert.deepEqual(s.set, [{ table: 'db.t', values: ['1'], location: `file:${newDir}` }]);
  assert.deepEqual(s.compacted, [{ table: 'db.t', counts: { inputFiles: 3, outputFiles: 1 } }]);
  assert.ok(!existsSync(dt1), 'grace 0: the old directory is gone');
  const [merged] = dataFilesIn(newDir);
  assert.equal(merged, `compacted-${basename(newDir)}-0000.parquet`);
  assert.deepEqual(filesIn(newDir), [PLAN_MARKER, merged], 'and the plan\'s marker');
  const mergedBytes = new Uint8Array(readFileSync(join(newDir, merged!)));
  assert.equal(parquetRowCount(mergedBytes), s.rows.get('1'));
  assert.deepEqual(await ids(mergedBytes), range(0, 15));
  assert.equal(filesIn(dt2).length, 2, 'a partition with fewer than minFiles files is left alone');
  assert.deepEqual(s.ledger.openCompactions(TABLE), []);

  // Nothing new was committed: the next round compacts nothing again.
  await s.compactor.round(later + 1000);
  assert.equal(s.set.length, 1);
  assert.deepEqual(filesIn(newDir), [PLAN_MARKER, merged]);
});

test('a table dropped while a compaction of it runs: nothing more is written under its location, and the DROP\'s clean-up waits for the round', async () => {
  let dropped: (() => void) | undefined;
  let settledBeforeRoundEnded: boolean | undefined;
  let roundEnded = false;
  const s = compactorSetup({ targetFileBytes: 1, minFiles: 2, minAgeMs: 0 }, { 1: 3, 2: 3 }, (step) => {
    if (step !== 'compaction-between-outputs' || !dropped) return;
    dropped(); // the DROP reaches the service between two merged files of dt=1
    dropped = undefined;
  });
  dropped = () => {
    s.setRunsHere(false);
    void s.compactor.settled(TABLE).then(() => { settledBeforeRoundEnded = !roundEnded; });
  };
  await s.compactor.round(Date.now() + 1000);
  roundEnded = true;
  await new Promise((r) => setImmediate(r));
  assert.equal(settledBeforeRoundEnded, false, 'the clean-up waited for the round');
  assert.deepEqual(s.set, [], 'no switch');
  const [c] = s.ledger.openCompactions(TABLE);
  assert.equal(s.ledger.openCompactions(TABLE).length, 1, 'dt=2 was never planned');
  // Before, the compaction went on writing (three outputs of one file each) and dt=2 was planned and merged too.
  assert.deepEqual(dataFilesIn(c!.newDir).length, 1, 'it stopped before its second output');
  assert.deepEqual(s.warnings, [], 'a compaction stopped with its table is no failure');
  await s.compactor.settled(TABLE); // nothing under way: at once
});

test('the compactor never compacts with minFiles 0 or without compaction settings', async () => {
  for (const compaction of [{ targetFileBytes: 1 << 20, minFiles: 0, minAgeMs: 0 }, undefined]) {
    const s = compactorSetup(compaction, { 1: 5 });
    await s.compactor.round(Date.now() + 3_600_000);
    assert.deepEqual(s.set, []);
    assert.deepEqual(s.ledger.openCompactions(TABLE), []);
    assert.equal(filesIn(join(s.tableDir, 'dt=1')).length, 5);
  }
});

test('a compaction that failed mid-way is rolled forward by the next round', async () => {
  const s = compactorSetup({ targetFileBytes: 1 << 20, minFiles: 2, minAgeMs: 0 }, { 1: 2 });
  s.crashAt('compaction-written');
  await s.compactor.round(Date.now() + 1000);
  assert.equal(s.warnings.length, 1, 'the failure is logged');
  assert.equal(s.set.length, 0, 'not switched');
  assert.deepEqual(s.ledger.openCompactions(TABLE).map((c) => c.state), ['planned']);
  await s.compactor.round(Date.now() + 2000);
  const [planned] = s.set;
  assert.equal(s.set.length, 1);
  assert.match(planned!.location, new RegExp(`^file:${s.tableDir}/_hive_kafka_compacted/1-[0-9a-f]{8}$`));
  assert.deepEqual(s.ledger.openCompactions(TABLE), []);
  assert.deepEqual(dataFilesIn(planned!.location.replace(/^file:/, '')), [`compacted-${basename(planned!.location)}-0000.parquet`]);
  assert.ok(!existsSync(join(s.tableDir, 'dt=1')));
});

// ---- ledger rebuild after compaction ------------------------------------------------------------

test('ledger rebuild finds the offsets of compacted batches in the merged files\' footers, twice compacted too', async () => {
  // Batches of Kafka partitions 0 and 1 in dt=1; small enough to merge, one whole batch renamed alone.
  const inputs = new Map<string, Uint8Array>([
    ['t+0+0+9.parquet', parquet(range(0, 10))], ['t+0+10+19.parquet', parquet(range(10, 10))],
    ['t+1+0+4.parquet', parquet(range(100, 5))], ['t+1+5+29.parquet', parquet(range(105, 25))],
  ]);
  const { tableDir, oldDir } = tableOnDisk(inputs);
  const { ledger } = ledgerWithStream();
  const { deps } = harness(tableDir, ledger);
  const settings: CompactionSettings = { targetFileBytes: 1 << 20, numBuckets: 0, graceMs: 0 };
  const first = plan(ledger, tableDir, oldDir);
  deps.partitionLocation = async () => `file:${oldDir}`;
  assert.equal(await runCompaction(deps, first, settings), true, 'grace 0: switched and cleaned in one go');
  assert.ok(!existsSync(oldDir), 'the batch files are gone from their partition directory');
  assert.ok(filesIn(first.newDir).every((n) => n.startsWith('compacted-')), filesIn(first.newDir).join(', '));

  // A later batch in the new directory, then a second compaction of it (merged files merged again).
  writeFileSync(join(first.newDir, 't+0+20+24.parquet'), parquet(range(20, 5)));
  const second = plan(ledger, tableDir, oldDir);
  assert.equal(second.oldDir, first.newDir);
  deps.partitionLocation = async () => `file:${first.newDir}`;
  assert.equal(await runCompaction(deps, second, settings), true);
  assert.ok(filesIn(second.newDir).every((n) => n.startsWith('compacted-')));

  const { lastPublishedOffsets } = await import('../../src/ledger/rebuild.ts');
  assert.deepEqual(Object.fromEntries(await lastPublishedOffsets(new LocalFileSystem(), tableDir, 't')), { 0: 24, 1: 29 });
});

test('ledger rebuild after a RENAME of a compacted table finds the offsets in the merged files Hive moved to the new name\'s directory', async () => {
  // Hive reads a compacted unpartitioned table from the compaction's directory; a RENAME moves that
  // directory to the new name's, so its merged files sit where batch files do.
  const inputs = new Map<string, Uint8Array>([['t+0+0+9.parquet', parquet(range(0, 10))], ['t+1+0+4.parquet', parquet(range(100, 5))]]);
  const { root, tableDir, oldDir } = tableOnDisk(inputs);
  const { ledger } = ledgerWithStream();
  const { deps } = harness(tableDir, ledger);
  const compaction = plan(ledger, tableDir, oldDir);
  deps.partitionLocation = async () => `file:${oldDir}`;
  assert.equal(await runCompaction(deps, compaction, { targetFileBytes: 1 << 20, numBuckets: 0, graceMs: 0 }), true);
  const renamed = join(root, 't_renamed');
  renameSync(compaction.newDir, renamed);
  writeFileSync(join(renamed, 't+0+10+14.parquet'), parquet(range(10, 5))); // a batch after the rename, Kafka partition 0 only
  assert.ok(filesIn(renamed).some((n) => n.startsWith('compacted-')), filesIn(renamed).join(', '));
  const { lastPublishedOffsets } = await import('../../src/ledger/rebuild.ts');
  assert.deepEqual(Object.fromEntries(await lastPublishedOffsets(new LocalFileSystem(), renamed, 't')), { 0: 14, 1: 4 },
    'partition 1 had no batch since the compaction: its offset is in the merged file only');
});

// ---- unpartitioned tables ------------------------------------------------------------------------

test('an unpartitioned table is compacted as its own directory: Hive reads the table from the new one, later batches follow, hidden entries and dead letters stay', async () => {
  const tableDir = join(tempDir('hive-kafka-compactor-'), 't');
  const location = `file:${tableDir}`;
  const { ledger, epoch } = ledgerWithStream(JSON.stringify({ compaction: { targetFileBytes: 1 << 20, minFiles: 3, minAgeMs: 0 } }),
    JSON.stringify({ location, dbName: 'db', tableName: 't', columns, partitionKeys: [], bucketColumns: [], numBuckets: -1 }));
  const deadLetters = join(tableDir, '_hive_kafka_deadletter', 'records');
  mkdirSync(deadLetters, { recursive: true });
  writeFileSync(join(tableDir, '.hive-kafka-holder'), '{}');
  const commitFiles = (paths: string[]) => {
    const first = ledger.nextOffsets(TABLE).get(0)!;
    const recorded = ledger.recordIntent({ tableId: TABLE, kafkaPartition: 0, firstOffset: first, lastOffset: first + 4, recordCount: 5, ownerEpoch: epoch,
      files: paths.map((finalPath, i) => ({ hiddenPath: `/staging/${first}-${i}`, finalPath, partitionValues: null, bucket: null })) });
    ledger.markCommitted(recorded);
    return recorded.files.map((f) => f.finalPath);
  };
  for (let id = 0; id < 15; id += 5) {
    const [data, letters] = commitFiles([join(tableDir, `t+0+${id}+${id + 4}.parquet`), join(deadLetters, `t+0+${id}+${id + 4}.json`)]);
    writeFileSync(data!, parquet(range(id, 5)));
    writeFileSync(letters!, '{}\n');
  }
  let readsAt = location;
  const set: { values: string[]; location: string }[] = [];
  const warnings: unknown[] = [];
  const log = { warn: (o: unknown) => { warnings.push(o); }, info: () => {}, debug: () => {}, error: () => {} } as unknown as Logger;
  const compactor = new Compactor({ ledger, fileSystems: fileSystems(), log, runsHere: () => true, graceMs: 0, periodMs: 3_600_000,
    partitionLocation: async (_db, _t, values) => { assert.deepEqual(values, [], 'the table itself'); return readsAt; },
    setPartitionLocation: async (_db, _t, values, loc) => { set.push({ values, location: loc }); readsAt = loc; } });
  await compactor.round(Date.now() + 1000);
  assert.deepEqual(warnings, []);
  const newDir = (set[0]?.location ?? '').replace(/^file:/, '');
  assert.match(newDir, new RegExp(`^${tableDir}/_hive_kafka_compacted/1-[0-9a-f]{8}$`));
  assert.deepEqual(set, [{ values: [], location: `file:${newDir}` }], 'one switch of the table, none for the dead letters');
  assert.deepEqual(dataFilesIn(newDir), [`compacted-${basename(newDir)}-0000.parquet`]);
  assert.deepEqual(await ids(new Uint8Array(readFileSync(join(newDir, `compacted-${basename(newDir)}-0000.parquet`)))), range(0, 15));
  // The table's own directory keeps everything but the data files merged away.
  assert.deepEqual(filesIn(tableDir).filter((n) => !n.startsWith('.hive-kafka-staging')), ['.hive-kafka-holder', '_hive_kafka_compacted', '_hive_kafka_deadletter']);
  assert.equal(filesIn(deadLetters).length, 3, 'dead letters are not compacted');
  // The next batch goes where Hive reads the table now.
  assert.deepEqual(commitFiles([join(tableDir, 't+0+15+19.parquet')]), [join(newDir, 't+0+15+19.parquet')]);
});

test('a compacted unpartitioned table\'s metastore location splits into its own location and the compacted directory; the switch is no change to the lifecycle', async () => {
  const { tableLocation } = await import('../../src/properties/stream.ts');
  const { classifyUpsert } = await import('../../src/lifecycle/classify.ts');
  assert.deepEqual(tableLocation('hdfs://nn:8020/w/t'), { location: 'hdfs://nn:8020/w/t' });
  assert.deepEqual(tableLocation('hdfs://nn:8020/w/t/_hive_kafka_compacted/12/'), { location: 'hdfs://nn:8020/w/t', compactedLocation: 'hdfs://nn:8020/w/t/_hive_kafka_compacted/12/' });
  assert.deepEqual(tableLocation('file:/w/t/_hive_kafka_compacted/3-0a1b2c3d'), { location: 'file:/w/t', compactedLocation: 'file:/w/t/_hive_kafka_compacted/3-0a1b2c3d' }, 'today\'s form');
  assert.deepEqual(tableLocation('file:/w/t/_hive_kafka_compacted/x'), { location: 'file:/w/t/_hive_kafka_compacted/x' }, 'not a compaction\'s directory');
  const spec = { topic: 't' } as never;
  const layout = { location: 'file:/w/t', dbName: 'db', tableName: 't', columns: [], partitionKeys: [], bucketColumns: [], numBuckets: -1 };
  assert.equal(classifyUpsert({ spec, layout }, { spec, layout: { ...layout, compactedLocation: 'file:/w/t/_hive_kafka_compacted/1' } }).event, 'alter:none');
  assert.equal(classifyUpsert({ spec, layout }, { spec, layout: { ...layout, location: 'file:/w/u' } }).event, 'alter:batch-boundary', 'a location the user set is a change');
});

// ---- a new or rebuilt ledger meets an earlier ledger's compactions --------------------------------

test('two ledgers never name the same compaction directory, though both number their compactions from 1', () => {
  const names = new Set(Array.from({ length: 50 }, () => compactedDir('/w/t', 1)));
  assert.equal(names.size, 50);
  const a = planIn(ledgerWithStream().ledger, '/w/t/dt=1', ['1'], (id) => compactedDir('/w/t', id))!;
  const b = planIn(ledgerWithStream().ledger, '/w/t/dt=1', ['1'], (id) => compactedDir('/w/t', id))!;
  assert.equal(a.compactionId, b.compactionId, 'the same number');
  assert.notEqual(a.newDir, b.newDir, 'not the same directory: the second would skip outputs the first published under the same names');
});

test('a fresh ledger sends a partition\'s batches where Hive reads it after an earlier ledger compacted it, and leaves other partitions alone', async () => {
  const { adoptCompactedPartitions } = await import('../../src/ledger/rebuild.ts');
  const { ledger, epoch } = ledgerWithStream();
  const layout = { location: 'file:/w/t', dbName: 'db', tableName: 't', columns, partitionKeys: [{ name: 'dt', type: 'string' }], bucketColumns: [], numBuckets: -1 };
  const fsFor = (location: string) => ({ path: location.replace(/^file:/, '') });
  adoptCompactedPartitions(ledger, TABLE, layout, [
    { values: ['1'], storage: { location: 'file:/w/t/_hive_kafka_compacted/4-0a1b2c3d' } }, // compacted by the earlier ledger
    { values: ['2'], storage: { location: 'file:/w/t/dt=2' } }, // never compacted
    { values: ['3'], storage: { location: 'file:/elsewhere/dt=3' } }, // moved by a user: not ours to follow
  ] as never, fsFor);
  assert.deepEqual(commit(ledger, epoch, ['/w/t/dt=1/t+0+0+9.parquet', '/w/t/dt=2/t+0+0+9.parquet', '/w/t/dt=3/t+0+0+9.parquet']),
    ['/w/t/_hive_kafka_compacted/4-0a1b2c3d/t+0+0+9.parquet', '/w/t/dt=2/t+0+0+9.parquet', '/w/t/dt=3/t+0+0+9.parquet']);
  adoptCompactedPartitions(ledger, TABLE, { ...layout, partitionKeys: [] }, [{ values: [], storage: { location: 'file:/w/t/_hive_kafka_compacted/9-00000000' } }] as never, fsFor);
  assert.deepEqual(commit(ledger, epoch, ['/w/t/t+0+10+19.parquet']), ['/w/t/t+0+10+19.parquet'], 'an unpartitioned table is adoptCompactedLocation\'s job');
});

test('a merged file never takes the name of an input kept whole that an earlier ledger\'s compaction of the same number merged', async () => {
  // The partition an earlier ledger compacted (its compaction 1, both name forms) and new batches since:
  // this ledger's compaction 1 keeps the big files whole under their names and merges the small ones.
  const inputs = unbucketedInputs();
  const [bigName, bigBytes] = [...inputs].find(([, b]) => b.length >= TARGET / 2)!;
  inputs.delete(bigName);
  inputs.set('compacted-1-0000.parquet', bigBytes); // before 2026-12-02
  inputs.set('compacted-1-0000000a-0000.parquet', parquet(range(1000, 50))); // the same name this ledger's compaction 1 would give its merged file
  const inputRows = [...inputs.values()].reduce((n, b) => n + parquetRowCount(b), 0);
  const { tableDir, oldDir } = tableOnDisk(inputs);
  const { ledger } = ledgerWithStream();
  const earlier = plan(ledger, tableDir, oldDir);
  const { deps, setLocation } = harness(tableDir, ledger);
  setLocation(`file:${oldDir}`);
  // The same number and unique part as the file above: only the merged name's own part tells them apart.
  const c = { ...earlier, newDir: compactedDir(tableDir, earlier.compactionId, '0000000b') };
  assert.equal(await runCompaction(deps, c, { targetFileBytes: TARGET, numBuckets: 0, graceMs: 0 }), true);
  const outputs = filesIn(c.newDir);
  assert.ok(outputs.includes('compacted-1-0000.parquet') && outputs.includes('compacted-1-0000000a-0000.parquet'), `kept whole: ${outputs.join(', ')}`);
  const rows = outputs.reduce((n, name) => n + parquetRowCount(new Uint8Array(readFileSync(join(c.newDir, name)))), 0);
  assert.equal(rows, inputRows, `every input row is in the outputs (${outputs.join(', ')})`);
});

test('a directory adopted from an earlier ledger and then compacted by this one is no candidate of its own', async () => {
  const { adoptCompactedPartitions } = await import('../../src/ledger/rebuild.ts');
  const { ledger, epoch } = ledgerWithStream();
  const layout = { location: 'file:/w/t', dbName: 'db', tableName: 't', columns, partitionKeys: [{ name: 'dt', type: 'string' }], bucketColumns: [], numBuckets: -1 };
  adoptCompactedPartitions(ledger, TABLE, layout, [{ values: ['1'], storage: { location: 'file:/w/t/_hive_kafka_compacted/4-0a1b2c3d' } }] as never,
    (location: string) => ({ path: location.replace(/^file:/, '') }));
  commit(ledger, epoch, ['/w/t/dt=1/t+0+0+9.parquet']);
  const [adopted] = ledger.compactionCandidates(TABLE, Date.now());
  assert.deepEqual([adopted?.dir, adopted?.naturalDir], ['/w/t/_hive_kafka_compacted/4-0a1b2c3d', '/w/t/dt=1']);
  const c = planIn(ledger, adopted!.naturalDir, ['1'], (id) => compactedDir('/w/t', id))!;
  commit(ledger, epoch, ['/w/t/dt=1/t+0+10+19.parquet']);
  // Else it was planned again as a natural directory, and its switch refused every round: Hive reads c.newDir.
  assert.deepEqual(ledger.compactionCandidates(TABLE, Date.now()).map((x) => [x.dir, x.naturalDir]), [[c.newDir, '/w/t/dt=1']]);
});

// ---- a ledger lost between a plan and its switch --------------------------------------------------

test('a ledger lost after a plan: the marker lets a rebuilt ledger adopt the plan, its batches keep going to the new directory, and the roll-forward makes them visible', async () => {
  const { adoptPlannedCompactions } = await import('../../src/ledger/rebuild.ts');
  const { readPlanMarker } = await import('../../src/sink/compact.ts');
  const s = compactorSetup({ targetFileBytes: 1 << 20, minFiles: 2, minAgeMs: 0 }, { 1: 2 });
  const dt1 = join(s.tableDir, 'dt=1');
  s.crashAt('compaction-planned');
  await s.compactor.round(Date.now() + 1000);
  const [planned] = s.ledger.openCompactions(TABLE);
  assert.equal(planned?.state, 'planned');
  assert.deepEqual(await readPlanMarker(new LocalFileSystem(), planned!.newDir), { partitionValues: ['1'], naturalDir: dt1, oldDir: dt1 });
  // A batch after the plan publishes into the new directory, which Hive does not read yet.
  const [after] = commit(s.ledger, s.epoch, [join(dt1, 't+0+10+19.parquet')]);
  assert.equal(after, join(planned!.newDir, 't+0+10+19.parquet'));
  writeFileSync(after!, parquet(range(10, 10)));

  // The ledger is lost. A fresh one, rebuilt: Hive still reads dt=1.
  const layout = { location: `file:${s.tableDir}`, dbName: 'db', tableName: 't', columns, partitionKeys: [{ name: 'dt', type: 'string' }], bucketColumns: [], numBuckets: -1 };
  const { ledger: fresh, epoch } = ledgerWithStream('{}', JSON.stringify(layout));
  const fsFor = (location: string) => ({ fs: new LocalFileSystem(), path: location.replace(/^file:/, '') });
  const partitions = [{ values: ['1'], storage: { location: `file:${dt1}` } }, { values: ['2'], storage: { location: `file:${s.tableDir}/dt=2` } }];
  assert.deepEqual(await adoptPlannedCompactions(fresh, TABLE, layout, partitions as never, fsFor), [planned!.newDir]);
  assert.deepEqual(await adoptPlannedCompactions(fresh, TABLE, layout, partitions as never, fsFor), [planned!.newDir], 'twice: still one compaction');
  assert.deepEqual(fresh.openCompactions(TABLE).map((c) => [c.state, c.oldDir, c.newDir, c.partitionValues]), [['planned', dt1, planned!.newDir, ['1']]]);
  const [next] = commit(fresh, epoch, [join(dt1, 't+0+20+29.parquet'), join(s.tableDir, 'dt=2', 't+0+20+29.parquet')]);
  assert.equal(next, join(planned!.newDir, 't+0+20+29.parquet'), 'the rebuilt ledger sends the partition\'s batches where the plan did');
  writeFileSync(next!, parquet(range(20, 10)));

  const { deps, calls, setLocation } = harness(s.tableDir, fresh);
  setLocation(`file:${dt1}`);
  assert.equal(await runCompaction(deps, fresh.openCompactions(TABLE)[0]!, { targetFileBytes: 1 << 20, numBuckets: 0, graceMs: 0 }), true);
  assert.deepEqual(calls.set, [{ values: ['1'], location: `file:${planned!.newDir}` }], 'Hive reads the new directory');
  const visible = dataFilesIn(planned!.newDir);
  const rowsIn = await Promise.all(visible.map((n) => ids(new Uint8Array(readFileSync(join(planned!.newDir, n))))));
  assert.deepEqual(rowsIn.flat().sort((a, b) => a - b), range(0, 30), 'the earlier batches merged, and both later batches, once each');
});

test('a marked directory is adopted only while Hive reads what it replaces and it holds data: not after its switch, not for a dropped partition, not a bare marker', async () => {
  const { adoptPlannedCompactions } = await import('../../src/ledger/rebuild.ts');
  const { markPlan } = await import('../../src/sink/compact.ts');
  const tableDir = join(tempDir('hive-kafka-marker-'), 't');
  const fs = new LocalFileSystem();
  const layout = { location: `file:${tableDir}`, dbName: 'db', tableName: 't', columns, partitionKeys: [{ name: 'dt', type: 'string' }], bucketColumns: [], numBuckets: -1 };
  const dir = (n: number) => compactedDir(tableDir, n, '0000000a');
  for (const [n, dt] of [[1, '1'], [2, '2'], [3, '3']] as const) {
    await markPlan(fs, dir(n), { partitionValues: [dt], naturalDir: join(tableDir, `dt=${dt}`), oldDir: join(tableDir, `dt=${dt}`) });
  }
  writeFileSync(join(dir(1), 't+0+0+9.parquet'), parquet(range(0, 10)));
  writeFileSync(join(dir(2), 't+0+0+9.parquet'), parquet(range(0, 10)));
  const { ledger } = ledgerWithStream();
  const adopted = await adoptPlannedCompactions(ledger, TABLE, layout, [
    { values: ['1'], storage: { location: `file:${dir(1)}` } }, // switched: Hive reads the new directory
    // dt=2 is gone; dt=3 is read where the marker says, but its directory holds the marker only
    { values: ['3'], storage: { location: `file:${tableDir}/dt=3/` } },
  ] as never, (location: string) => ({ fs, path: location.replace(/^file:/, '') }));
  assert.deepEqual(adopted, []);
  assert.deepEqual(ledger.openCompactions(TABLE), []);
});

test('a plan the ledger refuses leaves no marked directory behind', async () => {
  const s = compactorSetup({ targetFileBytes: 1 << 20, minFiles: 2, minAgeMs: 0 }, { 1: 2 });
  // A batch recorded and not yet published into dt=1: planning it is refused.
  s.ledger.recordIntent(intentOf(s.epoch, s.ledger.nextOffsets(TABLE).get(0)!, [join(s.tableDir, 'dt=1', 't+0+10+19.parquet')]));
  await s.compactor.round(Date.now() + 1000);
  assert.deepEqual(s.ledger.openCompactions(TABLE), []);
  assert.deepEqual(readdirSync(join(s.tableDir, '_hive_kafka_compacted')), []);
  assert.deepEqual(s.warnings, []);
});

test('rounds that outlast the period do not queue up behind each other, and a failed round does not stop the next', async () => {
  const log = { warn: () => {}, info: () => {}, debug: () => {}, error: () => {} } as unknown as Logger;
  let rounds = 0;
  class SlowCompactor extends Compactor {
    override async round(): Promise<void> {
      rounds++;
      await new Promise((r) => setTimeout(r, 100)); // a slow HDFS: ten periods per round
      if (rounds === 1) throw new Error('metastore unreachable');
    }
  }
  const compactor = new SlowCompactor({ ledger: Ledger.open(':memory:'), fileSystems: fileSystems(), log, runsHere: () => true, graceMs: 0, periodMs: 10,
    partitionLocation: async () => undefined, setPartitionLocation: async () => {} });
  compactor.start();
  await new Promise((r) => setTimeout(r, 450));
  const started = Date.now();
  await compactor.stop();
  assert.ok(rounds >= 2 && rounds <= 5, `${rounds} rounds in 450 ms of 100 ms rounds`);
  assert.ok(Date.now() - started < 200, 'stop waits for the round running, not for a backlog');
});
