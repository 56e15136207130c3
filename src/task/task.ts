// One ingestion task: owns some Kafka partitions of one table. It claims them in the ledger (fencing
// any predecessor), finishes what a predecessor left half-committed, then consumes from the ledger's
// offsets, decodes each record straight into the column arrays of the batch's Parquet files (one batch
// per Kafka partition, encoded a row group at a time as it fills) and commits a batch when it reaches
// kafka.batch.maxSize records or its oldest record has waited kafka.max.batch.period.ms.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type { Ledger } from '../ledger/ledger.ts';
import type { StreamSpec } from '../properties/parse.ts';
import { commitBatch, recover, stagingDir, type CommitDeps, type CommitFileSystem, type OutputFile } from '../sink/commit.ts';
import type { FileSystem } from '../sink/fs.ts';
import { StagedFile } from '../sink/staged-file.ts';
import { commitLedger, type FenceWrite } from './commit-ledger.ts';
import { ParquetFileWriter, parquetLayout, type ParquetLayout } from '../sink/parquet.ts';
import type { HiveValue } from '../sink/hive-types.ts';
import { defaultPartitionName, partitionDir } from '../sink/partition-path.ts';
import { bucketFileName, makeBucketer, type Bucketer } from '../sink/bucket.ts';
import { openDecoder, type Decoder } from '../format/decoder.ts';
import type { SchemaChange } from '../format/format.ts';
import type { SchemaRegistryLookup } from '../format/registries.ts';
import type { PartitionSource, SourceOptions, SourceRecord } from './source.ts';
import { OffsetGapError, RecordError, SchemaChangeRefused } from './errors.ts';
import type { KafkaAuth } from './kafka-auth.ts';
import { DEADLETTER_DIR, deadLetterLine } from '../system/tables.ts';

export interface HiveColumn { name: string; type: string }

/** What a task needs to know of the Hive table. */
export interface TableLayout {
  /** Table location as a path on the task's file system. */
  dir: string;
  columns: HiveColumn[];
  partitionKeys: HiveColumn[];
  /** CLUSTERED BY columns and INTO n BUCKETS; numBuckets <= 0 (HMS stores -1) or absent: not bucketed. */
  bucketColumns?: string[];
  numBuckets?: number;
  /** The table parameter bucketing_version as stored; absent reads as 1, as Hive reads it. */
  bucketingVersion?: string;
}

export interface TaskPlan {
  taskId: string;
  tableId: number;
  table: string; // db.table, for messages
  partitions: number[];
  spec: StreamSpec;
  layout: TableLayout;
  /** Kafka client ssl/sasl, from the table's credentials profile. */
  auth: KafkaAuth;
}

export interface TaskDeps extends Omit<CommitDeps, 'ledger' | 'fs'> {
  /** A batch's Parquet files are written in pieces as its row groups fill, not held whole in memory. */
  fs: CommitFileSystem & Pick<FileSystem, 'openDurably'>;
  ledger: Ledger;
  /** Called once when the task fails; the supervisor decides about a restart. */
  onFailure(error: Error): void;
  onCommitted?(partition: number, commit: CommitReport): void;
  /** Records refused under kafka.error.policy skip/deadletter, counted per committed batch. */
  onRejected?(partition: number, count: number): void;
  /** Once per task, when its first records arrive: the moment a CREATE or resume takes effect. */
  onConsuming?(): void;
  /** Where the task reads Kafka: a fetch loop shared with the worker's other tasks, or a client of its own. */
  openSource(options: SourceOptions): Promise<PartitionSource>;
  /** The first offset Kafka still holds per owned partition: deleted offsets below it are a gap. */
  logStartOffsets(partitions: readonly number[]): Promise<Map<number, number>>;
  /** A gap was found and written to the ledger. */
  onOffsetGap?(gap: OffsetGapReport): void;
  /** In a cluster: the fenced state log, written before the local ledger. */
  fence?: FenceWrite;
  /** Called as the task's own timer or commit begins to run: the worker's hang watch names the task a blocked thread ran last. */
  enter?(): void;
  /** Schema Registry clients, for kafka.value.format=avro. */
  registries: SchemaRegistryLookup;
  /** Adds columns to the Hive table through the metastore (schema evolution); returns the names it added. */
  addColumns(columns: { name: string; type: string }[]): Promise<string[]>;
  /** The table gained columns from a new writer schema; this partition waits for the restart the ALTER brings. */
  onSchemaEvolved?(partition: number, offset: number, change: Extract<SchemaChange, { kind: 'add' }>, added: string[]): void;
}

