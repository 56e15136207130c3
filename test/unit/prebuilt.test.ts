// bin/build.mjs: the launcher's build of the sources, made once per change of src/ and reused,
// with each source keeping its own import.meta.url. Run on a copy of bin/build.mjs in a scratch
// project whose two entries print what the build gave them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));

function scratchProject(): string {
  const root = mkdtempSync(join(tmpdir(), 'prebuilt-'));
  mkdirSync(join(root, 'bin'));
  copyFileSync(join(PROJECT, 'bin', 'build.mjs'), join(root, 'bin', 'build.mjs'));
  // Its own node_modules with only esbuild in it: its build cache is its own, and pruning it leaves ours alone.
  mkdirSync(join(root, 'node_modules'));
  symlinkSync(join(PROJECT, 'node_modules', 'esbuild'), join(root, 'node_modules', 'esbuild'));
  mkdirSync(join(root, 'src', 'cli'), { recursive: true });
  mkdirSync(join(root, 'src', 'task'), { recursive: true });
  // Resolved from this source's own place, as src/ledger/ledger.ts finds sql/ledger/.
  writeFileSync(join(root, 'src', 'cli', 'version.ts'), "export const VERSION: string = 'one';\n");
  writeFileSync(join(root, 'src', 'cli', 'main.ts'),
    "import { VERSION } from './version.ts';\nconsole.log(JSON.stringify({ version: VERSION, sql: new URL('../../sql/', import.meta.url).href }));\n");
  writeFileSync(join(root, 'src', 'task', 'worker.ts'), "console.log('worker');\n");
  return root;
}

/** Builds (or reuses) the scratch project's build in a fresh process and runs its main.mjs. */
function run(root: string): { dir: string; version: string; sql: string } {
  const script = `const { prebuilt } = await import(${JSON.stringify(pathToFileURL(join(root, 'bin', 'build.mjs')).href)});
const built = await prebuilt();
console.log(JSON.stringify({ dir: new URL('.', built.main).href }));
await import(built.main.href);`;
  const [first, second] = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim().split('\n');
  return { ...JSON.parse(first!), ...JSON.parse(second!) };
}

const cache = (root: string) => join(root, 'node_modules', '.cache', 'hive-kafka');

const builds = (root: string) => readdirSync(cache(root)).filter((d) => d.startsWith('build-') && !d.endsWith('.tmp'));

/** The build directory's name in the cache, from run()'s answer. */
const buildName = (built: { dir: string }) => basename(fileURLToPath(built.dir));

test('the build is made once per change of src/, reused while src/ stays the same, and sources keep their own import.meta.url', (t) => {
  const root = scratchProject();
  t.after(() => rmSync(root, { recursive: true, force: true }));

  const first = run(root);
  assert.equal(first.version, 'one');
  assert.equal(first.sql, pathToFileURL(join(root, 'sql')).href + '/', 'import.meta.url is the source file\'s, not the bundle\'s');

  const again = run(root);
  assert.equal(again.dir, first.dir, 'unchanged sources reuse the build');

  writeFileSync(join(root, 'src', 'cli', 'version.ts'), "export const VERSION: string = 'two';\n");
  const changed = run(root);
  assert.equal(changed.version, 'two', 'a changed source is built again, never served stale');
  assert.notEqual(changed.dir, first.dir);

  // The processes that ran the first build have ended: the new build removed it.
  assert.deepEqual(builds(root), [buildName(changed)], 'one build left: the one in use');
});

test('a new build removes only the builds and staging directories no live process uses', (t) => {
  const root = scratchProject();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  t.after(() => live.kill());
  const dead = spawnSync(process.execPath, ['-e', '']).pid!;

  const old = (name: string, pids: number[]) => {
    mkdirSync(join(cache(root), name), { recursive: true });
    writeFileSync(join(cache(root), name, 'main.mjs'), '');
    for (const pid of pids) writeFileSync(join(cache(root), name, `.in-use-${pid}`), '');
  };
  old('build-used', [dead, live.pid!]); // a killed process's mark beside a running one's
  old('build-killed', [dead]);
  old('build-unmarked', []);
  old(`build-staging.${live.pid}.tmp`, []);
  old(`build-staging.${dead}.tmp`, []);

  const name = buildName(run(root));
  assert.deepEqual(readdirSync(cache(root)).sort(), [name, 'build-staging.' + live.pid + '.tmp', 'build-used'].sort());
  assert.deepEqual(readdirSync(join(cache(root), name)).filter((f) => f.startsWith('.in-use-')), [], 'the builder\'s own mark goes when it exits');
});
