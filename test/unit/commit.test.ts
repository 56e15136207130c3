// The commit protocol against an in-memory file system: a crash at each step, then recovery,
// leaves every record published exactly once and the offset right after the batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { Ledger } from '../../src/ledger/ledger.ts';
import { commitBatch, recover, type Batch, type CommitDeps, type CommitFileSystem, type CommitStep } from '../../src/sink/commit.ts';

class MemoryFileSystem implements CommitFileSystem {
  readonly files = new Map<string, Uint8Array>();
  async writeFileDurably(path: string, bytes: Uint8Array) { this.files.set(path, bytes); }
  async rename(from: string, to: string) {
    const bytes = this.files.get(from);
    if (!bytes) throw new Error(`ENOENT: ${from}`);
    this.files.delete(from);
    this.files.set(to, bytes);
  }
  async exists(path: string) { return this.files.has(path) || [...this.files.keys()].some((k) => k.startsWith(`${path}/`)); }
  async list(dir: string) { return [...this.files.keys()].filter((k) => posix.dirname(k) === dir).map((k) => posix.basename(k)); }
  async mkdirs() {}
  async remove(path: string) { this.files.delete(path); }
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

test('a fenced task cannot record a batch after its successor claimed the partition', async () => {
  const { fs, ledger, deps } = setup();
  const old = ledger.claimPartitions(1, [0]);
  ledger.claimPartitions(1, [0]);
  await assert.rejects(commitBatch(deps, batch(old)), /owner epoch .* was replaced/);
  assert.deepEqual(fs.visible(), []);
});
