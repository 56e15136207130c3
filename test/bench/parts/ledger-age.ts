// What the ledger's per-round reads of one table cost as the table's history grows. The compactor
// asks every table for its candidates each round, and status and the system tables ask for its record
// counts and last commits; the ledger keeps every committed batch for good, so a read that walks the
// history costs more every day. One table on a ledger file, filled through the Ledger as the service
// fills it (one file per batch), at each size: an unpartitioned table compacted every 15 batches, and
// hourly partitions of 60 batches each, each compacted once its hour is over. It also reports the
// ledger file's size and the batches it still holds. No stack needed.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Ledger } from '../../../src/ledger/ledger.ts';
import { compactedDir } from '../../../src/sink/compact.ts';
import { median, round } from '../lib.ts';

export type Shape = 'unpartitioned' | 'hourly';
export interface AgeStep { shape: Shape; batches: number; compactions: number; fill_s: number; candidates_ms: number; counts_ms: number; round_ms: number; ledger_mb: number; batches_held: number }

const TABLE = 1;
const SAMPLES = 21;

function fill(ledger: Ledger, shape: Shape, batches: number): number {
  ledger.upsertStream({ tableId: TABLE, dbName: 'bench', tableName: 'aged', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
  ledger.initPartitions(TABLE, new Map([[0, 0]]));
  const epoch = ledger.claimPartitions(TABLE, [0]);
  let next = 0;
  let compactions = 0;
  const commit = (dir: string, values: string[]) => {
    const files = [{ hiddenPath: `/w/aged/.staging/${next}`, finalPath: posix.join(dir, `aged+0+${next}+${next + 99}.parquet`), partitionValues: values, bucket: null }];
    ledger.markCommitted(ledger.recordIntent({ tableId: TABLE, kafkaPartition: 0, firstOffset: next, lastOffset: next + 99, recordCount: 100, ownerEpoch: epoch, files }));
    next += 100;
  };
  const compact = (naturalDir: string, values: string[]) => {
    const c = ledger.planCompaction(TABLE, naturalDir, values, compactedDir('/w/aged', ledger.nextCompactionId()));
    if (!c) throw new Error(`the ledger refused to plan a compaction of ${naturalDir}`);
    ledger.compactionSwitched(c.compactionId, { inputFiles: 15, outputFiles: 1 });
    ledger.compactionDone(c.compactionId);
    compactions++;
  };
  for (let i = 0; i < batches; i++) {
    if (shape === 'unpartitioned') {
      commit('/w/aged', []);
      if (i % 15 === 14) compact('/w/aged', []);
    } else {
      const hour = Math.floor(i / 60);
      commit(`/w/aged/dt=${hour}`, [String(hour)]);
      if (i % 60 === 59 && hour > 0) compact(`/w/aged/dt=${hour - 1}`, [String(hour - 1)]);
    }
  }
  return compactions;
}

/** Median milliseconds of `SAMPLES` calls. */
function medianMs(fn: () => unknown): number {
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

export async function ledgerAge(opts: { batches: number[]; flatFactor: number }) {
  const steps: AgeStep[] = [];
  for (const shape of ['unpartitioned', 'hourly'] as const) {
    for (const batches of opts.batches) {
      const dir = mkdtempSync(join(tmpdir(), 'hive-kafka-bench-ledger-'));
      const ledger = Ledger.open(join(dir, 'ledger.db'));
      try {
        const t0 = Date.now();
        const compactions = fill(ledger, shape, batches);
        const fillS = (Date.now() - t0) / 1000;
        const now = Date.now();
        const candidates = medianMs(() => ledger.compactionCandidates(TABLE, now - 600_000));
        const counts = medianMs(() => { ledger.recordCounts(TABLE); ledger.lastCommitTimes(TABLE); ledger.openCompactions(TABLE); });
        const file = join(dir, 'ledger.db');
        const bytes = [file, `${file}-wal`].filter((f) => existsSync(f)).reduce((n, f) => n + statSync(f).size, 0);
        const held = ledger.batchesNewestFirst(TABLE, 0, Number.MAX_SAFE_INTEGER, batches).length;
        steps.push({ shape, batches, compactions, fill_s: round(fillS, 1), candidates_ms: round(candidates, 3), counts_ms: round(counts, 3), round_ms: round(candidates + counts, 3),
          ledger_mb: round(bytes / 2 ** 20, 1), batches_held: held });
      } finally {
        ledger.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  // Flat: each shape's round at its largest history within flatFactor of its round at the smallest.
  const growth = (['unpartitioned', 'hourly'] as const).map((shape) => {
    const of = steps.filter((s) => s.shape === shape);
    return { shape, from_batches: of[0]!.batches, to_batches: of.at(-1)!.batches, ratio: round(of.at(-1)!.round_ms / of[0]!.round_ms, 2) };
  });
  return { steps, growth, flat_factor: opts.flatFactor, flat: growth.every((g) => g.ratio <= opts.flatFactor) };
}
