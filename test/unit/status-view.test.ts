import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ledger } from '../../src/ledger/ledger.ts';
import { statusView, type Live } from '../../src/observe/status-view.ts';
import type { TableStatus } from '../../src/lifecycle/supervisor.ts';

test('a table\'s view is one moment: a failure recorded while its offsets are read shows next time, with its restart', async () => {
  const ledger = Ledger.open(':memory:');
  ledger.upsertStream({ tableId: 7, dbName: 'default', tableName: 'pageviews', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
  let attempts = 0;
  let lastError: string | undefined;
  const fail = (message: string) => { attempts += 1; lastError = message; ledger.recordError(7, 'task', message); };
  const live: Live = {
    kafkaClient: 'shared',
    status: (tableId): TableStatus => ({ tableId, state: 'running', tasks: [], attempts, lastError, nextRetryAt: undefined }),
    // The supervisor calls a task hung while the view waits on Kafka for the log ends.
    offsets: async () => { await new Promise((r) => setTimeout(r, 5)); fail('hung: no heartbeat for 3 s; killed and replaced'); return []; },
  };
  const first = (await statusView(ledger, live)).tables[0]!;
  assert.deepEqual([first.restarts, first.lastError], [0, undefined], 'the error came after the moment the view was taken');
  const next = (await statusView(ledger, live)).tables[0]!;
  assert.deepEqual([next.restarts, next.lastError], [1, 'hung: no heartbeat for 3 s; killed and replaced']);
});

test('a dropped table shows its tasks while the service stops them, then none, and whether its clean-up is due or done', async () => {
  const ledger = Ledger.open(':memory:');
  ledger.upsertStream({ tableId: 7, dbName: 'default', tableName: 'pageviews', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
  ledger.setDesiredState(7, 'dropped', 'dropped');
  let stopping = true;
  const live: Live = {
    kafkaClient: 'shared',
    status: (tableId): TableStatus => ({ tableId, state: 'dropped', tasks: stopping ? [{ taskId: 't0', partitions: [0], state: 'running' }] : [], attempts: 0, lastError: undefined, nextRetryAt: undefined }),
    offsets: async () => [],
  };
  const during = (await statusView(ledger, live)).tables[0]!;
  assert.deepEqual([during.state, during.tasks.map((t) => t.taskId), during.cleanup], ['dropped', ['t0'], 'due']);
  stopping = false;
  ledger.cleanedUp(7);
  const after = (await statusView(ledger, live)).tables[0]!;
  assert.deepEqual([after.tasks.length, after.cleanup], [0, 'done']);
  // Without the service the ledger answers: no task, the clean-up as recorded.
  assert.deepEqual((await statusView(ledger)).tables[0]!.cleanup, 'done');
});
