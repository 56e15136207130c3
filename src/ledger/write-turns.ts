// Turns at the ledger's write lock for the threads of one service (the main thread and its worker
// threads), in the order they asked.
//
// SQLite alone is not fair: a connection that finds the write lock taken sleeps 1 to 100 ms and tries
// again, so threads that write one transaction after another keep taking the lock while it sleeps. Two
// worker threads committing side by side kept a third writer waiting 3.6-5 s, and past busy_timeout it
// failed with "database is locked" (three threads for 15 s, 2026-12-03; in the scale benchmark tasks
// failed so). Here a writer waits with Atomics.wait and is woken by the release itself; turns go by
// ticket, first asked first served.
//
// Exclusion still comes from SQLite (BEGIN IMMEDIATE, busy_timeout): these turns only order the
// service's own threads, and every way out of a turn is bounded: a turn held by a thread that died (a
// worker terminated as hung) is given back by the pool (releaseHeldBy), a turn nobody takes is skipped,
// and a writer that has waited MAX_WAIT_MS goes on to SQLite without one.
import { threadId } from 'node:worker_threads';

// The shared cells: the next ticket to hand out, the ticket being served, and the thread holding the turn.
const NEXT = 0;
const SERVING = 1;
const HOLDER = 2;
const FREE = 0;
/** A writer that waited this long goes on to SQLite without a turn (it never waits for a lost one). */
const MAX_WAIT_MS = 10_000;
/** A turn nobody took for this long belongs to a thread that gave up or died: the next waiter skips it. */
const UNCLAIMED_MS = 1_000;

/** a is after b, also when the tickets have wrapped around 2^31. */
const after = (a: number, b: number) => ((a - b) | 0) > 0;

export class WriteTurns {
  private readonly cells: Int32Array;
  private readonly me = threadId + 1; // the main thread's threadId is 0, and 0 means free

  private constructor(readonly buffer: SharedArrayBuffer) {
    this.cells = new Int32Array(buffer);
  }

  static create(): WriteTurns { return new WriteTurns(new SharedArrayBuffer(12)); }

  /** The same turns in another thread, from the buffer it was given. */
  static of(buffer: SharedArrayBuffer): WriteTurns { return new WriteTurns(buffer); }

  /** Runs fn in this thread's turn, blocking the thread until then (as SQLite's own wait does). */
  inTurn<T>(fn: () => T): T {
    const held = this.take();
    try {
      return fn();
    } finally {
      if (held) this.give();
    }
  }

  /** Gives back the turn of a thread that ended holding it (threadId as worker.threadId says). */
  releaseHeldBy(deadThreadId: number): void {
    if (Atomics.compareExchange(this.cells, HOLDER, deadThreadId + 1, FREE) === deadThreadId + 1) this.next();
  }

  private take(): boolean {
    if (Atomics.load(this.cells, HOLDER) === this.me) return false; // a write inside this thread's own turn
    const deadline = Date.now() + MAX_WAIT_MS;
    let ticket = Atomics.add(this.cells, NEXT, 1);
    let unclaimedSince: number | undefined;
    for (;;) {
      const serving = Atomics.load(this.cells, SERVING);
      if (serving === ticket) {
        Atomics.store(this.cells, HOLDER, this.me);
        return true;
      }
      if (after(serving, ticket)) { ticket = Atomics.add(this.cells, NEXT, 1); continue; } // skipped while away
      const now = Date.now();
      if (now >= deadline) return false;
      if (Atomics.wait(this.cells, SERVING, serving, Math.min(deadline - now, 250)) !== 'timed-out') { unclaimedSince = undefined; continue; }
      if (Atomics.load(this.cells, SERVING) !== serving || Atomics.load(this.cells, HOLDER) !== FREE) { unclaimedSince = undefined; continue; }
      unclaimedSince ??= now;
      if (Date.now() - unclaimedSince >= UNCLAIMED_MS && Atomics.compareExchange(this.cells, SERVING, serving, serving + 1) === serving) {
        Atomics.notify(this.cells, SERVING);
        unclaimedSince = undefined;
      }
    }
  }

  private give(): void {
    Atomics.store(this.cells, HOLDER, FREE);
    this.next();
  }

  private next(): void {
    Atomics.add(this.cells, SERVING, 1);
    Atomics.notify(this.cells, SERVING);
  }
}
