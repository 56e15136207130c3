// Reconciles what the ledger says each table should be doing (running, paused, dropped) with the
// tasks actually running. Every change of a table arrives as a notice on that table's queue and is handled one at a
// time, so nothing here needs locks; repeated notices for a table collapse into one.
import type { Logger } from 'pino';
import type { Ledger, RepeatableDetail, StreamRow } from '../ledger/ledger.ts';
import { transition, type LifecycleEvent, type TableState } from './states.ts';
import { taskSettings } from './classify.ts';
import type { StreamSpec } from '../properties/parse.ts';
import type { StoredLayout } from '../properties/stream.ts';
import { backoffMs } from './backoff.ts';
import { planTasks, samePlan, type TaskAssignment } from './plan.ts';

/** Why a task ended, as it crossed the worker boundary. */
export interface TaskFailure { message: string; name?: string; retriable: boolean }

export interface RunningTask {
  stop(opts: { commitBuffered: boolean }): Promise<void>;
  /** The owner epoch the task claimed its partitions with, once it has started. */
  ownerEpoch?(): number | undefined;
  /** When the task last showed it is alive; tasks that cannot hang may leave these out. */
  lastHeartbeatAt?(): number;
  /** Ends the task at once, however stuck it is. */
  kill?(): Promise<void>;
}

/**
 * Which tables this instance may run (several instances share the tables: README, "Several
 * instances"). Ownership is not a lifecycle state: a running table runs on exactly one instance.
 */
export interface TableOwnership {
  owns(tableId: number): boolean;
  /** Before the first task: may fence an earlier owner and load its committed state into the ledger. */
  acquire(tableId: number): Promise<{ ok: true; token?: number } | { ok: false; reason: string }>;
  /** The current claim's token: tasks started under another one belong to a claim given up since. */
  tokenOf(tableId: number): number | undefined;
  /** The tasks of this claim stopped: give the table up (a later claim of it stays). */
  release(tableId: number, token: number | undefined): Promise<void>;
  /** A task of this claim was fenced out: another instance has the table now. */
  lost(tableId: number, token: number | undefined): void;
}

export interface SupervisorDeps {
  ledger: Ledger;
  log: Logger;
  /** Number of partitions of the topic (the plan follows it). */
  partitionCount(spec: StreamSpec): Promise<number>;
  /**
   * Before tasks start: why the table's brokers cannot serve its offsets (another Kafka cluster than the
   * one they were read from, after an ALTER of kafka.broker.list), or undefined when they can.
   */
  offsetsProblem?(tableId: number, spec: StreamSpec): Promise<string | undefined>;
  /** Records start offsets for partitions the ledger does not know yet (kafka.start.offset). */
  initOffsets(tableId: number, spec: StreamSpec, partitions: number[]): Promise<void>;
  startTask(tableId: number, assignment: TaskAssignment, onFailure: (e: TaskFailure) => void): Promise<RunningTask>;
  /** After a DROP: remove what the service left in the table location (staging files). */
  cleanup(tableId: number): Promise<void>;
  /**
   * Before a table's first task, while some dropped tables' clean-ups are due again: the name of one at
   * the same location (a DROP, then a CREATE of the same name), which this one waits for; undefined to start.
   */
  waitsForDropped?(tableId: number, cleanupsDue: readonly number[]): string | undefined;
  /** Before a table's tasks start: finish moving what it left at a location a RENAME moved it from. */
  relocate?(tableId: number): Promise<void>;
  /** How often tables are re-checked (new partitions, due restarts). */
  tickMs?: number;
  /** A task without a heartbeat for this long is killed and replaced. */
  hungTaskMs?: number;
  /** A table's restart backoff starts over at 1 s once it has gone this long without a task failure. */
  backoffResetMs?: number;
  /** Absent: this instance runs every table. */
  ownership?: TableOwnership;
}

export type TaskState = 'running' | 'failed' | 'stopped';

