// The task worker's code as one plain-JavaScript file, built by esbuild (the compiler tsx itself
// uses) once per service process. A worker thread that registered tsx instead loaded a TypeScript
// loader of its own: 39 MB per idle worker against 18 MB for the same libraries as plain JS
// (10 idle workers each way), and one worker per task makes that the cost of every table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';

const ENTRY = fileURLToPath(new URL('../task/worker.ts', import.meta.url));
// Inside node_modules, so that the bundle's imports of packages resolve as the sources' do.
const OUT_DIR = fileURLToPath(new URL('../../node_modules/.cache/hive-kafka/', import.meta.url));

let built: URL | undefined;

export function workerBundle(): URL {
  if (built) return built;
  // One directory per service process: services side by side (tests) never overwrite each other's.
  const outdir = join(OUT_DIR, `worker-${process.pid}`);
  const result = buildSync({
    entryPoints: { worker: ENTRY }, outdir, outExtension: { '.js': '.mjs' }, bundle: true, platform: 'node', format: 'esm', target: 'node20',
    // Chunks per dynamic import: a task loads only the Kafka client it uses.
    splitting: true, packages: 'external', write: false, logLevel: 'silent',
    // The generated Thrift code is CommonJS: its require() calls need a real require in an ES module.
    banner: { js: "import { createRequire as __hiveKafkaCreateRequire } from 'node:module'; const require = __hiveKafkaCreateRequire(import.meta.url);" },
  });
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.contents);
  }
  built = pathToFileURL(join(outdir, 'worker.mjs'));
  return built;
}
