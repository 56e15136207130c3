// The lifecycle table, cell by cell, and how DDL notices become its events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACTIONS, LIFECYCLE_EVENTS, TABLE_STATES, TRANSITIONS, alterEffect, strongest, transition, type LifecycleEvent, type TableState } from '../../src/lifecycle/states.ts';
import { classifyUpsert, taskSettings, type Known } from '../../src/lifecycle/classify.ts';
import { parseTableProperties } from '../../src/properties/parse.ts';
import { PROPERTIES } from '../../src/properties/rules.ts';

const TASK_ACTIONS = ['start-tasks', 'restart-at-boundary', 'replan', 'restart-after-backoff', 'kill-and-replace', 'init-new-partitions'];

test('every state has a transition for every event, to a known state, with known actions', () => {
  for (const state of TABLE_STATES) {
    for (const event of LIFECYCLE_EVENTS) {
      const t = transition(state, event);
      assert.ok(t, `${state} x ${event} has no cell`);
      assert.ok((TABLE_STATES as readonly string[]).includes(t.next), `${state} x ${event} -> ${t.next}`);
      for (const a of t.actions) assert.ok(a in ACTIONS, `${state} x ${event}: unknown action ${a}`);
      assert.ok(!(t.actions.includes('store-spec') && t.actions.includes('keep-spec')), `${state} x ${event} both stores and keeps the spec`);
      // Walks the invariants a reader relies on, cell by cell.
      if (t.next !== 'running') {
        for (const a of TASK_ACTIONS) assert.ok(!t.actions.includes(a as never), `${state} x ${event} -> ${t.next} must not ${a}`);
      }
      if (t.next === 'failed' && state !== 'failed') assert.ok(t.actions.includes('record-failure'), `${state} x ${event}: entering failed records why`);
      if (state === 'failed' && t.next !== 'failed' && t.next !== 'dropped') assert.ok(t.actions.includes('clear-failure'), `${state} x ${event}: leaving failed clears it`);
      if (state === 'dropped') assert.deepEqual(t, { next: 'dropped', actions: [] }, `a dropped table ignores ${event}`);
      if (state === 'absent' && !event.startsWith('create')) assert.equal(t.next, 'absent');
    }
  }
  assert.equal(Object.keys(TRANSITIONS).length, TABLE_STATES.length);
});

test('DROP ends every live state and stops its tasks; nothing brings a dropped table back', () => {
  for (const state of ['running', 'paused', 'failed'] as TableState[]) {
    const t = transition(state, 'drop');
    assert.equal(t.next, 'dropped');
    assert.ok(t.actions.includes('stop-tasks') && t.actions.includes('cleanup-staging'));
    assert.equal(t.history, 'dropped');
  }
  for (const e of LIFECYCLE_EVENTS) assert.equal(transition('dropped', e).next, 'dropped');
});

test('pause commits the in-flight batch; resume starts at the ledger offsets; a failure stops until an ALTER', () => {
  assert.deepEqual(transition('running', 'alter:pause').actions, ['store-spec', 'commit-and-stop']);
  assert.equal(transition('paused', 'alter:resume').next, 'running');
  assert.ok(transition('paused', 'alter:resume').actions.includes('start-tasks'));
  assert.equal(transition('running', 'task-exit').next, 'running');
  assert.equal(transition('running', 'task-failed').next, 'failed');
  assert.equal(transition('running', 'offsets-lost-fail').next, 'failed');
  assert.equal(transition('running', 'offsets-lost-skip').next, 'running');
  assert.equal(transition('failed', 'task-exit').next, 'failed');
  assert.equal(transition('failed', 'alter:batch-boundary').next, 'running');
  assert.equal(transition('failed', 'alter:refused').next, 'failed');
  assert.equal(transition('failed', 'alter:none').next, 'running', "a user's ALTER that changes nothing retries a failed table");
  for (const state of ['running', 'paused', 'failed'] as TableState[]) assert.deepEqual(transition(state, 'unchanged'), { next: state, actions: [] }, 'a resync that finds nothing changed does nothing');
  assert.equal(transition('running', 'partitions-added').history, 'partitions-added');
});