/** One committed batch, for the service's per-table metrics. */
export interface CommitReport { nextOffset: number; records: number; filtered: number; rejected: number; recordBytes: number; files: number; commitMs: number }

/** Offsets from..to of a partition that Kafka deleted before the table read them. */
export interface OffsetGapReport { partition: number; from: number; to: number; policy: 'fail' | 'skip' }

/** Records refused by the decoder under kafka.error.policy skip or deadletter. */
interface Rejected { offset: number; reason: string; value: Buffer | null; producedAtMs: number }

/** The rows of one output file of a batch: one Hive partition directory (and bucket). */
interface OutputGroup { dir: string; bucket: number | null; values: string[] | null; file: ParquetFileWriter; staged: StagedFile }

/** A batch being filled: its rows go straight into the Parquet writers of its output files, row group by row group. */
interface Buffered { partition: number; groups: Map<string, OutputGroup>; rows: number; bytes: number; filtered: number; rejected: Rejected[]; firstOffset: number; lastOffset: number; oldestAt: number }


export class IngestionTask {
  private source: PartitionSource | undefined;
  private readonly buffers = new Map<number, Buffered>();
  private flushChain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private epoch = 0;
  /**
   * In the names of its staged files beside the epoch, which each instance's ledger counts from 1: a
   * frozen former owner that wakes mid-batch must not write into its successor's file of the same first offset.
   */
  private readonly stagingTag = randomBytes(4).toString('hex');
  private failed = false;
  private decoder: Decoder | undefined;
  /** Partitions stopped at a new writer schema's first record: nothing more is taken until the task restarts. */
  private readonly held = new Set<number>();
  private readonly parquet: ParquetLayout;
  /** Scratch for one record's values, reused: rows exist only as columns in the writers. */
  private readonly row: HiveValue[];
  private readonly partitionValues: (string | null)[];
  private bucketOf: Bucketer | undefined;
  private consuming = false;
  /** Per partition, the offset the next record should have if nothing was deleted in between. */
  private readonly expected = new Map<number, number>();
  /**
   * Per partition, where the next batch's offset range begins: right after the batch before, so that a
   * partition's batches tile its offsets even where records are missing (transaction markers, aborted
   * or compacted records). File names carry these ranges; a RENAME's relocation follows them back.
   */
  private readonly nextBatchFrom = new Map<number, number>();

  private readonly commitDeps: CommitDeps;

  constructor(private readonly plan: TaskPlan, private readonly deps: TaskDeps) {
    this.parquet = parquetLayout(plan.layout.columns);
    this.row = new Array<HiveValue>(plan.layout.columns.length).fill(null);
    this.partitionValues = new Array<string | null>(plan.layout.partitionKeys.length).fill(null);
    this.commitDeps = { ...deps, ledger: commitLedger(deps.ledger, deps.fence) };
  }

