// The supervisor with an in-memory ownership twin: it runs only what this instance owns, under the
// claim it took, and a claim given up and taken again (a member that froze) restarts the tasks under
// the new claim instead of letting the old ones run on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Ledger } from '../../src/ledger/ledger.ts';
import { Supervisor, type RunningTask, type TableOwnership, type TaskFailure } from '../../src/lifecycle/supervisor.ts';

class OwnershipTwin implements TableOwnership {
  owned = new Set<number>();
  current = new Map<number, number>();
  next = 1;
  released: [number, number | undefined][] = [];
  lostCalls: [number, number | undefined][] = [];
  refuse: string | undefined;
  owns(id: number) { return this.owned.has(id); }
  async acquire(id: number) {
    if (this.refuse) return { ok: false as const, reason: this.refuse };
    if (!this.current.has(id)) this.current.set(id, this.next++);
    return { ok: true as const, token: this.current.get(id) };
  }
  tokenOf(id: number) { return this.current.get(id); }
  async release(id: number, token: number | undefined) { this.released.push([id, token]); if (this.current.get(id) === token) this.current.delete(id); }
  lost(id: number, token: number | undefined) { this.lostCalls.push([id, token]); if (this.current.get(id) === token) this.current.delete(id); }
  /** What a frozen member's wake-up does: every claim dropped, then the table claimed again. */
  reclaim(id: number) { this.current.set(id, this.next++); }
}

interface Started { taskId: string; token: number | undefined; stopped: boolean; committedAtStop?: boolean; failed: boolean; fail(f: TaskFailure): void }

/** Table 7 with one task per Kafka partition (`tasks` of them); `stopping` runs as a task stops (a slow commit, say). */
function setup(opts: { tasks?: number; stopping?: (task: Started, index: number) => Promise<void>; backoffResetMs?: number; tickMs?: number; cleanup?: () => Promise<void>; offsetsProblem?: () => string | undefined } = {}) {
  const tasks = opts.tasks ?? 1;
  const ledger = Ledger.open(':memory:');
  ledger.upsertStream({ tableId: 7, dbName: 'default', tableName: 'pv', specJson: JSON.stringify({ maxNumTasks: tasks }), layoutJson: '{}', desiredState: 'running' });
  const own = new OwnershipTwin();
  const started: Started[] = [];
  const supervisor = new Supervisor({
    ledger, log: pino({ level: 'silent' }), ownership: own, tickMs: opts.tickMs ?? 3_600_000,
    partitionCount: async () => tasks,
    initOffsets: async (tableId, _spec, partitions) => ledger.initPartitions(tableId, new Map(partitions.map((p) => [p, 0]))),
    startTask: async (_tableId, assignment, onFailure) => {
      const s: Started = { taskId: assignment.taskId, token: own.tokenOf(7), stopped: false, failed: false, fail: (f) => { s.failed = true; onFailure(f); } };
      started.push(s);
      return {
        async stop(how) { await opts.stopping?.(s, started.indexOf(s)); s.stopped = true; s.committedAtStop = how.commitBuffered; },
        lastHeartbeatAt: () => Date.now(),
      } satisfies RunningTask;
    },
    cleanup: opts.cleanup ?? (async () => undefined),
    ...(opts.offsetsProblem ? { offsetsProblem: async () => opts.offsetsProblem!() } : {}),
    ...(opts.backoffResetMs === undefined ? {} : { backoffResetMs: opts.backoffResetMs }),
  });
  return { ledger, own, started, supervisor };
}

test('a table another member owns is not run; once it is ours it runs under our claim', async () => {
  const { own, started, supervisor } = setup();
  await supervisor.notify(7);
  assert.equal(started.length, 0);
  assert.match(supervisor.status(7)!.notHere ?? '', /owned by another instance/);
  own.owned.add(7);
  await supervisor.notify(7);
  assert.deepEqual(started.map((s) => s.token), [1]);
  assert.equal(supervisor.status(7)!.notHere, undefined);
  await supervisor.stop();
});