test('the README column comes from the table, one text per property class', () => {
  for (const p of PROPERTIES) assert.match(alterEffect(p.onAlter), /\((running|paused|failed)\)/, p.name);
  assert.match(alterEffect('refused'), /failed/);
  assert.match(alterEffect('replan'), /re-planned/);
});

test('strongest: a refusal wins, then pause and resume, then replan', () => {
  assert.equal(strongest(['alter:batch-boundary', 'alter:refused']), 'alter:refused');
  assert.equal(strongest(['alter:replan', 'alter:pause']), 'alter:pause');
  assert.equal(strongest(['alter:new-table-only', 'alter:replan']), 'alter:replan');
  assert.equal(strongest([]), 'alter:none');
});

test('a compaction setting is stored for the compactor and restarts no task, in any state', () => {
  assert.deepEqual(transition('running', 'alter:compactor'), { next: 'running', actions: ['store-spec', 'compact-with-it'], history: 'altered' });
  assert.equal(transition('paused', 'alter:compactor').next, 'paused');
  assert.equal(transition('failed', 'alter:compactor').next, 'failed');
  for (const p of PROPERTIES.filter((d) => d.name.startsWith('kafka.compaction.'))) assert.equal(p.onAlter, 'compactor', p.name);
  assert.match(alterEffect('compactor'), /running tasks go on undisturbed/);
});

// ---- classify -------------------------------------------------------------------------------

function known(props: Record<string, string> = {}, columns = [{ name: 'id', type: 'bigint' }], name = 't'): Known {
  const parsed = parseTableProperties({ 'kafka.topic': 'a', 'kafka.broker.list': '127.0.0.1:9092', ...props });
  assert.ok(parsed.ok);
  return { spec: parsed.spec, layout: { location: 'file:/w/t', dbName: 'default', tableName: name, columns, partitionKeys: [], bucketColumns: [], numBuckets: -1 } };
}
const eventOf = (before: Known | undefined, after: Known): LifecycleEvent => classifyUpsert(before, after).event;

test('each kind of DDL is its event', () => {
  assert.equal(eventOf(undefined, known()), 'create');
  assert.equal(eventOf(undefined, known({ 'kafka.ingestion.paused': 'true' })), 'create-paused');
  assert.equal(eventOf(known(), known()), 'alter:none');
  assert.equal(classifyUpsert(known(), known(), { byUser: false }).event, 'unchanged', 'a resync that finds nothing changed');
  assert.equal(classifyUpsert(known(), known({ 'kafka.batch.maxSize': '10' }), { byUser: false }).event, 'alter:batch-boundary', 'a resync that finds a change');
  assert.equal(eventOf(known(), known({ 'kafka.ingestion.paused': 'true' })), 'alter:pause');
  assert.equal(eventOf(known({ 'kafka.ingestion.paused': 'true' }), known()), 'alter:resume');
  assert.equal(eventOf(known(), known({ 'kafka.batch.maxSize': '10' })), 'alter:batch-boundary');
  assert.equal(eventOf(known(), known({ 'kafka.max.num.tasks': '4' })), 'alter:replan');
  assert.equal(eventOf(known(), known({ 'kafka.start.offset': 'latest' })), 'alter:new-table-only');
  assert.equal(eventOf(known(), known({ 'kafka.compaction.min.files': '2' })), 'alter:compactor');
  assert.equal(eventOf(known(), known({ 'kafka.compaction.min.files': '2', 'kafka.batch.maxSize': '10' })), 'alter:batch-boundary');
  assert.equal(eventOf(known(), known({ 'kafka.offset.gap.policy': 'skip' })), 'alter:batch-boundary');
  assert.equal(eventOf(known(), known({ 'kafka.extra.propertie.session.timeout.ms': '10000' })), 'alter:batch-boundary');
  assert.equal(eventOf(known(), known({}, undefined, 'renamed')), 'rename');
  assert.equal(eventOf(known(), known({}, [{ name: 'id', type: 'bigint' }, { name: 'referrer', type: 'string' }])), 'alter:columns');
});