  async start(): Promise<void> {
    const { plan, deps } = this;
    // Before claiming anything: a table whose buckets we cannot compute fails here, naming the column.
    const { bucketColumns = [], numBuckets = -1, bucketingVersion } = plan.layout;
    this.bucketOf = numBuckets > 0 ? makeBucketer({ table: plan.table, columns: plan.layout.columns, bucketColumns, numBuckets, bucketingVersion }) : undefined;
    // Likewise a mapping or time partitioning that cannot work with the table's columns, naming the position.
    this.decoder = await openDecoder(plan.spec, { table: plan.table, columns: plan.layout.columns, partitionKeys: plan.layout.partitionKeys }, deps.registries);
    this.epoch = deps.ledger.claimPartitions(plan.tableId, plan.partitions);
    await recover(this.commitDeps, plan.tableId, plan.layout.dir, plan.partitions);
    const next = deps.ledger.nextOffsets(plan.tableId);
    for (const p of plan.partitions) { this.expected.set(p, next.get(p) ?? 0); this.nextBatchFrom.set(p, next.get(p) ?? 0); }
    // A partition whose next offsets were deleted while the table was paused or stopped: found here
    // even when no record follows the gap yet.
    const starts = await deps.logStartOffsets(plan.partitions);
    for (const p of plan.partitions) await this.checkGap(p, starts.get(p));
    this.source = await deps.openSource({
      brokers: plan.spec.brokers,
      topic: plan.spec.topic,
      partitions: plan.partitions,
      // A fresh group per epoch: a killed predecessor's membership would otherwise hold the join back
      // for its whole session timeout. Offsets never come from the group, so nothing is lost.
      groupId: `hive-kafka.${plan.table}.${plan.tableId}.${plan.taskId}.e${this.epoch}`,
      readUncommitted: plan.spec.readUncommitted,
      clientOverrides: plan.spec.clientOverrides,
      auth: plan.auth,
      startOffsets: new Map(plan.partitions.map((p) => [p, next.get(p) ?? 0])),
      onRecords: (p, records, readTo) => this.append(p, records, readTo),
      onLogStartMoved: (p, logStart) => this.logStartMoved(p, logStart),
      onUnreadable: (p, error) => this.unreadable(p, error),
      onCrash: (e) => this.fail(e),
    });
    try {
      await this.source.start();
    } catch (e) {
      await this.source.stop().catch(() => undefined); // its client may be connected already
      throw e;
    }
    // A source may crash inside its start (a failed group join): no timer for a failed task, which no one would stop.
    if (this.failed) return;
    const tick = Math.max(50, Math.min(1000, Math.floor(plan.spec.maxBatchPeriodMs / 4)));
    this.timer = setInterval(() => this.flushDue(), tick);
  }

  /** Commits what is buffered, then stops consuming: used for pause, reconfigure and drop. */
  async stop(opts: { commitBuffered: boolean }): Promise<void> {
    clearInterval(this.timer);
    await this.source?.stop();
    if (opts.commitBuffered && !this.failed) {
      for (const p of this.buffers.keys()) this.enqueueFlush(p);
    }
    await this.flushChain.catch(() => undefined);
    this.abandonBuffered();
  }

  get ownerEpoch(): number { return this.epoch; }

  /**
   * Both Kafka clients move on to the log start when their offset was deleted, and a read_committed
   * fetch skips offsets too (transaction markers, aborted records; compaction). Only deletion moves
   * the log start past the offset we expected, so that is what tells a gap from a normal jump. Kafka
   * deletes only a prefix of a partition, so the first record of a fetch is the only one to check.
   */
  private async checkGap(partition: number, logStart: number | undefined): Promise<void> {
    const expected = this.expected.get(partition) ?? 0;
    if (logStart === undefined || logStart <= expected) return;
    const { plan, deps } = this;
    const gap = { partition, from: expected, to: logStart - 1, policy: plan.spec.offsetGapPolicy };
    // Durable before any record after the gap is committed; a gap noticed again after a restart is not new.
    if (deps.ledger.recordGap({ tableId: plan.tableId, kafkaPartition: partition, firstOffset: gap.from, lastOffset: gap.to, policy: gap.policy })) deps.onOffsetGap?.(gap);
    if (gap.policy === 'fail') {
      // Commit what came before the gap, so the table stops exactly at it.
      this.enqueueFlush(partition);
      await this.flushChain;
      throw this.fail(new OffsetGapError(plan.table, plan.spec.topic, partition, gap.from, gap.to));
    }
    this.expected.set(partition, logStart);
  }

