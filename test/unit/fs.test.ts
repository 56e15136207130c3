import { test } from 'node:test';
import assert from 'node:assert/strict';
import { link, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSystemFor, FileSystemError, LocalFileSystem, localPath } from '../../src/sink/fs.ts';
import { StagedFile } from '../../src/sink/staged-file.ts';

async function scratch(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hive-kafka-fs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function fsError(code: string, retriable: boolean) {
  return (error: unknown) => {
    assert.ok(error instanceof FileSystemError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.retriable, retriable);
    return true;
  };
}

test('file: locations as HMS writes them map to local paths, taken literally', () => {
  assert.equal(localPath('file:/warehouse/t'), '/warehouse/t');
  assert.equal(localPath('file:///warehouse/t'), '/warehouse/t');
  assert.equal(localPath('file://localhost/warehouse/t'), '/warehouse/t');
  // Hadoop's Path keeps '%' and spaces as they are in the directory name: no percent-decoding.
  assert.equal(localPath('file:/w/t/p=..%2Fx/q= a b'), '/w/t/p=..%2Fx/q= a b');
  assert.throws(() => localPath('file://otherhost/w'), /names host "otherhost"; only local paths/);
  assert.throws(() => localPath('file:relative/w'), /not a file: location with an absolute path/);
});

test('fileSystemFor picks LocalFileSystem for file:, and names the scheme it cannot serve', () => {
  const local = fileSystemFor('file:/warehouse/t');
  assert.ok(local.fs instanceof LocalFileSystem);
  assert.equal(local.path, '/warehouse/t');
  // hdfs: locations are served when the config maps their authority (test/unit/hdfs-config.test.ts).
  assert.throws(() => fileSystemFor('hdfs://nn:8020/warehouse/t'), /no WebHDFS address for "nn:8020"/);
  assert.throws(() => fileSystemFor('s3a://bucket/t'), /scheme "s3a:" is not supported/);
  assert.throws(() => fileSystemFor('/no/scheme'), /no scheme/);
});

test('writeFileDurably writes the bytes, replacing a partial file from an earlier attempt, and makes its missing directories', async (t) => {
  const dir = await scratch(t);
  const fs = new LocalFileSystem();
  const file = join(dir, 'f.tmp');
  await writeFile(file, 'partial garbage that is longer');
  await fs.writeFileDurably(file, new Uint8Array([1, 2, 3]));
  assert.deepEqual(new Uint8Array(await readFile(file)), new Uint8Array([1, 2, 3]));
  await fs.writeFileDurably(join(dir, 'missing', 'and', 'f'), new Uint8Array([4]));
  assert.deepEqual(new Uint8Array(await readFile(join(dir, 'missing', 'and', 'f'))), new Uint8Array([4]), 'its missing directories are made');
  await assert.rejects(fs.writeFileDurably(join(file, 'f'), new Uint8Array()), fsError('ENOTDIR', false));
  await assert.rejects(fs.writeFileDurably('relative/f', new Uint8Array()), /needs absolute paths/);
});

test('rename publishes atomically and never replaces an existing file', async (t) => {
  const dir = await scratch(t);
  const fs = new LocalFileSystem();
  const [hidden, final, other] = ['.h', 'final', 'other'].map((name) => join(dir, name)) as [string, string, string];

  await fs.writeFileDurably(hidden, new Uint8Array([1]));
  await fs.rename(hidden, final);
  assert.equal(await fs.exists(hidden), false);
  assert.deepEqual([...(await readFile(final))], [1]);

  // A different file under the target name stays; the source is left for the caller to look at.
  await fs.writeFileDurably(other, new Uint8Array([2]));
  await assert.rejects(fs.rename(other, final), fsError('EEXIST', false));
  assert.deepEqual([...(await readFile(final))], [1]);
  assert.equal(await fs.exists(other), true);

  // Renaming what is already gone fails, without touching the published file.
  await assert.rejects(fs.rename(hidden, final), (error: unknown) =>
    error instanceof FileSystemError && /renamed already, or by another writer/.test(error.message));
  assert.deepEqual([...(await readFile(final))], [1]);
});

test('a rename interrupted between its two steps is finished by repeating it', async (t) => {
  const dir = await scratch(t);
  const fs = new LocalFileSystem();
  const hidden = join(dir, '.h');
  const final = join(dir, 'final');
  await fs.writeFileDurably(hidden, new Uint8Array([9]));
  await link(hidden, final); // the crash happened after link(), before unlink()
  await fs.rename(hidden, final);
  assert.equal(await fs.exists(hidden), false);
  assert.deepEqual([...(await readFile(final))], [9]);
});

test('exists, list, mkdirs and remove', async (t) => {
  const dir = await scratch(t);
  const fs = new LocalFileSystem();
  const nested = join(dir, 'a', 'b=1', 'c');
  await fs.mkdirs(nested);
  await fs.mkdirs(nested); // already there: fine
  assert.equal(await fs.exists(nested), true);
  assert.equal(await fs.exists(join(dir, 'nope')), false);

  await fs.writeFileDurably(join(nested, 'z'), new Uint8Array());
  await fs.writeFileDurably(join(nested, 'a'), new Uint8Array());
  assert.deepEqual(await fs.list(nested), ['a', 'z']);
  await assert.rejects(fs.list(join(dir, 'nope')), fsError('ENOENT', false));

  await assert.rejects(fs.remove(nested), fsError('ENOTEMPTY', false)); // never a whole tree
  await fs.remove(join(nested, 'a'));
  await fs.remove(join(nested, 'a')); // already gone: fine
  await fs.remove(join(nested, 'z'));
  await fs.remove(nested);
  assert.equal(await fs.exists(nested), false);
  assert.equal(await fs.exists(join(dir, 'a', 'b=1')), true);
});

test('readFile gives the bytes back; removeTree removes a whole tree, a missing one is fine, never the root', async (t) => {
  const dir = await scratch(t);
  const fs = new LocalFileSystem();
  const nested = join(dir, 't', 'dt=1', '.hive-kafka-staging');
  await fs.mkdirs(nested);
  await fs.writeFileDurably(join(nested, 'f'), new Uint8Array([4, 5]));
  assert.deepEqual([...(await fs.readFile(join(nested, 'f')))], [4, 5]);
  await assert.rejects(fs.readFile(join(dir, 'nope')), fsError('ENOENT', false));
  await fs.removeTree(join(dir, 't'));
  assert.equal(await fs.exists(join(dir, 't')), false);
  await fs.removeTree(join(dir, 't'));
  await assert.rejects(fs.removeTree('/'), /refusing to remove the root directory/);
});

test('openDurably and StagedFile: the missing staging directory is made; pieces land in order, even when written from overlapping calls; close leaves the whole file', async (t) => {
  const fs = new LocalFileSystem();
  const path = join(await scratch(t), 'staging', '0', '100-g0.1.tmp');
  const staged = new StagedFile(path, fs); // staging/0 does not exist yet
  const piece = (s: string) => new Uint8Array(Buffer.from(s));
  // Not awaited one by one: a fetch's spill and the batch's commit can overlap.
  const writes = [staged.write([piece('a'), piece('b')]), staged.write([]), staged.write([piece('c')])];
  const closed = staged.close([piece('d'), piece('e')]);
  await Promise.all([...writes, closed]);
  assert.equal(await readFile(path, 'utf8'), 'abcde');
});

test('StagedFile: a write that failed (a full disk) still lets its handle be closed, by close and by abandon', async () => {
  const handles = { closed: 0 };
  const failing = {
    openDurably: async () => ({
      append: async () => { throw new Error('ENOSPC: no space left on device'); },
      close: async () => { handles.closed += 1; },
      abandon: async () => { handles.closed += 1; },
    }),
  };
  const piece = new Uint8Array([1]);
  const closing = new StagedFile('/t/.hive-kafka-staging/0/1-g0.1.tmp', failing);
  await assert.rejects(closing.close([piece]), /ENOSPC/);
  const abandoned = new StagedFile('/t/.hive-kafka-staging/0/2-g0.1.tmp', failing);
  await assert.rejects(abandoned.write([piece]), /ENOSPC/);
  abandoned.abandon();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(handles.closed, 2, 'each handle closed once: none left open by a failed batch');
});
