// The service: metastore watcher -> ledger -> supervisor -> tasks. This file only wires the parts
// together; each part's rules live in its own module.
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram } from 'prom-client';
import { Ledger, type StreamRow } from './ledger/ledger.ts';
import { WriteTurns } from './ledger/write-turns.ts';
import { adoptCompactedLocation, adoptCompactedPartitions } from './ledger/rebuild.ts';
import { classifyUpsert } from './lifecycle/classify.ts';
import { transition } from './lifecycle/states.ts';
import { MetastoreClient } from './metastore/client.ts';
import { NotificationWatcher, type TableNotice } from './metastore/watcher.ts';
import type { Partition, Table } from './metastore/types.ts';
import type { StreamSpec } from './properties/parse.ts';
import { streamRecord, tableLocation, type StoredLayout } from './properties/stream.ts';
import { removeDroppedFiles } from './sink/dropped.ts';
import { compactionStaging } from './sink/compact.ts';
import { fileSystems, type FileSystems, type HdfsSettings } from './sink/fs.ts';
import { stateOf, Supervisor } from './lifecycle/supervisor.ts';
import { WorkerPool } from './lifecycle/worker-pool.ts';
import { kafkaAuth, type CredentialsProfiles } from './task/kafka-auth.ts';
import { topicOffsets } from './task/topic-offsets.ts';
import type { RegistryProfiles } from './format/registries.ts';
import type { KafkaClientName } from './task/source.ts';
import { ClusterOwnership, StandaloneOwnership, type ClusterSettings, type ClusterStatus, type Ownership } from './cluster/ownership.ts';
import { Compactor } from './lifecycle/compactor.ts';
import { crashHook } from './sink/crash-points.ts';
import { lagSeconds, type ProducedAtAnswer } from './observe/lag-seconds.ts';
import type { ProducedAt } from './observe/produced-at.ts';
import { RecordRate } from './observe/record-rate.ts';
import { forgetGoneTables } from './observe/table-series.ts';
import { relocate } from './sink/relocate.ts';
import { metastoreCatalog } from './system/catalog.ts';
import { SystemTables } from './system/publisher.ts';
import { DEADLETTER_DIR } from './system/tables.ts';
import { historyKey, type SystemSnapshot } from './system/rows.ts';
import { statusView, type StatusView } from './observe/status-view.ts';

