// What `hive-kafka status` shows, built from the ledger, with the live supervisor and Kafka's log-end
// offsets when the service is running. Without them (the service is down) the ledger alone answers:
// each table's state, failure, gaps, and what each task was last doing.
import type { Ledger } from '../ledger/ledger.ts';
import { stateOf, type TableStatus } from '../lifecycle/supervisor.ts';

export interface PartitionView {
  partition: number;
  committed: number;
  logEnd?: number;
  lag?: number;
  /** Seconds since the record at the committed offset was produced; 0 when caught up. */
  lagSeconds?: number;
  lastCommitAt?: number;
}
export interface TaskView { taskId: string; partitions: number[]; state: string; ownerEpoch?: number; heartbeatAt?: string; lastError?: string }
export interface TableView {
  table: string;
  tableId: number;
  state: string;
  tasks: TaskView[];
  restarts: number;
  lastError?: string;
  /** Set while the table is failed: why, and what to do. */
  failure?: string;
  gaps: { partition: number; from: number; to: number; offsets: number; policy: string; at: string }[];
  partitions: PartitionView[];
  /** Records of committed batches: stored as rows, filtered out by kafka.mapping (or CSV header rows), refused under skip/deadletter. */
  records: { stored: number; filtered: number; rejected: number };
  /** Records committed per second over the last minute (the running service only). */
  recordsPerSecond?: number;
  /** The instance that runs the table (as far as this one knows). */
  owner?: string;
  /** Why this instance does not run it: held by another service, or owned by another member. */
  notHere?: string;
  /** A dropped table: whether what it left at its location has been removed (due: at the next try or start). */
  cleanup?: 'due' | 'done';
}
export interface ClusterView { instance: string; cluster?: string; generation?: number; members: string[] }
export interface StatusView { kafkaClient?: string; source: 'service' | 'ledger'; cluster?: ClusterView; tables: TableView[] }

export interface Live {
  kafkaClient: string;
  status(tableId: number): TableStatus | undefined;
  offsets(tableId: number): Promise<PartitionView[]>;
  recordsPerSecond?(tableId: number): number;
  cluster?(): ClusterView & { owners: ReadonlyMap<number, string> };
}

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : undefined);

export async function statusView(ledger: Ledger, live?: Live): Promise<StatusView> {
  const cluster = live?.cluster?.();
  // Tables side by side: each may wait on Kafka for its log ends and lag probes.
  const tables = await Promise.all(ledger.listStreams({ includeDropped: true }).map(async (s): Promise<TableView> => {
    const state = stateOf(s);
    const status = live?.status(s.tableId);
    const rows = new Map(ledger.tasks(s.tableId).map((t) => [t.taskId, t]));
    // A dropped table's tasks show while the running service stops them; the ledger's rows of them are history.
    const tasks: TaskView[] = state === 'dropped' ? (status?.tasks ?? []) : status
      ? status.tasks.map((t) => ({ ...t, ownerEpoch: rows.get(t.taskId)?.ownerEpoch ?? undefined, heartbeatAt: iso(rows.get(t.taskId)?.heartbeatAt) }))
      : [...rows.values()].map((t) => ({ taskId: t.taskId, partitions: t.partitions, state: t.state, ownerEpoch: t.ownerEpoch ?? undefined,
        heartbeatAt: iso(t.heartbeatAt), lastError: t.lastError ?? undefined }));
    const runsHere = !status?.notHere;
    // Everything but the live offsets is read now, before the wait on Kafka: a failure recorded during
    // that wait would otherwise show with the restart count from before it.
    const view: Omit<TableView, 'partitions'> = {
      table: `${s.dbName}.${s.tableName}`,
      tableId: s.tableId,
      state,
      tasks,
      restarts: status?.attempts ?? Math.max(0, ...[...rows.values()].map((t) => t.attempts)),
      lastError: s.failure ?? status?.lastError ?? ledger.recentErrors(s.tableId, 1)[0]?.message,
      failure: s.failure ?? undefined,
      gaps: ledger.gaps(s.tableId).map((g) => ({ partition: g.kafkaPartition, from: g.firstOffset, to: g.lastOffset, offsets: g.lastOffset - g.firstOffset + 1, policy: g.policy, at: iso(g.at)! })),
      records: ledger.recordCounts(s.tableId),
      recordsPerSecond: state !== 'dropped' && runsHere ? live?.recordsPerSecond?.(s.tableId) : undefined,
      owner: state === 'dropped' ? undefined : runsHere && status?.tasks.length ? cluster?.instance : cluster?.owners.get(s.tableId),
      notHere: status?.notHere,
      cleanup: state === 'dropped' ? (s.cleanedAt === null ? 'due' : 'done') : undefined,
    };
    const partitions = state === 'dropped' ? [] : live && runsHere ? await live.offsets(s.tableId)
      : [...ledger.nextOffsets(s.tableId)].sort(([a], [b]) => a - b).map(([partition, committed]) => ({ partition, committed }));
    return { ...view, partitions };
  }));
  const clusterView = cluster && { instance: cluster.instance, cluster: cluster.cluster, generation: cluster.generation, members: cluster.members };
  return { kafkaClient: live?.kafkaClient, source: live ? 'service' : 'ledger', cluster: clusterView, tables };
}

/** The text `hive-kafka status` prints. */
export function formatStatus(view: StatusView, all: boolean): string[] {
  const out: string[] = [];
  if (all && view.kafkaClient) out.push(`kafka client: ${view.kafkaClient}`);
  if (all && view.cluster) {
    out.push(view.cluster.cluster
      ? `cluster ${view.cluster.cluster} (generation ${view.cluster.generation ?? '-'}): this instance ${view.cluster.instance}; members: ${view.cluster.members.join(', ') || 'none (not in the group right now)'}`
      : `instance ${view.cluster.instance} (no cluster)`);
  }
  for (const t of view.tables) {
    out.push(`${t.table}  ${t.state.toUpperCase()}  tasks: ${t.tasks.map((k) => `${k.taskId}[${k.partitions.join(',')}]=${k.state}${k.ownerEpoch ? `@e${k.ownerEpoch}` : ''}`).join(' ') || 'none'}  restarts: ${t.restarts}`);
    if (t.notHere) out.push(`  not run here: ${t.notHere}${t.owner ? ` (owner: ${t.owner})` : ''}`);
    else if (t.owner) out.push(`  owner: ${t.owner}`);
    if (t.cleanup === 'due') out.push('  clean-up of its location: due (tried again with backoff, and at the next start)');
    if (t.failure) out.push(`  FAILED: ${t.failure}`);
    else if (t.lastError) out.push(`  last error: ${t.lastError}`);
    for (const g of t.gaps) out.push(`  gap: partition ${g.partition} offsets ${g.from}..${g.to} (${g.offsets}) deleted by Kafka before ingestion, ${g.policy === 'skip' ? 'skipped' : 'table stopped'} at ${g.at}`);
    out.push(`  records: ${t.records.stored} stored, ${t.records.filtered} filtered out, ${t.records.rejected} refused${t.recordsPerSecond === undefined ? '' : `; ${t.recordsPerSecond.toFixed(1)} records/s over the last minute`}`);
    for (const p of t.partitions) {
      out.push(`  partition ${p.partition}: committed ${p.committed}  log-end ${p.logEnd ?? '?'}  lag ${p.lag ?? '?'}${p.lagSeconds === undefined ? '' : ` (${p.lagSeconds.toFixed(1)} s)`}`);
    }
  }
  return out;
}
