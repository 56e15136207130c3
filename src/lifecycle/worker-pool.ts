// Tasks run in a few worker threads, many tasks to a thread (service config workerThreads): a quiet
// table costs a task object and its share of one fetch loop, not a thread and a Kafka client. The
// supervisor sees each task as a RunningTask: started, stopped (committing what it holds), or killed.
//
// A task that blocks its thread stops every task of that thread. The thread's heartbeat stops, and
// the worker says which task ran last (a shared Int32 it sets at each way into a task): that task
// alone looks hung to the supervisor, which kills it. Killing it replaces the whole thread: the other
// tasks of the thread are failed as retriable and restarted at once in another thread, from their
// ledger offsets (their uncommitted batches are read again; committed ones stay, so nothing lands
// twice), and the task that blocked is restarted in a thread of its own from then on.
import { Worker } from 'node:worker_threads';
// Threads load the task worker as the plain JavaScript of the project's build: a thread that
// registered tsx loaded a TypeScript loader of its own, 39 MB per idle worker against 18 MB for the
// same libraries as plain JavaScript (10 idle workers each way).
import { builtWorker } from '../../bin/build.mjs';
import type { CommitReport, OffsetGapReport } from '../task/task.ts';
import type { PortablePartition } from '../ledger/ledger.ts';
import { WriteTurns } from '../ledger/write-turns.ts';
import type { FromWorker, TaskStart, ToWorker, WorkerInit } from '../task/worker-protocol.ts';
import type { RunningTask, TaskFailure } from './supervisor.ts';

export interface WorkerHooks {
  onFailure(failure: TaskFailure): void;
  onOffsetGap(gap: OffsetGapReport): void;
  onRejected(partition: number, count: number): void;
  onCommitted?(partition: number, commit: CommitReport): void;
  onConsuming?(): void;
  onSchemaEvolved?(e: { partition: number; offset: number; added: string[]; reason: string }): void;
  /** In a cluster: writes a partition's state to the fenced state log for the task. */
  fence?(partition: number, state: PortablePartition): Promise<void>;
}

export interface PoolOptions {
  init: Omit<WorkerInit, 'running'>;
  /** Threads shared by tasks; a task that blocked one gets a thread of its own on top. */
  threads: number;
  /** How long a stopping task may take to commit what it holds before it is abandoned. */
  stopTimeoutMs?: number;
}

interface Member {
  start: TaskStart;
  hooks: WorkerHooks;
  /** Stopped, failed, abandoned or its thread replaced: later messages change nothing. */
  done: boolean;
  /** Asked to stop and commit what it holds, and not stopped yet: its fenced writes still go to the state log. */
  stopping?: boolean;
  ownerEpoch?: number;
  started(error?: Error): void;
  stopped?(): void;
}

interface Thread {
  worker: Worker;
  running: Int32Array;
  members: Map<number, Member>;
  lastHeartbeat: number;
  isolated: boolean;
  gone: boolean;
  /** Settles at the thread's first message (its modules are loaded) or when it is lost. */
  ready: Promise<void>;
  markReady(): void;
}

export class WorkerPool {
  private readonly threads = new Set<Thread>();
  /** Tasks (tableId/taskId) that blocked a thread: each runs alone from then on. */
  private readonly isolated = new Set<string>();
  private nextKey = 1;

  constructor(private readonly options: PoolOptions) {}

  startTask(task: Omit<TaskStart, 'key'>, hooks: WorkerHooks): Promise<RunningTask> {
    const start: TaskStart = { ...task, key: this.nextKey++ };
    const thread = this.threadFor(`${task.tableId}/${task.taskId}`);
    return new Promise<RunningTask>((resolve, reject) => {
      const member: Member = {
        start, hooks, done: false,
        started: (error) => (error ? reject(error) : resolve(this.handle(thread, member))),
      };
      thread.members.set(start.key, member);
      thread.worker.postMessage({ type: 'start', ...start } satisfies ToWorker);
    });
  }

  /**
   * Starts the shared threads before any task needs one. A thread took 0.6 s to load its modules
   * (0.4 s of it @platformatic/kafka) and the first CREATE TABLE waited for it. Shared threads then
   * stay up while the service runs, about 40 MB each when idle; only a task's own (isolated) thread
   * goes when it empties.
   */
  async warm(): Promise<void> {
    while ([...this.threads].filter((t) => !t.isolated && !t.gone).length < this.options.threads) this.spawn(false);
    await Promise.all([...this.threads].map((t) => t.ready));
  }

  /** Ends every thread at once (the supervisor has stopped the tasks already). */
  async close(): Promise<void> {
    await Promise.all([...this.threads].map((t) => this.retire(t)));
  }

  private threadFor(taskName: string): Thread {
    if (this.isolated.has(taskName)) return this.spawn(true);
    const shared = [...this.threads].filter((t) => !t.isolated && !t.gone);
    if (shared.length < this.options.threads) return this.spawn(false);
    return shared.reduce((a, b) => (b.members.size < a.members.size ? b : a));
  }

