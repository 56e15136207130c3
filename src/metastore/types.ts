// Plain TypeScript views of the HMS Thrift structs. Nothing here depends on the
// generated code, so the rest of hive-kafka never sees node-int64 or Thrift nulls.
// Strings HMS may leave unset are optional; i64 values are bigint.

export interface FieldSchema {
  name: string;
  type: string;
  comment?: string;
}

export interface SerDeInfo {
  name?: string;
  serializationLib?: string;
  parameters: Record<string, string>;
}

export interface SortColumn {
  column: string;
  /** Hive encodes ASC as 1 and DESC as 0. */
  ascending: boolean;
}

export interface StorageDescriptor {
  columns: FieldSchema[];
  location?: string;
  inputFormat?: string;
  outputFormat?: string;
  compressed: boolean;
  numBuckets: number;
  serde: SerDeInfo;
  bucketColumns: string[];
  sortColumns: SortColumn[];
  parameters: Record<string, string>;
}

export interface Table {
  catName?: string;
  dbName: string;
  tableName: string;
  owner?: string;
  /** "MANAGED_TABLE" | "EXTERNAL_TABLE" | "VIRTUAL_VIEW" | "MATERIALIZED_VIEW" */
  tableType: string;
  createTime: number;
  storage: StorageDescriptor;
  partitionKeys: FieldSchema[];
  parameters: Record<string, string>;
  viewOriginalText?: string;
  viewExpandedText?: string;
  temporary: boolean;
  writeId?: bigint;
  id?: bigint;
}

export interface Partition {
  catName?: string;
  dbName: string;
  tableName: string;
  values: string[];
  createTime: number;
  storage: StorageDescriptor;
  parameters: Record<string, string>;
}

/** What a caller supplies to add a partition; db and table come from the call. */
export interface NewPartition {
  values: string[];
  storage: StorageDescriptor;
  parameters?: Record<string, string>;
}

export interface Database {
  name: string;
  locationUri?: string;
  description?: string;
}

/** What a caller supplies to create a database; HMS picks the location when it is left out. */
export interface NewDatabase {
  name: string;
  description?: string;
  locationUri?: string;
}

/** What a caller supplies to create a table; the storage details Hive itself fills in are fixed (no buckets, no sort). */
export interface NewTable {
  dbName: string;
  tableName: string;
  tableType: 'EXTERNAL_TABLE' | 'MANAGED_TABLE';
  columns: FieldSchema[];
  partitionKeys: FieldSchema[];
  location: string;
  inputFormat: string;
  outputFormat: string;
  serde: { serializationLib: string; parameters: Record<string, string> };
  /** EXTERNAL=TRUE is added for an EXTERNAL_TABLE. */
  parameters: Record<string, string>;
  owner?: string;
}

export interface NotificationEvent {
  eventId: bigint;
  /** Seconds since the epoch. */
  eventTime: number;
  eventType: string;
  catName?: string;
  dbName?: string;
  tableName?: string;
  message: string;
  messageFormat?: string;
}
