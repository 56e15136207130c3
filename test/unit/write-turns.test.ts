// The service's threads take the ledger's write lock in turn: a thread that writes now and then is not
// kept waiting by threads that write back to back (with SQLite's own wait alone it was, for seconds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Ledger } from '../../src/ledger/ledger.ts';
import { WriteTurns } from '../../src/ledger/write-turns.ts';

const writer = new URL('./helpers/ledger-writer.ts', import.meta.url).href;
/** A worker thread running a TypeScript module: tsx's loader is registered in the thread first. */
const tsWorker = (workerData: unknown) => new Worker(
  `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(writer)}); })`, { eval: true, workerData });

async function occasionalWritesBesideBusyWriters(turns: WriteTurns | undefined): Promise<{ waits: number[]; busyWrites: number[] }> {
  const path = join(mkdtempSync(join(tmpdir(), 'hive-kafka-turns-')), 'ledger.db');
  const ledger = Ledger.open(path, turns ? { turns } : {});
  const workers = [0, 1].map(() => tsWorker({ path, turns: turns?.buffer ?? null }));
  const started = workers.map((w) => new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
  const counts = workers.map((w) => new Promise<number>((resolve, reject) => { w.on('message', (m) => { if (typeof m === 'number') resolve(m); }); w.once('error', reject); }));
  await Promise.all(started);
  const waits: number[] = [];
  try {
    for (let i = 0; i < 40; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const t0 = performance.now();
      ledger.heartbeats([]); // no rows: nothing to wait for
      ledger.recordError(null, 'test', `occasional ${i}`);
      waits.push(performance.now() - t0);
    }
  } finally {
    for (const w of workers) w.postMessage('stop');
  }
  const busyWrites = await Promise.all(counts);
  await Promise.all(workers.map((w) => w.terminate())); // tsx's loader keeps a port of each thread open
  ledger.close();
  return { waits, busyWrites };
}

test('a thread that writes now and then gets the lock within a second while two threads write back to back', async () => {
  const { waits, busyWrites } = await occasionalWritesBesideBusyWriters(WriteTurns.create());
  const longest = Math.max(...waits);
  assert.ok(longest < 1_000, `the longest wait was ${Math.round(longest)} ms (waits: ${waits.map(Math.round).join(', ')})`);
  assert.ok(busyWrites.every((n) => n > 40), `the busy writers wrote ${busyWrites.join(' and ')} times: they went on too`);
});

test('turns: a turn held by a thread that died is given back, and a nested write inside a turn does not wait for itself', () => {
  const turns = WriteTurns.create();
  const cells = new Int32Array(turns.buffer);
  // A thread (threadId 5) holds the turn and ends without giving it back.
  cells[0] = 1; cells[2] = 6;
  turns.releaseHeldBy(5);
  assert.deepEqual([...cells], [1, 1, 0], 'the next ticket is served and nobody holds the turn');
  assert.equal(turns.inTurn(() => turns.inTurn(() => 'nested')), 'nested');
  assert.deepEqual([...cells], [2, 2, 0]);
});

test('a ledger write that nests another (a state change and its history) takes one turn and does not wait for itself', () => {
  const turns = WriteTurns.create();
  const ledger = Ledger.open(':memory:', { turns });
  ledger.upsertStream({ tableId: 7, dbName: 'default', tableName: 'pv', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
  const cells = new Int32Array(turns.buffer);
  const before = [...cells];
  const t0 = performance.now();
  ledger.setDesiredState(7, 'paused', 'paused');
  assert.ok(performance.now() - t0 < 1_000, 'no wait for its own turn');
  assert.deepEqual(ledger.allHistory().map((h) => h.event), ['created', 'paused']);
  assert.deepEqual([...cells], [before[0]! + 1, before[1]! + 1, 0], 'one turn for the write and its nested history, none held after');
});