/** The lifecycle state of a table as the ledger holds it. */
export function stateOf(stream: StreamRow | undefined): TableState {
  if (!stream) return 'absent';
  if (stream.desiredState === 'dropped') return 'dropped';
  return stream.failure !== null ? 'failed' : stream.desiredState;
}

/** Ten minutes without a task failure and a table's restart backoff starts over (Kubernetes resets a crash loop's after ten minutes too). */
const BACKOFF_RESET_MS = 600_000;

/** How often a task's heartbeat is written to the ledger (the supervisor sees every one). */
const HEARTBEAT_WRITE_MS = 10_000;

export interface TableStatus {
  tableId: number;
  state: TableState;
  tasks: { taskId: string; partitions: number[]; state: TaskState }[];
  attempts: number;
  lastError: string | undefined;
  nextRetryAt: number | undefined;
  /** Why this instance does not run the table (held by another service, owned by another member). */
  notHere?: string;
}

interface TableRuntime {
  /** The spec and layout the running tasks were started with. */
  configJson: string;
  plan: TaskAssignment[];
  tasks: Map<string, { assignment: TaskAssignment; handle: RunningTask | undefined; state: TaskState; heartbeatWrittenAt: number }>;
  attempts: number;
  /** Task failures of the table, each less than backoffResetMs after the one before: what the backoff doubles with. */
  failuresInRow: number;
  lastFailureAt: number | undefined;
  lastError: string | undefined;
  retryAt: number | undefined;
}

export class Supervisor {
  private readonly tables = new Map<number, TableRuntime>();
  private readonly queued = new Set<number>();
  /** One queue per table: a table's notices run one at a time; tables run side by side (a hand-over starts many at once). */
  private readonly queues = new Map<number, Promise<void>>();
  private ticker: NodeJS.Timeout | undefined;
  private hangWatch: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Tables this instance has taken (ownership.acquire), and why the others were refused. */
  private readonly holding = new Map<number, number | undefined>();
  private readonly refusals = new Map<number, string>();
  /** Dropped tables whose clean-up failed (a metastore or file system blip): tried again by the tick after a backoff. */
  private readonly cleanupsDue = new Map<number, { failures: number; dueAt: number }>();
  /** Tables that wait for a dropped table's clean-up at their location (waitsForDropped), started once it ran. */
  private readonly waitingForCleanup = new Set<number>();

  constructor(private readonly deps: SupervisorDeps) {}

  start(): void {
    // A DROP whose clean-up failed before the service stopped: due again now (it waits for no tick).
    for (const tableId of this.deps.ledger.cleanupsPending()) if (!this.cleanupsDue.has(tableId)) this.cleanupsDue.set(tableId, { failures: 0, dueAt: 0 });
    for (const tableId of this.cleanupsDue.keys()) void this.notify(tableId);
    for (const s of this.deps.ledger.listStreams()) void this.notify(s.tableId);
    this.ticker = setInterval(() => {
      let streams: ReturnType<Ledger['listStreams']>;
      try {
        streams = this.deps.ledger.listStreams();
      } catch (e) {
        this.deps.log.error({ err: (e as Error).message }, 'could not list the tables in the ledger; trying again at the next tick');
        return;
      }
      for (const s of streams) void this.notify(s.tableId);
      const now = Date.now();
      for (const [tableId, due] of this.cleanupsDue) if (due.dueAt <= now) void this.notify(tableId);
    }, this.deps.tickMs ?? 4_000); // also how soon new partitions of a topic are read
    this.hangWatch = setInterval(() => this.watchHeartbeats(), 1000);
  }