test('a RENAME that moved the directory is a rename, with both locations; a location change alone restarts at a batch boundary', () => {
  const renamed = known({}, undefined, 'renamed');
  renamed.layout.location = 'file:/w/renamed';
  const c = classifyUpsert(known(), renamed);
  assert.equal(c.event, 'rename');
  assert.deepEqual(c.detail, { from: 'default.t', to: 'default.renamed', location: { from: 'file:/w/t', to: 'file:/w/renamed' } });
  const elsewhere = known();
  elsewhere.layout.location = 'file:/w/elsewhere';
  assert.equal(eventOf(known(), elsewhere), 'alter:batch-boundary');
});

test('a topic change is refused with the message that says what to do', () => {
  const c = classifyUpsert(known(), known({ 'kafka.topic': 'b' }));
  assert.equal(c.event, 'alter:refused');
  assert.match(c.problem!, /kafka\.topic/);
  assert.match(c.problem!, /'b'/);
  assert.deepEqual(c.detail, { property: 'kafka.topic', from: 'a', to: 'b' });
});

test('a column change the compatibility mode forbids is refused, naming the column', () => {
  const before = known({ 'kafka.schema.compatibility': 'FULL' }, [{ name: 'id', type: 'int' }]);
  const c = classifyUpsert(before, known({ 'kafka.schema.compatibility': 'FULL' }, [{ name: 'id', type: 'bigint' }]));
  assert.equal(c.event, 'alter:refused');
  assert.match(c.problem!, /\bid\b/);
  assert.equal(eventOf(known({}, [{ name: 'id', type: 'int' }]), known({}, [{ name: 'id', type: 'bigint' }])), 'alter:columns');
});

test('only our own verdicts stop a table; a client giving up after its retries is restarted', async () => {
  const { restartCanFix, RecordError, OffsetGapError } = await import('../../src/task/errors.ts');
  const { LocationError } = await import('../../src/sink/fs.ts');
  const { KafkaJSNumberOfRetriesExceeded, KafkaJSConnectionError } = (await import('kafkajs')).default;
  assert.equal(restartCanFix(new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('broker down'), { retryCount: 5, retryTime: 100 })), true);
  assert.equal(restartCanFix(new Error('anything else')), true);
  assert.equal(restartCanFix(new RecordError('t', 0, 5, 'not JSON')), false);
  assert.equal(restartCanFix(new OffsetGapError('db.t', 't', 0, 10, 19)), false);
  assert.equal(restartCanFix(new LocationError('no WebHDFS address')), false);
});

test('taskSettings: what running tasks read; a new start offset or compaction setting leaves it unchanged, anything else changes it', () => {
  const base = JSON.stringify(taskSettings(known().spec));
  for (const props of [{ 'kafka.start.offset': 'latest' }, { 'kafka.compaction.min.files': '2' }, { 'kafka.compaction.target.file.size': '2048' }, { 'kafka.compaction.min.age.ms': '0' }] as Record<string, string>[]) {
    assert.equal(JSON.stringify(taskSettings(known(props).spec)), base, JSON.stringify(props));
  }
  for (const props of [{ 'kafka.batch.maxSize': '10' }, { 'kafka.max.num.tasks': '4' }, { 'kafka.error.policy': 'skip' }, { 'kafka.extra.propertie.session.timeout.ms': '10000' }, { 'kafka.ingestion.paused': 'true' }] as Record<string, string>[]) {
    assert.notEqual(JSON.stringify(taskSettings(known(props).spec)), base, JSON.stringify(props));
  }
  assert.equal(taskSettings(known().spec).topic, 'a', 'a refused property is still part of what tasks read');
});
