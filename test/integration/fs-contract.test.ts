// The properties the commit protocol relies on (stated on FileSystem in src/sink/fs.ts), proven with
// the same tests against each file system: LocalFileSystem in a temporary directory, and
// WebHdfsFileSystem on the stack's HDFS (hdfs://127.0.0.1:8020, WebHDFS 127.0.0.1:9870). The HDFS
// half fails, naming the NameNode, when nothing answers there.
import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Ledger } from '../../src/ledger/ledger.ts';
import { commitBatch, recover, stagingDir, type Batch, type CommitDeps, type CommitStep } from '../../src/sink/commit.ts';
import { StagedFile } from '../../src/sink/staged-file.ts';
import { fileSystems, FileSystemError, LocalFileSystem, type FileSystem } from '../../src/sink/fs.ts';
import { requireHdfs, stack } from './helpers/services.ts';
import { eventually } from './helpers/service.ts';
import { countNameNodeRequests } from './helpers/namenode-requests.ts';

interface Opened {
  fs: FileSystem;
  /** A second client with no state shared with `fs`. */
  another: () => FileSystem;
  /** A new, empty directory for this run. */
  root: string;
  close(): Promise<void>;
}

interface Target {
  name: string;
  open(): Promise<Opened>;
}

const local: Target = {
  name: 'LocalFileSystem (a temporary directory)',
  async open() {
    const root = await mkdtemp(join(tmpdir(), 'hive-kafka-fs-contract-'));
    return { fs: new LocalFileSystem(), another: () => new LocalFileSystem(), root, close: () => rm(root, { recursive: true, force: true }) };
  },
};

const hdfs: Target = {
  name: `WebHdfsFileSystem (${stack.hdfs}, WebHDFS ${stack.webHdfs})`,
  async open() {
    await requireHdfs();
    const authority = new URL(stack.hdfs).host;
    // Each call builds a new resolver, so each client is new: no remembered NameNode, no shared connection.
    const client = (location: string) => fileSystems({ nameServices: { [authority]: [stack.webHdfs] } }).for(location);
    const { fs, path: root } = client(`${stack.hdfs}/tmp/hive-kafka-fs-contract-${process.pid}-${randomBytes(4).toString('hex')}`);
    await fs.mkdirs(root);
    return { fs, another: () => client(`${stack.hdfs}${root}`).fs, root, close: () => fs.removeTree(root) };
  },
};

function fsError(code: string, retriable: boolean, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof FileSystemError, String(error));
    assert.equal(error.code, code, error.message);
    assert.equal(error.retriable, retriable, error.message);
    if (message) assert.match(error.message, message);
    return true;
  };
}

const bytesOf = (text: string) => new TextEncoder().encode(text);

// Names as the protocol makes them: Hive-escaped partition values keep '%' and ' ' literally,
// published files hold '+', staging is hidden behind a leading '.'.
const partitionDir = 'dt=2026-11-20/country=a%2Fb c';
const publishedName = 'pv+0+100+199.parquet';

