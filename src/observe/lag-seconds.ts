// A partition's lag in seconds, from what ProducedAt (produced-at.ts) answers. Apart from the probe,
// so that the service's start does not load the Kafka client the probe needs.

/** Nothing a reader can read at or after the offset: only transaction markers or aborted records up to the readable end. */
export const NOTHING_READABLE = 'nothing-readable';

/**
 * A record's timestamp in ms; NOTHING_READABLE; or undefined when the time cannot be told: an empty
 * answer below the readable end, a partition error code (OFFSET_OUT_OF_RANGE...), or more than
 * produced-at.ts's MAX_ROUNDS fetches of markers and aborted records.
 */
export type ProducedAtAnswer = number | typeof NOTHING_READABLE | undefined;

/**
 * Seconds since the oldest unread record was produced: 0 when the committed offset reached the log end
 * or nothing readable is left; undefined when the log end or the record's time is unknown. A producer
 * clock ahead of ours would give a negative lag: 0 instead.
 */
export function lagSeconds(nowMs: number, producedAtMs: ProducedAtAnswer, committed: number, logEnd: number | undefined): number | undefined {
  if (logEnd === undefined) return undefined;
  if (committed >= logEnd || producedAtMs === NOTHING_READABLE) return 0;
  if (producedAtMs === undefined) return undefined;
  return Math.max(0, (nowMs - producedAtMs) / 1000);
}
