// The file systems' retry wrapper, on a fake clock: what it retries, how long it waits, when it stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retrying, retryDelayMs, type RetryClock, type RetryPolicy } from '../../src/sink/retry.ts';

const policy: RetryPolicy = { budgetMs: 10_000, firstDelayMs: 200, maxDelayMs: 2_000 };

function fakeClock(): RetryClock & { waits: number[] } {
  let now = 0;
  const waits: number[] = [];
  return { waits, now: () => now, sleep: async (ms) => { waits.push(ms); now += ms; }, random: () => 1 };
}

const failure = (retriable: boolean) => Object.assign(new Error(retriable ? 'try again' : 'final'), { retriable });

test('delays double from the first one up to the cap, with jitter in the upper half', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, policy, () => 1)), [200, 400, 800, 1600, 2000]);
  assert.deepEqual([1, 5].map((n) => retryDelayMs(n, policy, () => 0)), [100, 1000]);
});

test('retriable failures are retried until an attempt succeeds; the attempt number is passed on', async () => {
  const clock = fakeClock();
  const seen: number[] = [];
  const result = await retrying(policy, async (n) => { seen.push(n); if (n < 3) throw failure(true); return 'done'; }, clock);
  assert.equal(result, 'done');
  assert.deepEqual(seen, [1, 2, 3]);
  assert.deepEqual(clock.waits, [200, 400]);
});

test('a failure that is not retriable (or says nothing) is thrown at once', async () => {
  for (const error of [failure(false), new Error('plain')]) {
    let calls = 0;
    await assert.rejects(retrying(policy, async () => { calls++; throw error; }, fakeClock()), error);
    assert.equal(calls, 1);
  }
});

test('past the budget the last error is thrown, still retriable, saying how long it tried', async () => {
  const clock = fakeClock();
  await assert.rejects(retrying(policy, async () => { throw failure(true); }, clock), (e: unknown) =>
    (e as { retriable?: boolean }).retriable === true && /^try again \(gave up after \d+ attempts in \d+\.\d s\)$/.test((e as Error).message));
  assert.ok(clock.waits.reduce((a, b) => a + b, 0) <= policy.budgetMs);
});
