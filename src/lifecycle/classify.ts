// Turns a metastore notice about a table into a lifecycle event, by comparing what the ledger holds
// with what the metastore now says. Pure, so every kind of DDL is unit-tested without a metastore.
import type { StreamSpec } from '../properties/parse.ts';
import { PROPERTIES } from '../properties/rules.ts';
import { schemaChangeProblems, topicChangeProblem } from '../properties/schema-change.ts';
import type { StoredLayout } from '../properties/stream.ts';
import { alterEvent, strongest, transition, type LifecycleEvent } from './states.ts';

/** The property behind each spec field; a new field fails to compile until it is named here. */
const PROPERTY_OF: Record<keyof StreamSpec, string> = {
  topic: 'kafka.topic', brokers: 'kafka.broker.list', batchMaxSize: 'kafka.batch.maxSize', maxBatchPeriodMs: 'kafka.max.batch.period.ms',
  maxNumTasks: 'kafka.max.num.tasks', schemaCompatibility: 'kafka.schema.compatibility', readUncommitted: 'kafka.read_uncommited',
  paused: 'kafka.ingestion.paused', startOffset: 'kafka.start.offset', errorPolicy: 'kafka.error.policy', errorMaxRatio: 'kafka.error.max.ratio',
  offsetGapPolicy: 'kafka.offset.gap.policy', valueFormat: 'kafka.value.format', credentialsProfile: 'kafka.credentials.profile',
  clientOverrides: 'kafka.extra.propertie.*', schemaRegistry: 'kafka.schema.registry.url', csv: 'kafka.csv.delimiter',
  mapping: 'kafka.mapping', partitionTime: 'kafka.partition.time', compaction: 'kafka.compaction.min.files',
};

const onAlterOf = (property: string) => PROPERTIES.find((p) => p.name === property)?.onAlter ?? 'batch-boundary';

/** Spec fields whose ALTER, per the lifecycle table, only records it: running tasks go on (kafka.start.offset, kafka.compaction.*). */
const NOT_READ_BY_TASKS = new Set(Object.entries(PROPERTY_OF)
  .filter(([, property]) => transition('running', alterEvent(onAlterOf(property))).actions.every((a) => a === 'store-spec' || a === 'compact-with-it'))
  .map(([field]) => field));

/** The spec as running tasks read it. The supervisor restarts a table's tasks at a batch boundary when this or the layout changes. */
export function taskSettings(spec: StreamSpec): Partial<StreamSpec> {
  return Object.fromEntries(Object.entries(spec).filter(([field]) => !NOT_READ_BY_TASKS.has(field)));
}

export interface Known { spec: StreamSpec; layout: StoredLayout }

export interface Classified {
  event: LifecycleEvent;
  /** For the history: the properties and columns that changed, the new name, or why it is refused. */
  detail: Record<string, unknown>;
  /** Set for alter:refused: the message that names the property or column and what to do. */
  problem?: string;
}

/** What an upsert notice (CREATE, ALTER, RENAME, or a resync listing) means for a table. */
/** `byUser: false`: the notice is not a user's DDL (a resync), so "nothing changed" is `unchanged`, which retries nothing. */
export function classifyUpsert(known: Known | undefined, next: Known, opts: { byUser?: boolean } = {}): Classified {
  const name = `${next.layout.dbName}.${next.layout.tableName}`;
  if (!known) return { event: next.spec.paused ? 'create-paused' : 'create', detail: { db: next.layout.dbName, table: next.layout.tableName } };

  if (known.spec.topic !== next.spec.topic) {
    return { event: 'alter:refused', detail: { property: 'kafka.topic', from: known.spec.topic, to: next.spec.topic },
      problem: topicChangeProblem(name, known.spec.topic, next.spec.topic) };
  }
  const columnsChanged = JSON.stringify(known.layout.columns) !== JSON.stringify(next.layout.columns);
  if (columnsChanged) {
    const problems = schemaChangeProblems(name, known.layout.columns, next.layout.columns, next.spec.schemaCompatibility);
    if (problems.length > 0) return { event: 'alter:refused', detail: { columns: next.layout.columns }, problem: problems.join('\n') };
  }

  const changed = (Object.keys(PROPERTY_OF) as (keyof StreamSpec)[])
    .filter((k) => JSON.stringify(known.spec[k]) !== JSON.stringify(next.spec[k]))
    .map((k) => PROPERTY_OF[k]);
  const events: LifecycleEvent[] = changed.map((p) => p === 'kafka.ingestion.paused' ? (next.spec.paused ? 'alter:pause' : 'alter:resume') : alterEvent(onAlterOf(p)));
  if (columnsChanged) events.push('alter:columns');
  // Partition keys, buckets and location cannot change through Hive on these tables; if they do, new tasks write the new layout.
  // A compaction's switch of where Hive reads (compactedLocation) is the service's own doing, not a change.
  const { columns: _a, dbName: _b, tableName: _c, compactedLocation: _g, ...restBefore } = known.layout;
  const { columns: _d, dbName: _e, tableName: _f, compactedLocation: _h, ...restAfter } = next.layout;
  const renamed = known.layout.dbName !== next.layout.dbName || known.layout.tableName !== next.layout.tableName;
  // A RENAME moves the directory of a table at its default path: that new location is part of the rename.
  const moved = renamed && known.layout.location !== next.layout.location;
  if (moved) { restBefore.location = ''; restAfter.location = ''; }
  if (JSON.stringify(restBefore) !== JSON.stringify(restAfter)) events.push('alter:batch-boundary');

  if (events.length === 0 && renamed) {
    return { event: 'rename', detail: { from: `${known.layout.dbName}.${known.layout.tableName}`, to: name,
      ...(moved ? { location: { from: known.layout.location, to: next.layout.location } } : {}) } };
  }
  const detail: Record<string, unknown> = {};
  if (changed.length > 0) detail.properties = changed;
  if (columnsChanged) detail.columns = next.layout.columns.map((c) => `${c.name} ${c.type}`);
  if (renamed) detail.renamedFrom = `${known.layout.dbName}.${known.layout.tableName}`;
  const event = strongest(events);
  return { event: event === 'alter:none' && opts.byUser === false ? 'unchanged' : event, detail };
}
