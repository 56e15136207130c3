// Records per second a table committed lately, from its committed batches. One counter per second of
// the window, so memory stays bounded however many batches a table commits.

export class RecordRate {
  /** Records per whole second (epoch ms / 1000, floored). */
  private readonly buckets = new Map<number, number>();
  private firstSeenMs: number | undefined;

  constructor(private readonly windowMs = 60_000) {}

  add(atMs: number, records: number): void {
    if (!(records > 0)) return;
    const second = Math.floor(atMs / 1000);
    this.buckets.set(second, (this.buckets.get(second) ?? 0) + records);
    if (this.firstSeenMs === undefined || atMs < this.firstSeenMs) this.firstSeenMs = atMs;
    this.dropOlderThan(atMs);
  }

  perSecond(nowMs: number): number {
    if (this.firstSeenMs === undefined) return 0;
    this.dropOlderThan(nowMs);
    let records = 0;
    for (const [second, n] of this.buckets) if (second * 1000 <= nowMs) records += n;
    // Over the history seen when shorter than the window, so a fresh table's rate is not diluted; at least 1 s so its first batch is not a spike.
    const spanMs = Math.max(1000, Math.min(this.windowMs, nowMs - this.firstSeenMs));
    return records / (spanMs / 1000);
  }

  /** Seconds that ended before the window (now - windowMs, now] began; a second partly inside counts whole. */
  private dropOlderThan(nowMs: number): void {
    const windowStart = nowMs - this.windowMs;
    for (const second of this.buckets.keys()) if ((second + 1) * 1000 <= windowStart) this.buckets.delete(second);
  }
}