test('a table held by a service outside the cluster is refused, with the reason in its status', async () => {
  const { own, started, supervisor } = setup();
  own.owned.add(7);
  own.refuse = 'held by instance:other (...)';
  await supervisor.notify(7);
  assert.equal(started.length, 0);
  assert.equal(supervisor.status(7)!.notHere, 'held by instance:other (...)');
  await supervisor.stop();
});

test('claimed again since its tasks started: the old tasks stop and new ones run under the new claim; a late failure of an old one does not give the new claim up', async () => {
  const { own, started, supervisor } = setup();
  own.owned.add(7);
  await supervisor.notify(7);
  own.reclaim(7);
  await supervisor.notify(7);
  assert.deepEqual(started.map((s) => [s.token, s.stopped]), [[1, true], [2, false]]);
  started[0]!.fail({ name: 'OwnershipLostError', message: 'its claim was given up or replaced', retriable: false });
  assert.equal(own.tokenOf(7), 2, 'the new claim stays');
  started[1]!.fail({ name: 'OwnershipLostError', message: 'another instance claimed it', retriable: false });
  assert.deepEqual(own.lostCalls, [[7, 2]], 'only a task of the current claim reports it lost');
  await supervisor.stop();
});

test('a table that moves to another member: its tasks stop without committing and the claim is given up', async () => {
  const { own, started, supervisor } = setup();
  own.owned.add(7);
  await supervisor.notify(7);
  own.owned.delete(7);
  await supervisor.notify(7);
  assert.equal(started[0]!.stopped, true);
  assert.deepEqual(own.released, [[7, 1]]);
  assert.equal(own.tokenOf(7), undefined);
  await supervisor.stop();
});

test('a heartbeat the ledger refuses (SQLite busy) is logged and written at a later tick; the service does not die of it', async (t) => {
  const { ledger, own, supervisor } = setup();
  t.after(() => supervisor.stop()); // also when an assertion fails: its timers would keep the test running
  own.owned.add(7);
  const warnings: string[] = [];
  (supervisor as unknown as { deps: { log: { warn: (o: unknown, m: string) => void } } }).deps.log.warn = (_o, m) => { warnings.push(m); };
  const written = ledger.heartbeats.bind(ledger);
  let refuse = true;
  ledger.heartbeats = (beats) => { if (refuse && beats.length > 0) throw new Error('database is locked'); written(beats); };
  supervisor.start();
  await new Promise((resolve) => setTimeout(resolve, 1_300)); // the hang watch ticks every second
  assert.deepEqual(ledger.tasks(7).map((t) => t.heartbeatAt !== null), [true], 'the start wrote a heartbeat');
  const atStart = ledger.tasks(7)[0]!.heartbeatAt;
  assert.ok(warnings.includes('could not write task heartbeats to the ledger; trying again in a second'), `warnings: ${warnings.join('; ')}`);
  refuse = false;
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  assert.ok(ledger.tasks(7)[0]!.heartbeatAt! > atStart!, 'written at the next tick');
});

test('a dropped table gives its claim up at once (in a cluster a claim holds a transactional producer), not at the service stop', async () => {
  const { ledger, own, started, supervisor } = setup();
  own.owned.add(7);
  await supervisor.notify(7);
  ledger.setDesiredState(7, 'dropped', 'dropped');
  await supervisor.notify(7);
  assert.equal(started[0]!.stopped, true);
  assert.deepEqual(own.released, [[7, 1]], 'released while the table is still assigned here');
  assert.equal(own.tokenOf(7), undefined);
  await supervisor.stop();
  assert.deepEqual(own.released, [[7, 1]], 'not released a second time at stop');
});