  /** Offsets this task had not read yet were deleted: recorded (or stopped at) now, not at the next record. */
  private async logStartMoved(partition: number, logStart: number): Promise<void> {
    if (this.failed || this.held.has(partition)) return;
    await this.checkGap(partition, logStart);
  }

  /** The partition's next batch cannot be read: what came before it commits, and the table stops exactly at it (as at a bad record under fail). */
  private async unreadable(partition: number, error: Error): Promise<void> {
    if (this.failed || this.held.has(partition)) return;
    this.commitBufferedOf(partition);
    await this.flushChain;
    throw this.fail(error);
  }

  private commitBufferedOf(partition: number): void {
    const b = this.buffers.get(partition);
    if (!b) return;
    if (b.rows + b.filtered + b.rejected.length === 0) this.buffers.delete(partition);
    else this.enqueueFlush(partition);
  }

  /** `readTo`: every offset below it was read, the records' trailing transaction markers and aborted records included. */
  private async append(partition: number, records: SourceRecord[], readTo?: number): Promise<void> {
    const { plan } = this;
    if (this.failed || this.held.has(partition)) return;
    const change = records.length === 0 ? undefined : await this.decoder!.prepare(records);
    if (change) records = records.slice(0, change.index);
    const first = records[0];
    if (first && first.offset > (this.expected.get(partition) ?? 0)) {
      await this.checkGap(partition, (await this.deps.logStartOffsets([partition])).get(partition));
    }
    if (records.length > 0) this.expected.set(partition, records[records.length - 1]!.offset + 1);
    if (!this.consuming && records.length > 0) { this.consuming = true; this.deps.onConsuming?.(); }
    let b = this.buffers.get(partition);
    // The commits before the last full batch of these records: that batch commits while the next fills.
    let committedBefore: Promise<void> | undefined;
    for (const r of records) {
      if (!b) { b = { partition, groups: new Map(), rows: 0, bytes: 0, filtered: 0, rejected: [], firstOffset: this.nextBatchFrom.get(partition) ?? r.offset, lastOffset: r.offset, oldestAt: Date.now() }; this.buffers.set(partition, b); }
      try {
        if (this.decoder!.decode(r, partition, this.row, this.partitionValues) === 'row') {
          this.groupFor(b).file.append(this.row, r.value?.byteLength ?? 0);
          b.rows++;
        } else {
          b.filtered++;
        }
      } catch (e) {
        const reason = (e as Error).message;
        if (plan.spec.errorPolicy === 'fail') {
          // Commit what came before the bad record, so the table stops exactly at it.
          this.commitBufferedOf(partition);
          await this.flushChain;
          throw this.fail(new RecordError(plan.spec.topic, partition, r.offset, reason));
        }
        // Only a dead letter keeps the value, as a copy: the record's bytes are a view into a fetch
        // response the batch should not keep alive. Under skip a batch of bad records holds no values.
        const kept = plan.spec.errorPolicy === 'deadletter' && r.value !== null ? Buffer.from(r.value) : null;
        b.rejected.push({ offset: r.offset, reason, value: kept, producedAtMs: r.timestamp });
      }
      b.lastOffset = r.offset; // a refused record still belongs to the batch's offset range
      b.bytes += r.value?.byteLength ?? 0;
      // kafka.batch.maxSize is a hard limit: a fetch larger than the rest of the batch is split.
      if (b.rows + b.filtered + b.rejected.length >= plan.spec.batchMaxSize) {
        committedBefore = this.enqueueFlush(partition);
        b = undefined;
      }
    }
    // Offsets after the last record that hold none: the open batch takes them in (its range ends
    // after them), so that the ledger does not wait at a transaction's marker, which retention may
    // delete with no record lost (the table would stop there on a gap that is none). Without an open
    // batch they wait for the next one's range: a batch of no file would stop the walk by file names
    // that follows a RENAME (src/sink/relocate.ts).
    if (readTo !== undefined && !change && readTo > (this.expected.get(partition) ?? 0)) {
      this.expected.set(partition, readTo);
      if (b) b.lastOffset = readTo - 1;
    }
    const open = this.buffers.get(partition);
    if (open) await this.spill(open);
    if (change) return this.schemaChanged(partition, change);
    // Backpressure: this partition fetches nothing more until the batches before the one just enqueued
    // are committed. That one commits while the next fills (on HDFS a commit is a whole file over
    // WebHDFS), so at most two batches of a task are in flight.
    if (committedBefore) await committedBefore;
  }

