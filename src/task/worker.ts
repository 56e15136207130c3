// Entry point of a task's worker thread. The supervisor can terminate a worker even when its event
// loop is stuck, which a task inside the service's own thread would not allow. The worker opens its
// own ledger connection (SQLite WAL serialises writers) and its own metastore session.
import { writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Ledger } from '../ledger/ledger.ts';
import { MetastoreSession } from '../metastore/session.ts';
import { crashHook } from '../sink/crash-points.ts';
import type { CommitStep } from '../sink/commit.ts';
import { buildTask } from './runtime.ts';
import { restartCanFix } from './errors.ts';
import type { FenceWrite } from './commit-ledger.ts';
import type { FromWorker, ToWorker, WorkerStart } from './worker-protocol.ts';

const start = workerData as WorkerStart;
const port = parentPort!;
const send = (m: FromWorker) => port.postMessage(m);
const ledger = Ledger.open(start.ledgerPath, { migrate: false });
const metastore = new MetastoreSession(start.metastoreUri, start.metastoreTimeoutMs);
const stream = ledger.getStream(start.tableId);
const crash = crashHook();

// Fenced writes travel to the service's thread, which holds the cluster's state log.
const fenceCalls = new Map<number, { resolve(): void; reject(e: Error): void }>();
let nextFenceId = 1;
port.on('message', (m: ToWorker) => {
  if (m.type !== 'fence-done') return;
  const call = fenceCalls.get(m.id);
  fenceCalls.delete(m.id);
  if (!m.error) call?.resolve();
  else call?.reject(Object.assign(new Error(m.error.message), { name: m.error.name }));
});
const fence: FenceWrite | undefined = start.fenced
  ? (partition, state) => new Promise<void>((resolve, reject) => {
    const id = nextFenceId++;
    fenceCalls.set(id, { resolve, reject });
    send({ type: 'fence', id, partition, state });
  })
  : undefined;

// Test builds only: HIVE_KAFKA_HANG_ONCE=<commit step>:<marker file> blocks the event loop of the
// first task to reach that step (the one that creates the marker) forever.
// HIVE_KAFKA_FREEZE_ONCE=<commit step>:<marker file> stops the whole service (SIGSTOP) there once, as
// a GC pause or a frozen VM would: the cluster tests wake it after its tables moved.
const [hangAt, hangMarker] = (process.env.HIVE_KAFKA_HANG_ONCE ?? '').split(':');
const [freezeAt, freezeMarker] = (process.env.HIVE_KAFKA_FREEZE_ONCE ?? '').split(':');
const reached = (step: CommitStep) => {
  crash?.(step);
  if (hangAt === step && hangMarker && claimMarker(hangMarker)) { for (;;) { /* hung: no heartbeat, no progress */ } }
  if (freezeAt === step && freezeMarker && claimMarker(freezeMarker, JSON.stringify({ pid: process.pid, tableId: start.tableId, taskId: start.taskId }))) {
    process.kill(process.pid, 'SIGSTOP');
  }
};

function claimMarker(path: string, content = String(process.pid)): boolean {
  try { writeFileSync(path, content, { flag: 'wx' }); return true; } catch { return false; }
}

if (!stream) {
  send({ type: 'failed', message: `table ${start.tableId} is not in the ledger`, retriable: false });
} else {
  let task: ReturnType<typeof buildTask> | undefined;
  try {
    task = buildTask({
      ledger, metastore, stream, taskId: start.taskId, partitions: start.partitions, reached, credentialsProfiles: start.credentialsProfiles,
      kafkaClient: start.kafkaClient, hdfs: start.hdfs, fence,
      onFailure: (e) => send(failed(e)),
      onOffsetGap: (gap) => send({ type: 'offset-gap', ...gap }),
      onRejected: (partition, count) => send({ type: 'rejected', partition, count }),
      onConsuming: () => send({ type: 'consuming' }),
    });
  } catch (e) {
    // A location no file system can take (unknown hdfs: authority): say so with retriable as it is.
    send(failed(e as Error));
  }
  if (task) startTask(task);
}

function startTask(task: ReturnType<typeof buildTask>): void {
  setInterval(() => send({ type: 'heartbeat' }), start.heartbeatMs).unref();
  port.on('message', (m: ToWorker) => {
    if (m.type !== 'stop') return;
    void task.stop({ commitBuffered: m.commitBuffered }).finally(() => {
      metastore.close();
      ledger.close();
      send({ type: 'stopped' });
    });
  });
  task.start().then(() => send({ type: 'started', ownerEpoch: task.ownerEpoch }), (e: Error) => send(failed(e)));
}

function failed(e: Error): FromWorker {
  return { type: 'failed', message: e.message, name: e.name, retriable: restartCanFix(e) };
}