test('fenced out while a neighbour task is still stopping, then claimed again: every task runs once, under the new claim, and none is left behind', async () => {
  let slowStop: (() => void) | undefined;
  // The first task of the first claim takes its time to stop (a commit on a slow file system).
  const { own, started, supervisor } = setup({ tasks: 2, stopping: (_task, index) => (index === 1 ? new Promise<void>((resolve) => { slowStop = resolve; }) : Promise.resolve()) });
  own.owned.add(7);
  try {
    await supervisor.notify(7);
    assert.deepEqual(started.map((s) => s.token), [1, 1]);
    started[0]!.fail({ name: 'OwnershipLostError', message: 'another instance claimed it', retriable: false });
    await new Promise((resolve) => setImmediate(resolve));
    own.reclaim(7); // the table comes back to this instance under a new claim before the neighbour has stopped
    const reconciled = supervisor.notify(7);
    await new Promise((resolve) => setTimeout(resolve, 20));
    slowStop?.();
    await reconciled;
    await supervisor.notify(7);
    const live = started.filter((s) => !s.stopped && !s.failed);
    assert.deepEqual(live.map((s) => [s.taskId, s.token]).sort(), [...new Set(started.map((s) => s.taskId))].sort().map((id) => [id, 2]),
      `each task once under claim 2; started: ${JSON.stringify(started.map(({ taskId, token, stopped, failed }) => ({ taskId, token, stopped, failed })))}`);
    assert.deepEqual(supervisor.status(7)!.tasks.map((t) => t.state), ['running', 'running']);
  } finally {
    slowStop?.();
    await supervisor.stop();
  }
});

test('a task that keeps failing with the same retriable error adds one history row that counts the tries, not one row per try', async () => {
  const { ledger, own, started, supervisor } = setup();
  own.owned.add(7);
  await supervisor.notify(7);
  const table = (supervisor as unknown as { tables: Map<number, { retryAt?: number }> }).tables;
  for (let i = 0; i < 5; i++) {
    started.at(-1)!.fail({ message: `KafkaJSConnectionError: connect ECONNREFUSED 10.0.0.7:${9092 + i}`, retriable: true });
    table.get(7)!.retryAt = undefined; // the backoff timer's work, without its wait
    await supervisor.notify(7);
  }
  assert.equal(started.length, 6, 'restarted after each failure');
  const failures = ledger.history(7).filter((h) => h.event === 'task-failed');
  assert.equal(failures.length, 1, JSON.stringify(failures));
  assert.equal((failures[0]!.detail as { repeats: number }).repeats, 4);
  await supervisor.stop();
});

test('the restart backoff doubles while a table keeps failing, and starts over at about 1 s once it has gone backoffResetMs without a failure', async () => {
  const { own, started, supervisor } = setup({ backoffResetMs: 2_000 });
  own.owned.add(7);
  await supervisor.notify(7);
  const table = (supervisor as unknown as { tables: Map<number, { retryAt?: number }> }).tables;
  const failAndWait = async () => {
    const at = Date.now();
    started.at(-1)!.fail({ message: 'KafkaJSConnectionError: connect ECONNREFUSED', retriable: true });
    const wait = supervisor.status(7)!.nextRetryAt! - at;
    table.get(7)!.retryAt = undefined; // the backoff timer's work, without its wait
    await supervisor.notify(7);
    return wait;
  };
  const waits: number[] = [];
  for (let i = 0; i < 8; i++) waits.push(await failAndWait());
  // Ceilings 1, 2, 4 ... 60 s; each wait is between half its ceiling and the ceiling.
  waits.forEach((w, i) => {
    const ceiling = Math.min(60_000, 1000 * 2 ** i);
    assert.ok(w >= ceiling / 2 - 5 && w <= ceiling + 5, `failure ${i + 1} waits ${w} ms, within ${ceiling / 2}..${ceiling}`);
  });
  await new Promise((r) => setTimeout(r, 2_100));
  const afterQuiet = await failAndWait();
  assert.ok(afterQuiet >= 495 && afterQuiet <= 1005, `after a quiet spell the wait is 0.5-1 s again, not ${afterQuiet} ms`);
  assert.equal(supervisor.status(7)!.attempts, 9, 'the status still counts every restart');
  await supervisor.stop();
});

