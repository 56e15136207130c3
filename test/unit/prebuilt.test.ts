// bin/build.mjs: the launcher's build of the sources, made once per change of src/ and reused,
// with each source keeping its own import.meta.url. Run on a copy of bin/build.mjs in a scratch
// project whose two entries print what the build gave them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));

function scratchProject(): string {
  const root = mkdtempSync(join(tmpdir(), 'prebuilt-'));
  mkdirSync(join(root, 'bin'));
  copyFileSync(join(PROJECT, 'bin', 'build.mjs'), join(root, 'bin', 'build.mjs'));
  symlinkSync(join(PROJECT, 'node_modules'), join(root, 'node_modules'));
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

const builds = (root: string) => readdirSync(join(root, 'node_modules', '.cache', 'hive-kafka')).filter((d) => d.startsWith('build-') && !d.endsWith('.tmp'));

test('the build is made once per change of src/, reused while src/ stays the same, and sources keep their own import.meta.url', (t) => {
  const root = scratchProject();
  // The scratch project shares node_modules with this one: its builds sit beside ours, keyed apart by the root.
  mkdirSync(join(root, 'node_modules', '.cache', 'hive-kafka'), { recursive: true });
  const before = new Set(builds(root));
  const made = () => builds(root).filter((d) => !before.has(d));
  t.after(() => { for (const d of made()) rmSync(join(root, 'node_modules', '.cache', 'hive-kafka', d), { recursive: true, force: true }); });

  const first = run(root);
  assert.equal(first.version, 'one');
  assert.equal(first.sql, pathToFileURL(join(root, 'sql')).href + '/', 'import.meta.url is the source file\'s, not the bundle\'s');

  const again = run(root);
  assert.equal(again.dir, first.dir, 'unchanged sources reuse the build');

  writeFileSync(join(root, 'src', 'cli', 'version.ts'), "export const VERSION: string = 'two';\n");
  const changed = run(root);
  assert.equal(changed.version, 'two', 'a changed source is built again, never served stale');
  assert.notEqual(changed.dir, first.dir);

  assert.equal(made().length, 2, `one build per distinct src/: ${made().join(', ')}`);
});