const rejectedRecords = new Counter({ name: 'hive_kafka_records_rejected_total', help: 'Records refused by the decoder under kafka.error.policy skip or deadletter', labelNames: ['table'] });
// Per table, from each committed batch (the task's CommitReport) and each task failure.
const commits = new Counter({ name: 'hive_kafka_commits_total', help: 'Batches committed', labelNames: ['table'] });
const storedRecords = new Counter({ name: 'hive_kafka_records_total', help: 'Records committed as rows', labelNames: ['table'] });
const filteredRecords = new Counter({ name: 'hive_kafka_records_filtered_total', help: 'Records consumed but not stored: filtered out by kafka.mapping, or CSV header rows', labelNames: ['table'] });
const recordBytes = new Counter({ name: 'hive_kafka_record_bytes_total', help: 'Bytes of the record values of committed batches', labelNames: ['table'] });
const filesPublished = new Counter({ name: 'hive_kafka_files_total', help: 'Files published by committed batches (data and dead letters)', labelNames: ['table'] });
const commitSeconds = new Histogram({ name: 'hive_kafka_commit_duration_seconds', help: 'Time to commit a batch: hidden write, intent, publish, partition registration, ledger', labelNames: ['table'],
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
const taskFailures = new Counter({ name: 'hive_kafka_task_failures_total', help: 'Task failures, by whether the supervisor restarts the task (retriable) or fails the table', labelNames: ['table', 'retriable'] });
/** Filled at each scrape by the running service: records between the ledger's next offset and Kafka's log end, and the age of the oldest unread one. */
let lagOf: (() => Promise<{ table: string; partition: number; lag: number; lagSeconds: number | undefined }[]>) | undefined;
let lagScrape: ReturnType<NonNullable<typeof lagOf>> | undefined;
/** Both lag gauges are filled from one look at Kafka per scrape. */
const scrapeLag = () => (lagScrape ??= (lagOf?.() ?? Promise.resolve([])).finally(() => { setImmediate(() => { lagScrape = undefined; }); }));
new Gauge({ name: 'hive_kafka_lag_records', help: 'Records between the committed offset and the log end, per Kafka partition of each table this service runs', labelNames: ['table', 'partition'],
  async collect() {
    this.reset();
    for (const l of await scrapeLag()) this.set({ table: l.table, partition: String(l.partition) }, l.lag);
  } });
new Gauge({ name: 'hive_kafka_lag_seconds', help: 'Seconds since the oldest record not yet committed was produced (0 when caught up), per Kafka partition of each table this service runs', labelNames: ['table', 'partition'],
  async collect() {
    this.reset();
    for (const l of await scrapeLag()) if (l.lagSeconds !== undefined) this.set({ table: l.table, partition: String(l.partition) }, l.lagSeconds);
  } });
/** Filled at each scrape: records per second committed over the last minute, per table. */
let ratesOf: (() => { table: string; perSecond: number }[]) | undefined;
new Gauge({ name: 'hive_kafka_records_per_second', help: 'Records committed per second over the last minute, per table this service runs', labelNames: ['table'],
  collect() {
    this.reset();
    for (const r of ratesOf?.() ?? []) this.set({ table: r.table }, r.perSecond);
  } });
const compactions = new Counter({ name: 'hive_kafka_compactions_total', help: 'Partition directories compacted (switched to their merged files)', labelNames: ['table'] });
const compactedFiles = new Counter({ name: 'hive_kafka_compacted_files_total', help: 'Files compactions replaced (input) and wrote (output)', labelNames: ['table', 'side'] });
const gapOffsets = new Counter({ name: 'hive_kafka_offset_gap_offsets_total', help: 'Offsets Kafka deleted before the table read them (retention, deleteRecords), by kafka.offset.gap.policy', labelNames: ['table', 'partition', 'policy'] });
/** Every series above that names a table: forgotten when the table is dropped or renamed. */
const perTableSeries = [rejectedRecords, commits, storedRecords, filteredRecords, recordBytes, filesPublished, commitSeconds, taskFailures, compactions, compactedFiles, gapOffsets];

/** How long before a DROP was applied a dropped table's batches may have been committed after Hive's purge. */
const LATE_WINDOW_MS = 10 * 60_000;

/** Two spellings of one location (a trailing slash aside). */
const sameLocation = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

export interface ServiceConfig {
  metastoreUri: string;
  ledgerPath: string;
  metastoreTimeoutMs: number;
  pollIntervalMs: number;
  hungTaskMs: number;
  tableFilter: string;
  credentialsProfiles: CredentialsProfiles;
  /** Schema Registries avro tables name by kafka.schema.registry.profile; default none. */
  schemaRegistries?: RegistryProfiles;
  /** The Kafka client tasks read with; the supervisor's admin calls always use kafkajs. */
  kafkaClient: KafkaClientName;
  /** WebHDFS addresses of the hdfs: authorities table locations name. */
  hdfs: HdfsSettings;
  /** Worker threads the tasks share. */
  workerThreads: number;
  /** This service's name in holder files, cluster status and the state log. */
  instanceId: string;
  /** Several instances sharing the tables; absent: this one runs every table it can hold. */
  cluster?: ClusterSettings;
  /** The Hive system tables; absent or disabled: none. */
  systemTables?: { enabled: boolean; database: string; location?: string; periodMs: number; graceMs: number; staleMs?: number };
  /** Small-file compaction rounds; absent: the defaults. */
  compaction?: { periodMs: number; graceMs: number };
}


export interface PartitionOffsets {
  partition: number;
  committed: number;
  logEnd: number | undefined;
  lag: number | undefined;
  lagSeconds: number | undefined;
  lastCommitAt: number | undefined;
}

export class Service {
  readonly ledger: Ledger;
  readonly supervisor: Supervisor;
  private readonly watcher: NotificationWatcher;
  private readonly admins = new Map<string, Promise<Admin>>();
  private readonly manages: RegExp;
  private readonly credentialsProfiles: CredentialsProfiles;
  private readonly fileSystems: FileSystems;
  /** Test builds only (HIVE_KAFKA_CRASH_AT=relocation-started): dies where a RENAME's move begins. */
  private readonly reachedRelocation = crashHook();
  private readonly workers: WorkerPool;
  private readonly ownership: Ownership;
  readonly kafkaClient: KafkaClientName;
  /** One lag probe per Kafka connection, as admins. */
  private readonly probes = new Map<string, Promise<ProducedAt>>();
  private readonly rates = new Map<number, RecordRate>();
  private readonly compactor: Compactor | undefined;
  private readonly systemTables: SystemTables | undefined;
  private systemTimer: NodeJS.Timeout | undefined;
  private systemRound: Promise<void> = Promise.resolve();

  constructor(private readonly config: ServiceConfig, private readonly log: Logger) {
    this.kafkaClient = config.kafkaClient;
    this.fileSystems = fileSystems(config.hdfs);
    const ledgerTurns = WriteTurns.create();
    this.ledger = Ledger.open(config.ledgerPath, { turns: ledgerTurns });
    this.workers = new WorkerPool({
      threads: config.workerThreads,
      init: { ledgerPath: config.ledgerPath, ledgerTurns: ledgerTurns.buffer, metastoreUri: config.metastoreUri, metastoreTimeoutMs: config.metastoreTimeoutMs, heartbeatMs: 1000,
        credentialsProfiles: config.credentialsProfiles, schemaRegistries: config.schemaRegistries ?? {}, kafkaClient: config.kafkaClient, hdfs: config.hdfs },
    });
    this.manages = new RegExp(config.tableFilter);
    this.credentialsProfiles = config.credentialsProfiles;
    const common = { ledger: this.ledger, fileSystems: this.fileSystems, instanceId: config.instanceId, log: log.child({ part: 'cluster' }) };
    this.ownership = config.cluster
      ? new ClusterOwnership(common, config.cluster, () => { for (const s of this.ledger.listStreams()) void this.supervisor.notify(s.tableId); })
      : new StandaloneOwnership(common);
    this.supervisor = new Supervisor({
      ownership: this.ownership,
      ledger: this.ledger,
      log: log.child({ part: 'supervisor' }),
      partitionCount: (spec) => this.partitionCount(spec),
      offsetsProblem: (tableId, spec) => this.offsetsProblem(tableId, spec),
      initOffsets: (tableId, spec, partitions) => this.initOffsets(tableId, spec, partitions),
      startTask: (tableId, assignment, onFailure) => {
        const started = this.ledger.getStream(tableId)!;
        // Its name now: a RENAME reaches the ledger before the task's last commits under the old one.
        const name = () => { const s = this.ledger.getStream(tableId) ?? started; return `${s.dbName}.${s.tableName}`; };
        const token = this.ownership.tokenOf(tableId);
        return this.workers.startTask(
          { tableId, taskId: assignment.taskId, partitions: assignment.partitions, fenced: token !== undefined },
          {
            onFailure: (failure) => {
              taskFailures.inc({ table: name(), retriable: String(failure.retriable) });
              onFailure(failure);
            },
            onCommitted: (_partition, c) => {
              const table = { table: name() };
              this.rateOf(tableId).add(Date.now(), c.records);
              commits.inc(table);
              storedRecords.inc(table, c.records);
              filteredRecords.inc(table, c.filtered);
              recordBytes.inc(table, c.recordBytes);
              filesPublished.inc(table, c.files);
              commitSeconds.observe(table, c.commitMs / 1000);
            },
            fence: (partition, state) => this.ownership.record(tableId, token, new Map([[partition, state]])),
            onConsuming: () => log.info({ table: name(), taskId: assignment.taskId, partitions: assignment.partitions }, 'task consuming'),
            onRejected: (partition, count) => {
              rejectedRecords.inc({ table: name() }, count);
              this.ledger.recordError(tableId, 'records', `${count} records of partition ${partition} refused under kafka.error.policy (deadletter keeps them)`);
            },
            onSchemaEvolved: (e) => {
              log.info({ table: name(), partition: e.partition, offset: e.offset, added: e.added }, `new writer schema: ${e.reason}; the table restarts with the new columns`);
            },
            onOffsetGap: (gap) => {
              const table = name();
              gapOffsets.inc({ table, partition: String(gap.partition), policy: gap.policy }, gap.to - gap.from + 1);
              log.warn({ table, ...gap }, 'offsets deleted by Kafka before the table read them');
            },
          },
        );
      },
      hungTaskMs: config.hungTaskMs,
      cleanup: (tableId) => this.cleanup(tableId),
      waitsForDropped: (tableId, cleanupsDue) => this.waitsForDropped(tableId, cleanupsDue),
      relocate: (tableId) => this.relocate(tableId),
    });
    lagOf = async () => {
      // Paused tables too: their lag is what grows while they wait. Tables side by side, as status.
      const held = this.ledger.listStreams().filter((s) => this.runsHere(s.tableId));
      const offsets = await Promise.all(held.map((s) => this.offsets(s.tableId)));
      return held.flatMap((s, i) => offsets[i]!.filter((o) => o.lag !== undefined)
        .map((o) => ({ table: `${s.dbName}.${s.tableName}`, partition: o.partition, lag: o.lag!, lagSeconds: o.lagSeconds })));
    };
    ratesOf = () => this.ledger.listStreams().filter((s) => this.runsHere(s.tableId))
      .map((s) => ({ table: `${s.dbName}.${s.tableName}`, perSecond: this.rateOf(s.tableId).perSecond(Date.now()) }));
    const connectMetastore = () => MetastoreClient.connect(config.metastoreUri, { timeoutMs: config.metastoreTimeoutMs });
    // Compaction moves directories Hive reads and keeps its steps in the local ledger: a new owner of
    // the table could not roll it forward. In a cluster it needs portable state, not done yet (README, Limits).
    if (!config.cluster) {
      const compaction = config.compaction ?? { periodMs: 30_000, graceMs: 3_600_000 };
      this.compactor = new Compactor({
        ledger: this.ledger, fileSystems: this.fileSystems, log: log.child({ part: 'compactor' }),
        runsHere: (id) => this.runsHere(id),
        partitionLocation: async (db, table, values) => {
          const client = await connectMetastore();
          try {
            return values.length === 0 ? (await client.getTable(db, table)).storage.location : (await client.getPartition(db, table, values))?.storage.location;
          } finally { client.close(); }
        },
        setPartitionLocation: async (db, table, values, location) => {
          const client = await connectMetastore();
          try {
            // An unpartitioned table's switch reaches the watcher as an ALTER_TABLE it recognises (upsert).
            if (values.length === 0) await client.setTableLocation(db, table, location);
            else await client.setPartitionLocation(db, table, values, location);
          } finally { client.close(); }
        },
        graceMs: compaction.graceMs, periodMs: compaction.periodMs,
        onCompacted: (table, counts) => {
          compactions.inc({ table });
          compactedFiles.inc({ table, side: 'input' }, counts.inputFiles);
          compactedFiles.inc({ table, side: 'output' }, counts.outputFiles);
        },
        reached: crashHook(),
      });
    }
    if (config.systemTables?.enabled) {
      // Each instance writes only its own partition of each system table, so a cluster needs no elected writer.
      const system = config.systemTables;
      this.systemTables = new SystemTables({ catalog: metastoreCatalog(connectMetastore), fileSystems: this.fileSystems, database: system.database,
        location: system.location, graceMs: system.graceMs, instance: config.instanceId, refreshMs: system.periodMs, staleMs: system.staleMs ?? Math.max(60_000, 3 * system.periodMs),
        log: log.child({ part: 'system-tables' }) });
    }
    this.watcher = new NotificationWatcher({
      connect: () => MetastoreClient.connect(config.metastoreUri, { timeoutMs: config.metastoreTimeoutMs }),
      readCursor: () => this.ledger.watcherCursor(),
      writeCursor: (id) => this.ledger.setWatcherCursor(id),
      onNotice: (n) => this.onNotice(n),
      logger: log.child({ part: 'watcher' }),
      pollIntervalMs: config.pollIntervalMs,
    });
  }

  async start(): Promise<void> {
    // Worker threads up before the first table: a CREATE then waits for no thread to load.
    await this.workers.warm();
    await this.ownership.start();
    this.supervisor.start();
    this.watcher.start();
    this.compactor?.start();
    if (this.systemTables) {
      const period = this.config.systemTables!.periodMs;
      // One round at a time, the next a period after this one began: a slow metastore delays rounds
      // instead of queueing them (a queue would also hold up stop()).
      const round = (first: boolean) => {
        const began = Date.now();
        this.systemRound = this.publishSystemTables(first).then(() => {
          if (!this.stopping) this.systemTimer = setTimeout(() => round(false), Math.max(0, period - (Date.now() - began)));
        });
      };
      round(true);
    }
  }

  private stopping = false;

  /** Commits what the tasks hold, gives the tables up, then leaves the cluster: its other members take them at once. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.systemTimer);
    await this.systemRound;
    await this.compactor?.stop();
    await this.watcher.stop();
    await this.supervisor.stop();
    this.log.info('every table committed and stopped');
    await this.workers.close();
    await this.ownership.stop();
    for (const admin of this.admins.values()) await admin.then((a) => a.disconnect()).catch(() => undefined);
    for (const probe of this.probes.values()) await probe.then((p) => p.close()).catch(() => undefined);
    this.ledger.close();
  }

  // ---- metastore notices -> ledger -> supervisor ---------------------------------------------

  private async onNotice(n: TableNotice): Promise<void> {
    if (n.kind === 'upsert') {
      // Another service may own tables outside the filter: two services on one table would both write it.
      // A table this service already runs stays its own under any new name: the filter picks new tables.
      const known = n.table.id !== undefined && this.ledger.getStream(Number(n.table.id)) !== undefined;
      if (!known && !this.manages.test(`${n.table.dbName}.${n.table.tableName}`)) return;
      return this.upsert(n.table, n.cause);
    }
    if (n.kind === 'drop') {
      const stream = n.tableId !== undefined ? this.ledger.getStream(Number(n.tableId))
        : this.ledger.listStreams().find((s) => s.dbName === n.dbName && s.tableName === n.tableName);
      if (!stream) return;
      const t = transition(stateOf(stream), 'drop');
      if (t.next === 'dropped' && stream.desiredState !== 'dropped') this.ledger.fromMetastore(() => this.ledger.setDesiredState(stream.tableId, 'dropped', t.history ?? 'dropped'));
      await this.supervisor.notify(stream.tableId);
      return;
    }
    const live = new Set(n.liveTableIds.map(Number));
    for (const s of this.ledger.listStreams()) {
      if (!live.has(s.tableId)) {
        this.ledger.fromMetastore(() => this.ledger.setDesiredState(s.tableId, 'dropped', transition(stateOf(s), 'drop').history ?? 'dropped', { reason: 'gone from the metastore at resync' }));
        await this.supervisor.notify(s.tableId);
      }
    }
  }

  private async upsert(table: Table, cause: string): Promise<void> {
    const record = streamRecord(table);
    if (!record.ok) {
      // The Hive hook refuses such DDL; this is a table changed behind its back. Keep the last good state.
      this.log.error({ table: `${table.dbName}.${table.tableName}` }, record.message);
      const known = table.id !== undefined && this.ledger.getStream(Number(table.id));
      this.ledger.recordError(known ? Number(table.id) : null, 'properties', record.message);
      return;
    }
    const { tableId, spec, layout } = record;
    const before = this.ledger.getStream(tableId);
    const known = before && { spec: JSON.parse(before.specJson) as StreamSpec, layout: JSON.parse(before.layoutJson) as StoredLayout };
    const change = classifyUpsert(known, { spec, layout }, { byUser: cause !== 'resync' });
    if (known && change.event === 'alter:none' && layout.compactedLocation !== known.layout.compactedLocation) {
      // The notice of a compaction's own switch of an unpartitioned table: remembered, nothing else (on a
      // failed table 'alter:none' would mean "retry").
      this.ledger.upsertStream({ tableId, dbName: table.dbName, tableName: table.tableName, specJson: before!.specJson, layoutJson: JSON.stringify(layout), desiredState: before!.desiredState });
      this.log.info({ table: `${table.dbName}.${table.tableName}`, cause, readsAt: layout.compactedLocation }, 'table notice: compaction switched where Hive reads the table');
      return;
    }
    const state = stateOf(before);
    const t = transition(state, change.event);
    this.log.info({ table: `${table.dbName}.${table.tableName}`, cause, event: change.event, from: state, to: t.next }, 'table notice');
    const desiredState = t.next === 'paused' ? 'paused' : 'running';
    // Read before anything is recorded: if it fails, the watcher retries the notice as new.
    const partitions = known ? [] : await this.partitionsToAdopt(layout);
    // Every member of a cluster records this notice; the history table shows it once (README, "System tables").
    // The stream row, a RENAME's relocation and the history row together: a crash between them would
    // leave a notice that classifies as "nothing changed" when replayed, its relocation never recorded.
    this.ledger.fromMetastore(() => this.ledger.atomically(() => this.recordUpsert(table, record, before, change, t, desiredState)));
    if (change.event === 'rename' || change.detail?.renamedFrom !== undefined) await this.forgetGoneSeries();
    // A table compacted by an earlier ledger: its batches go where Hive reads it. After the stream's row
    // exists (the directory rows refer to it), before any task of it starts.
    if (!known && this.ledger.getStream(tableId)) {
      const fsFor = (l: string) => this.fileSystems.for(l, `${layout.dbName}.${layout.tableName}`);
      adoptCompactedLocation(this.ledger, tableId, layout, fsFor);
      adoptCompactedPartitions(this.ledger, tableId, layout, partitions, fsFor);
    }
    await this.supervisor.notify(tableId);
  }

  /** Where Hive reads each partition of a table this ledger has not met (compacted by an earlier ledger?). */
  private async partitionsToAdopt(layout: StoredLayout): Promise<Partition[]> {
    if (layout.partitionKeys.length === 0) return [];
    const client = await MetastoreClient.connect(this.config.metastoreUri, { timeoutMs: this.config.metastoreTimeoutMs });
    try { return await client.getPartitions(layout.dbName, layout.tableName); } finally { client.close(); }
  }

  private recordUpsert(table: Table, { tableId, spec, layout }: { tableId: number; spec: StreamSpec; layout: StoredLayout },
    before: StreamRow | undefined, change: ReturnType<typeof classifyUpsert>, t: ReturnType<typeof transition>, desiredState: 'paused' | 'running'): void {
    if (t.actions.includes('store-spec')) {
      this.ledger.upsertStream({ tableId, dbName: table.dbName, tableName: table.tableName, specJson: JSON.stringify(spec), layoutJson: JSON.stringify(layout), desiredState });
      // Hive moved the directory it read the table from (a compacted one, if a compaction switched the
      // table there) to the new name's; what the tasks write there until they restart follows it.
      const from = before && ((l: StoredLayout) => l.compactedLocation ?? l.location)(JSON.parse(before.layoutJson) as StoredLayout);
      if (from !== undefined && from !== layout.location && (change.event === 'rename' || change.detail?.renamedFrom !== undefined)) {
        this.ledger.recordRelocation(tableId, from, layout.location);
      }
    } else if (before && before.desiredState !== desiredState && t.next !== 'failed') {
      this.ledger.setDesiredState(tableId, desiredState, desiredState);
    }
    // The ledger writes 'created' itself with the new row.
    const history = change.event === 'create' || change.event === 'create-paused' ? undefined : t.history;
    if (t.actions.includes('record-failure')) {
      this.log.error({ table: `${table.dbName}.${table.tableName}` }, change.problem ?? change.event);
      this.ledger.setFailure(tableId, change.problem ?? change.event, history, { ...change.detail, error: change.problem });
    } else if (t.actions.includes('clear-failure') && before?.failure) {
      this.ledger.setFailure(tableId, null, history, change.detail);
    } else if (history) {
      this.ledger.appendHistory(tableId, history, change.detail);
    }
  }

  /** This instance, its cluster's members and the owner of each table. */
  clusterStatus(): ClusterStatus { return this.ownership.status(); }

  /** What `hive-kafka status` (through /status) and the system tables show: the ledger, with the live supervisor and Kafka. */
  statusView(): Promise<StatusView> {
    return statusView(this.ledger, {
      kafkaClient: this.kafkaClient,
      status: (id) => this.supervisor.status(id),
      offsets: (id) => this.offsets(id),
      recordsPerSecond: (id) => this.recordsPerSecond(id),
      cluster: () => { const c = this.clusterStatus(); return { instance: c.instanceId, cluster: c.cluster, generation: c.generation, members: c.members, owners: c.owners }; },
    });
  }

  // ---- what the supervisor and tasks need from Kafka and the metastore -----------------------

  /** One admin per Kafka connection; the tables reconciled side by side at start wait for the same connect. */
  private admin(spec: StreamSpec): Promise<Admin> {
    const key = `${spec.brokers.join(',')} ${spec.credentialsProfile ?? ''}`;
    let admin = this.admins.get(key);
    if (!admin) {
      const auth = kafkaAuth(`topic ${spec.topic}`, spec.credentialsProfile, this.credentialsProfiles);
      const client = new Kafka({ brokers: spec.brokers, clientId: 'hive-kafka-supervisor', logLevel: logLevel.NOTHING, ...auth }).admin();
      const connecting = client.connect().then(() => client);
      admin = connecting;
      this.admins.set(key, connecting);
      // A failed connect is not kept: the next reconcile tries again.
      connecting.catch(() => { if (this.admins.get(key) === connecting) this.admins.delete(key); });
    }
    return admin;
  }

  /**
   * Per partition: committed next offset, log-end offset, lag in records and in seconds (the age of
   * the record at the committed offset), and when a batch last committed; for status and the system tables.
   */
  async offsets(tableId: number): Promise<PartitionOffsets[]> {
    const stream = this.ledger.getStream(tableId);
    if (!stream) return [];
    const spec = JSON.parse(stream.specJson) as StreamSpec;
    const ends = new Map<number, number>();
    try {
      for (const o of await (await this.admin(spec)).fetchTopicOffsets(spec.topic)) ends.set(o.partition, Number(o.high));
    } catch { /* Kafka unreachable: status still shows what the ledger knows */ }
    const lastCommits = this.ledger.lastCommitTimes(tableId);
    const now = Date.now();
    return Promise.all([...this.ledger.nextOffsets(tableId)].sort(([a], [b]) => a - b).map(async ([partition, committed]) => {
      const logEnd = ends.get(partition);
      let producedAt: ProducedAtAnswer;
      if (logEnd !== undefined && committed < logEnd) {
        producedAt = await this.probe(spec).then((probe) => probe.at(spec.topic, partition, committed)).catch(() => undefined);
      }
      return { partition, committed, logEnd, lag: logEnd === undefined ? undefined : Math.max(0, logEnd - committed),
        lagSeconds: lagSeconds(now, producedAt, committed, logEnd), lastCommitAt: lastCommits.get(partition) };
    }));
  }

  /** Loaded at the first lag asked for, not at start: @platformatic/kafka compiles its option schemas (ajv) as it loads. */
  private probe(spec: StreamSpec): Promise<ProducedAt> {
    const key = `${spec.brokers.join(',')} ${spec.credentialsProfile ?? ''} ${spec.readUncommitted}`;
    let probe = this.probes.get(key);
    if (!probe) {
      const auth = kafkaAuth(`topic ${spec.topic}`, spec.credentialsProfile, this.credentialsProfiles);
      probe = Promise.all([import('./observe/produced-at.ts'), import('./task/fetcher.ts')]).then(([{ ProducedAt }, { platformaticClient }]) =>
        new ProducedAt(platformaticClient({ brokers: spec.brokers, auth, clientOverrides: spec.clientOverrides, readUncommitted: spec.readUncommitted })));
      probe.catch(() => this.probes.delete(key)); // the next lag asked for tries again
      this.probes.set(key, probe);
    }
    return probe;
  }

  private rateOf(tableId: number): RecordRate {
    let rate = this.rates.get(tableId);
    if (!rate) this.rates.set(tableId, rate = new RecordRate());
    return rate;
  }

  /** Records per second committed over the last minute. */
  private recordsPerSecond(tableId: number): number { return this.rates.get(tableId)?.perSecond(Date.now()) ?? 0; }

  /** Whether this instance runs the table now (held here; paused and failed tables included). */
  private runsHere(tableId: number): boolean {
    const status = this.supervisor.status(tableId);
    return status !== undefined && status.notHere === undefined && status.state !== 'dropped';
  }

  // ---- the Hive system tables ------------------------------------------------------------------

  /** One round: create what is missing (first round), then rewrite the snapshots and the dead-letter partitions. A failure waits for the next round. */
  private async publishSystemTables(first: boolean): Promise<void> {
    const tables = this.systemTables!;
    const log = this.log.child({ part: 'system-tables' });
    const began = Date.now();
    const ms: Record<string, number> = {};
    const timed = async <T>(phase: string, work: Promise<T>): Promise<T> => {
      const from = Date.now();
      try { return await work; } finally { ms[phase] = Date.now() - from; }
    };
    try {
      if (first || !this.systemTablesReady) { await tables.ensure(); this.systemTablesReady = true; }
      const snapshot = await timed('snapshot', this.systemSnapshot());
      await timed('publish', tables.publish(snapshot));
      // Each instance registers the tables it runs; a dropped table's partition goes, unless its name lives on.
      const all = this.ledger.listStreams({ includeDropped: true });
      const liveNames = new Set(all.filter((s) => s.desiredState !== 'dropped').map((s) => `${s.dbName}.${s.tableName}`));
      await timed('deadLetters', tables.syncDeadLetterPartitions(
        all.filter((s) => this.runsHere(s.tableId)).map((s) => ({ tableId: s.tableId, db: s.dbName, table: s.tableName, location: (JSON.parse(s.layoutJson) as StoredLayout).location })),
        all.filter((s) => s.desiredState === 'dropped' && !liveNames.has(`${s.dbName}.${s.tableName}`)).map((s) => ({ db: s.dbName, table: s.tableName }))));
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'system tables not updated this round; retried next round');
    }
    const took = Date.now() - began;
    if (took > this.config.systemTables!.periodMs) log.warn({ tookMs: took, phaseMs: ms, periodMs: this.config.systemTables!.periodMs }, 'system tables round took longer than its period: the rows are older than the period says');
  }

  private systemTablesReady = false;

  private async systemSnapshot(): Promise<SystemSnapshot> {
    const at = Date.now();
    const view = await this.statusView();
    const instance = this.config.instanceId;
    const inCluster = this.config.cluster !== undefined;
    const snapshot: SystemSnapshot = { at, streams: [], partitions: [], history: [] };
    const streams = new Map(this.ledger.listStreams({ includeDropped: true }).map((s) => [s.tableId, s]));
    for (const t of view.tables) {
      const s = streams.get(t.tableId)!;
      if (t.state === 'dropped') continue;
      // In a cluster each table is in the partition of the member running it. Standalone, a table another
      // service holds is shown too (owner NULL, why in last_error): nobody else would show it.
      if (t.notHere && inCluster) continue;
      const spec = JSON.parse(s.specJson) as StreamSpec;
      const known = t.partitions.filter((p) => p.lag !== undefined);
      const seconds = t.partitions.map((p) => p.lagSeconds).filter((x): x is number => x !== undefined);
      snapshot.streams.push({ db: s.dbName, table: s.tableName, tableId: s.tableId, owner: t.notHere ? undefined : instance, state: t.state, tasks: t.tasks.length,
        restarts: t.restarts, lastError: t.lastError ?? (t.notHere ? `not run here: ${t.notHere}` : undefined),
        lastErrorAt: t.lastError ? this.ledger.lastErrorAt(s.tableId) : undefined,
        recordsPerSecond: t.recordsPerSecond ?? 0,
        lagRecords: known.length === t.partitions.length && known.length > 0 ? known.reduce((n, p) => n + p.lag!, 0) : undefined,
        lagSeconds: seconds.length === t.partitions.length && seconds.length > 0 ? Math.max(...seconds) : undefined });
      for (const p of t.partitions) {
        snapshot.partitions.push({ db: s.dbName, table: s.tableName, topic: spec.topic, partition: p.partition, committed: p.committed, logEnd: p.logEnd,
          lagRecords: p.lag, lagSeconds: p.lagSeconds, lastCommitAt: p.lastCommitAt });
      }
    }
    // A DDL event is in every member's ledger: only the member running the table publishes it (a dropped
    // table's, the first member by name). What happened on a member is published by that member alone.
    const cluster = inCluster ? this.clusterStatus() : undefined;
    const firstMember = !cluster || [...cluster.members].sort()[0] === instance;
    const speaksFor = (tableId: number) => {
      const s = streams.get(tableId);
      return !cluster || (s?.desiredState === 'dropped' ? firstMember : this.runsHere(tableId));
    };
    // The whole history is read and written out again only when it changed, or a name or whom we speak for did.
    const key = historyKey(this.ledger.historyVersion(), [...streams.values()].map((s) => ({ tableId: s.tableId, db: s.dbName, table: s.tableName, speaksFor: speaksFor(s.tableId) })));
    if (this.lastHistory?.key !== key) {
      const rows = this.ledger.allHistory().filter((h) => h.origin !== 'metastore' || speaksFor(h.tableId))
        .map((h) => ({ db: h.dbName, table: h.tableName, tableId: h.tableId, eventId: h.id, at: h.at, event: h.event, detail: h.detail }));
      this.lastHistory = { key, rows };
    }
    snapshot.history = this.lastHistory.rows;
    return snapshot;
  }

  /** The history rows of the last system-tables round and what they were built from (historyKey). */
  private lastHistory: { key: string; rows: SystemSnapshot['history'] } | undefined;

  private async partitionCount(spec: StreamSpec): Promise<number> {
    const meta = await (await this.admin(spec)).fetchTopicMetadata({ topics: [spec.topic] });
    return meta.topics[0]?.partitions.length ?? 0;
  }

  /**
   * The ledger's offsets are positions in one Kafka cluster: a kafka.broker.list ALTERed to brokers of
   * another (or a cluster rebuilt at the same address) would read there from positions that mean
   * nothing, skipping or repeating records. The first start records the cluster id; a later start that
   * reaches another one fails the table, naming both.
   */
  private async offsetsProblem(tableId: number, spec: StreamSpec): Promise<string | undefined> {
    const stream = this.ledger.getStream(tableId);
    if (!stream) return undefined;
    const { clusterId } = await (await this.admin(spec)).describeCluster();
    if (!clusterId) return undefined; // brokers before Kafka 0.10.1 name no cluster: nothing to compare
    if (stream.kafkaClusterId === null) {
      this.ledger.recordKafkaCluster(tableId, clusterId);
      await this.ownership.recordKafkaCluster(tableId, clusterId);
      return undefined;
    }
    if (stream.kafkaClusterId === clusterId) return undefined;
    const table = `${stream.dbName}.${stream.tableName}`;
    return `table ${table}: kafka.broker.list (${spec.brokers.join(',')}) reaches Kafka cluster ${clusterId}, but the table's offsets were read from cluster ${stream.kafkaClusterId}; `
      + `an offset of one cluster means nothing in another, so nothing is read there. Set kafka.broker.list back to brokers of cluster ${stream.kafkaClusterId} `
      + `(ALTER TABLE ${table} SET TBLPROPERTIES ('kafka.broker.list'='...')), or ingest the other cluster into a new table with its own LOCATION`;
  }

  private async initOffsets(tableId: number, spec: StreamSpec, partitions: number[]): Promise<void> {
    const known = this.ledger.nextOffsets(tableId);
    if (partitions.every((p) => known.has(p))) return;
    const admin = await this.admin(spec);
    // A partition added later always starts at its beginning: its records are all new to the table.
    const isNewTable = known.size === 0;
    const start = spec.startOffset;
    const next = 'the table is tried again at the supervisor\'s next tick';
    const offsets = isNewTable && start.kind === 'timestamp'
      ? await topicOffsets(spec.topic, next, () => admin.fetchTopicOffsetsByTimestamp(spec.topic, start.ms))
      : await topicOffsets(spec.topic, next, () => admin.fetchTopicOffsets(spec.topic));
    const begin = new Map<number, number>();
    for (const o of offsets as { partition: number; offset: string; low?: string; high?: string }[]) {
      if (known.has(o.partition)) continue;
      const at = !isNewTable ? o.low : start.kind === 'latest' ? o.high : start.kind === 'earliest' ? o.low : o.offset;
      begin.set(o.partition, Number(at ?? o.offset));
    }
    // In a cluster the start offsets are part of the table's portable state: a later owner must not compute them again.
    await this.ownership.record(tableId, this.ownership.tokenOf(tableId), new Map([...begin].map(([p, next]) => [p, { next, pending: null }])));
    this.ledger.initPartitions(tableId, begin);
  }

  /**
   * After a DROP, once the table's tasks have stopped: what it left at its location (src/sink/dropped.ts),
   * and its holder file. Neither while a live table uses the location (DROP, then CREATE of the same
   * name): its staged batches and holder file are there.
   */
  private async cleanup(tableId: number): Promise<void> {
    this.rates.delete(tableId);
    await this.forgetGoneSeries();
    const stream = this.ledger.getStream(tableId);
    if (!stream) return;
    const layout = JSON.parse(stream.layoutJson) as StoredLayout;
    const { fs, path } = this.fileSystems.for(layout.location, `${stream.dbName}.${stream.tableName}`);
    await this.compactor?.settled(tableId); // nothing written under the location after it goes
    const locationInUse = await this.locationInUse(stream, layout.location);
    await this.ownership.forget(tableId, { locationInUse });
    // A table created since at the location: what the dropped one's tasks committed after Hive's purge
    // goes. Its batches of the last LATE_WINDOW_MS before the DROP was applied, not its whole history:
    // a notice later than that leaves them (README, Limits).
    const since = (stream.droppedAt ?? Date.now()) - LATE_WINDOW_MS;
    const ownFiles = locationInUse && layout.purgedOnDrop === true && !this.config.cluster
      ? { files: this.ledger.filesOfTableSince(tableId, since),
        dirs: this.ledger.openCompactions(tableId).filter((c) => c.state === 'planned').flatMap((c) => [c.newDir, compactionStaging(path, c)]) }
      : undefined;
    const removed = await removeDroppedFiles(fs, path, { purgedOnDrop: layout.purgedOnDrop === true, locationInUse, ownFiles });
    if (ownFiles && removed > 0) {
      this.log.warn({ table: `${stream.dbName}.${stream.tableName}`, location: layout.location, removed },
        `table ${stream.dbName}.${stream.tableName} was created again before the service applied its DROP: ${removed} files and directories its tasks wrote after the DROP removed from the new table's location`);
    }
  }

  /**
   * A table that has written nothing yet waits while the clean-up of a table dropped at its location
   * is due again (it failed: a metastore or file system blip), so that its first batch meets none of
   * the dropped table's late files under its own names. Standalone only: in a cluster another member
   * may run the new table, so neither the wait nor the removal is done.
   */
  private waitsForDropped(tableId: number, cleanupsDue: readonly number[]): string | undefined {
    if (this.config.cluster) return undefined;
    const stream = this.ledger.getStream(tableId);
    if (!stream || this.ledger.batchPartitions(tableId).length > 0) return undefined;
    const location = (JSON.parse(stream.layoutJson) as StoredLayout).location;
    const dropped = cleanupsDue.map((id) => this.ledger.getStream(id))
      .find((s) => s !== undefined && s.tableId !== tableId && sameLocation((JSON.parse(s.layoutJson) as StoredLayout).location, location));
    return dropped && `${dropped.dbName}.${dropped.tableName}`;
  }

  /** What a RENAME left at the table's old location, moved to the new one (src/sink/relocate.ts). */
  private async relocate(tableId: number): Promise<void> {
    const stream = this.ledger.getStream(tableId);
    if (!stream) return;
    const table = `${stream.dbName}.${stream.tableName}`;
    const { topic } = JSON.parse(stream.specJson) as StreamSpec;
    for (const r of this.ledger.relocations(tableId)) {
      this.reachedRelocation?.('relocation-started');
      const from = this.fileSystems.for(r.fromLocation, table);
      const to = this.fileSystems.for(r.toLocation, table);
      if (from.fs !== to.fs) throw new Error(`table ${table}: moved from ${r.fromLocation} to ${r.toLocation}, another file system; hive-kafka cannot follow that move`);
      // A table created since under the old name may run there already (the relocation of a paused
      // table waits for its resume): its holder file and staging are not ours to remove.
      const fromLocationInUse = this.liveTableAt(r.fromLocation, tableId);
      if (!fromLocationInUse) await this.ownership.releaseMoved(r.fromLocation, table);
      const done = await relocate(from.fs, this.ledger, { tableId, fromLocation: r.fromLocation, fromDir: from.path, toDir: to.path, topic, sideDirs: [DEADLETTER_DIR], fromLocationInUse });
      this.log.info({ table, from: r.fromLocation, to: r.toLocation, ...done }, 'table moved by a RENAME: files its tasks wrote to the old location moved to the new one');
      if (done.stayed > 0) {
        this.log.warn({ table, from: r.fromLocation, to: r.toLocation, topic, stayed: done.stayed },
          `table ${table} moved by a RENAME: ${done.stayed} files named for topic ${topic} stay at ${r.fromLocation}: batches of this table behind an offset gap, or of a table created there since; move only this table's into ${r.toLocation} (README, "Limits")`);
      }
    }
  }

  /** Drops the metric series of names no live table has now (a DROP, or the old name of a RENAME). */
  private forgetGoneSeries(): Promise<void> {
    const live = new Set(this.ledger.listStreams().map((s) => `${s.dbName}.${s.tableName}`));
    return forgetGoneTables(perTableSeries, live);
  }

  /** Whether a table of the ledger other than `exceptTableId`, not dropped, has this location. */
  private liveTableAt(location: string, exceptTableId: number): boolean {
    return this.ledger.listStreams().some((s) => s.tableId !== exceptTableId && sameLocation((JSON.parse(s.layoutJson) as StoredLayout).location, location));
  }

  /** Whether another table has this location, in the ledger or (created but not yet seen) in the metastore. */
  private async locationInUse(dropped: StreamRow, location: string): Promise<boolean> {
    if (this.liveTableAt(location, dropped.tableId)) return true;
    const client = await MetastoreClient.connect(this.config.metastoreUri, { timeoutMs: this.config.metastoreTimeoutMs });
    try {
      if (!(await client.getAllTables(dropped.dbName)).map((n) => n.toLowerCase()).includes(dropped.tableName.toLowerCase())) return false;
      const now = await client.getTable(dropped.dbName, dropped.tableName);
      return Number(now.id) !== dropped.tableId && sameLocation(tableLocation(now.storage.location ?? '').location, location);
    } finally {
      client.close();
    }
  }

}