test('a ledger that refuses to record a task failure does not take the service down: the table is retried after backoff', async () => {
  const { ledger, own, started, supervisor } = setup();
  own.owned.add(7);
  await supervisor.notify(7);
  const recordError = ledger.recordError.bind(ledger);
  let refused = 0;
  ledger.recordError = () => { refused++; throw new Error('SQLITE_BUSY: database is locked'); };
  assert.doesNotThrow(() => started.at(-1)!.fail({ message: 'KafkaJSConnectionError: connect ECONNREFUSED', retriable: true }));
  assert.equal(refused, 1);
  ledger.recordError = recordError;
  const status = supervisor.status(7)!;
  assert.ok(status.nextRetryAt !== undefined && status.nextRetryAt - Date.now() <= 1000, `retried within a second, at ${status.nextRetryAt}`);
  assert.deepEqual(status.tasks.map((t) => t.state), ['failed']);
  const table = (supervisor as unknown as { tables: Map<number, { retryAt?: number }> }).tables;
  table.get(7)!.retryAt = undefined; // the backoff timer's work, without its wait
  await supervisor.notify(7);
  assert.equal(started.length, 2, 'started again');
  assert.ok(started[0]!.stopped, 'the failed task was stopped');
  await supervisor.stop();
});

test('a DROP whose clean-up failed (a metastore or file system blip) is cleaned up by a later tick, and its claim given up then', async () => {
  let calls = 0;
  const { ledger, own, supervisor } = setup({ tickMs: 50, cleanup: async () => { calls++; if (calls === 1) throw new Error('HTTP 503 from the NameNode'); } });
  own.owned.add(7);
  await supervisor.notify(7);
  supervisor.start();
  ledger.setDesiredState(7, 'dropped', 'dropped');
  await supervisor.notify(7);
  assert.equal(calls, 1);
  assert.deepEqual(own.released, [], 'not yet: the clean-up failed');
  // The first retry is due after 0.5-1 s (the restart backoff's first step).
  const deadline = Date.now() + 3_000;
  while (calls < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(calls, 2, 'cleaned up again by the tick');
  assert.deepEqual(own.released, [[7, 1]]);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(calls, 2, 'and not again once it succeeded');
  await supervisor.stop();
});

test('a DROP whose clean-up failed and was still due when the service stopped is cleaned up at the next start', async () => {
  const ledger = Ledger.open(':memory:');
  ledger.upsertStream({ tableId: 7, dbName: 'default', tableName: 'pv', specJson: JSON.stringify({ maxNumTasks: 1 }), layoutJson: '{}', desiredState: 'running' });
  const calls: string[] = [];
  const supervisorWith = (cleanup: (tableId: number) => Promise<void>) => new Supervisor({
    ledger, log: pino({ level: 'silent' }), tickMs: 3_600_000,
    partitionCount: async () => 1,
    initOffsets: async (tableId, _spec, partitions) => ledger.initPartitions(tableId, new Map(partitions.map((p) => [p, 0]))),
    startTask: async () => ({ async stop() {}, lastHeartbeatAt: () => Date.now() }) satisfies RunningTask,
    cleanup,
  });
  const first = supervisorWith(async (tableId) => { calls.push(`failed ${tableId}`); throw new Error('HTTP 503 from the NameNode'); });
  first.start();
  ledger.setDesiredState(7, 'dropped', 'dropped');
  await first.notify(7);
  await first.stop(); // before the retry's backoff ran out
  assert.deepEqual(ledger.cleanupsPending(), [7]);
  // Until 2026-12-07 the next start listed only tables not dropped, and the clean-up was never tried again.
  const next = supervisorWith(async (tableId) => { calls.push(`cleanup ${tableId}`); });
  next.start();
  const deadline = Date.now() + 3_000;
  while (calls.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(calls, ['failed 7', 'cleanup 7']);
  assert.deepEqual(ledger.cleanupsPending(), [], 'recorded as done: not tried at the start after');
  await next.stop();
});

test('a table created at the location of a dropped one whose clean-up failed waits until the clean-up, tried again, succeeds', async () => {
  const ledger = Ledger.open(':memory:');
  const spec = JSON.stringify({ maxNumTasks: 1 });
  ledger.upsertStream({ tableId: 7, dbName: 'default', tableName: 'pv', specJson: spec, layoutJson: '{}', desiredState: 'running' });
  ledger.setDesiredState(7, 'dropped', 'dropped');
  ledger.upsertStream({ tableId: 8, dbName: 'default', tableName: 'pv', specJson: spec, layoutJson: '{}', desiredState: 'running' });
  const order: string[] = [];
  const asked: number[][] = [];
  const supervisor = new Supervisor({
    ledger, log: pino({ level: 'silent' }), tickMs: 50,
    partitionCount: async () => 1,
    initOffsets: async (tableId, _spec, partitions) => ledger.initPartitions(tableId, new Map(partitions.map((p) => [p, 0]))),
    startTask: async (tableId) => { order.push(`start ${tableId}`); return { async stop() {}, lastHeartbeatAt: () => Date.now() } satisfies RunningTask; },
    cleanup: async (tableId) => {
      if (!order.includes(`cleanup failed ${tableId}`)) { order.push(`cleanup failed ${tableId}`); throw new Error('HTTP 503 from the NameNode'); }
      order.push(`cleanup ${tableId}`);
    },
    waitsForDropped: (tableId, cleanupsDue) => { asked.push([tableId, ...cleanupsDue]); return cleanupsDue.includes(7) ? 'default.pv' : undefined; },
  });
  await supervisor.notify(7).catch(() => undefined);
  await supervisor.notify(8);
  assert.deepEqual(order, ['cleanup failed 7'], 'table 8 waits while the clean-up of table 7 is due again');
  assert.deepEqual(asked, [[8, 7]]);
  supervisor.start();
  const deadline = Date.now() + 3_000;
  while (order.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(order, ['cleanup failed 7', 'cleanup 7', 'start 8']);
  await supervisor.stop();
});

test('brokers that cannot serve the table\'s offsets (another Kafka cluster, after an ALTER): its tasks commit and stop, and the table is failed with the reason; running tasks are not asked again every tick', async () => {
  let problem: string | undefined;
  let asked = 0;
  const { ledger, own, started, supervisor } = setup({ tickMs: 20, offsetsProblem: () => { asked += 1; return problem; } });
  own.owned.add(7);
  await supervisor.notify(7);
  assert.equal(started.length, 1);
  await new Promise((r) => setTimeout(r, 150)); // ticks of a running table
  assert.equal(asked, 1, 'asked once, before the task started');
  // The ALTER of kafka.broker.list: a batch-boundary change, so the tasks restart, and are asked first.
  problem = 'table default.pv: kafka.broker.list (b:9092) reaches Kafka cluster B, but the table\'s offsets were read from cluster A; ...';
  ledger.upsertStream({ tableId: 7, dbName: 'default', tableName: 'pv', specJson: JSON.stringify({ maxNumTasks: 1, brokers: ['b:9092'] }), layoutJson: '{}', desiredState: 'running' });
  await supervisor.notify(7);
  assert.equal(started.length, 1, 'no task started against the other cluster');
  assert.deepEqual([started[0]!.stopped, started[0]!.committedAtStop], [true, true], 'what the task held (read from the first cluster) was committed');
  assert.equal(supervisor.status(7)!.state, 'failed');
  assert.equal(ledger.getStream(7)!.failure, problem);
  const askedWhileFailed = asked;
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(started.length, 1, 'a failed table stays stopped until an ALTER');
  assert.equal(asked, askedWhileFailed);
  await supervisor.stop();
});
