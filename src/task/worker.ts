// Entry point of a worker thread, which runs many tasks side by side. The supervisor can terminate a
// worker even when its event loop is stuck, which tasks inside the service's own thread would not
// allow. The tasks of a worker share its ledger connection (SQLite WAL serialises writers), its
// metastore session and its Kafka fetch loops (one per Kafka cluster: fetcher.ts).
import { writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Ledger } from '../ledger/ledger.ts';
import { WriteTurns } from '../ledger/write-turns.ts';
import { MetastoreSession } from '../metastore/session.ts';
import { crashHook } from '../sink/crash-points.ts';
import type { CommitStep } from '../sink/commit.ts';
import { buildTask } from './runtime.ts';
import { restartCanFix } from './errors.ts';
import type { FenceWrite } from './commit-ledger.ts';
import type { IngestionTask } from './task.ts';
import type { FromWorker, TaskStart, ToWorker, WorkerInit } from './worker-protocol.ts';
import { TaskSources } from './task-sources.ts';
import { schemaRegistries } from '../format/registries.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const send = (m: FromWorker) => port.postMessage(m);
const ledger = Ledger.open(init.ledgerPath, { migrate: false, turns: WriteTurns.of(init.ledgerTurns) });
const metastore = new MetastoreSession(init.metastoreUri, init.metastoreTimeoutMs);
const running = new Int32Array(init.running);
const sources = new TaskSources(init.kafkaClient, (key: number) => { running[0] = key; });
const crash = crashHook();
const tasks = new Map<number, IngestionTask | undefined>();
const registries = schemaRegistries(init.schemaRegistries);

// Fenced writes travel to the service's thread, which holds the cluster's state log.
const fenceCalls = new Map<number, { key: number; resolve(): void; reject(e: Error): void }>();
let nextFenceId = 1;
const fenceFor = (key: number): FenceWrite => (partition, state) => new Promise<void>((resolve, reject) => {
  const id = nextFenceId++;
  fenceCalls.set(id, { key, resolve, reject });
  send({ type: 'fence', key, id, partition, state });
});

// Test builds only: HIVE_KAFKA_HANG_ONCE=<commit step>:<marker file>[:<db.table>] blocks the thread in
// the first task (of that table, if named) to reach that step (the one that creates the marker) forever.
// HIVE_KAFKA_FREEZE_ONCE=<commit step>:<marker file> stops the whole service (SIGSTOP) there once, as
// a GC pause or a frozen VM would: the cluster tests wake it after its tables moved.
const [hangAt, hangMarker, hangTable] = (process.env.HIVE_KAFKA_HANG_ONCE ?? '').split(':');
const [freezeAt, freezeMarker] = (process.env.HIVE_KAFKA_FREEZE_ONCE ?? '').split(':');
const reachedBy = (start: TaskStart, table: string) => (step: CommitStep) => {
  running[0] = start.key;
  crash?.(step);
  if (hangAt === step && hangMarker && (!hangTable || hangTable === table) && claimMarker(hangMarker, JSON.stringify({ pid: process.pid, tableId: start.tableId, taskId: start.taskId }))) {
    for (;;) { /* hung: no heartbeat, no progress */ }
  }
  if (freezeAt === step && freezeMarker && claimMarker(freezeMarker, JSON.stringify({ pid: process.pid, tableId: start.tableId, taskId: start.taskId }))) {
    process.kill(process.pid, 'SIGSTOP');
  }
};

function claimMarker(path: string, content: string): boolean {
  try { writeFileSync(path, content, { flag: 'wx' }); return true; } catch { return false; }
}

// The first heartbeat, at once, tells the pool the thread is up (its modules loaded).
send({ type: 'heartbeat' });
setInterval(() => send({ type: 'heartbeat' }), init.heartbeatMs);

port.on('message', (m: ToWorker) => {
  if (m.type === 'fence-done') {
    const call = fenceCalls.get(m.id);
    fenceCalls.delete(m.id);
    if (call) running[0] = call.key;
    if (!m.error) call?.resolve();
    else call?.reject(Object.assign(new Error(m.error.message), { name: m.error.name }));
  } else if (m.type === 'start') startTask(m);
  else if (m.type === 'stop') stopTask(m.key, m.commitBuffered);
  else if (m.type === 'abandon') {
    const task = tasks.get(m.key);
    tasks.delete(m.key);
    void task?.stop({ commitBuffered: false }).catch(() => undefined);
  }
});

function startTask(start: TaskStart): void {
  const { key } = start;
  const stream = ledger.getStream(start.tableId);
  if (!stream) { send({ type: 'failed', key, message: `table ${start.tableId} is not in the ledger`, retriable: false }); return; }
  let task: IngestionTask;
  try {
    task = buildTask({
      ledger, metastore, stream, taskId: start.taskId, partitions: start.partitions, reached: reachedBy(start, `${stream.dbName}.${stream.tableName}`),
      credentialsProfiles: init.credentialsProfiles, hdfs: init.hdfs, fence: start.fenced ? fenceFor(key) : undefined,
      sources: sources.forTask(key), registries,
      onSchemaEvolved: (partition, offset, added, reason) => send({ type: 'schema-evolved', key, partition, offset, added, reason }),
      enter: () => { running[0] = key; },
      onFailure: (e) => { tasks.delete(key); send(failed(key, e)); },
      onOffsetGap: (gap) => send({ type: 'offset-gap', key, ...gap }),
      onRejected: (partition, count) => send({ type: 'rejected', key, partition, count }),
      onCommitted: (partition, commit) => send({ type: 'committed', key, partition, ...commit }),
      onConsuming: () => send({ type: 'consuming', key }),
    });
  } catch (e) {
    // A location no file system can take (unknown hdfs: authority): say so with retriable as it is.
    send(failed(key, e as Error));
    return;
  }
  tasks.set(key, task);
  task.start().then(() => send({ type: 'started', key, ownerEpoch: task.ownerEpoch }), (e: Error) => { tasks.delete(key); send(failed(key, e)); });
}

function stopTask(key: number, commitBuffered: boolean): void {
  const task = tasks.get(key);
  tasks.delete(key);
  if (!task) { send({ type: 'stopped', key }); return; }
  void task.stop({ commitBuffered }).finally(() => send({ type: 'stopped', key }));
}

function failed(key: number, e: Error): FromWorker {
  return { type: 'failed', key, message: e.message, name: e.name, retriable: restartCanFix(e) };
}