  /**
   * A record written with a schema the table does not have: what came before it is committed first,
   * so the table changes exactly at that record. Then the columns are added through the metastore and
   * this partition waits: the ALTER's notice restarts the table's tasks with the new columns, from the
   * ledger's offsets. A change the compatibility mode forbids fails the table there.
   */
  private async schemaChanged(partition: number, change: SchemaChange): Promise<void> {
    this.held.add(partition);
    this.enqueueFlush(partition);
    await this.flushChain;
    if (this.failed) return;
    const next = this.deps.ledger.nextOffsets(this.plan.tableId).get(partition) ?? 0;
    if (change.kind === 'refuse') {
      throw this.fail(new SchemaChangeRefused(this.plan.table, this.plan.spec.topic, partition, next, change.reason));
    }
    const added = await this.deps.addColumns(change.columns);
    this.deps.onSchemaEvolved?.(partition, next, change, added);
  }

  /** The output file of the record just decoded into the scratch row: by Hive partition, and bucket when the table is bucketed. */
  private groupFor(b: Buffered): OutputGroup {
    const { partitionKeys } = this.plan.layout;
    const bucket = this.bucketOf ? this.bucketOf(this.row) : null;
    const pv = this.partitionValues;
    const key = partitionKeys.length === 0 ? String(bucket) : `${JSON.stringify(pv)}${bucket ?? ''}`;
    let g = b.groups.get(key);
    if (!g) {
      const dir = partitionKeys.length === 0 ? '' : partitionDir(partitionKeys.map((k) => k.name), pv);
      const { fs } = this.deps;
      // The batch's encoded row groups wait in staging, not in memory.
      const staged = new StagedFile(posix.join(stagingDir(this.plan.layout.dir, b.partition), `${b.firstOffset}-g${b.groups.size}.${this.epoch}-${this.stagingTag}.tmp`), fs);
      g = { dir, bucket, values: partitionKeys.length === 0 ? null : pv.map((v) => v ?? defaultPartitionName), file: new ParquetFileWriter(this.parquet), staged };
      b.groups.set(key, g);
    }
    return g;
  }

  /** Writes the row groups encoded so far to the batch's staged files. */
  private async spill(b: Buffered): Promise<void> {
    const writes: Promise<void>[] = [];
    for (const g of b.groups.values()) writes.push(g.staged.write(g.file.takeEncoded()));
    await Promise.all(writes);
  }

  private flushDue(): void {
    this.deps.enter?.();
    const now = Date.now();
    for (const [p, b] of this.buffers) if (now - b.oldestAt >= this.plan.spec.maxBatchPeriodMs) this.enqueueFlush(p);
  }

  /** Queues the partition's batch for commit; resolves when what was queued before it is committed. */
  private enqueueFlush(partition: number): Promise<void> {
    const before = this.flushChain;
    const batch = this.buffers.get(partition);
    if (!batch) return before;
    this.buffers.delete(partition); // later records start a new batch, where this one ends
    this.nextBatchFrom.set(partition, batch.lastOffset + 1);
    this.flushChain = this.flushChain.then(() => this.commit(partition, batch)).catch((e: Error) => { this.fail(e); });
    return before;
  }