  private watchHeartbeats(): void {
    const limit = this.deps.hungTaskMs ?? 30_000;
    const now = Date.now();
    const due: { tableId: number; taskId: string; at: number }[] = [];
    for (const [tableId, rt] of this.tables) {
      for (const [taskId, t] of rt.tasks) {
        const last = t.handle?.lastHeartbeatAt?.();
        if (t.state !== 'running' || last === undefined) continue;
        if (now - last <= limit) {
          if (now - t.heartbeatWrittenAt >= HEARTBEAT_WRITE_MS) { t.heartbeatWrittenAt = now; due.push({ tableId, taskId, at: last }); }
          continue;
        }
        const handle = t.handle!;
        // Fencing already keeps it from publishing; killing it frees its partitions for a successor.
        this.taskFailed(tableId, taskId, { message: `hung: no heartbeat for ${Math.round((now - last) / 1000)} s; killed and replaced`, retriable: true }, 'task-hung');
        void handle.kill?.();
      }
    }
    try {
      this.deps.ledger.heartbeats(due);
    } catch (e) {
      // Heartbeats in the ledger are for status views only (the hang watch above reads them from memory):
      // one that could not be written is written at the next tick.
      for (const b of due) { const t = this.tables.get(b.tableId)?.tasks.get(b.taskId); if (t) t.heartbeatWrittenAt = 0; }
      this.deps.log.warn({ err: (e as Error).message, tasks: due.length }, 'could not write task heartbeats to the ledger; trying again in a second');
    }
  }

  /** Something about the table may have changed: reconcile it soon (once, however often asked). */
  notify(tableId: number): Promise<void> {
    const queue = this.queues.get(tableId) ?? Promise.resolve();
    if (this.stopped || this.queued.has(tableId)) return queue;
    this.queued.add(tableId);
    const next = queue.then(async () => {
      this.queued.delete(tableId);
      try {
        await this.reconcile(tableId);
      } catch (e) {
        this.deps.log.error({ err: e, tableId }, 'reconcile failed; will retry on the next tick');
        try {
          this.deps.ledger.recordError(tableId, 'supervisor', (e as Error).message);
        } catch (ledgerError) {
          this.deps.log.error({ err: ledgerError, tableId }, 'could not record the failed reconcile in the ledger either');
        }
      }
    }).finally(() => {
      // Nothing queued after it: the entry goes, or every table ever created would keep one.
      if (this.queues.get(tableId) === next) this.queues.delete(tableId);
    });
    this.queues.set(tableId, next);
    return next;
  }

