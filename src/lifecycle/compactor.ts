// When and what to compact (the protocol itself is src/sink/compact.ts). Each round, for every table
// this instance runs: finish the compactions the ledger has open (after a crash too), then start one
// for each partition directory (an unpartitioned table: its own directory) holding at least
// kafka.compaction.min.files files older than kafka.compaction.min.age.ms.
import type { Logger } from 'pino';
import type { Ledger, StreamRow } from '../ledger/ledger.ts';
import type { StreamSpec } from '../properties/parse.ts';
import type { StoredLayout } from '../properties/stream.ts';
import { compactedDir, markPlan, runCompaction, type CompactionStep } from '../sink/compact.ts';
import { removeDirOfFiles, type FileSystems } from '../sink/fs.ts';

export interface CompactorDeps {
  ledger: Ledger;
  fileSystems: FileSystems;
  log: Logger;
  /** Whether this instance runs the table now: only its owner may move its directories. */
  runsHere(tableId: number): boolean;
  /** Where Hive reads the partition; values [] name an unpartitioned table itself. */
  partitionLocation(dbName: string, tableName: string, values: string[]): Promise<string | undefined>;
  /** One metastore call (alter_partition, or alter_table for values []). */
  setPartitionLocation(dbName: string, tableName: string, values: string[], location: string): Promise<void>;
  /** How long a replaced directory stays for queries planned on it. */
  graceMs: number;
  periodMs: number;
  onCompacted?(table: string, counts: { inputFiles: number; outputFiles: number }): void;
  reached?(step: CompactionStep): void;
}

export class Compactor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  /** The table a round is compacting now. */
  private active: { tableId: number; done: Promise<void> } | undefined;

  constructor(private readonly deps: CompactorDeps) {}

  start(): void {
    // A round that outlasts the period (a slow HDFS or metastore) is not queued behind: rounds never pile up.
    let busy = false;
    this.timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.running = this.round()
        .catch((error: unknown) => this.deps.log.warn({ err: (error as Error).message }, 'compaction round failed; the next round tries again'))
        .finally(() => { busy = false; });
    }, this.deps.periodMs);
  }

  /**
   * Resolves once no compaction of the table is under way. A DROP's clean-up waits for it: a
   * compaction still writing would re-create merged files under a location the clean-up removed,
   * where a table created there later would find them (and `ledger rebuild` read their offsets).
   * The compaction itself stops at its next step once the table no longer runs here.
   */
  async settled(tableId: number): Promise<void> {
    if (this.active?.tableId === tableId) await this.active.done.catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over the tables; a failure is logged and the compaction is rolled forward next round. */
  async round(now = Date.now()): Promise<void> {
    for (const stream of this.deps.ledger.listStreams()) {
      if (this.stopped) return;
      if (!this.deps.runsHere(stream.tableId)) continue;
      const done = this.compactTable(stream, now);
      this.active = { tableId: stream.tableId, done };
      try {
        await done;
      } catch (error) {
        const table = `${stream.dbName}.${stream.tableName}`;
        if (this.stopped || !this.deps.runsHere(stream.tableId)) this.deps.log.info({ table, err: (error as Error).message }, 'compaction stopped with its table');
        else this.deps.log.warn({ table, err: (error as Error).message }, 'compaction failed; it is retried next round');
      } finally {
        this.active = undefined;
      }
    }
  }

  private async compactTable(stream: StreamRow, now: number): Promise<void> {
    const spec = JSON.parse(stream.specJson) as StreamSpec;
    const layout = JSON.parse(stream.layoutJson) as StoredLayout;
    const { ledger } = this.deps;
    const open = ledger.openCompactions(stream.tableId);
    const settings = spec.compaction;
    if (open.length === 0 && (settings === undefined || settings.minFiles === 0)) return;
    const table = `${stream.dbName}.${stream.tableName}`;
    const { fs, path: tableDir } = this.deps.fileSystems.for(layout.location, table);
    const prefix = locationPrefix(layout.location, tableDir);
    // A table dropped (or handed over) mid-round: no further step writes under its location.
    const gone = () => this.stopped || !this.deps.runsHere(stream.tableId);
    const compaction = {
      targetFileBytes: settings?.targetFileBytes ?? Number.MAX_SAFE_INTEGER,
      numBuckets: Math.max(0, layout.numBuckets),
      graceMs: this.deps.graceMs,
    };
    const deps = {
      fs, tableDir,
      toLocation: (path: string) => prefix + path,
      partitionLocation: (values: string[]) => this.deps.partitionLocation(stream.dbName, stream.tableName, values),
      setPartitionLocation: (values: string[], location: string) => this.deps.setPartitionLocation(stream.dbName, stream.tableName, values, location),
      switched: (id: number, counts: { inputFiles: number; outputFiles: number }) => {
        ledger.compactionSwitched(id, counts);
        this.deps.log.info({ table, compaction: id, ...counts }, 'partition compacted; the old directory goes after the grace period');
        this.deps.onCompacted?.(table, counts);
      },
      done: (id: number) => ledger.compactionDone(id),
      reached: this.deps.reached,
      gone,
    };
    for (const c of open) {
      if (gone()) return;
      await runCompaction(deps, c, compaction, now);
    }
    if (settings === undefined || settings.minFiles === 0) return;

    const busy = new Set(ledger.openCompactions(stream.tableId).filter((c) => c.state === 'planned').map((c) => c.naturalDir));
    const root = tableDir.replace(/\/+$/, '');
    for (const candidate of ledger.compactionCandidates(stream.tableId, now - settings.minAgeMs)) {
      if (gone()) return;
      if (busy.has(candidate.naturalDir) || candidate.oldFiles < settings.minFiles) continue;
      // Outside a Hive partition only the table's own directory is data (not its dead letters).
      if (candidate.partitionValues.length === 0 && (layout.partitionKeys.length > 0 || candidate.naturalDir !== root)) continue;
      // Marked before it is planned: from the plan on batches publish there, and a ledger lost before the switch is rebuilt from the marker.
      const newDir = compactedDir(tableDir, ledger.nextCompactionId());
      await markPlan(fs, newDir, { partitionValues: candidate.partitionValues, naturalDir: candidate.naturalDir, oldDir: candidate.dir });
      const planned = ledger.planCompaction(stream.tableId, candidate.naturalDir, candidate.partitionValues, newDir);
      if (!planned) { // a batch is publishing there right now: next round
        await removeDirOfFiles(fs, newDir);
        continue;
      }
      this.deps.reached?.('compaction-planned');
      await runCompaction(deps, planned, compaction, Date.now());
    }
  }
}

/** The scheme and authority a location puts before its path ('hdfs://nn:8020', 'file:'). */
function locationPrefix(location: string, path: string): string {
  const trimmed = location.replace(/\/+$/, '');
  path = path.replace(/(.)\/+$/, '$1');
  if (!trimmed.endsWith(path)) throw new Error(`location ${location} does not end with its path ${path}`);
  return trimmed.slice(0, trimmed.length - path.length);
}