  private spawn(isolated: boolean): Thread {
    const running = new SharedArrayBuffer(4);
    const worker = new Worker(builtWorker(), {
      // Stack traces name the TypeScript sources, as in the main thread (bin/hive-kafka.mjs).
      execArgv: [...process.execArgv, '--enable-source-maps'],
      workerData: { ...this.options.init, running } satisfies WorkerInit,
    });
    const threadId = worker.threadId; // -1 once the thread has ended
    let markReady = () => {};
    const ready = new Promise<void>((resolve) => { markReady = resolve; });
    const thread: Thread = { worker, running: new Int32Array(running), members: new Map(), lastHeartbeat: Date.now(), isolated, gone: false, ready, markReady };
    this.threads.add(thread);
    worker.on('message', (m: FromWorker) => this.onMessage(thread, m));
    const lost = (why: string) => { thread.markReady(); return this.lose(thread, { message: why, retriable: true }); };
    worker.once('error', (e) => lost(`its worker thread failed: ${e.message}`));
    worker.once('exit', (code) => {
      WriteTurns.of(this.options.init.ledgerTurns).releaseHeldBy(threadId); // terminated inside a ledger write
      return lost(`its worker thread exited with code ${code}`);
    });
    return thread;
  }

  private onMessage(thread: Thread, m: FromWorker): void {
    thread.lastHeartbeat = Date.now();
    thread.markReady();
    if (m.type === 'heartbeat') return;
    const member = thread.members.get(m.key);
    if (m.type === 'fence') {
      const reply = (error?: Error) => thread.worker.postMessage({ type: 'fence-done', id: m.id, error: error && { message: error.message, name: error.name } } satisfies ToWorker);
      // A stopping task commits what it holds (pause, reconfigure, a SIGTERM hand-over): its writes are
      // fenced like any other. Refused, its batch was dropped and read again by the next run.
      if (!member || (member.done && !member.stopping)) { reply(new Error('the task stopped')); return; }
      if (!member.hooks.fence) { reply(new Error('this service keeps no state log (no cluster configured)')); return; }
      member.hooks.fence(m.partition, m.state).then(() => reply(), (e: Error) => reply(e));
      return;
    }
    if (!member) return;
    if (m.type === 'stopped') { thread.members.delete(m.key); member.stopped?.(); this.retireIfIdle(thread); return; }
    // What a stopping task still commits happened: it is counted (metrics, rates) like any other batch.
    if (m.type === 'committed') { member.hooks.onCommitted?.(m.partition, m); return; }
    if (m.type === 'rejected') { member.hooks.onRejected(m.partition, m.count); return; }
    if (member.done) return;
    switch (m.type) {
      case 'started': member.ownerEpoch = m.ownerEpoch; member.started(); break;
      case 'consuming': member.hooks.onConsuming?.(); break;
      case 'offset-gap': member.hooks.onOffsetGap(m); break;
      case 'schema-evolved': member.hooks.onSchemaEvolved?.(m); break;
      case 'failed':
        member.done = true;
        thread.members.delete(m.key);
        member.started(new Error(m.message));
        member.hooks.onFailure(m);
        this.retireIfIdle(thread);
        break;
    }
  }

  private handle(thread: Thread, member: Member): RunningTask {
    const { key } = member.start;
    return {
      ownerEpoch: () => member.ownerEpoch,
      // Only the task the thread ran last answers for a silent thread; the others are moved when it is killed.
      lastHeartbeatAt: () => {
        const suspect = this.suspect(thread);
        return suspect === undefined || suspect === key ? thread.lastHeartbeat : Date.now();
      },
      stop: async ({ commitBuffered }) => {
        if (member.done || thread.gone) { member.done = true; return; }
        member.done = true;
        member.stopping = true;
        const stopped = new Promise<void>((resolve) => { member.stopped = resolve; });
        thread.worker.postMessage({ type: 'stop', key, commitBuffered } satisfies ToWorker);
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, this.options.stopTimeoutMs ?? 15_000); });
        await Promise.race([stopped, late]);
        clearTimeout(timer);
        if (thread.members.has(key)) this.abandon(thread, key);
      },
      kill: async () => {
        if (thread.gone) return;
        member.done = true;
        const silentMs = Date.now() - thread.lastHeartbeat;
        if (silentMs < 3 * this.options.init.heartbeatMs) { this.abandon(thread, key); return; }
        // The thread itself is stuck: only ending it frees the others.
        this.isolated.add(`${member.start.tableId}/${member.start.taskId}`);
        const culprit = `task ${member.start.taskId} of table ${member.start.tableId}`;
        await this.lose(thread, { message: `its worker thread was replaced after ${culprit} blocked it for ${Math.round(silentMs / 1000)} s; restarted in another thread`, retriable: true });
      },
    };
  }

  /** The key of the task the thread ran last, if that task still belongs to it. */
  private suspect(thread: Thread): number | undefined {
    const key = Atomics.load(thread.running, 0);
    return thread.members.has(key) ? key : undefined;
  }

  private abandon(thread: Thread, key: number): void {
    thread.members.delete(key);
    thread.worker.postMessage({ type: 'abandon', key } satisfies ToWorker);
    this.retireIfIdle(thread);
  }

  /** The thread is gone or must go: every task still on it fails (retriable) and is restarted elsewhere. */
  private async lose(thread: Thread, failure: TaskFailure): Promise<void> {
    if (thread.gone) return;
    const members = [...thread.members.values()];
    thread.members.clear();
    await this.retire(thread);
    for (const m of members) {
      m.stopped?.();
      if (m.done) continue;
      m.done = true;
      m.started(new Error(failure.message));
      m.hooks.onFailure(failure);
    }
  }

  private retireIfIdle(thread: Thread): void {
    if (thread.members.size === 0 && thread.isolated) void this.retire(thread);
  }

  private async retire(thread: Thread): Promise<void> {
    if (thread.gone) return;
    thread.gone = true;
    this.threads.delete(thread);
    await thread.worker.terminate();
  }
}
