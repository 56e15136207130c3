// Reconciles what the ledger says each table should be doing (running, paused, dropped) with the
// tasks actually running. Every change arrives as a notice on one queue and is handled one at a
// time, so nothing here needs locks; repeated notices for a table collapse into one.
import type { Logger } from 'pino';
import type { Ledger } from '../ledger/ledger.ts';
import type { StreamSpec } from '../properties/parse.ts';
import { backoffMs } from './backoff.ts';
import { planTasks, samePlan, type TaskAssignment } from './plan.ts';

export interface RunningTask {
  stop(opts: { commitBuffered: boolean }): Promise<void>;
  /** When the task last showed it is alive; tasks that cannot hang may leave these out. */
  lastHeartbeatAt?(): number;
  /** Ends the task at once, however stuck it is. */
  kill?(): Promise<void>;
}

export interface SupervisorDeps {
  ledger: Ledger;
  log: Logger;
  /** Number of partitions of the topic (the plan follows it). */
  partitionCount(spec: StreamSpec): Promise<number>;
  /** Records start offsets for partitions the ledger does not know yet (kafka.start.offset). */
  initOffsets(tableId: number, spec: StreamSpec, partitions: number[]): Promise<void>;
  startTask(tableId: number, assignment: TaskAssignment, onFailure: (e: Error) => void): Promise<RunningTask>;
  /** After a DROP: remove what the service left in the table location (staging files). */
  cleanup(tableId: number): Promise<void>;
  /** How often tables are re-checked (new partitions, due restarts). */
  tickMs?: number;
  /** A task without a heartbeat for this long is killed and replaced. */
  hungTaskMs?: number;
}

export type TaskState = 'running' | 'failed' | 'stopped';

export interface TableStatus {
  tableId: number;
  desiredState: string;
  tasks: { taskId: string; partitions: number[]; state: TaskState }[];
  attempts: number;
  lastError: string | undefined;
  nextRetryAt: number | undefined;
}

interface TableRuntime {
  /** The spec and layout the running tasks were started with. */
  configJson: string;
  plan: TaskAssignment[];
  tasks: Map<string, { assignment: TaskAssignment; handle: RunningTask | undefined; state: TaskState }>;
  attempts: number;
  lastError: string | undefined;
  retryAt: number | undefined;
}