  private async commit(partition: number, b: Buffered): Promise<void> {
    if (this.failed) { abandon(b); return; }
    const { plan, deps } = this;
    deps.enter?.();
    const total = b.rows + b.filtered + b.rejected.length;
    if (b.rejected.length > 0 && b.rejected.length / total > plan.spec.errorMaxRatio) {
      const first = b.rejected[0]!;
      abandon(b); // its staged files: left open, a streamed HDFS upload kept its DataNode request open for good
      throw new RecordError(plan.spec.topic, partition, first.offset,
        `${first.reason}; ${b.rejected.length} of ${total} records in offsets ${b.firstOffset}..${b.lastOffset} were refused, more than kafka.error.max.ratio=${plan.spec.errorMaxRatio}`);
    }
    const name = `${plan.spec.topic}+${partition}+${b.firstOffset}+${b.lastOffset}.parquet`;
    // One file per Hive partition directory, and per bucket when the table is bucketed.
    const files: OutputFile[] = [...b.groups.values()].map((g) => ({
      dir: g.dir === '' ? plan.layout.dir : posix.join(plan.layout.dir, g.dir),
      finalName: g.bucket === null ? name : bucketFileName(g.bucket, name),
      partitionValues: g.values,
      bucket: g.bucket,
      content: { hiddenPath: g.staged.hiddenPath, close: () => g.staged.close(g.file.finish()) },
    }));
    if (plan.spec.errorPolicy === 'deadletter' && b.rejected.length > 0) {
      const rejectedAtMs = Date.now();
      const lines = b.rejected.map((x) => deadLetterLine({ topic: plan.spec.topic, partition, offset: x.offset, reason: x.reason, value: x.value, producedAtMs: x.producedAtMs, rejectedAtMs }));
      files.push({ dir: posix.join(plan.layout.dir, DEADLETTER_DIR), finalName: name.replace(/\.parquet$/, '.jsonl'), partitionValues: null, bucket: null,
        content: { bytes: Buffer.from(`${lines.join('\n')}\n`) } });
    }
    const startedAt = performance.now();
    try {
      await commitBatch(this.commitDeps, {
        tableId: plan.tableId, tableDir: plan.layout.dir, stagingTag: this.stagingTag, kafkaPartition: partition, firstOffset: b.firstOffset,
        lastOffset: b.lastOffset, recordCount: b.rows, filteredCount: b.filtered, rejectedCount: b.rejected.length, ownerEpoch: this.epoch, files,
      });
    } catch (e) {
      abandon(b); // a file after the one whose close failed is still open (closing a closed one again does nothing)
      throw e;
    }
    if (b.rejected.length > 0) deps.onRejected?.(partition, b.rejected.length);
    await this.source?.committed(partition, b.lastOffset + 1);
    deps.onCommitted?.(partition, { nextOffset: b.lastOffset + 1, records: b.rows, filtered: b.filtered, rejected: b.rejected.length,
      recordBytes: b.bytes, files: files.length, commitMs: performance.now() - startedAt });
  }

  /** Batches that will not commit now; what they staged is removed by the next recovery. */
  private abandonBuffered(): void {
    for (const b of this.buffers.values()) abandon(b);
    this.buffers.clear();
  }

  private fail(error: Error): Error {
    if (!this.failed) {
      this.failed = true;
      clearInterval(this.timer);
      void this.source?.stop().catch(() => undefined);
      this.abandonBuffered();
      this.deps.onFailure(error);
    }
    return error;
  }
}

/** A batch that will not commit: its staged files are closed here and removed by the next recovery. */
function abandon(b: Buffered): void {
  for (const g of b.groups.values()) g.staged.abandon();
}
