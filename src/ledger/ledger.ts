// The SQLite ledger (better-sqlite3, WAL). It is the only place offsets move, and every move that
// matters for exactly-once happens inside one SQLite transaction with its fencing check.
// ':memory:' gives the same ledger for unit tests.
import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BatchFile, BatchIntent, PendingBatch } from '../sink/commit.ts';
import { COMPACTED_ROOT, type Compaction } from '../sink/compact.ts';
import type { WriteTurns } from './write-turns.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../../sql/ledger/', import.meta.url));

export type DesiredState = 'running' | 'paused' | 'dropped';

export type HistoryOrigin = 'metastore' | 'service';

export interface HistoryEvent { id: number; tableId: number; dbName: string; tableName: string; at: number; event: string; detail: unknown; origin: HistoryOrigin }

/** Errors kept per table (and for the service itself): status shows the latest. */
export const KEPT_ERRORS = 100;

/** The detail of an event that repeats while its cause lasts: which task, and how it failed. */
export interface RepeatableDetail { task?: string; error?: string; [key: string]: unknown }

export interface StreamRow {
  tableId: number;
  dbName: string;
  tableName: string;
  specJson: string;
  layoutJson: string;
  desiredState: DesiredState;
  createdAt: number;
  updatedAt: number;
  droppedAt: number | null;
  /** When the clean-up after its DROP succeeded; null while it is due (or the table is not dropped). */
  cleanedAt: number | null;
  /** The Kafka cluster its offsets were read from (null until its first start). */
  kafkaClusterId: string | null;
  /** Why the table is failed (an error retrying cannot fix); null while it is healthy. */
  failure: string | null;
}

/** Offsets Kafka deleted before the table read them. */
export interface OffsetGap { tableId: number; kafkaPartition: number; firstOffset: number; lastOffset: number; policy: 'fail' | 'skip'; at: number }

export type TaskRowState = 'starting' | 'running' | 'failed' | 'hung' | 'stopped';

/** A task as the ledger keeps it, so status and a restarted service can see what each task did. */
export interface TaskRow {
  tableId: number;
  taskId: string;
  partitions: number[];
  state: TaskRowState;
  ownerEpoch: number | null;
  attempts: number;
  lastError: string | null;
  heartbeatAt: number | null;
  updatedAt: number;
}

/** A table's records over its committed batches. */
export interface RecordCounts { stored: number; filtered: number; rejected: number }

/** A partition directory Hive reads, and how many files committed batches published into it. */
export interface CompactionCandidate { naturalDir: string; dir: string; partitionValues: string[]; files: number; oldFiles: number }

/** One Kafka partition of a table as the cluster's state log holds it: the next offset, and a batch recorded but maybe not published. */
export interface PortablePartition { next: number; pending: Omit<BatchIntent, 'tableId' | 'kafkaPartition'> | null }

