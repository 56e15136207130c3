// The commit protocol against an in-memory file system: a crash at each step, then recovery,
// leaves every record published exactly once and the offset right after the batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { Ledger } from '../../src/ledger/ledger.ts';
import { commitBatch, recover, type Batch, type CommitDeps, type CommitFileSystem, type CommitStep } from '../../src/sink/commit.ts';

/** Directories are real here: a write makes its own, a rename needs the target's, and never replaces. */
class MemoryFileSystem implements CommitFileSystem {
  readonly files = new Map<string, Uint8Array>();
  readonly dirs = new Set<string>(['/']);
  /** Calls per method: on HDFS each one is a NameNode request. */
  readonly calls = new Map<string, number>();
  private count(method: string) { this.calls.set(method, (this.calls.get(method) ?? 0) + 1); }
  private makeDirs(dir: string) { for (let d = dir; !this.dirs.has(d); d = posix.dirname(d)) this.dirs.add(d); }
  async writeFileDurably(path: string, bytes: Uint8Array) { this.count('writeFileDurably'); this.makeDirs(posix.dirname(path)); this.files.set(path, bytes); }
  async rename(from: string, to: string) {
    this.count('rename');
    const bytes = this.files.get(from);
    if (!bytes) throw new Error(`ENOENT: ${from}`);
    if (!this.dirs.has(posix.dirname(to))) throw new Error(`ENOENT: the directory of ${to}`);
    if (this.files.has(to)) throw new Error(`EEXIST: ${to}`);
    this.files.delete(from);
    this.files.set(to, bytes);
  }
  async exists(path: string) { this.count('exists'); return this.files.has(path) || this.dirs.has(path); }
  async list(dir: string) { this.count('list'); return [...this.files.keys()].filter((k) => posix.dirname(k) === dir).map((k) => posix.basename(k)); }
  async mkdirs(dir: string) { this.count('mkdirs'); this.makeDirs(dir); }
  async remove(path: string) { this.count('remove'); this.files.delete(path); }
  visible() { return [...this.files.keys()].filter((k) => !k.split('/').some((part) => part.startsWith('.'))).sort(); }
}

class Crash extends Error {}

