// The lifecycle of a stream table, in one table: for each state and each event, the next state, what
// to do and which history event to write. The service turns metastore notices into events and the
// supervisor turns task reports into events; both only carry out what this table says. The README's
// "ALTER on a running table" column is generated from it (`alterEffect`).
import type { OnAlter } from '../properties/rules.ts';

export const TABLE_STATES = ['absent', 'running', 'paused', 'failed', 'dropped'] as const;
/** absent: not in the ledger yet. failed: stopped by an error retrying cannot fix, until an ALTER. */
export type TableState = (typeof TABLE_STATES)[number];

export const LIFECYCLE_EVENTS = [
  'create', 'create-paused',
  'alter:pause', 'alter:resume', 'alter:batch-boundary', 'alter:replan', 'alter:new-table-only', 'alter:compactor', 'alter:none',
  'alter:columns', 'alter:refused', 'unchanged',
  'rename', 'drop',
  'task-exit', 'task-failed', 'task-hung',
  'partitions-added', 'offsets-lost-skip', 'offsets-lost-fail',
] as const;
/**
 * - alter:<class>: an ALTER TABLE SET TBLPROPERTIES whose strongest change has that OnAlter class
 *   (rules.ts); alter:none changes nothing hive-kafka reads (Hive's own parameters, a comment).
 * - alter:columns: ADD COLUMNS or CHANGE COLUMN that kafka.schema.compatibility allows.
 * - alter:refused: a change that cannot be applied (kafka.topic, a column change the mode forbids)
 *   reached the service, e.g. made behind Hive's back; the meta hook refuses it in beeline.
 * - unchanged: a known table read again with nothing hive-kafka reads changed, and no ALTER by a user
 *   (a resync after missed events); unlike alter:none it does not retry a failed table.
 * - task-exit: a task failed with an error a restart may fix (broker, metastore, file system).
 * - task-failed: a task failed with one it cannot (a bad record under kafka.error.policy=fail), or the
 *   table's brokers cannot serve its offsets (another Kafka cluster) as its tasks were to start.
 * - offsets-lost-*: Kafka deleted offsets the table had not read, under kafka.offset.gap.policy.
 */
export type LifecycleEvent = (typeof LIFECYCLE_EVENTS)[number];

export const ACTIONS = {
  'store-spec': 'the ledger takes the new spec and layout',
  'keep-spec': 'the ledger keeps the last good spec; the error names the property or column',
  'start-tasks': 'tasks start at the ledger\'s next offsets',
  'restart-at-boundary': 'running tasks commit what they hold and restart with the new settings',
  'replan': 'tasks commit what they hold and are re-planned (tasks = min(partitions, kafka.max.num.tasks))',
  'commit-and-stop': 'tasks commit what they hold and stop',
  'stop-tasks': 'tasks stop; what they buffered is read again later',
  'restart-after-backoff': 'the task restarts from the ledger after capped exponential backoff',
  'kill-and-replace': 'the hung task\'s worker is terminated and a successor claims its partitions',
  'init-new-partitions': 'new Kafka partitions start at their earliest offset',
  'record-failure': 'the table is marked failed with the error; nothing restarts it but an ALTER',
  'clear-failure': 'the failure is cleared',
  'cleanup-staging': 'hidden staging files left in the table location are removed',
  'compact-with-it': 'the compactor uses it from its next round; running tasks go on undisturbed',
} as const;
export type Action = keyof typeof ACTIONS;

export interface Transition {
  next: TableState;
  actions: readonly Action[];
  /** The event written to the table's history, if any. */
  history?: string;
  /**
   * A retriable failure repeats for as long as its cause lasts (about every 45 s at the backoff's cap):
   * the same task failing the same way is counted on its earlier row instead of adding one.
   */
  historyRepeats?: 'counted';
}

const stay = (state: TableState): Transition => ({ next: state, actions: [] });
const drop: Transition = { next: 'dropped', actions: ['stop-tasks', 'cleanup-staging'], history: 'dropped' };

/** What every ALTER does to a table that is running (paused and failed tables differ below). */
const runningAlters = {
  'alter:pause': { next: 'paused', actions: ['store-spec', 'commit-and-stop'], history: 'paused' },
  'alter:resume': { next: 'running', actions: ['store-spec'], history: 'altered' },
  'alter:batch-boundary': { next: 'running', actions: ['store-spec', 'restart-at-boundary'], history: 'altered' },
  'alter:replan': { next: 'running', actions: ['store-spec', 'replan'], history: 'replanned' },
  'alter:new-table-only': { next: 'running', actions: ['store-spec'], history: 'altered' },
  'alter:compactor': { next: 'running', actions: ['store-spec', 'compact-with-it'], history: 'altered' },
  'alter:none': stay('running'),
  'alter:columns': { next: 'running', actions: ['store-spec', 'restart-at-boundary'], history: 'schema-changed' },
  'alter:refused': { next: 'failed', actions: ['keep-spec', 'commit-and-stop', 'record-failure'], history: 'refused' },
} as const satisfies Partial<Record<LifecycleEvent, Transition>>;