for (const target of [local, hdfs]) {
  describe(target.name, () => {
    // Opened by the first test, so a missing service fails every test by name (a failing before
    // hook would only cancel them).
    let opening: Promise<Opened> | undefined;
    let fs: FileSystem;
    let another: () => FileSystem;
    let root: string;
    beforeEach(async () => ({ fs, another, root } = await (opening ??= target.open())));
    after(async () => { await (await opening?.catch(() => undefined))?.close(); });

    test('1. a write is durable once it returns: whole, and visible to another client at once', async () => {
      const dir = posix.join(root, 'durable', '.hive-kafka-staging', '0');
      await fs.mkdirs(dir);
      const big = new Uint8Array(randomBytes(3 * 1024 * 1024 + 17)); // many 64 KB packets on HDFS
      await fs.writeFileDurably(posix.join(dir, 'big.tmp'), big);
      await fs.writeFileDurably(posix.join(dir, 'empty.tmp'), new Uint8Array());
      // HDFS lets a reader see only the acknowledged, closed length; a file still being written
      // would read short. Locally this checks the same bytes; fsync itself cannot be seen from here.
      const reader = another();
      assert.deepEqual(await reader.list(dir), ['big.tmp', 'empty.tmp']);
      assert.ok(Buffer.from(await reader.readFile(posix.join(dir, 'big.tmp'))).equals(Buffer.from(big)), 'every byte, in order');
      assert.equal((await reader.readFile(posix.join(dir, 'empty.tmp'))).length, 0);
    });

    test('2. create never overwrites a published file: files start under hidden names; a leftover there is replaced whole', async () => {
      const dir = posix.join(root, 'create');
      await fs.mkdirs(dir);
      const hidden = posix.join(dir, `.0-0-${publishedName}.1.tmp`);
      await fs.writeFileDurably(hidden, bytesOf('a partial leftover of an earlier attempt, longer than the real file'));
      await fs.writeFileDurably(hidden, bytesOf('real'));
      assert.equal(Buffer.from(await another().readFile(hidden)).toString(), 'real', 'no byte of the leftover remains');

      const published = posix.join(dir, publishedName);
      await fs.rename(hidden, published);
      const second = posix.join(dir, `.0-0-${publishedName}.2.tmp`);
      await fs.writeFileDurably(second, bytesOf('a later writer'));
      await assert.rejects(fs.rename(second, published), fsError('EEXIST', false));
      assert.equal(Buffer.from(await fs.readFile(published)).toString(), 'real');
    });

    test('3. publish is an atomic rename that never replaces an existing file', async () => {
      const staging = posix.join(root, 'publish', '.hive-kafka-staging', '0');
      const dir = posix.join(root, 'publish', partitionDir);
      await fs.mkdirs(staging);
      await fs.mkdirs(dir);
      const [hidden, other, final] = [posix.join(staging, 'a.tmp'), posix.join(staging, 'b.tmp'), posix.join(dir, publishedName)];

      await fs.writeFileDurably(hidden, bytesOf('first'));
      await fs.rename(hidden, final);
      assert.equal(await fs.exists(hidden), false);
      assert.deepEqual(await another().list(dir), [publishedName]);
      assert.equal(Buffer.from(await fs.readFile(final)).toString(), 'first');

      // A different file under the target name stays; the source is left for the caller to look at.
      await fs.writeFileDurably(other, bytesOf('second'));
      await assert.rejects(fs.rename(other, final), fsError('EEXIST', false, /a published file is never replaced/));
      assert.equal(Buffer.from(await fs.readFile(final)).toString(), 'first');
      assert.equal(await fs.exists(other), true);
    });

    test('3. a rename repeated after a crash (source gone, target there) fails without touching the target', async () => {
      const dir = posix.join(root, 'repeat');
      await fs.mkdirs(dir);
      const [hidden, final] = [posix.join(dir, '.h.tmp'), posix.join(dir, publishedName)];
      await fs.writeFileDurably(hidden, bytesOf('once'));
      await fs.rename(hidden, final);
      await assert.rejects(fs.rename(hidden, final), fsError('ENOENT', false, /renamed already, or by another writer/));
      assert.equal(Buffer.from(await fs.readFile(final)).toString(), 'once');
    });

    test('a write makes its missing directories (whole, in pieces, streamed); a rename into a missing directory fails and moves nothing', async () => {
      const staging = posix.join(root, 'parents', '.hive-kafka-staging');
      const whole = posix.join(staging, '0', 'whole.tmp');
      await fs.writeFileDurably(whole, bytesOf('whole'));
      const small = await fs.openDurably(posix.join(staging, '1', 'small.tmp'));
      await small.append(bytesOf('small'));
      await small.close();
      const streamed = await fs.openDurably(posix.join(staging, '2', 'streamed.tmp'));
      const pieces = Array.from({ length: 6 }, () => new Uint8Array(randomBytes(256 * 1024))); // 1.5 MiB: HDFS streams it
      for (const piece of pieces) await streamed.append(piece);
      await streamed.close();
      const reader = another();
      assert.deepEqual(await reader.list(staging), ['0', '1', '2']);
      assert.equal(Buffer.from(await reader.readFile(whole)).toString(), 'whole');
      assert.ok(Buffer.from(await reader.readFile(posix.join(staging, '2', 'streamed.tmp'))).equals(Buffer.concat(pieces)));

      // The commit protocol renames first and makes a partition directory only when this fails.
      const final = posix.join(root, 'parents', partitionDir, publishedName);
      await assert.rejects(fs.rename(whole, final), (e: unknown) => e instanceof Error && !(e as { retriable?: boolean }).retriable);
      assert.equal(await fs.exists(whole), true);
      assert.equal(await fs.exists(posix.dirname(final)), false);
      await fs.mkdirs(posix.dirname(final));
      await fs.rename(whole, final);
      assert.equal(Buffer.from(await reader.readFile(final)).toString(), 'whole');
    });

    for (const step of ['after-hidden-write', 'after-intent', 'between-renames', 'after-publish', 'after-register'] as const) {
      test(`the commit protocol runs on it unchanged: a crash ${step}, then recovery, publishes each file once`, async () => {
        const tableDir = posix.join(root, `table-${step}`);
        const ledger = Ledger.open(':memory:');
        try {
          ledger.upsertStream({ tableId: 1, dbName: 'db', tableName: 'pv', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
          ledger.initPartitions(1, new Map([[0, 100]]));
          const deps: CommitDeps = { fs, ledger, registerPartitions: async () => {}, reached: (s: CommitStep) => { if (s === step) throw new Crash(s); } };
          const dirs = [posix.join(tableDir, partitionDir), posix.join(tableDir, 'dt=2026-11-21/country=FR')];
          const batch: Batch = {
            tableId: 1, tableDir, kafkaPartition: 0, firstOffset: 100, lastOffset: 199, recordCount: 100, ownerEpoch: ledger.claimPartitions(1, [0]),
            files: dirs.map((dir, i) => ({ dir, finalName: publishedName, partitionValues: [String(i)], bucket: null, content: { bytes: bytesOf(`file ${i}`) } })),
          };
          await assert.rejects(commitBatch(deps, batch), Crash);

          ledger.claimPartitions(1, [0]); // the successor
          await recover({ ...deps, reached: undefined }, 1, tableDir, [0]);
          const rolledForward = step !== 'after-hidden-write';
          for (const [i, dir] of dirs.entries()) {
            if (rolledForward) {
              assert.deepEqual(await fs.list(dir), [publishedName]);
              assert.equal(Buffer.from(await fs.readFile(posix.join(dir, publishedName))).toString(), `file ${i}`);
            } else {
              assert.equal(await fs.exists(posix.join(dir, publishedName)), false);
            }
          }
          assert.deepEqual(await fs.list(posix.join(tableDir, '.hive-kafka-staging', '0')), [], 'no hidden file left behind');
          assert.equal(ledger.nextOffsets(1).get(0), rolledForward ? 200 : 100);
        } finally {
          ledger.close();
        }
      });
    }

    test('1. a file written in pieces (openDurably) is whole and durable once close returns: past 1 MiB (HDFS streams it), small, empty, after pauses, over a leftover', async () => {
      const dir = posix.join(root, 'pieces', '.hive-kafka-staging', '0');
      await fs.mkdirs(dir);
      const pieces = Array.from({ length: 12 }, () => new Uint8Array(randomBytes(256 * 1024 + 7))); // 3 MiB: past STREAM_AFTER_BYTES
      const large = posix.join(dir, 'large.tmp');
      await fs.writeFileDurably(large, bytesOf('a leftover of an earlier attempt under the same name'));
      const file = await fs.openDurably(large);
      for (const [i, piece] of pieces.entries()) {
        await file.append(piece);
        if (i === 5) {
          // 1.5 MiB in: the file is in storage already, not in this process's memory. The leftover is
          // gone and what a reader sees is a prefix of the pieces (on HDFS, of what the pipeline acknowledged).
          // The DataNode creates the file when the request reaches it, a moment after the first piece left.
          const sofar = Buffer.from(await eventually('the streamed file to be in storage', () => another().readFile(large).catch(() => undefined), 10_000, 100));
          assert.ok(Buffer.concat(pieces.slice(0, 6)).subarray(0, sofar.length).equals(sofar), `a prefix of the pieces, not the leftover (${sofar.length} bytes)`);
          await new Promise((r) => setTimeout(r, 3000)); // a batch fills at its own pace
        }
      }
      await file.close();
      const small = posix.join(dir, 'small.tmp');
      const few = await fs.openDurably(small);
      for (const text of ['a ', 'quiet ', 'batch']) await few.append(bytesOf(text));
      await few.close();
      const empty = await fs.openDurably(posix.join(dir, 'empty.tmp'));
      await empty.close();

      const reader = another();
      assert.deepEqual(await reader.list(dir), ['empty.tmp', 'large.tmp', 'small.tmp']);
      assert.ok(Buffer.from(await reader.readFile(large)).equals(Buffer.concat(pieces)), 'every piece, in order, and no byte of the leftover');
      assert.equal(Buffer.from(await reader.readFile(small)).toString(), 'a quiet batch');
      assert.equal((await reader.readFile(posix.join(dir, 'empty.tmp'))).length, 0);
    });

    test('a file given up mid-stream (abandon) is removed as recovery removes staging, and its name can be written again', async () => {
      const dir = posix.join(root, 'abandoned', '.hive-kafka-staging', '0');
      await fs.mkdirs(dir);
      const hidden = posix.join(dir, '0-g0.1.tmp');
      const file = await fs.openDurably(hidden);
      for (let i = 0; i < 8; i++) await file.append(new Uint8Array(randomBytes(256 * 1024)));
      await file.abandon();
      // On HDFS the DataNode closes what it got when the connection drops. The name can be written
      // again at once (a leftover is replaced whole), and recovery's remove takes the file.
      const again = await fs.openDurably(hidden);
      await again.append(bytesOf('whole'));
      await again.close();
      assert.equal(Buffer.from(await another().readFile(hidden)).toString(), 'whole');
      for (const name of await fs.list(dir)) await fs.remove(posix.join(dir, name));
      assert.deepEqual(await fs.list(dir), []);
    });

    test('exists, list, mkdirs and remove behave as the protocol and recovery expect', async () => {
      const nested = posix.join(root, 'ops', 'a', partitionDir);
      await fs.mkdirs(nested);
      await fs.mkdirs(nested); // already there: fine
      assert.equal(await fs.exists(nested), true);
      assert.equal(await fs.exists(posix.join(root, 'ops', 'nope')), false);

      await fs.writeFileDurably(posix.join(nested, 'z'), new Uint8Array());
      await fs.writeFileDurably(posix.join(nested, publishedName), new Uint8Array([1]));
      assert.deepEqual(await fs.list(nested), [publishedName, 'z']);
      await assert.rejects(fs.list(posix.join(root, 'ops', 'nope')), fsError('ENOENT', false));
      await assert.rejects(fs.list(posix.join(nested, 'z')), fsError('ENOTDIR', false));
      await assert.rejects(fs.mkdirs(posix.join(nested, 'z')), (e: unknown) => e instanceof FileSystemError && !e.retriable);

      await assert.rejects(fs.remove(nested), fsError('ENOTEMPTY', false)); // never a whole tree
      await fs.remove(posix.join(nested, 'z'));
      await fs.remove(posix.join(nested, 'z')); // already gone: fine
      await fs.remove(posix.join(nested, publishedName));
      await fs.remove(nested);
      assert.equal(await fs.exists(nested), false);
      assert.equal(await fs.exists(posix.dirname(nested)), true);
    });

    test('removeTree (DROP TABLE only) removes a table directory and all under it; a missing one is fine', async () => {
      const table = posix.join(root, 'dropped');
      await fs.mkdirs(posix.join(table, partitionDir));
      await fs.mkdirs(posix.join(table, '.hive-kafka-staging', '0'));
      await fs.writeFileDurably(posix.join(table, partitionDir, publishedName), new Uint8Array([1]));
      await fs.removeTree(table);
      assert.equal(await fs.exists(table), false);
      await fs.removeTree(table);
      assert.equal(await fs.exists(root), true);
    });
  });
}

class Crash extends Error {}

// The NameNode is the one shared part of a Hive cluster: a batch's requests to it are counted here, by
// WebHDFS op, on the stack's real NameNode.
describe(`NameNode requests per batch (${stack.webHdfs})`, () => {
  test('a batch of one file: four when it streams, three when written whole at close; a new partition directory costs eight more once', async () => {
    const { fs, root, close } = await hdfs.open();
    const requests = countNameNodeRequests();
    const ledger = Ledger.open(':memory:');
    try {
      ledger.upsertStream({ tableId: 1, dbName: 'db', tableName: 'pv', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
      ledger.initPartitions(1, new Map([[0, 0]]));
      const epoch = ledger.claimPartitions(1, [0]);
      const tableDir = posix.join(root, 'counted');
      const deps: CommitDeps = { fs, ledger, registerPartitions: async () => {} };
      // A task writes its file as the batch fills and commits after: the two are counted apart.
      const batch = async (first: number, bytes: number) => {
        requests.clear();
        const staged = new StagedFile(posix.join(stagingDir(tableDir, 0), `${first}-g0.${epoch}.tmp`), fs);
        await staged.close([new Uint8Array(randomBytes(bytes))]);
        const written = requests.byOp();
        requests.clear();
        await commitBatch(deps, {
          tableId: 1, tableDir, kafkaPartition: 0, firstOffset: first, lastOffset: first + 9, recordCount: 10, ownerEpoch: epoch,
          files: [{ dir: posix.join(tableDir, partitionDir), finalName: `pv+0+${first}+${first + 9}.parquet`, partitionValues: ['x'], bucket: null,
            content: { hiddenPath: staged.hiddenPath, close: async () => {} } }],
        });
        return { written, published: requests.byOp() };
      };
      assert.deepEqual(await batch(0, 1000), { written: { CREATE: 1 }, published: { GETFILESTATUS: 7, MKDIRS: 1, RENAME: 2 } }, 'the first batch: a new partition directory');
      assert.deepEqual(await batch(10, 1000), { written: { CREATE: 1 }, published: { GETFILESTATUS: 1, RENAME: 1 } }, 'small: written whole at close');
      assert.deepEqual(await batch(20, 2 << 20), { written: { CREATE: 1, DELETE: 1 }, published: { GETFILESTATUS: 1, RENAME: 1 } }, 'streamed (2 MiB)');
      assert.equal((await fs.list(posix.join(tableDir, partitionDir))).length, 3);
    } finally {
      requests.stop();
      ledger.close();
      await close();
    }
  });
});