function setup(crashAt?: CommitStep) {
  const fs = new MemoryFileSystem();
  const ledger = Ledger.open(':memory:');
  ledger.upsertStream({ tableId: 1, dbName: 'db', tableName: 'pv', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
  ledger.initPartitions(1, new Map([[0, 0]]));
  const registered: string[][] = [];
  const deps: CommitDeps = {
    fs, ledger,
    registerPartitions: async (values) => { registered.push(...values); },
    reached: (step) => { if (step === crashAt) throw new Crash(step); },
  };
  return { fs, ledger, deps, registered };
}

const batch = (epoch: number): Batch => ({
  tableId: 1, tableDir: '/wh/pv', kafkaPartition: 0, firstOffset: 0, lastOffset: 2, recordCount: 3, ownerEpoch: epoch,
  files: [
    { dir: '/wh/pv/dt=1', finalName: 'pv+0+0+2.parquet', partitionValues: ['1'], bucket: null, content: { bytes: new Uint8Array([1]) } },
    { dir: '/wh/pv/dt=2', finalName: 'pv+0+0+2.parquet', partitionValues: ['2'], bucket: null, content: { bytes: new Uint8Array([2]) } },
  ],
});

const published = ['/wh/pv/dt=1/pv+0+0+2.parquet', '/wh/pv/dt=2/pv+0+0+2.parquet'];

test('a batch without a crash is published, registered and committed', async () => {
  const { fs, ledger, deps, registered } = setup();
  await commitBatch(deps, batch(ledger.claimPartitions(1, [0])));
  assert.deepEqual(fs.visible(), published);
  assert.deepEqual(registered, [['1'], ['2']]);
  assert.equal(ledger.nextOffsets(1).get(0), 3);
});

for (const step of ['after-hidden-write', 'after-intent', 'between-renames', 'after-publish', 'after-register'] as const) {
  test(`a crash ${step} is completed or undone by recovery, never half-visible`, async () => {
    const { fs, ledger, deps } = setup(step);
    await assert.rejects(commitBatch(deps, batch(ledger.claimPartitions(1, [0]))), Crash);
    // The successor: new epoch, no crash hook, recovery first.
    const successor = { ...deps, reached: undefined };
    ledger.claimPartitions(1, [0]);
    const rolledForward = await recover(successor, 1, '/wh/pv', [0]);
    if (step === 'after-hidden-write') {
      assert.equal(rolledForward, 0);
      assert.deepEqual(fs.visible(), [], 'no intent: nothing published, records are consumed again');
      assert.equal(ledger.nextOffsets(1).get(0), 0);
    } else {
      assert.equal(rolledForward, 1);
      assert.deepEqual(fs.visible(), published, 'intent recorded: recovery finishes the batch');
      assert.equal(ledger.nextOffsets(1).get(0), 3);
    }
    assert.deepEqual([...fs.files.keys()].filter((k) => k.includes('.hive-kafka-staging')), [], 'no hidden file is left behind');
  });
}

test('a batch costs one write and one rename per file: directories are made only when a rename finds one missing', async () => {
  const { fs, ledger, deps } = setup();
  const epoch = ledger.claimPartitions(1, [0]);
  await commitBatch(deps, batch(epoch)); // dt=1 and dt=2 are new: each rename fails once, asks, makes it
  assert.deepEqual(Object.fromEntries(fs.calls), { writeFileDurably: 2, rename: 4, exists: 6, mkdirs: 2 });
  fs.calls.clear();
  const next: Batch = { ...batch(epoch), firstOffset: 3, lastOffset: 5 };
  next.files = next.files.map((f) => ({ ...f, finalName: 'pv+0+3+5.parquet' }));
  await commitBatch(deps, next);
  assert.deepEqual(Object.fromEntries(fs.calls), { writeFileDurably: 2, rename: 2 }, 'directories there: no mkdirs, no exists');
  assert.equal(ledger.nextOffsets(1).get(0), 6);
});

test('publishing never replaces another file under the final name, and a lost file is named', async () => {
  const { fs, ledger, deps } = setup();
  fs.dirs.add('/wh/pv/dt=1');
  fs.files.set('/wh/pv/dt=1/pv+0+0+2.parquet', new Uint8Array([7]));
  await assert.rejects(commitBatch(deps, batch(ledger.claimPartitions(1, [0]))),
    (e: Error) => /^cannot publish \/wh\/pv\/dt=1\/pv\+0\+0\+2.parquet: a file this batch did not write already has that name; hive-kafka never replaces a file: move that file away or give the table another LOCATION$/.test(e.message) && /EEXIST/.test(String(e.cause)));
  assert.deepEqual([...fs.files.get('/wh/pv/dt=1/pv+0+0+2.parquet')!], [7], 'the other file is untouched');
  // One file published, then the other lost under both names: that is lost data, and the table fails naming it.
  const { deps: lostDeps, fs: lostFs, ledger: lostLedger } = setup('between-renames');
  await assert.rejects(commitBatch(lostDeps, batch(lostLedger.claimPartitions(1, [0]))), Crash);
  for (const k of [...lostFs.files.keys()]) if (k.includes('.hive-kafka-staging')) lostFs.files.delete(k); // staging emptied outside hive-kafka
  lostLedger.claimPartitions(1, [0]);
  await assert.rejects(recover({ ...lostDeps, reached: undefined }, 1, '/wh/pv', [0]), /batch file lost: neither .*\.tmp nor \/wh\/pv\/dt=2\/pv\+0\+0\+2\.parquet exists/);
  assert.equal(lostLedger.pendingBatches(1).length, 1, 'the batch stays recorded');
  assert.equal(lostLedger.nextOffsets(1).get(0), 0);
});

test('a recorded batch whose staged files are gone and none published is read again, not failed for good', async () => {
  const { fs, ledger, deps } = setup('after-intent');
  await assert.rejects(commitBatch(deps, batch(ledger.claimPartitions(1, [0]))), Crash);
  for (const k of [...fs.files.keys()]) fs.files.delete(k); // staging cleared under the intent
  ledger.claimPartitions(1, [0]);
  // The metastore has the table elsewhere, or not at all (a RENAME or DROP not followed yet), or no one
  // can ask it: that waits for the relocation, even with a staging directory there (the batch after it made one).
  let stillThere = false;
  const recovery = { ...deps, reached: undefined, stillAtLocation: async () => stillThere };
  for (const d of [recovery, { ...deps, reached: undefined }]) {
    await assert.rejects(recover(d, 1, '/wh/pv', [0]), /batch file lost/);
    assert.equal(ledger.pendingBatches(1).length, 1, 'kept for the relocation');
  }
  // Its staging directory gone is a table moved too.
  stillThere = true;
  fs.dirs.delete('/wh/pv/.hive-kafka-staging/0');
  await assert.rejects(recover(recovery, 1, '/wh/pv', [0]), /batch file lost/);
  fs.dirs.add('/wh/pv/.hive-kafka-staging/0');
  assert.equal(await recover(recovery, 1, '/wh/pv', [0]), 1);
  assert.deepEqual(fs.visible(), [], 'nothing published');
  assert.equal(ledger.pendingBatches(1).length, 0, 'the batch is forgotten');
  assert.equal(ledger.nextOffsets(1).get(0), 0, 'its records are read again from its first offset');
  const history = ledger.history(1).map((h) => [h.event, h.detail] as const).filter(([e]) => e === 'batch-read-again');
  assert.equal(history.length, 1);
  assert.match(JSON.stringify(history[0]![1]), /"partition":0,"from":0,"to":2,"why":"batch file lost: /);
  // Read again, the same records commit once.
  await commitBatch({ ...deps, reached: undefined }, batch(ledger.claimPartitions(1, [0])));
  assert.deepEqual(fs.visible(), published);
  assert.equal(ledger.nextOffsets(1).get(0), 3);
});

test('a fenced task cannot record a batch after its successor claimed the partition', async () => {
  const { fs, ledger, deps } = setup();
  const old = ledger.claimPartitions(1, [0]);
  ledger.claimPartitions(1, [0]);
  await assert.rejects(commitBatch(deps, batch(old)), /owner epoch .* was replaced/);
  assert.deepEqual(fs.visible(), []);
});

test('a file written whole is staged under a name with the task run\'s tag: another instance at the same epoch stages the same batch apart', async () => {
  const { fs, ledger, deps } = setup('after-hidden-write');
  await assert.rejects(commitBatch(deps, { ...batch(ledger.claimPartitions(1, [0])), stagingTag: 'a1b2c3d4' }), Crash);
  assert.deepEqual([...fs.files.keys()].map((k) => posix.basename(k)).sort(), ['0-0-pv+0+0+2.parquet.1-a1b2c3d4.tmp', '0-1-pv+0+0+2.parquet.1-a1b2c3d4.tmp']);
});
