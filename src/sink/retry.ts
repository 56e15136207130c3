// The one retry wrapper of the file systems that talk over a network: capped exponential backoff
// with jitter, bounded by a total budget. It retries what says it is retriable and nothing else;
// when the budget is spent it throws the last error, which keeps its own retriable flag so the task's
// owner can still decide to restart the task later (a NameNode down for minutes is not a bad path).

export interface RetryPolicy {
  /** Stop retrying once this much time has passed since the first attempt. */
  budgetMs: number;
  /** Wait before the second attempt (with jitter); doubles each time up to maxDelayMs. */
  firstDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { budgetMs: 60_000, firstDelayMs: 200, maxDelayMs: 5_000 };

export interface RetryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  random(): number;
}

const realClock: RetryClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

function isRetriable(error: unknown): boolean {
  return (error as { retriable?: unknown } | undefined)?.retriable === true;
}

/** Waits before attempt `attempt + 1`: half the capped exponential delay, plus up to the other half at random. */
export function retryDelayMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Calls `attempt(1)`, `attempt(2)`, ... until one succeeds, one throws an error that is not
 * retriable, or the next wait would end past the budget. The attempt number lets a caller undo what
 * a failed attempt may have left (a half-written file).
 */
export async function retrying<T>(policy: RetryPolicy, attempt: (n: number) => Promise<T>, clock: RetryClock = realClock): Promise<T> {
  const start = clock.now();
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!isRetriable(error)) throw error;
      const delay = retryDelayMs(n, policy, clock.random);
      const elapsed = clock.now() - start;
      if (elapsed + delay > policy.budgetMs) {
        if (n > 1 && error instanceof Error) {
          error.message += ` (gave up after ${n} attempts in ${(elapsed / 1000).toFixed(1)} s)`;
        }
        throw error;
      }
      await clock.sleep(delay);
    }
  }
}