  status(tableId: number): TableStatus | undefined {
    const stream = this.deps.ledger.getStream(tableId);
    if (!stream) return undefined;
    const rt = this.tables.get(tableId);
    return {
      tableId,
      state: stateOf(stream),
      tasks: rt ? [...rt.tasks.entries()].map(([taskId, t]) => ({ taskId, partitions: t.assignment.partitions, state: t.state })) : [],
      attempts: rt?.attempts ?? 0,
      lastError: rt?.lastError ?? stream.failure ?? undefined,
      nextRetryAt: rt?.retryAt,
      notHere: this.refusals.get(tableId) ?? (this.deps.ownership && !this.deps.ownership.owns(tableId) ? 'owned by another instance of the cluster' : undefined),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    clearInterval(this.hangWatch);
    await Promise.all(this.queues.values());
    // All tables at once: on SIGTERM in a cluster, the sooner they are committed, the sooner another member takes them.
    await Promise.all([...this.tables.keys()].map((tableId) => this.stopTasks(tableId, true)));
    await Promise.all([...this.holding].map(([tableId, token]) => this.deps.ownership?.release(tableId, token)));
    this.holding.clear();
  }

  /** Whether this instance may run the table now, taking it first if it is newly ours. */
  private async mayRun(tableId: number): Promise<boolean> {
    const own = this.deps.ownership;
    if (!own) return true;
    if (!own.owns(tableId)) {
      await this.handOver(tableId);
      this.refusals.delete(tableId);
      return false;
    }
    if (this.holding.has(tableId)) {
      if (own.tokenOf(tableId) === this.holding.get(tableId)) return true;
      // Lost and taken again since these tasks started (a member that froze): they belong to the old claim.
      await this.stopTasks(tableId, false);
      this.tables.delete(tableId);
      this.holding.delete(tableId);
    }
    const r = await own.acquire(tableId);
    if (!r.ok) {
      if (this.refusals.get(tableId) !== r.reason) this.deps.log.warn({ tableId, reason: r.reason }, 'table not run here');
      this.refusals.set(tableId, r.reason);
      return false;
    }
    this.refusals.delete(tableId);
    this.holding.set(tableId, r.token);
    return true;
  }

  /** The table is another instance's now: its new owner re-reads whatever was not committed. */
  private async handOver(tableId: number): Promise<void> {
    if (!this.holding.has(tableId) && !this.tables.has(tableId)) return;
    await this.stopTasks(tableId, false);
    this.tables.delete(tableId);
    await this.releaseClaim(tableId);
    this.deps.log.info({ tableId }, 'table handed over to another instance');
  }

  private async releaseClaim(tableId: number): Promise<void> {
    const token = this.holding.get(tableId);
    this.holding.delete(tableId);
    await this.deps.ownership?.release(tableId, token);
  }

  private async reconcile(tableId: number): Promise<void> {
    const stream = this.deps.ledger.getStream(tableId);
    const state = stateOf(stream);
    if (state !== 'running') {
      // paused and failed: commit what the tasks hold (a failed task already committed up to its error).
      await this.stopTasks(tableId, state !== 'dropped');
      if (this.deps.ownership && !this.deps.ownership.owns(tableId)) await this.handOver(tableId);
      if (state === 'dropped' || state === 'absent') {
        this.tables.delete(tableId);
        try {
          await this.deps.cleanup(tableId);
        } catch (e) {
          const failures = (this.cleanupsDue.get(tableId)?.failures ?? 0) + 1;
          this.cleanupsDue.set(tableId, { failures, dueAt: Date.now() + backoffMs(failures) });
          throw e; // logged by notify
        }
        this.deps.ledger.cleanedUp(tableId);
        this.cleanupsDue.delete(tableId);
        for (const waiting of this.waitingForCleanup) void this.notify(waiting);
        this.waitingForCleanup.clear();
        // The claim goes with the table: in a cluster it holds a transactional producer, kept until the
        // service stopped when a dropped table stayed claimed.
        if (this.holding.has(tableId)) await this.releaseClaim(tableId);
        this.refusals.delete(tableId);
      }
      return;
    }

    if (!this.tables.has(tableId) && this.cleanupsDue.size > 0) {
      const dropped = this.deps.waitsForDropped?.(tableId, [...this.cleanupsDue.keys()]);
      if (dropped !== undefined) {
        if (!this.waitingForCleanup.has(tableId)) this.deps.log.info({ tableId, dropped }, `table waits for the clean-up of ${dropped}, dropped at the same location, before its first task`);
        this.waitingForCleanup.add(tableId);
        return;
      }
      this.waitingForCleanup.delete(tableId);
    }
    if (!(await this.mayRun(tableId))) return;
    const spec = JSON.parse(stream!.specJson) as StreamSpec;
    // A new column or bucketing also needs new tasks; a new kafka.start.offset or compaction setting does
    // not, nor a compaction's move of where Hive reads the table (the ledger sends batches there).
    const { compactedLocation: _moved, ...layout } = JSON.parse(stream!.layoutJson) as StoredLayout;
    const config = JSON.stringify(taskSettings(spec)) + JSON.stringify(layout);
    let rt = this.tables.get(tableId);
    // Asked before any task starts, not on every tick of running ones; before the topic is read there.
    const starts = !rt || rt.configJson !== config || [...rt.tasks.values()].some((t) => t.state !== 'running') || rt.tasks.size === 0;
    const problem = starts ? await this.deps.offsetsProblem?.(tableId, spec) : undefined;
    if (problem !== undefined) {
      await this.stopTasks(tableId, true);
      this.tables.delete(tableId);
      this.apply(tableId, 'task-failed', { error: problem }, problem);
      this.deps.log.error({ tableId, err: problem }, 'the table cannot start; it is failed until an ALTER TABLE');
      return;
    }
    const partitionCount = await this.deps.partitionCount(spec);
    const plan = planTasks(partitionCount, spec.maxNumTasks);
    const before = rt?.plan.reduce((n, a) => n + a.partitions.length, 0) ?? 0;
    if (rt && rt.configJson !== '' && partitionCount > before) this.apply(tableId, 'partitions-added', { from: before, to: partitionCount });
    if (rt && (rt.configJson !== config || !samePlan(rt.plan, plan))) {
      // Reconfigure at a batch boundary: running tasks commit what they hold, then restart.
      this.deps.log.info({ tableId, plan }, 'table changed: restarting its tasks at a batch boundary');
      await this.stopTasks(tableId, true);
      rt = undefined;
    }
    if (!rt) {
      // A changed table is tried at once: an ALTER is how a user answers a failure.
      const previous = this.tables.get(tableId);
      rt = { configJson: config, plan, tasks: new Map(), attempts: previous?.attempts ?? 0, failuresInRow: previous?.failuresInRow ?? 0, lastFailureAt: previous?.lastFailureAt, lastError: undefined, retryAt: undefined };
      this.tables.set(tableId, rt);
      this.deps.ledger.forgetTasks(tableId, plan.map((a) => a.taskId));
    }
    if (rt.retryAt !== undefined && Date.now() < rt.retryAt) return; // the backoff timer brings us back

    // No task of an earlier location runs now (a changed location restarted them above).
    await this.deps.relocate?.(tableId);
    await this.deps.initOffsets(tableId, spec, plan.flatMap((a) => a.partitions));
    // The table's tasks start side by side: each may wait for a worker thread to come up and for its
    // first fetch, and one after another the last task of a busy table began a second or more late.
    const starting = plan.filter((assignment) => rt.tasks.get(assignment.taskId)?.state !== 'running');
    const startOne = async (assignment: TaskAssignment) => {
      const entry = { assignment, handle: undefined as RunningTask | undefined, state: 'running' as TaskState, heartbeatWrittenAt: 0 };
      rt.tasks.set(assignment.taskId, entry);
      this.deps.ledger.saveTask({ tableId, taskId: assignment.taskId, partitions: assignment.partitions, state: 'starting', attempts: rt.attempts });
      try {
        // A failure counts only while this very task is the table's task of that id: a stopped one's late word changes nothing.
        entry.handle = await this.deps.startTask(tableId, assignment, (e) => {
          if (this.tables.get(tableId)?.tasks.get(assignment.taskId) === entry) this.taskFailed(tableId, assignment.taskId, e);
        });
        if (entry.state === 'running') {
          this.deps.ledger.saveTask({ tableId, taskId: assignment.taskId, state: 'running', ownerEpoch: entry.handle.ownerEpoch?.(), heartbeatAt: Date.now() });
        }
      } catch (e) {
        this.taskFailed(tableId, assignment.taskId, { message: (e as Error).message, retriable: true });
      }
    };
    await Promise.all(starting.map(startOne));
  }

  /** Writes what the lifecycle table says an event does to the ledger; the next reconcile does the rest. */
  private apply(tableId: number, event: LifecycleEvent, detail?: Record<string, unknown>, failure?: string): TableState {
    const t = transition(stateOf(this.deps.ledger.getStream(tableId)), event);
    if (t.actions.includes('record-failure')) this.deps.ledger.setFailure(tableId, failure ?? event, t.history, detail);
    else if (t.history && t.historyRepeats === 'counted') this.deps.ledger.appendOrCountHistory(tableId, t.history, detail as RepeatableDetail);
    else if (t.history) this.deps.ledger.appendHistory(tableId, t.history, detail);
    return t.next;
  }

  private taskFailed(tableId: number, taskId: string, failure: TaskFailure, cause: 'task-hung' | undefined = undefined): void {
    const rt = this.tables.get(tableId);
    const task = rt?.tasks.get(taskId);
    if (!rt || !task || task.state !== 'running') return;
    if (failure.name === 'OwnershipLostError') {
      // Not a failure of the table: another instance runs it now, and nothing here restarts it.
      task.state = 'stopped';
      this.deps.log.warn({ tableId, taskId, err: failure.message }, 'fenced out: another instance took the table');
      this.deps.ownership?.lost(tableId, this.holding.get(tableId));
      // The rest happens on the table's queue: its other tasks stop there (mayRun sees the claim gone) before
      // any reconcile starts tasks under a newer claim. Done here, beside the queue, a reconcile could start a
      // task whose entry the late clean-up then dropped, leaving it running untracked next to its successor.
      void this.notify(tableId);
      return;
    }
    task.state = 'failed';
    try {
      this.recordTaskFailure(tableId, taskId, rt, task, failure, cause);
    } catch (e) {
      // A ledger that refused the write (locked, disk full) must not take the service down with it: the
      // table is tried again after a backoff, and the failure is recorded then, or reported again.
      this.deps.log.error({ tableId, taskId, err: (e as Error).message, failure: failure.message }, 'could not record a task failure in the ledger; retrying the table after backoff');
      void task.handle?.stop({ commitBuffered: false }).catch(() => undefined);
      this.retryLater(tableId, rt, Date.now() + backoffMs(Math.max(1, rt.failuresInRow)));
    }
  }

  private recordTaskFailure(tableId: number, taskId: string, rt: TableRuntime, task: { assignment: TaskAssignment; handle: RunningTask | undefined }, failure: TaskFailure, cause: 'task-hung' | undefined): void {
    rt.attempts += 1;
    // Like a crash-looping pod's: a table that ran well for a while waits 1 s again, not the cap it once reached.
    const now = Date.now();
    const quietSince = rt.lastFailureAt === undefined ? Infinity : now - rt.lastFailureAt;
    rt.failuresInRow = quietSince < (this.deps.backoffResetMs ?? BACKOFF_RESET_MS) ? rt.failuresInRow + 1 : 1;
    rt.lastFailureAt = now;
    rt.lastError = failure.message;
    this.deps.ledger.recordError(tableId, 'task', failure.message);
    const event: LifecycleEvent = cause ?? (failure.retriable ? 'task-exit' : failure.name === 'OffsetGapError' ? 'offsets-lost-fail' : 'task-failed');
    const next = this.apply(tableId, event, { task: taskId, partitions: task.assignment.partitions, error: failure.message }, failure.message);
    this.deps.ledger.saveTask({ tableId, taskId, state: cause === 'task-hung' ? 'hung' : 'failed', attempts: rt.attempts, lastError: failure.message });
    void task.handle?.stop({ commitBuffered: false }).catch(() => undefined);
    if (next === 'failed') {
      // Retrying cannot help: the table stops (its other tasks commit what they hold) until an ALTER.
      this.deps.log.error({ tableId, taskId, err: failure.message }, 'task failed with an error a restart cannot fix; the table is failed until an ALTER TABLE');
      void this.notify(tableId);
      return;
    }
    this.deps.log.warn({ tableId, taskId, attempts: rt.attempts, failuresInRow: rt.failuresInRow, err: failure.message }, 'task failed; restarting it after backoff');
    this.retryLater(tableId, rt, now + backoffMs(rt.failuresInRow));
  }

  private retryLater(tableId: number, rt: TableRuntime, at: number): void {
    rt.retryAt = at;
    setTimeout(() => { rt.retryAt = undefined; void this.notify(tableId); }, at - Date.now()).unref();
  }

  private async stopTasks(tableId: number, commitBuffered: boolean): Promise<void> {
    const rt = this.tables.get(tableId);
    if (!rt) return;
    await Promise.all([...rt.tasks.entries()].map(async ([taskId, t]) => {
      if (t.state === 'running') {
        await t.handle?.stop({ commitBuffered });
        this.deps.ledger.saveTask({ tableId, taskId, state: 'stopped' });
      }
      t.state = 'stopped';
    }));
    rt.tasks.clear();
    rt.configJson = '';
  }
}