/** A paused or failed table takes every change and applies it when it runs again. */
const storeWhile = (state: TableState, history: string) => ({
  'alter:pause': { next: 'paused', actions: ['store-spec', 'clear-failure'], history: 'paused' },
  'alter:resume': { next: 'running', actions: ['store-spec', 'clear-failure', 'start-tasks'], history: 'resumed' },
  'alter:batch-boundary': state === 'failed'
    ? { next: 'running', actions: ['store-spec', 'clear-failure', 'start-tasks'], history: 'retried' }
    : { next: state, actions: ['store-spec'], history },
  'alter:replan': state === 'failed'
    ? { next: 'running', actions: ['store-spec', 'clear-failure', 'start-tasks'], history: 'retried' }
    : { next: state, actions: ['store-spec'], history: 'replanned' },
  'alter:new-table-only': { next: state, actions: ['store-spec'], history },
  'alter:compactor': { next: state, actions: ['store-spec', 'compact-with-it'], history },
  'alter:none': state === 'failed'
    ? { next: 'running', actions: ['clear-failure', 'start-tasks'], history: 'retried' }
    : stay(state),
  'alter:columns': state === 'failed'
    ? { next: 'running', actions: ['store-spec', 'clear-failure', 'start-tasks'], history: 'schema-changed' }
    : { next: state, actions: ['store-spec'], history: 'schema-changed' },
  'alter:refused': { next: 'failed', actions: ['keep-spec', 'record-failure'], history: 'refused' },
}) as const satisfies Partial<Record<LifecycleEvent, Transition>>;

const noTasks = {
  'task-exit': stay('paused'), 'task-failed': stay('paused'), 'task-hung': stay('paused'),
  'partitions-added': stay('paused'), 'offsets-lost-skip': stay('paused'), 'offsets-lost-fail': stay('paused'),
} as const;
const noTasksIn = (state: TableState) => Object.fromEntries(Object.keys(noTasks).map((e) => [e, stay(state)])) as Record<keyof typeof noTasks, Transition>;

const ignoredIn = (state: TableState): Record<LifecycleEvent, Transition> =>
  Object.fromEntries(LIFECYCLE_EVENTS.map((e) => [e, stay(state)])) as Record<LifecycleEvent, Transition>;

export const TRANSITIONS: Readonly<Record<TableState, Readonly<Record<LifecycleEvent, Transition>>>> = {
  absent: {
    ...ignoredIn('absent'),
    create: { next: 'running', actions: ['store-spec', 'start-tasks'], history: 'created' },
    'create-paused': { next: 'paused', actions: ['store-spec'], history: 'created' },
  },
  running: {
    create: stay('running'), 'create-paused': stay('running'), // a replayed CREATE event of a known table
    ...runningAlters,
    unchanged: stay('running'),
    rename: { next: 'running', actions: ['store-spec'], history: 'renamed' },
    drop,
    'task-exit': { next: 'running', actions: ['restart-after-backoff'], history: 'task-failed', historyRepeats: 'counted' },
    'task-failed': { next: 'failed', actions: ['commit-and-stop', 'record-failure'], history: 'failed' },
    'task-hung': { next: 'running', actions: ['kill-and-replace'], history: 'task-hung' },
    'partitions-added': { next: 'running', actions: ['init-new-partitions', 'replan'], history: 'partitions-added' },
    // The task that noticed the gap writes it and its history event with it (ledger.recordGap).
    'offsets-lost-skip': stay('running'),
    'offsets-lost-fail': { next: 'failed', actions: ['commit-and-stop', 'record-failure'], history: 'failed' },
  },
  paused: {
    create: stay('paused'), 'create-paused': stay('paused'),
    ...storeWhile('paused', 'altered'),
    unchanged: stay('paused'),
    rename: { next: 'paused', actions: ['store-spec'], history: 'renamed' },
    drop,
    ...noTasksIn('paused'),
  },
  failed: {
    create: stay('failed'), 'create-paused': stay('failed'),
    ...storeWhile('failed', 'altered'),
    unchanged: stay('failed'),
    rename: { next: 'failed', actions: ['store-spec'], history: 'renamed' },
    drop,
    ...noTasksIn('failed'),
  },
  dropped: ignoredIn('dropped'),
};

export function transition(state: TableState, event: LifecycleEvent): Transition {
  return TRANSITIONS[state][event];
}

/** The event an ALTER SET TBLPROPERTIES of a property with this class is, on a table whose pause flag did not change. */
export function alterEvent(onAlter: OnAlter): LifecycleEvent {
  switch (onAlter) {
    case 'batch-boundary': return 'alter:batch-boundary';
    case 'replan': return 'alter:replan';
    case 'new-table-only': return 'alter:new-table-only';
    case 'compactor': return 'alter:compactor';
    case 'refused': return 'alter:refused';
    case 'pause-resume': return 'alter:batch-boundary'; // only reached when the flag itself is unchanged
  }
}

/** Which of several changes in one ALTER decides what happens: the strongest. */
const STRENGTH: readonly LifecycleEvent[] = ['alter:refused', 'alter:pause', 'alter:resume', 'alter:replan', 'alter:columns', 'alter:batch-boundary', 'alter:new-table-only', 'alter:compactor', 'alter:none'];
export function strongest(events: readonly LifecycleEvent[]): LifecycleEvent {
  return STRENGTH.find((e) => events.includes(e)) ?? 'alter:none';
}

/** The README's "ALTER on a running table" cell for a property of this class. */
export function alterEffect(onAlter: OnAlter): string {
  if (onAlter === 'pause-resume') {
    const pause = transition('running', 'alter:pause');
    const resume = transition('paused', 'alter:resume');
    return `true: ${describe(pause)}; false (on a paused table): ${describe(resume)}`;
  }
  const effect = describe(transition('running', alterEvent(onAlter)));
  return onAlter === 'refused' ? `beeline refuses it (the meta hook); made behind Hive's back: ${effect}` : effect;
}

function describe(t: Transition): string {
  const what = t.actions.filter((a) => a !== 'store-spec' && a !== 'clear-failure').map((a) => ACTIONS[a]).join('; ') || 'recorded; takes effect when new partitions or a new table need it';
  return `${what} (${t.next})`;
}
