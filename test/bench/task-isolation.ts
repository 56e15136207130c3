// Where tasks run: worker threads or child processes. Measures, side by side in one run, the memory
// that N idle tasks add to the machine and how long killing a hung (spinning) task takes.
// Run: npx tsx test/bench/task-isolation.ts [N]
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const N = Number(process.argv[2] ?? 10);
const probe = new URL('./isolation-probe.mjs', import.meta.url);
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const ready = (on: (cb: (m: unknown) => void) => void) => new Promise<void>((r) => on((m) => { if (m === 'ready') r(); }));

async function workers() {
  const before = rssMb(process.pid);
  const ws: Worker[] = [];
  for (let i = 0; i < N; i++) { const w = new Worker(probe); ws.push(w); await ready((cb) => w.on('message', cb)); }
  const added = rssMb(process.pid) - before;
  ws[0]!.postMessage('spin');
  await new Promise((r) => setTimeout(r, 300));
  const t0 = performance.now();
  await ws[0]!.terminate();
  const killMs = performance.now() - t0;
  await Promise.all(ws.slice(1).map((w) => w.terminate()));
  return { perTaskMb: added / N, killHungMs: killMs };
}

async function children() {
  const cs: ChildProcess[] = [];
  for (let i = 0; i < N; i++) { const c = fork(probe); cs.push(c); await ready((cb) => c.on('message', cb)); }
  const total = cs.reduce((sum, c) => sum + rssMb(c.pid!), 0);
  cs[0]!.send('spin');
  await new Promise((r) => setTimeout(r, 300));
  const t0 = performance.now();
  const exited = new Promise((r) => cs[0]!.once('exit', r));
  cs[0]!.kill('SIGKILL');
  await exited;
  const killMs = performance.now() - t0;
  for (const c of cs.slice(1)) c.kill('SIGKILL');
  return { perTaskMb: total / N, killHungMs: killMs };
}

const w = await workers();
const c = await children();
console.log(JSON.stringify({ tasks: N, workerThreads: w, childProcesses: c, ratioMemoryChildToWorker: c.perTaskMb / w.perTaskMb }, null, 2));