export class Supervisor {
  private readonly tables = new Map<number, TableRuntime>();
  private readonly queued = new Set<number>();
  private queue: Promise<void> = Promise.resolve();
  private ticker: NodeJS.Timeout | undefined;
  private hangWatch: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly deps: SupervisorDeps) {}

  start(): void {
    for (const s of this.deps.ledger.listStreams()) this.notify(s.tableId);
    this.ticker = setInterval(() => {
      for (const s of this.deps.ledger.listStreams()) this.notify(s.tableId);
    }, this.deps.tickMs ?? 10_000);
    this.hangWatch = setInterval(() => this.killHungTasks(), 1000);
  }

  private killHungTasks(): void {
    const limit = this.deps.hungTaskMs ?? 30_000;
    for (const [tableId, rt] of this.tables) {
      for (const [taskId, t] of rt.tasks) {
        const last = t.handle?.lastHeartbeatAt?.();
        if (t.state !== 'running' || last === undefined || Date.now() - last <= limit) continue;
        const handle = t.handle!;
        // Fencing already keeps it from publishing; killing it frees its partitions for a successor.
        this.taskFailed(tableId, taskId, new Error(`hung: no heartbeat for ${Math.round((Date.now() - last) / 1000)} s; killed and replaced`));
        void handle.kill?.();
      }
    }
  }

  /** Something about the table may have changed: reconcile it soon (once, however often asked). */
  notify(tableId: number): Promise<void> {
    if (this.stopped || this.queued.has(tableId)) return this.queue;
    this.queued.add(tableId);
    this.queue = this.queue.then(async () => {
      this.queued.delete(tableId);
      try {
        await this.reconcile(tableId);
      } catch (e) {
        this.deps.log.error({ err: e, tableId }, 'reconcile failed; will retry on the next tick');
        this.deps.ledger.recordError(tableId, 'supervisor', (e as Error).message);
      }
    });
    return this.queue;
  }

  status(tableId: number): TableStatus | undefined {
    const stream = this.deps.ledger.getStream(tableId);
    if (!stream) return undefined;
    const rt = this.tables.get(tableId);
    return {
      tableId,
      desiredState: stream.desiredState,
      tasks: rt ? [...rt.tasks.entries()].map(([taskId, t]) => ({ taskId, partitions: t.assignment.partitions, state: t.state })) : [],
      attempts: rt?.attempts ?? 0,
      lastError: rt?.lastError,
      nextRetryAt: rt?.retryAt,
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    clearInterval(this.hangWatch);
    await this.queue;
    for (const [tableId] of this.tables) await this.stopTasks(tableId, true);
  }

  private async reconcile(tableId: number): Promise<void> {
    const stream = this.deps.ledger.getStream(tableId);
    const desired = stream?.desiredState ?? 'dropped';
    if (!stream || desired !== 'running') {
      await this.stopTasks(tableId, desired === 'paused');
      if (desired === 'dropped') {
        this.tables.delete(tableId);
        await this.deps.cleanup(tableId);
      }
      return;
    }

    const spec = JSON.parse(stream.specJson) as StreamSpec;
    const plan = planTasks(await this.deps.partitionCount(spec), spec.maxNumTasks);
    let rt = this.tables.get(tableId);
    const config = stream.specJson + stream.layoutJson; // a new column or bucketing also needs new tasks
    if (rt && (rt.configJson !== config || !samePlan(rt.plan, plan))) {
      // Reconfigure at a batch boundary: running tasks commit what they hold, then restart.
      this.deps.log.info({ tableId, plan }, 'table changed: restarting its tasks at a batch boundary');
      await this.stopTasks(tableId, true);
      rt = undefined;
    }
    if (!rt) {
      rt = { configJson: config, plan, tasks: new Map(), attempts: this.tables.get(tableId)?.attempts ?? 0, lastError: undefined, retryAt: undefined };
      this.tables.set(tableId, rt);
    }
    if (rt.retryAt !== undefined && Date.now() < rt.retryAt) return; // the tick brings us back

    await this.deps.initOffsets(tableId, spec, plan.flatMap((a) => a.partitions));
    for (const assignment of plan) {
      const current = rt.tasks.get(assignment.taskId);
      if (current?.state === 'running') continue;
      const entry = { assignment, handle: undefined as RunningTask | undefined, state: 'running' as TaskState };
      rt.tasks.set(assignment.taskId, entry);
      try {
        entry.handle = await this.deps.startTask(tableId, assignment, (e) => this.taskFailed(tableId, assignment.taskId, e));
      } catch (e) {
        this.taskFailed(tableId, assignment.taskId, e as Error);
      }
    }
  }

  private taskFailed(tableId: number, taskId: string, error: Error): void {
    const rt = this.tables.get(tableId);
    const task = rt?.tasks.get(taskId);
    if (!rt || !task || task.state !== 'running') return;
    task.state = 'failed';
    rt.attempts += 1;
    rt.lastError = error.message;
    rt.retryAt = Date.now() + backoffMs(rt.attempts);
    this.deps.log.warn({ tableId, taskId, attempts: rt.attempts, err: error }, 'task failed; restarting it after backoff');
    this.deps.ledger.recordError(tableId, 'task', error.message);
    void task.handle?.stop({ commitBuffered: false }).catch(() => undefined);
    setTimeout(() => { rt.retryAt = undefined; void this.notify(tableId); }, rt.retryAt - Date.now()).unref();
  }

  private async stopTasks(tableId: number, commitBuffered: boolean): Promise<void> {
    const rt = this.tables.get(tableId);
    if (!rt) return;
    await Promise.all([...rt.tasks.values()].map(async (t) => {
      if (t.state === 'running') await t.handle?.stop({ commitBuffered });
      t.state = 'stopped';
    }));
    rt.tasks.clear();
    rt.configJson = '';
  }
}
