// Builds an IngestionTask with everything it needs from a ledger row: its file system, partition
// registration in the metastore and the commit hooks. Used where tasks run (the worker thread).
import type { Ledger, StreamRow } from '../ledger/ledger.ts';
import type { MetastoreSession } from '../metastore/session.ts';
import type { StreamSpec } from '../properties/parse.ts';
import { tableLocation, type StoredLayout } from '../properties/stream.ts';
import type { CommitStep } from '../sink/commit.ts';
import { fileSystems, type HdfsSettings } from '../sink/fs.ts';
import { partitionDir, partitionLocation } from '../sink/partition-path.ts';
import { IngestionTask, type CommitReport, type OffsetGapReport } from './task.ts';
import type { FenceWrite } from './commit-ledger.ts';
import { kafkaAuth, type CredentialsProfiles } from './kafka-auth.ts';
import type { SchemaRegistryLookup } from '../format/registries.ts';
import type { PartitionSource, SourceOptions } from './source.ts';

/** Where a worker's tasks read Kafka (task-sources.ts). */
export interface TaskSourcing {
  open(options: SourceOptions): Promise<PartitionSource>;
  logStartOffsets(connection: Pick<SourceOptions, 'brokers' | 'auth' | 'clientOverrides' | 'readUncommitted'>, topic: string): (partitions: readonly number[]) => Promise<Map<number, number>>;
}

export interface TaskContext {
  ledger: Ledger;
  metastore: MetastoreSession;
  stream: StreamRow;
  taskId: string;
  partitions: number[];
  onFailure(error: Error): void;
  onRejected(partition: number, count: number): void;
  onCommitted?(partition: number, commit: CommitReport): void;
  onConsuming?(): void;
  onOffsetGap?(gap: OffsetGapReport): void;
  onSchemaEvolved?(partition: number, offset: number, added: string[], reason: string): void;
  registries: SchemaRegistryLookup;
  reached?: (step: CommitStep) => void;
  credentialsProfiles: CredentialsProfiles;
  sources: TaskSourcing;
  hdfs: HdfsSettings;
  fence?: FenceWrite;
  enter?(): void;
}

export function buildTask(ctx: TaskContext): IngestionTask {
  const { stream } = ctx;
  const layout = JSON.parse(stream.layoutJson) as StoredLayout;
  const spec = JSON.parse(stream.specJson) as StreamSpec;
  const { fs, path } = fileSystems(ctx.hdfs).for(layout.location, `${stream.dbName}.${stream.tableName}`);
  const keys = layout.partitionKeys.map((k) => k.name);
  const registerPartitions = (values: string[][]) => ctx.metastore.call(async (c) => {
    const table = await c.getTable(stream.dbName, stream.tableName);
    await c.addPartitions(stream.dbName, stream.tableName, values.map((v) => ({
      values: v,
      storage: { ...table.storage, location: partitionLocation(layout.location, partitionDir(keys, v)) },
    })), true);
  });
  const trim = (location: string) => location.replace(/\/+$/, '');
  const stillAtLocation = () => ctx.metastore.call(async (c) => {
    const [table] = await c.getTables(stream.dbName, [stream.tableName]);
    return table !== undefined && Number(table.id) === stream.tableId && trim(tableLocation(table.storage.location ?? '').location) === trim(layout.location);
  });
  const auth = kafkaAuth(`table ${stream.dbName}.${stream.tableName}`, spec.credentialsProfile, ctx.credentialsProfiles);
  return new IngestionTask(
    { taskId: ctx.taskId, tableId: stream.tableId, table: `${stream.dbName}.${stream.tableName}`, partitions: ctx.partitions,
      spec, layout: { ...layout, dir: path }, auth },
    { fs, ledger: ctx.ledger, onFailure: ctx.onFailure, registerPartitions, stillAtLocation, reached: ctx.reached, onRejected: ctx.onRejected, onCommitted: ctx.onCommitted, onConsuming: ctx.onConsuming,
      openSource: (o) => ctx.sources.open(o),
      registries: ctx.registries,
      addColumns: (columns) => ctx.metastore.call((c) => c.addColumns(stream.dbName, stream.tableName, columns)),
      onSchemaEvolved: (partition, offset, change, added) => ctx.onSchemaEvolved?.(partition, offset, added, change.reason),
      logStartOffsets: ctx.sources.logStartOffsets({ brokers: spec.brokers, auth, clientOverrides: spec.clientOverrides, readUncommitted: spec.readUncommitted }, spec.topic), onOffsetGap: ctx.onOffsetGap, fence: ctx.fence, enter: ctx.enter },
  );
}
