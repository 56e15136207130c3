// A metastore table as the ledger records it: the validated spec and the layout tasks write into.
import type { Table } from '../metastore/types.ts';
import { COMPACTED_ROOT } from '../sink/compact.ts';
import { formatProblems, parseTableProperties, type StreamSpec } from './parse.ts';

export interface StoredLayout {
  /** The table's own location: where tasks compute their directories from, and DROP cleans up. */
  location: string;
  /**
   * Where Hive reads an unpartitioned table once compacted (<location>/_hive_kafka_compacted/<id>-<random>, or <id> before 2026-12-01):
   * the metastore's location then, absent before. Not a layout change: the ledger sends batches there.
   */
  compactedLocation?: string;
  dbName: string;
  tableName: string;
  columns: { name: string; type: string }[];
  partitionKeys: { name: string; type: string }[];
  /** CLUSTERED BY columns, empty when the table is not bucketed. */
  bucketColumns: string[];
  /** INTO n BUCKETS; HMS stores -1 for a table that is not bucketed. */
  numBuckets: number;
  /** The table parameter bucketing_version as stored (Hive 3+ writes '2'; Hive reads a missing one as 1). */
  bucketingVersion?: string;
  /** DROP TABLE deletes the location (a managed table, or external.table.purge=TRUE, what Hive 4 sets on these tables). */
  purgedOnDrop?: boolean;
}

export type StreamRecord =
  | { ok: true; tableId: number; spec: StreamSpec; layout: StoredLayout }
  | { ok: false; message: string };

export function streamRecord(table: Table): StreamRecord {
  const name = `${table.dbName}.${table.tableName}`;
  if (table.id === undefined) return { ok: false, message: `table ${name} has no id in the metastore; hive-kafka needs Hive 4 table ids` };
  if (!table.storage.location) return { ok: false, message: `table ${name} has no location in the metastore` };
  const parsed = parseTableProperties(table.parameters);
  if (!parsed.ok) return { ok: false, message: formatProblems(name, parsed.problems) };
  return {
    ok: true,
    tableId: Number(table.id),
    spec: parsed.spec,
    layout: {
      ...tableLocation(table.storage.location), dbName: table.dbName, tableName: table.tableName,
      columns: table.storage.columns.map((c) => ({ name: c.name, type: c.type })),
      partitionKeys: table.partitionKeys.map((c) => ({ name: c.name, type: c.type })),
      bucketColumns: [...table.storage.bucketColumns],
      numBuckets: table.storage.numBuckets,
      bucketingVersion: table.parameters.bucketing_version,
      purgedOnDrop: table.tableType === 'MANAGED_TABLE' || table.parameters['external.table.purge']?.toUpperCase() === 'TRUE',
    },
  };
}

/** A compacted unpartitioned table's metastore location, split into its own location and the compacted directory. */
export function tableLocation(metastoreLocation: string): Pick<StoredLayout, 'location' | 'compactedLocation'> {
  const m = new RegExp(`^(.*[^/])/+${COMPACTED_ROOT}/+\\d+(?:-[0-9a-f]+)?/*$`).exec(metastoreLocation);
  return m ? { location: m[1]!, compactedLocation: metastoreLocation } : { location: metastoreLocation };
}
