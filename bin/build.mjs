// The service's TypeScript as plain JavaScript, built by esbuild (the compiler tsx itself uses) and
// kept under node_modules/.cache, keyed by a hash of src/, of this file, of package-lock.json (the
// build holds the packages, and esbuild made it) and of the project's place: a start whose sources
// did not change since the last build loads plain JavaScript and pays neither the TypeScript loader
// nor a build. Two entries share chunks: the CLI (main.mjs) and the task worker (worker.mjs), which
// every worker thread loads.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const THIS_FILE = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');
// Inside node_modules, so that the build's imports of packages resolve as the sources' do.
const CACHE = join(ROOT, 'node_modules', '.cache', 'hive-kafka');

let current;

/** The build of the sources as they are now: made once per change of src/, then reused. */
export async function prebuilt() {
  if (current) return current;
  const dir = join(CACHE, `build-${sourcesKey()}`);
  if (existsSync(join(dir, 'main.mjs'))) markInUse(dir);
  // Checked again after marking: a pruner that read no mark a moment before may have removed it.
  if (!existsSync(join(dir, 'main.mjs'))) {
    await build(dir);
    markInUse(dir);
    pruneUnused(CACHE, dir);
  }
  current = { main: pathToFileURL(join(dir, 'main.mjs')), worker: pathToFileURL(join(dir, 'worker.mjs')) };
  return current;
}

// A process marks the build it runs from for as long as it lives: a service loads its task worker from
// that build whenever it starts a thread, hours or days after its own start.
function markInUse(dir) {
  const mark = join(dir, `${IN_USE}${process.pid}`);
  writeFileSync(mark, '');
  process.once('exit', () => rmSync(mark, { force: true }));
}
const IN_USE = '.in-use-';

/**
 * Removes every build but `keep` that no live process runs from, and staging directories whose
 * builder died. Called after a new build, so the cache holds about one build per running version
 * instead of one per change of src/ ever made. A mark left by a killed process names a dead pid.
 */
export function pruneUnused(cache, keep) {
  for (const name of readdirSync(cache)) {
    if (!name.startsWith('build-')) continue;
    const dir = join(cache, name);
    if (dir === keep) continue;
    const builder = stagingBuilder(name);
    const users = builder !== undefined ? [builder] : marks(dir);
    if (users.some(alive)) continue;
    rmSync(dir, { recursive: true, force: true });
  }
}

// A build is written to `<build>.<builder's pid>.tmp` first (build()); pruneUnused reads the pid back.
function stagingDir(dir) {
  return `${dir}.${process.pid}.tmp`;
}
function stagingBuilder(name) {
  const m = /\.(\d+)\.tmp$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

function marks(dir) {
  try {
    return readdirSync(dir).filter((f) => f.startsWith(IN_USE)).map((f) => Number(f.slice(IN_USE.length)));
  } catch {
    return [];
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM'; // alive, another user's
  }
}

/** The task worker of the build this process started from (bin/hive-kafka.mjs made it). */
export function builtWorker() {
  if (!current) throw new Error('hive-kafka: the task worker exists only in a service started by bin/hive-kafka.mjs (no build was made in this process)');
  return current.worker;
}

// 5 ms for src/ (1.4 MB) on 2 x AMD EPYC.
function sourcesKey() {
  const hash = createHash('sha256').update(ROOT).update('\0').update(readFileSync(THIS_FILE));
  const lock = join(ROOT, 'package-lock.json');
  if (existsSync(lock)) hash.update(readFileSync(lock));
  const files = readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .sort();
  for (const file of files) hash.update(relative(SRC, file)).update('\0').update(readFileSync(file));
  return hash.digest('hex').slice(0, 20);
}

async function build(dir) {
  // Loaded only when a build is due: a start from the cache never pays for it.
  const esbuild = createRequire(import.meta.url)('esbuild');
  const result = await esbuild.build({
    entryPoints: { main: join(SRC, 'cli', 'main.ts'), worker: join(SRC, 'task', 'worker.ts') },
    outdir: dir, outExtension: { '.js': '.mjs' }, bundle: true, platform: 'node', format: 'esm', target: 'node20',
    // Chunks per dynamic import: `status` never loads the service, a task only the Kafka client it uses.
    splitting: true, write: false, logLevel: 'error',
    // Maps without the sources' text, which stays on disk (src/, node_modules): a thread starts 0.1 s sooner.
    sourcemap: 'linked', sourcesContent: false,
    // Class and function names as in the sources (error types in logs), where bundling would rename clashes.
    keepNames: true,
    // The generated Thrift code is CommonJS: its require() calls need a real require in an ES module.
    banner: { js: "import { createRequire as __hiveKafkaCreateRequire } from 'node:module'; const require = __hiveKafkaCreateRequire(import.meta.url);" },
    plugins: [projectLocations],
  });
  // Written beside the final directory and renamed into place: processes starting side by side
  // (tests) never load a half-written build; one that loses the rename uses the winner's.
  const staging = stagingDir(dir);
  rmSync(staging, { recursive: true, force: true });
  for (const file of result.outputFiles) {
    const target = join(staging, relative(dir, file.path));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.contents);
  }
  try {
    renameSync(staging, dir);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(dir, 'main.mjs'))) throw e;
  }
}

const LOADED_FROM_NODE_MODULES = /^(better-sqlite3|snappy|@napi-rs\/|@node-rs\/|@platformatic\/wasm-utils|pino|esbuild)(\/|$)/;

const projectLocations = {
  name: 'project-locations',
  setup(b) {
    // Sources find files beside them (sql/ledger/ migrations) through import.meta.url, which in a
    // bundle would be the bundle's location: each source keeps its own.
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(SRC + sep)) return undefined;
      return { contents: readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
    });
    // Packages are bundled too: Node's loader resolving, reading and scanning each of their files
    // was half of a worker thread's start (README "Benchmarks", restart). Those that load files
    // beside themselves stay where npm put them (native addons, a WebAssembly file, pino's
    // transports), and so does a package imported with import(): in a bundle, import() of a
    // CommonJS package has only `default`, where Node also gives its named exports.
    b.onResolve({ filter: /^[^./]/ }, (args) => (LOADED_FROM_NODE_MODULES.test(args.path) || (args.kind === 'dynamic-import' && !args.path.startsWith('node:'))
      ? { path: args.path, external: true } : undefined));
    // The worker pool asks this module for the worker: the build imports this very file, so that
    // the launcher's answer is reused and not computed again.
    b.onResolve({ filter: /\/bin\/build\.mjs$/ }, () => ({ path: pathToFileURL(THIS_FILE).href, external: true }));
  },
};