/** A write by a task that no longer owns the partition. Not retriable: the task must stop. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
  readonly retriable = false;
  constructor(readonly tableId: number, readonly kafkaPartition: number, detail: string) {
    super(`table ${tableId} partition ${kafkaPartition}: ${detail}`);
  }
}

export class Ledger {
  private constructor(private readonly db: Database.Database, private readonly turns: WriteTurns | undefined) {}

  /**
   * `migrate: false` for task workers: they open the ledger the service has already migrated.
   * `turns`: shared by the service's threads, so that their writes take the lock in the order they asked.
   */
  static open(path: string, opts: { migrate?: boolean; turns?: WriteTurns } = {}): Ledger {
    let db: Database.Database;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
    } catch (e) {
      throw new Error(`cannot open the ledger at ${path}: ${(e as Error).message} (set ledgerPath in the config or HIVE_KAFKA_LEDGER)`, { cause: e });
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL'); // a committed batch survives power loss, not just a crash
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    const ledger = new Ledger(db, opts.turns);
    if (opts.migrate !== false) ledger.migrate();
    return ledger;
  }

  close(): void { this.db.close(); }

  /**
   * A write transaction that takes SQLite's write lock when it begins (BEGIN IMMEDIATE). A deferred
   * one that reads first and then writes cannot wait for the lock: when another connection committed
   * in between, SQLite answers "database is locked" at once, whatever busy_timeout says. With 50
   * tasks committing side by side that failed tasks 186 times in the scale benchmark.
   */
  private write<T>(fn: () => T): T {
    // Nested, a transaction is a savepoint (better-sqlite3), and WriteTurns lets a thread's own turn nest.
    const transaction = this.db.transaction(fn);
    return this.turns ? this.turns.inTurn(() => transaction.immediate()) : transaction.immediate();
  }

  /** Applies sql/ledger/NNN_*.sql files not applied yet, each in its own transaction. */
  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const applied = new Set(this.db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
    for (const file of readdirSync(MIGRATIONS_DIR).filter((f) => /^\d+_.*\.sql$/.test(f)).sort()) {
      const version = Number.parseInt(file, 10);
      if (applied.has(version)) continue;
      this.write(() => {
        this.db.exec(readFileSync(MIGRATIONS_DIR + file, 'utf8'));
        this.db.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(version, Date.now());
      });
    }
  }

  // ---- streams -------------------------------------------------------------------------------

  /** Inserts or updates a stream; returns true when the table id was new. */
  upsertStream(s: { tableId: number; dbName: string; tableName: string; specJson: string; layoutJson: string; desiredState: DesiredState }): boolean {
    const now = Date.now();
    return this.write(() => {
      const existing = this.getStream(s.tableId);
      if (existing) {
        this.db.prepare(`UPDATE streams SET db_name = ?, table_name = ?, spec_json = ?, layout_json = ?, desired_state = ?, updated_at = ?
                         WHERE table_id = ?`).run(s.dbName, s.tableName, s.specJson, s.layoutJson, s.desiredState, now, s.tableId);
        return false;
      }
      this.db.prepare(`INSERT INTO streams (table_id, db_name, table_name, spec_json, layout_json, desired_state, created_at, updated_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(s.tableId, s.dbName, s.tableName, s.specJson, s.layoutJson, s.desiredState, now, now);
      this.appendHistory(s.tableId, 'created', { db: s.dbName, table: s.tableName });
      return true;
    });
  }

  getStream(tableId: number): StreamRow | undefined {
    return this.db.prepare(`${STREAM_SELECT} WHERE table_id = ?`).get(tableId) as StreamRow | undefined;
  }

  /** Live (not dropped) streams, or all of them for audit. */
  listStreams(opts: { includeDropped?: boolean } = {}): StreamRow[] {
    const where = opts.includeDropped ? '' : " WHERE desired_state != 'dropped'";
    return this.db.prepare(`${STREAM_SELECT}${where} ORDER BY db_name, table_name`).all() as StreamRow[];
  }

  /** Dropped tables whose clean-up has not succeeded yet: due again at the next start. */
  cleanupsPending(): number[] {
    return this.db.prepare("SELECT table_id FROM streams WHERE desired_state = 'dropped' AND cleaned_at IS NULL ORDER BY table_id").pluck().all() as number[];
  }

  cleanedUp(tableId: number): void {
    this.write(() => this.db.prepare('UPDATE streams SET cleaned_at = ? WHERE table_id = ? AND cleaned_at IS NULL').run(Date.now(), tableId));
  }

  /**
   * Records the Kafka cluster of a table's offsets once: a later call for another id changes nothing,
   * unless `replace` (the offsets were just taken from a cluster's state log, with their cluster).
   */
  recordKafkaCluster(tableId: number, clusterId: string, opts: { replace?: boolean } = {}): void {
    const unset = opts.replace ? '' : ' AND kafka_cluster_id IS NULL';
    this.write(() => this.db.prepare(`UPDATE streams SET kafka_cluster_id = ? WHERE table_id = ?${unset}`).run(clusterId, tableId));
  }

  setDesiredState(tableId: number, state: DesiredState, event: string, detail?: unknown): void {
    this.write(() => {
      this.db.prepare('UPDATE streams SET desired_state = ?, updated_at = ?, dropped_at = CASE WHEN ? = \'dropped\' THEN ? ELSE dropped_at END WHERE table_id = ?')
        .run(state, Date.now(), state, Date.now(), tableId);
      this.appendHistory(tableId, event, detail);
    });
  }

  /** Marks the table failed with `message`, or healthy again with null; the event goes to the history. */
  setFailure(tableId: number, message: string | null, event?: string, detail?: unknown): void {
    this.write(() => {
      this.db.prepare('UPDATE streams SET failure = ?, updated_at = ? WHERE table_id = ?').run(message, Date.now(), tableId);
      if (event) this.appendHistory(tableId, event, detail);
    });
  }

  appendHistory(tableId: number, event: string, detail?: unknown): void {
    this.write(() => this.db.prepare('INSERT INTO stream_history (table_id, at, event, detail_json, origin) VALUES (?, ?, ?, ?, ?)')
      .run(tableId, Date.now(), event, detail === undefined ? null : JSON.stringify(detail), this.origin));
  }

  /**
   * Appends the event, unless the same task failed the same way since the table's last event of
   * another kind: that row then counts it (`repeats`, `lastAt`), so a failure that lasts a week is one
   * row, not thousands read by every system-tables round. "The same way": the error with its numbers
   * left out (a port, an offset or a count of seconds changes from one try to the next).
   */
  appendOrCountHistory(tableId: number, event: string, detail: RepeatableDetail): void {
    const shape = (error: string | undefined) => error?.replace(/\d+/g, '#');
    this.write(() => {
      const since = this.db.prepare('SELECT id, detail_json AS d FROM stream_history WHERE table_id = ? AND event = ? AND id > (SELECT COALESCE(MAX(id), 0) FROM stream_history WHERE table_id = ? AND event != ?) ORDER BY id')
        .all(tableId, event, tableId, event) as { id: number; d: string | null }[];
      for (const row of since) {
        const earlier = (row.d === null ? {} : JSON.parse(row.d)) as RepeatableDetail & { repeats?: number };
        if (earlier.task !== detail.task || shape(earlier.error) !== shape(detail.error)) continue;
        const counted = { ...earlier, repeats: (earlier.repeats ?? 0) + 1, lastAt: Date.now(), lastError: detail.error };
        this.db.prepare('UPDATE stream_history SET detail_json = ? WHERE id = ?').run(JSON.stringify(counted), row.id);
        return;
      }
      this.appendHistory(tableId, event, detail);
    });
  }

  /** Where the events appended now come from (stream_history.origin, migration 005). */
  private origin: HistoryOrigin = 'service';

  /** Runs fn (synchronous: ledger calls only) with every event it appends marked as a metastore notice's. */
  /** Several writes as one transaction: all of them or none (each one's own transaction becomes a savepoint). */
  atomically<T>(fn: () => T): T {
    return this.write(fn);
  }

  fromMetastore<T>(fn: () => T): T {
    this.origin = 'metastore';
    try {
      return fn();
    } finally {
      this.origin = 'service';
    }
  }

  history(tableId: number): { at: number; event: string; detail: unknown }[] {
    return (this.db.prepare('SELECT at, event, detail_json AS d FROM stream_history WHERE table_id = ? ORDER BY id').all(tableId) as { at: number; event: string; d: string | null }[])
      .map((r) => ({ at: r.at, event: r.event, detail: r.d === null ? undefined : JSON.parse(r.d) }));
  }

  /** Changes whenever any table's history does (migration 010): a reader may keep what it built until then. */
  historyVersion(): number {
    return this.db.prepare('SELECT version FROM history_version WHERE id = 1').pluck().get() as number;
  }

  /** Every lifecycle event of every table, dropped ones included, oldest first: the history system table. */
  allHistory(): HistoryEvent[] {
    return (this.db.prepare(`SELECT h.id, h.table_id AS tableId, s.db_name AS dbName, s.table_name AS tableName, h.at, h.event, h.detail_json AS d, h.origin
      FROM stream_history h JOIN streams s USING (table_id) ORDER BY h.id`).all() as (Omit<HistoryEvent, 'detail'> & { d: string | null })[])
      .map(({ d, ...h }) => ({ ...h, detail: d === null ? undefined : JSON.parse(d) }));
  }

  /** When the table's last error was recorded. */
  lastErrorAt(tableId: number): number | undefined {
    return this.db.prepare('SELECT at FROM errors WHERE table_id = ? ORDER BY id DESC LIMIT 1').pluck().get(tableId) as number | undefined;
  }

  /** Keeps a table's newest KEPT_ERRORS errors: only the latest few are ever read, and a failing table adds one a minute. */
  recordError(tableId: number | null, scope: string, message: string): void {
    this.write(() => {
      this.db.prepare('INSERT INTO errors (table_id, at, scope, message) VALUES (?, ?, ?, ?)').run(tableId, Date.now(), scope, message);
      this.db.prepare('DELETE FROM errors WHERE table_id IS ? AND id <= (SELECT id FROM errors WHERE table_id IS ? ORDER BY id DESC LIMIT 1 OFFSET ?)')
        .run(tableId, tableId, KEPT_ERRORS);
    });
  }

  recentErrors(tableId: number, limit = 10): { at: number; scope: string; message: string }[] {
    return this.db.prepare('SELECT at, scope, message FROM errors WHERE table_id = ? ORDER BY id DESC LIMIT ?').all(tableId, limit) as { at: number; scope: string; message: string }[];
  }

  // ---- offset gaps ---------------------------------------------------------------------------

  /**
   * Records a gap and its history event in one transaction; false when this gap (same partition and
   * first offset) was recorded before, e.g. by a task that noticed it and then restarted.
   */
  recordGap(gap: Omit<OffsetGap, 'at'>): boolean {
    return this.write(() => {
      const inserted = this.db.prepare(`INSERT OR IGNORE INTO offset_gaps (table_id, kafka_partition, first_offset, last_offset, policy, at)
        VALUES (?, ?, ?, ?, ?, ?)`).run(gap.tableId, gap.kafkaPartition, gap.firstOffset, gap.lastOffset, gap.policy, Date.now()).changes === 1;
      if (inserted) {
        this.appendHistory(gap.tableId, 'offset-gap', { partition: gap.kafkaPartition, from: gap.firstOffset, to: gap.lastOffset,
          offsets: gap.lastOffset - gap.firstOffset + 1, policy: gap.policy });
      }
      return inserted;
    });
  }

  gaps(tableId: number): OffsetGap[] {
    return this.db.prepare(`SELECT table_id AS tableId, kafka_partition AS kafkaPartition, first_offset AS firstOffset, last_offset AS lastOffset,
      policy, at FROM offset_gaps WHERE table_id = ? ORDER BY at, kafka_partition`).all(tableId) as OffsetGap[];
  }

  // ---- tasks -----------------------------------------------------------------------------------

  /** Writes a task's state as it changes; fields left out keep their stored value. */
  saveTask(t: { tableId: number; taskId: string; partitions?: readonly number[]; state: TaskRowState; ownerEpoch?: number; attempts?: number; lastError?: string | null; heartbeatAt?: number }): void {
    const now = Date.now();
    this.write(() => this.db.prepare(`INSERT INTO tasks (table_id, task_id, partitions, state, owner_epoch, attempts, last_error, heartbeat_at, updated_at)
      VALUES (@tableId, @taskId, @partitions, @state, @ownerEpoch, COALESCE(@attempts, 0), @lastError, @heartbeatAt, @now)
      ON CONFLICT (table_id, task_id) DO UPDATE SET
        partitions = COALESCE(@partitionsGiven, partitions), state = @state, owner_epoch = COALESCE(@ownerEpoch, owner_epoch),
        attempts = COALESCE(@attempts, attempts), last_error = CASE WHEN @lastErrorGiven THEN @lastError ELSE last_error END,
        heartbeat_at = COALESCE(@heartbeatAt, heartbeat_at), updated_at = @now`)
      .run({ tableId: t.tableId, taskId: t.taskId, partitions: JSON.stringify(t.partitions ?? []), partitionsGiven: t.partitions ? JSON.stringify(t.partitions) : null,
        state: t.state, ownerEpoch: t.ownerEpoch ?? null, attempts: t.attempts ?? null, lastError: t.lastError ?? null,
        lastErrorGiven: t.lastError === undefined ? 0 : 1, heartbeatAt: t.heartbeatAt ?? null, now }));
  }

  /**
   * Many tasks' heartbeats in one transaction, so one fsync. One write per task held SQLite's write lock
   * for the whole burst (400 tasks started together beat together): the worker threads' commits waited
   * behind it past busy_timeout and failed with "database is locked" (scale benchmark, 2026-12-03).
   */
  heartbeats(beats: readonly { tableId: number; taskId: string; at: number }[]): void {
    if (beats.length === 0) return;
    const update = this.db.prepare('UPDATE tasks SET heartbeat_at = ? WHERE table_id = ? AND task_id = ?');
    this.write(() => { for (const b of beats) update.run(b.at, b.tableId, b.taskId); });
  }

  tasks(tableId: number): TaskRow[] {
    return (this.db.prepare(`SELECT table_id AS tableId, task_id AS taskId, partitions, state, owner_epoch AS ownerEpoch, attempts, last_error AS lastError,
      heartbeat_at AS heartbeatAt, updated_at AS updatedAt FROM tasks WHERE table_id = ? ORDER BY task_id`).all(tableId) as (Omit<TaskRow, 'partitions'> & { partitions: string })[])
      .map((r) => ({ ...r, partitions: JSON.parse(r.partitions) as number[] }));
  }

  /** A task the current plan no longer has: its row goes, so status shows only tasks that can run. */
  forgetTasks(tableId: number, keep: readonly string[] = []): void {
    const rows = this.db.prepare('SELECT task_id FROM tasks WHERE table_id = ?').pluck().all(tableId) as string[];
    const del = this.db.prepare('DELETE FROM tasks WHERE table_id = ? AND task_id = ?');
    this.write(() => { for (const id of rows) if (!keep.includes(id)) del.run(tableId, id); });
  }

  // ---- watcher cursor ------------------------------------------------------------------------

  watcherCursor(): bigint | undefined {
    const v = this.db.prepare('SELECT last_event_id FROM watcher_cursor WHERE id = 1').safeIntegers(true).pluck().get() as bigint | undefined;
    return v;
  }

  setWatcherCursor(eventId: bigint): void {
    this.write(() => {
      this.db.prepare('INSERT INTO watcher_cursor (id, last_event_id) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET last_event_id = excluded.last_event_id')
        .run(eventId);
    });
  }

  // ---- offsets, ownership and the batch log (used by src/sink/commit.ts) --------------------

  /** Next offset per Kafka partition the ledger knows for the table. */
  nextOffsets(tableId: number): Map<number, number> {
    const rows = this.db.prepare('SELECT kafka_partition AS p, next_offset AS o FROM partition_offsets WHERE table_id = ?').all(tableId) as { p: number; o: number }[];
    return new Map(rows.map((r) => [r.p, r.o]));
  }

  /** Records start offsets for partitions the ledger has not seen; known partitions keep theirs. */
  initPartitions(tableId: number, startOffsets: ReadonlyMap<number, number>): void {
    const insert = this.db.prepare('INSERT OR IGNORE INTO partition_offsets (table_id, kafka_partition, next_offset) VALUES (?, ?, ?)');
    this.write(() => { for (const [p, o] of startOffsets) insert.run(tableId, p, o); });
  }

  /**
   * Gives the partitions to a new owner and returns its epoch. Every earlier owner is fenced from
   * then on: its intents and commits fail with FencedError.
   */
  claimPartitions(tableId: number, partitions: readonly number[]): number {
    return this.write(() => {
      const max = this.db.prepare('SELECT COALESCE(MAX(owner_epoch), 0) FROM partition_offsets WHERE table_id = ?').pluck().get(tableId) as number;
      const epoch = max + 1;
      const update = this.db.prepare('UPDATE partition_offsets SET owner_epoch = ? WHERE table_id = ? AND kafka_partition = ?');
      for (const p of partitions) {
        if (update.run(epoch, tableId, p).changes !== 1) throw new Error(`table ${tableId} partition ${p} has no offset in the ledger; call initPartitions first`);
      }
      return epoch;
    });
  }

  /**
   * Durable record of a batch whose files are written under hidden names; returns it as recorded. A
   * file bound for a partition directory a compaction has moved is recorded in the new directory:
   * this transaction and the compaction's plan are serialized by SQLite, so no batch lands in a
   * directory Hive stopped reading.
   */
  recordIntent(intent: BatchIntent): PendingBatch {
    return this.write(() => {
      const row = this.db.prepare('SELECT next_offset AS next, owner_epoch AS epoch FROM partition_offsets WHERE table_id = ? AND kafka_partition = ?')
        .get(intent.tableId, intent.kafkaPartition) as { next: number; epoch: number } | undefined;
      if (!row) throw new Error(`table ${intent.tableId} partition ${intent.kafkaPartition} has no offset in the ledger`);
      if (row.epoch !== intent.ownerEpoch) {
        throw new FencedError(intent.tableId, intent.kafkaPartition, `owner epoch ${intent.ownerEpoch} was replaced by ${row.epoch}; this task must stop`);
      }
      const pending = this.db.prepare("SELECT COUNT(*) FROM batches WHERE table_id = ? AND kafka_partition = ? AND state = 'written'").pluck().get(intent.tableId, intent.kafkaPartition) as number;
      if (pending > 0) throw new Error(`table ${intent.tableId} partition ${intent.kafkaPartition} already has a batch waiting to be published; recover it first`);
      if (intent.firstOffset < row.next || intent.lastOffset < intent.firstOffset) {
        throw new Error(`table ${intent.tableId} partition ${intent.kafkaPartition}: batch ${intent.firstOffset}..${intent.lastOffset} does not start at or after the next offset ${row.next}`);
      }
      const batchId = Number(this.db.prepare(`INSERT INTO batches (table_id, kafka_partition, first_offset, last_offset, record_count, filtered_count, rejected_count, owner_epoch, state, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'written', ?)`).run(intent.tableId, intent.kafkaPartition, intent.firstOffset, intent.lastOffset, intent.recordCount,
        intent.filteredCount ?? 0, intent.rejectedCount ?? 0, intent.ownerEpoch, Date.now()).lastInsertRowid);
      const moved = this.db.prepare('SELECT current_dir FROM partition_dirs WHERE table_id = ? AND natural_dir = ?').pluck();
      const files = intent.files.map((f) => {
        const dir = posix.dirname(f.finalPath);
        const current = moved.get(intent.tableId, dir) as string | undefined;
        return current === undefined ? f : { ...f, finalPath: posix.join(current, posix.basename(f.finalPath)) };
      });
      this.recordFiles(intent.tableId, batchId, files);
      return { ...intent, files, batchId };
    });
  }

  /**
   * A final path names one batch's file in the ledger. A dropped table's batch gives its names up to
   * a table created since: DROP, then CREATE of the same table over the same topic cuts the same
   * batches under the same names in the same location. Its row keeps the path with a suffix, for
   * audit. (Its files are gone: Hive purged them, or its clean-up removed the late ones, which a new
   * table waits for. Where Hive kept them, a new table starts after them: next offsets from their names.)
   */
  private recordFiles(tableId: number, batchId: number, files: readonly BatchFile[]): void {
    const holder = this.db.prepare(`SELECT f.rowid AS rowid, s.table_id AS tableId, s.db_name AS db, s.table_name AS name, s.desired_state AS state,
      b.kafka_partition AS partition, b.first_offset AS first, b.last_offset AS last
      FROM batch_files f JOIN batches b USING (batch_id) JOIN streams s ON s.table_id = b.table_id WHERE f.final_path = ?`);
    const release = this.db.prepare('UPDATE batch_files SET final_path = final_path || ? WHERE rowid = ?');
    const insert = this.db.prepare('INSERT INTO batch_files (batch_id, hidden_path, final_path, partition_values, bucket) VALUES (?, ?, ?, ?, ?)');
    for (const f of files) {
      const held = holder.get(f.finalPath) as { rowid: number; tableId: number; db: string; name: string; state: string; partition: number; first: number; last: number } | undefined;
      if (held && held.state === 'dropped' && held.tableId !== tableId) {
        release.run(` (name given up to table ${tableId})`, held.rowid);
      } else if (held) {
        const moving = this.db.prepare('SELECT 1 FROM relocations WHERE table_id = ?').get(held.tableId) !== undefined;
        throw new Error(`table ${tableId}: batch file ${f.finalPath} is already recorded for table ${held.db}.${held.name} (id ${held.tableId}), `
          + `partition ${held.partition} offsets ${held.first}..${held.last}; `
          + (moving ? `that table was renamed away from this location and its files are recorded here until its tasks run again: resume ${held.db}.${held.name}`
            : 'two tables at one location reading one topic would publish the same files: give one of them another LOCATION'));
      }
      insert.run(batchId, f.hiddenPath, f.finalPath, f.partitionValues && JSON.stringify(f.partitionValues), f.bucket);
    }
  }

  /**
   * A recorded batch none of whose files was published, one of them gone under both names (recovery
   * decides, src/sink/commit.ts): forgotten, so its records are read again from its first offset,
   * which the partition's next offset still is. The history says so.
   */
  discardPending(batch: PendingBatch, why: string): void {
    this.write(() => {
      const state = this.db.prepare('SELECT state FROM batches WHERE batch_id = ?').pluck().get(batch.batchId) as string | undefined;
      if (state !== 'written') return;
      this.db.prepare('DELETE FROM batch_files WHERE batch_id = ?').run(batch.batchId);
      this.db.prepare('DELETE FROM batches WHERE batch_id = ?').run(batch.batchId);
      this.appendHistory(batch.tableId, 'batch-read-again', { partition: batch.kafkaPartition, from: batch.firstOffset, to: batch.lastOffset, why });
    });
  }

  /** Batches recorded as intent but not committed yet: recovery rolls them forward. */
  pendingBatches(tableId: number): PendingBatch[] {
    const batches = this.db.prepare(`SELECT batch_id AS batchId, table_id AS tableId, kafka_partition AS kafkaPartition, first_offset AS firstOffset,
      last_offset AS lastOffset, record_count AS recordCount, owner_epoch AS ownerEpoch FROM batches WHERE table_id = ? AND state = 'written' ORDER BY batch_id`)
      .all(tableId) as Omit<PendingBatch, 'files'>[];
    return batches.map((b) => ({ ...b, files: this.batchFiles(b.batchId) }));
  }

  private batchFiles(batchId: number): BatchFile[] {
    return (this.db.prepare('SELECT hidden_path AS hiddenPath, final_path AS finalPath, partition_values AS pv, bucket FROM batch_files WHERE batch_id = ?')
      .all(batchId) as { hiddenPath: string; finalPath: string; pv: string | null; bucket: number | null }[])
      .map((f) => ({ hiddenPath: f.hiddenPath, finalPath: f.finalPath, partitionValues: f.pv === null ? null : JSON.parse(f.pv) as string[], bucket: f.bucket }));
  }

  /**
   * The batch's files are published and registered: move the partition's next offset past it. Not
   * fenced on purpose: completing a recorded intent is right whoever does it.
   */
  markCommitted(batch: number | { batchId: number }): void {
    const batchId = typeof batch === 'number' ? batch : batch.batchId;
    this.write(() => {
      const b = this.db.prepare(`SELECT table_id AS t, kafka_partition AS p, last_offset AS last, record_count AS stored, filtered_count AS filtered, rejected_count AS rejected
        FROM batches WHERE batch_id = ? AND state = 'written'`).get(batchId) as { t: number; p: number; last: number; stored: number; filtered: number; rejected: number } | undefined;
      if (!b) return; // already committed: replaying a commit is harmless
      const now = Date.now();
      this.db.prepare("UPDATE batches SET state = 'committed', committed_at = ? WHERE batch_id = ?").run(now, batchId);
      this.db.prepare(`UPDATE partition_offsets SET next_offset = MAX(next_offset, ?), stored_records = stored_records + ?, filtered_records = filtered_records + ?,
        rejected_records = rejected_records + ?, last_commit_at = ? WHERE table_id = ? AND kafka_partition = ?`).run(b.last + 1, b.stored, b.filtered, b.rejected, now, b.t, b.p);
    });
  }

  /**
   * A new owner takes the state log's word for these partitions (the log is the truth in a cluster;
   * this ledger may be stale, or from another ownership). Local batches still waiting are replaced by
   * the log's own pending batch. Returns the partitions this ledger knows and the log does not.
   */
  importPortable(tableId: number, parts: ReadonlyMap<number, PortablePartition>): Map<number, number> {
    return this.write(() => {
      const setNext = this.db.prepare(`INSERT INTO partition_offsets (table_id, kafka_partition, next_offset) VALUES (?, ?, ?)
        ON CONFLICT (table_id, kafka_partition) DO UPDATE SET next_offset = excluded.next_offset`);
      const waiting = this.db.prepare("SELECT batch_id FROM batches WHERE table_id = ? AND kafka_partition = ? AND state = 'written'").pluck();
      for (const [p, part] of parts) {
        setNext.run(tableId, p, part.next);
        for (const id of waiting.all(tableId, p) as number[]) {
          this.db.prepare('DELETE FROM batch_files WHERE batch_id = ?').run(id);
          this.db.prepare('DELETE FROM batches WHERE batch_id = ?').run(id);
        }
        const b = part.pending;
        if (!b) continue;
        const epoch = this.db.prepare('SELECT owner_epoch FROM partition_offsets WHERE table_id = ? AND kafka_partition = ?').pluck().get(tableId, p) as number;
        const batchId = Number(this.db.prepare(`INSERT INTO batches (table_id, kafka_partition, first_offset, last_offset, record_count, owner_epoch, state, created_at)
          VALUES (?, ?, ?, ?, ?, ?, 'written', ?)`).run(tableId, p, b.firstOffset, b.lastOffset, b.recordCount, epoch, Date.now()).lastInsertRowid);
        this.recordFiles(tableId, batchId, b.files);
      }
      return new Map([...this.nextOffsets(tableId)].filter(([p]) => !parts.has(p)));
    });
  }

  /** Records of the table's committed batches: stored as rows, filtered out, refused. */
  recordCounts(tableId: number): RecordCounts {
    return this.db.prepare(`SELECT COALESCE(SUM(stored_records), 0) AS stored, COALESCE(SUM(filtered_records), 0) AS filtered, COALESCE(SUM(rejected_records), 0) AS rejected
      FROM partition_offsets WHERE table_id = ?`).get(tableId) as RecordCounts;
  }

  /** When a batch of each Kafka partition last committed. */
  lastCommitTimes(tableId: number): Map<number, number> {
    const rows = this.db.prepare('SELECT kafka_partition AS p, last_commit_at AS at FROM partition_offsets WHERE table_id = ? AND last_commit_at IS NOT NULL')
      .all(tableId) as { p: number; at: number }[];
    return new Map(rows.map((r) => [r.p, r.at]));
  }

  // ---- relocation after a RENAME (used by src/sink/relocate.ts) ---------------------------------

  /** The metastore moved the table from one location to another (a RENAME); kept until relocate() finishes it. */
  recordRelocation(tableId: number, fromLocation: string, toLocation: string): void {
    this.write(() => this.db.prepare(`INSERT INTO relocations (table_id, from_location, to_location, recorded_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (table_id, from_location) DO UPDATE SET to_location = excluded.to_location, recorded_at = excluded.recorded_at`)
      .run(tableId, fromLocation, toLocation, Date.now()));
  }

  /** Moves of the table not finished yet, oldest first. */
  relocations(tableId: number): { fromLocation: string; toLocation: string }[] {
    return this.db.prepare('SELECT from_location AS fromLocation, to_location AS toLocation FROM relocations WHERE table_id = ? ORDER BY recorded_at, rowid')
      .all(tableId) as { fromLocation: string; toLocation: string }[];
  }

  /** A page of the table's batches of one Kafka partition, newest first, below `beforeBatchId`, with their files. */
  batchesNewestFirst(tableId: number, kafkaPartition: number, beforeBatchId: number, limit: number): { batchId: number; lastOffset: number; files: BatchFile[] }[] {
    const rows = this.db.prepare('SELECT batch_id AS batchId, last_offset AS lastOffset FROM batches WHERE table_id = ? AND kafka_partition = ? AND batch_id < ? ORDER BY batch_id DESC LIMIT ?')
      .all(tableId, kafkaPartition, beforeBatchId, limit) as { batchId: number; lastOffset: number }[];
    return rows.map((row) => ({ ...row, files: this.batchFiles(row.batchId) }));
  }

  /** The partition's committed batch that ends at `lastOffset`, if this ledger recorded it (in a cluster, another member may have). */
  batchEndingAt(tableId: number, kafkaPartition: number, lastOffset: number): { firstOffset: number; files: number } | undefined {
    return this.db.prepare(`SELECT b.first_offset AS firstOffset, (SELECT COUNT(*) FROM batch_files f WHERE f.batch_id = b.batch_id) AS files
      FROM batches b WHERE b.table_id = ? AND b.kafka_partition = ? AND b.last_offset = ? AND b.state = 'committed' LIMIT 1`).get(tableId, kafkaPartition, lastOffset) as { firstOffset: number; files: number } | undefined;
  }

  /** Kafka partitions the table has batches of. */
  batchPartitions(tableId: number): number[] {
    return this.db.prepare('SELECT DISTINCT kafka_partition FROM batches WHERE table_id = ? ORDER BY 1').pluck().all(tableId) as number[];
  }

  /**
   * Every path of the table under `fromDir` (batch files, compaction directories) now under `toDir`,
   * and the relocation from `fromLocation` done: one transaction.
   */
  finishRelocation(tableId: number, fromLocation: string, fromDir: string, toDir: string): void {
    const like = likeUnder(fromDir);
    const rebase = (table: string, column: string, where: string) => this.db.prepare(`UPDATE ${table} SET ${column} = ? || substr(${column}, ?)
      WHERE ${where} AND ${column} LIKE ? ESCAPE '\\'`).run(toDir, fromDir.length + 1, tableId, like);
    this.write(() => {
      // The compacted directory Hive read an unpartitioned table from became the table's own location:
      // it is no longer where a natural directory moved to, and a compaction that wrote it no longer hides it.
      this.db.prepare('DELETE FROM partition_dirs WHERE table_id = ? AND current_dir = ?').run(tableId, fromDir);
      for (const column of ['hidden_path', 'final_path']) rebase('batch_files', column, 'batch_id IN (SELECT batch_id FROM batches WHERE table_id = ?)');
      // The triggers listed the files' new directories; the old ones hold none of the table's files now.
      if (toDir !== fromDir && !toDir.startsWith(`${fromDir}/`)) {
        this.db.prepare('DELETE FROM batch_dirs WHERE table_id = ? AND (dir = ? OR substr(dir, 1, ?) = ?)').run(tableId, fromDir, fromDir.length + 1, `${fromDir}/`);
      }
      for (const column of ['natural_dir', 'current_dir']) rebase('partition_dirs', column, 'table_id = ?');
      for (const column of ['natural_dir', 'old_dir', 'new_dir']) rebase('compactions', column, 'table_id = ?');
      this.db.prepare('DELETE FROM relocations WHERE table_id = ? AND from_location = ?').run(tableId, fromLocation);
    });
  }


  /** Final paths of the table's batch files in `dir` (not below it), committed or not. */
  batchFilesIn(tableId: number, dir: string): string[] {
    const like = likeUnder(dir);
    return (this.db.prepare(`SELECT f.final_path FROM batch_files f JOIN batches b USING (batch_id)
      WHERE b.table_id = ? AND f.final_path LIKE ? ESCAPE '\\' ORDER BY f.final_path`).pluck().all(tableId, like) as string[])
      .filter((p) => posix.dirname(p) === dir);
  }

  /**
   * A planned compaction given up (its directory left behind by a RENAME): its batches are recorded
   * at `toDir` instead, batches are no longer bound for its directory, and its row goes. One transaction.
   */
  cancelCompaction(tableId: number, c: Pick<Compaction, 'compactionId' | 'naturalDir' | 'newDir'>, toDir: string): void {
    const like = likeUnder(c.newDir);
    this.write(() => {
      this.db.prepare(`UPDATE batch_files SET final_path = ? || substr(final_path, ?)
        WHERE batch_id IN (SELECT batch_id FROM batches WHERE table_id = ?) AND final_path LIKE ? ESCAPE '\\'`).run(toDir, c.newDir.length + 1, tableId, like);
      this.db.prepare('DELETE FROM partition_dirs WHERE table_id = ? AND natural_dir = ? AND current_dir = ?').run(tableId, c.naturalDir, c.newDir);
      this.db.prepare("DELETE FROM compactions WHERE compaction_id = ? AND state = 'planned'").run(c.compactionId);
    });
  }

  /** Final paths of the files of the table's batches committed at or after `since` (ms), or not committed. A path is recorded for one batch only (UNIQUE). */
  filesOfTableSince(tableId: number, since: number): string[] {
    return this.db.prepare(`SELECT f.final_path FROM batch_files f JOIN batches b USING (batch_id)
      WHERE b.table_id = ? AND (b.committed_at IS NULL OR b.committed_at >= ?) ORDER BY f.final_path`).pluck().all(tableId, since) as string[];
  }

  /** Paths of every published file of the table (committed batches). */
  publishedFiles(tableId: number): string[] {
    return this.db.prepare(`SELECT f.final_path FROM batch_files f JOIN batches b USING (batch_id) WHERE b.table_id = ? AND b.state = 'committed' ORDER BY f.final_path`)
      .pluck().all(tableId) as string[];
  }

  // ---- compaction (used by src/sink/compact.ts and src/lifecycle/compactor.ts) -----------------

  /**
   * Per partition directory Hive reads now, the files committed batches published there and how
   * many of them were committed at or before `olderThan`. Directories a compaction left are not
   * listed. Files outside any Hive partition (an unpartitioned table's, dead letters) have
   * partitionValues []: the caller keeps only the table's own directory among those.
   */
  compactionCandidates(tableId: number, olderThan: number): CompactionCandidate[] {
    // Directories first (batch_dirs: those files went into, less finished compactions' old ones), then
    // the files of the live ones only: the cost follows the files not compacted yet, not the history.
    // A directory a compaction wrote and a later one replaced is neither current nor natural; nor is one
    // an earlier ledger's compaction wrote, adopted by this one and since replaced (it is in no row here).
    const dirs = this.db.prepare(`SELECT d.dir,
        (SELECT p.natural_dir FROM partition_dirs p WHERE p.table_id = d.table_id AND p.current_dir = d.dir) AS naturalDir,
        EXISTS (SELECT 1 FROM partition_dirs p WHERE p.table_id = d.table_id AND p.natural_dir = d.dir) AS moved,
        EXISTS (SELECT 1 FROM compactions c WHERE c.table_id = d.table_id AND c.new_dir = d.dir) AS compacted
      FROM batch_dirs d WHERE d.table_id = ? ORDER BY d.dir`).all(tableId) as { dir: string; naturalDir: string | null; moved: number; compacted: number }[];
    const live = dirs.filter((d) => d.naturalDir !== null || (!d.moved && !d.compacted && !d.dir.includes(`/${COMPACTED_ROOT}/`)));
    const filesIn = this.db.prepare(`SELECT COALESCE(f.partition_values, '[]') AS pv, COUNT(*) AS files, SUM(CASE WHEN b.committed_at <= ? THEN 1 ELSE 0 END) AS old
      FROM batch_files f JOIN batches b USING (batch_id) WHERE f.dir = ? AND b.table_id = ? AND b.state = 'committed'`);
    return live.flatMap(({ dir, naturalDir }) => {
      const r = filesIn.get(olderThan, dir, tableId) as { pv: string; files: number; old: number | null };
      return r.files === 0 ? [] : [{ naturalDir: naturalDir ?? dir, dir, partitionValues: JSON.parse(r.pv) as string[], files: r.files, oldFiles: r.old ?? 0 }];
    });
  }

  /**
   * Starts a compaction of the directory Hive reads for `naturalDir`: from this transaction on,
   * batches bound there are recorded in `newDir` (named for `nextCompactionId()`, and marked, before). Refused (undefined) while a recorded batch
   * still has to publish into the old directory, or another compaction of it is not switched yet.
   */
  planCompaction(tableId: number, naturalDir: string, partitionValues: readonly string[], newDir: string): Compaction | undefined {
    return this.write(() => {
      const oldDir = (this.db.prepare('SELECT current_dir FROM partition_dirs WHERE table_id = ? AND natural_dir = ?').pluck().get(tableId, naturalDir) as string | undefined) ?? naturalDir;
      const busy = this.db.prepare("SELECT COUNT(*) FROM compactions WHERE table_id = ? AND (natural_dir = ? AND state = 'planned' OR new_dir = ?)").pluck().get(tableId, naturalDir, naturalDir) as number;
      if (busy > 0) return undefined; // another compaction of it is under way, or it is not a natural directory
      const waiting = this.db.prepare(`SELECT COUNT(*) FROM batch_files f JOIN batches b USING (batch_id)
        WHERE b.table_id = ? AND b.state = 'written' AND f.final_path LIKE ? ESCAPE '\\'`).pluck()
        .get(tableId, likeUnder(oldDir)) as number;
      if (waiting > 0) return undefined;
      const now = Date.now();
      const id = Number(this.db.prepare(`INSERT INTO compactions (table_id, partition_values, natural_dir, old_dir, new_dir, state, planned_at)
        VALUES (?, ?, ?, ?, ?, 'planned', ?)`).run(tableId, JSON.stringify(partitionValues), naturalDir, oldDir, newDir, now).lastInsertRowid);
      this.moveDir(tableId, naturalDir, newDir);
      return { compactionId: id, tableId, partitionValues: [...partitionValues], naturalDir, oldDir, newDir, state: 'planned', plannedAt: now, switchedAt: null };
    });
  }

  /** The number the next planned compaction gets (its directory is named and marked before the plan). */
  nextCompactionId(): number {
    const seq = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'compactions'").pluck().get() as number | undefined;
    return (seq ?? 0) + 1;
  }

  /**
   * A compaction an earlier, lost ledger planned and did not switch (its directory's marker says so):
   * recorded as planned, so the compactor rolls it forward, and batches bound for its partition go to
   * its directory, as they did. Nothing if this ledger already has it.
   */
  adoptPlannedCompaction(tableId: number, c: { partitionValues: readonly string[]; naturalDir: string; oldDir: string; newDir: string }): void {
    this.write(() => {
      const known = this.db.prepare('SELECT COUNT(*) FROM compactions WHERE table_id = ? AND new_dir = ?').pluck().get(tableId, c.newDir) as number;
      if (known > 0) return;
      this.db.prepare(`INSERT INTO compactions (table_id, partition_values, natural_dir, old_dir, new_dir, state, planned_at)
        VALUES (?, ?, ?, ?, ?, 'planned', ?)`).run(tableId, JSON.stringify(c.partitionValues), c.naturalDir, c.oldDir, c.newDir, Date.now());
      this.moveDir(tableId, c.naturalDir, c.newDir);
    });
  }

  /** Inside a write transaction: batches bound for naturalDir are recorded in dir from now on. */
  private moveDir(tableId: number, naturalDir: string, dir: string): void {
    this.db.prepare(`INSERT INTO partition_dirs (table_id, natural_dir, current_dir) VALUES (?, ?, ?)
      ON CONFLICT (table_id, natural_dir) DO UPDATE SET current_dir = excluded.current_dir`).run(tableId, naturalDir, dir);
  }

  /** Batches bound for naturalDir go to currentDir from now on, unless this ledger already moved it itself. */
  adoptMovedDir(tableId: number, naturalDir: string, currentDir: string): void {
    this.write(() => {
      this.db.prepare('INSERT INTO partition_dirs (table_id, natural_dir, current_dir) VALUES (?, ?, ?) ON CONFLICT (table_id, natural_dir) DO NOTHING')
        .run(tableId, naturalDir, currentDir);
    });
  }

  /** Compactions not done yet: recovery rolls them forward. */
  openCompactions(tableId: number): Compaction[] {
    return (this.db.prepare(`SELECT compaction_id AS compactionId, table_id AS tableId, partition_values AS pv, natural_dir AS naturalDir, old_dir AS oldDir,
      new_dir AS newDir, state, planned_at AS plannedAt, switched_at AS switchedAt FROM compactions WHERE table_id = ? AND state IN ('planned', 'switched') ORDER BY compaction_id`)
      .all(tableId) as (Omit<Compaction, 'partitionValues'> & { pv: string })[])
      .map(({ pv, ...c }) => ({ ...c, partitionValues: JSON.parse(pv) as string[] }));
  }

  compactionSwitched(compactionId: number, counts: { inputFiles: number; outputFiles: number }): void {
    this.write(() => {
      this.db.prepare("UPDATE compactions SET state = 'switched', switched_at = ?, input_files = ?, output_files = ? WHERE compaction_id = ? AND state = 'planned'")
        .run(Date.now(), counts.inputFiles, counts.outputFiles, compactionId);
    });
  }

  /**
   * The compaction's old directory is cleaned. Its files are gone and nothing is recorded there again:
   * their rows go, with the batches they leave without files, and the compactor stops listing it. So
   * a compacted table's ledger holds the batches not compacted yet, not every batch it ever committed
   * (766 bytes a batch with HDFS paths).
   */
  compactionDone(compactionId: number): void {
    this.write(() => {
      this.db.prepare("UPDATE compactions SET state = 'done', done_at = ? WHERE compaction_id = ?").run(Date.now(), compactionId);
      const c = this.db.prepare(`SELECT c.table_id AS tableId, c.old_dir AS dir FROM compactions c WHERE c.compaction_id = ?
        AND NOT EXISTS (SELECT 1 FROM partition_dirs p WHERE p.table_id = c.table_id AND p.current_dir = c.old_dir)`).get(compactionId) as { tableId: number; dir: string } | undefined;
      if (!c) return;
      const batches = this.db.prepare(`SELECT DISTINCT f.batch_id FROM batch_files f JOIN batches b USING (batch_id)
        WHERE f.dir = ? AND b.table_id = ? AND b.state = 'committed'`).pluck().all(c.dir, c.tableId) as number[];
      const dropFiles = this.db.prepare('DELETE FROM batch_files WHERE batch_id = ? AND dir = ?');
      const dropEmptied = this.db.prepare('DELETE FROM batches WHERE batch_id = ? AND NOT EXISTS (SELECT 1 FROM batch_files f WHERE f.batch_id = batches.batch_id)');
      for (const id of batches) {
        dropFiles.run(id, c.dir);
        dropEmptied.run(id);
      }
      this.db.prepare('DELETE FROM batch_dirs WHERE table_id = ? AND dir = ?').run(c.tableId, c.dir);
    });
  }

  /**
   * Rebuilds next offsets from the offsets that published file names carry (`hive-kafka ledger
   * rebuild`): next = last offset + 1 per partition, never moving an offset backwards.
   */
  rebuildOffsets(tableId: number, lastOffsets: ReadonlyMap<number, number>): void {
    const upsert = this.db.prepare(`INSERT INTO partition_offsets (table_id, kafka_partition, next_offset) VALUES (?, ?, ?)
      ON CONFLICT (table_id, kafka_partition) DO UPDATE SET next_offset = MAX(next_offset, excluded.next_offset)`);
    this.write(() => { for (const [p, last] of lastOffsets) upsert.run(tableId, p, last + 1); });
  }
}

const STREAM_SELECT = `SELECT table_id AS tableId, db_name AS dbName, table_name AS tableName, spec_json AS specJson, layout_json AS layoutJson,
  desired_state AS desiredState, created_at AS createdAt, updated_at AS updatedAt, dropped_at AS droppedAt, cleaned_at AS cleanedAt, kafka_cluster_id AS kafkaClusterId, failure FROM streams`;

/** A LIKE pattern (ESCAPE '\\') for every path strictly below `dir`. */
function likeUnder(dir: string): string {
  return `${dir.replace(/[\\%_]/g, (c) => `\\${c}`)}/%`;
}
