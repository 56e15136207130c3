// A task running in its own worker thread, seen from the supervisor: started, stopped (committing
// what it holds), or terminated when it stops sending heartbeats.
import { Worker } from 'node:worker_threads';
import { workerBundle } from './worker-bundle.ts';
import type { OffsetGapReport } from '../task/task.ts';
import type { PortablePartition } from '../ledger/ledger.ts';
import type { FromWorker, ToWorker, WorkerStart } from '../task/worker-protocol.ts';
import type { RunningTask, TaskFailure } from './supervisor.ts';

export interface WorkerHooks {
  onFailure(failure: TaskFailure): void;
  onOffsetGap(gap: OffsetGapReport): void;
  onRejected(partition: number, count: number): void;
  onConsuming?(): void;
  /** In a cluster: writes a partition's state to the fenced state log for the task. */
  fence?(partition: number, state: PortablePartition): Promise<void>;
}

export async function startWorkerTask(start: WorkerStart, hooks: WorkerHooks, stopTimeoutMs = 15_000): Promise<RunningTask> {
  const worker = new Worker(workerBundle(), { workerData: start });
  let lastHeartbeat = Date.now();
  let done = false; // stopped, failed or terminated: later messages change nothing
  let ownerEpoch: number | undefined;
  const fail = (f: TaskFailure) => { if (!done) { done = true; hooks.onFailure(f); } };
  // The worker says 'stopped' once it has committed what it holds; its message port would keep it
  // alive, so it is terminated then.
  worker.on('message', (m: FromWorker) => {
    if (m.type !== 'fence') return;
    const reply = (error?: Error) => worker.postMessage({ type: 'fence-done', id: m.id, error: error && { message: error.message, name: error.name } } satisfies ToWorker);
    if (!hooks.fence) { reply(new Error('this service keeps no state log (no cluster configured)')); return; }
    hooks.fence(m.partition, m.state).then(() => reply(), (e: Error) => reply(e));
  });
  const stopped = new Promise<void>((resolve) => {
    worker.on('message', (m: FromWorker) => { if (m.type === 'stopped') void worker.terminate().then(() => resolve()); });
    worker.once('exit', () => resolve());
  });

  await new Promise<void>((resolve, reject) => {
    worker.on('message', (m: FromWorker) => {
      lastHeartbeat = Date.now();
      if (m.type === 'started') { ownerEpoch = m.ownerEpoch; resolve(); }
      else if (m.type === 'rejected') hooks.onRejected(m.partition, m.count);
      else if (m.type === 'consuming') hooks.onConsuming?.();
      else if (m.type === 'offset-gap') hooks.onOffsetGap(m);
      else if (m.type === 'failed') { reject(new Error(m.message)); fail(m); void worker.terminate(); }
    });
    worker.once('error', (e) => { reject(e); fail({ message: e.message, name: e.name, retriable: true }); });
    worker.once('exit', (code) => {
      const e = new Error(`task ${start.taskId} of table ${start.tableId}: its worker exited with code ${code}`);
      reject(e);
      fail({ message: e.message, retriable: true });
    });
  });

  return {
    lastHeartbeatAt: () => lastHeartbeat,
    ownerEpoch: () => ownerEpoch,
    async stop({ commitBuffered }) {
      if (done) { await worker.terminate(); return; }
      done = true;
      worker.postMessage({ type: 'stop', commitBuffered } satisfies ToWorker);
      const timer = setTimeout(() => void worker.terminate(), stopTimeoutMs);
      await stopped;
      clearTimeout(timer);
    },
    async kill() {
      done = true;
      await worker.terminate();
    },
  };
}
