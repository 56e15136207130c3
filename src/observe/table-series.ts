// The per-table Prometheus series of tables that no longer exist under that name. A counter keeps
// every label set it ever saw, so without this a dropped or renamed table would be scraped as if it
// were still here, and a service that outlives many tables would grow a series set without bound.
import type { Counter, Histogram } from 'prom-client';

/** Removes every series whose `table` label is not one of `live` (db.table names). */
export async function forgetGoneTables(metrics: readonly (Counter | Histogram)[], live: ReadonlySet<string>): Promise<void> {
  for (const metric of metrics) {
    const seen = new Map<string, Partial<Record<string, string | number>>>();
    for (const { labels } of (await metric.get()).values) {
      if (labels.table === undefined || live.has(String(labels.table))) continue;
      // A histogram's bucket series carry `le`, which is not one of its label names.
      const { le: _bucket, ...own } = labels;
      seen.set(JSON.stringify(own), own);
    }
    for (const labels of seen.values()) metric.remove(labels);
  }
}
