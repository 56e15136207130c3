// The worker's metastore session: callers side by side share one connection, a retriable failure
// closes only the connection that failed, and a failed connect is not kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetastoreClient } from '../../src/metastore/client.ts';
import { MetastoreSession } from '../../src/metastore/session.ts';

function fakeMetastore() {
  const opened: { closed: boolean }[] = [];
  let refuseNext = 0;
  const connect = async (): Promise<MetastoreClient> => {
    await new Promise((r) => setTimeout(r, 5)); // a connect takes a while: callers overlap it
    if (refuseNext > 0) { refuseNext--; throw Object.assign(new Error('ECONNREFUSED'), { retriable: true }); }
    const c = { closed: false };
    opened.push(c);
    return { close: () => { c.closed = true; } } as unknown as MetastoreClient;
  };
  return { opened, connect, refuse: (n: number) => { refuseNext = n; } };
}

test('ten calls side by side open one connection', async () => {
  const m = fakeMetastore();
  const session = new MetastoreSession('thrift://x:9083', 1000, 5, m.connect);
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => session.call(async () => i)));
  assert.deepEqual(results, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(m.opened.length, 1);
  session.close();
  await new Promise((r) => setTimeout(r, 1));
  assert.deepEqual(m.opened.map((c) => c.closed), [true], 'close() closes it');
});

test('a retriable failure closes that connection and retries on a new one; an application error keeps it', async () => {
  const m = fakeMetastore();
  const session = new MetastoreSession('thrift://x:9083', 1000, 5, m.connect);
  let failures = 1;
  assert.equal(await session.call(async () => { if (failures-- > 0) throw Object.assign(new Error('socket hang up'), { retriable: true }); return 'ok'; }), 'ok');
  assert.deepEqual(m.opened.map((c) => c.closed), [true, false]);
  await assert.rejects(session.call(async () => { throw new Error('NoSuchObjectException'); }), /NoSuchObject/);
  assert.deepEqual(m.opened.map((c) => c.closed), [true, false], 'not a connection problem: kept');
});

test('a refused connect is retried with backoff, and not kept once it failed for good', async () => {
  const m = fakeMetastore();
  const session = new MetastoreSession('thrift://x:9083', 1000, 2, m.connect);
  m.refuse(2);
  await assert.rejects(session.call(async () => 'never'), /ECONNREFUSED/);
  assert.equal(await session.call(async () => 'later'), 'later', 'the next call connects again');
  assert.equal(m.opened.length, 1);
});
