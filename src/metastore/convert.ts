// Converts between the generated Thrift structs and the plain types in ./types.ts.
// The generated .d.ts files declare every field as set, but HMS leaves unset
// fields out and the generated readers then keep null, so every read is guarded.
import thrift from 'thrift';
import type { Int64 } from 'thrift';
import hms from './gen/hive_metastore_types.js';
import type {
  Database,
  FieldSchema,
  NewDatabase,
  NewPartition,
  NewTable,
  NotificationEvent,
  Partition,
  StorageDescriptor,
  Table,
} from './types.ts';

export function int64ToBigInt(value: Int64): bigint {
  return value.buffer.readBigInt64BE(value.offset);
}

export function bigIntToInt64(value: bigint): Int64 {
  const buffer = Buffer.alloc(8);
  buffer.writeBigInt64BE(BigInt.asIntN(64, value));
  return new thrift.Int64(buffer);
}

function optional<T>(value: T | null | undefined): T | undefined {
  return value ?? undefined;
}

function optionalBigInt(value: Int64 | null | undefined): bigint | undefined {
  return value == null ? undefined : int64ToBigInt(value);
}

function stringMap(value: Record<string, string> | null | undefined): Record<string, string> {
  return { ...(value ?? {}) };
}

/** Generated constructors skip undefined arguments (the field stays unset), but their types demand every field. */
function unsetAllowed<T>(value: T | undefined): T {
  return value as T;
}

function fromThriftFieldSchema(field: hms.FieldSchema): FieldSchema {
  const comment = optional(field.comment);
  return { name: field.name, type: field.type, ...(comment === undefined ? {} : { comment }) };
}

function fromThriftStorageDescriptor(sd: hms.StorageDescriptor | null | undefined): StorageDescriptor {
  return {
    columns: (sd?.cols ?? []).map(fromThriftFieldSchema),
    location: optional(sd?.location),
    inputFormat: optional(sd?.inputFormat),
    outputFormat: optional(sd?.outputFormat),
    compressed: sd?.compressed ?? false,
    numBuckets: sd?.numBuckets ?? -1,
    serde: {
      name: optional(sd?.serdeInfo?.name),
      serializationLib: optional(sd?.serdeInfo?.serializationLib),
      parameters: stringMap(sd?.serdeInfo?.parameters),
    },
    bucketColumns: [...(sd?.bucketCols ?? [])],
    sortColumns: (sd?.sortCols ?? []).map((order) => ({ column: order.col, ascending: order.order === 1 })),
    parameters: stringMap(sd?.parameters),
  };
}

export function fromThriftTable(table: hms.Table): Table {
  return {
    catName: optional(table.catName),
    dbName: table.dbName,
    tableName: table.tableName,
    owner: optional(table.owner),
    tableType: table.tableType,
    createTime: table.createTime ?? 0,
    storage: fromThriftStorageDescriptor(table.sd),
    partitionKeys: (table.partitionKeys ?? []).map(fromThriftFieldSchema),
    parameters: stringMap(table.parameters),
    viewOriginalText: optional(table.viewOriginalText),
    viewExpandedText: optional(table.viewExpandedText),
    temporary: table.temporary ?? false,
    writeId: optionalBigInt(table.writeId),
    id: optionalBigInt(table.id),
  };
}

export function fromThriftDatabase(database: hms.Database): Database {
  return {
    name: database.name,
    locationUri: optional(database.locationUri),
    description: optional(database.description),
  };
}

export function fromThriftPartition(partition: hms.Partition): Partition {
  return {
    catName: optional(partition.catName),
    dbName: partition.dbName,
    tableName: partition.tableName,
    values: [...(partition.values ?? [])],
    createTime: partition.createTime ?? 0,
    storage: fromThriftStorageDescriptor(partition.sd),
    parameters: stringMap(partition.parameters),
  };
}

export function fromThriftNotificationEvent(event: hms.NotificationEvent): NotificationEvent {
  return {
    eventId: int64ToBigInt(event.eventId),
    eventTime: event.eventTime,
    eventType: event.eventType,
    catName: optional(event.catName),
    dbName: optional(event.dbName),
    tableName: optional(event.tableName),
    message: event.message,
    messageFormat: optional(event.messageFormat),
  };
}

function toThriftStorageDescriptor(storage: StorageDescriptor): hms.StorageDescriptor {
  return new hms.StorageDescriptor({
    cols: storage.columns.map(
      (column) => new hms.FieldSchema({ ...column, comment: unsetAllowed(column.comment) }),
    ),
    location: unsetAllowed(storage.location),
    inputFormat: unsetAllowed(storage.inputFormat),
    outputFormat: unsetAllowed(storage.outputFormat),
    compressed: storage.compressed,
    numBuckets: storage.numBuckets,
    serdeInfo: new hms.SerDeInfo({
      name: unsetAllowed(storage.serde.name),
      serializationLib: unsetAllowed(storage.serde.serializationLib),
      parameters: storage.serde.parameters,
    }),
    bucketCols: storage.bucketColumns,
    sortCols: storage.sortColumns.map(
      (sort) => new hms.Order({ col: sort.column, order: sort.ascending ? 1 : 0 }),
    ),
    parameters: storage.parameters,
  });
}

export function toThriftPartition(dbName: string, tableName: string, partition: NewPartition): hms.Partition {
  return new hms.Partition({
    values: partition.values,
    dbName,
    tableName,
    // HMS stamps the creation time itself.
    createTime: unsetAllowed<number>(undefined),
    lastAccessTime: unsetAllowed<number>(undefined),
    sd: toThriftStorageDescriptor(partition.storage),
    parameters: partition.parameters ?? {},
  });
}

export function toThriftDatabase(database: NewDatabase): hms.Database {
  return new hms.Database({
    name: database.name,
    description: unsetAllowed(database.description),
    // Unset, HMS puts the database under its warehouse directory.
    locationUri: unsetAllowed(database.locationUri),
    parameters: {},
  });
}

export function toThriftTable(table: NewTable): hms.Table {
  const storage: StorageDescriptor = {
    columns: table.columns,
    location: table.location,
    inputFormat: table.inputFormat,
    outputFormat: table.outputFormat,
    compressed: false,
    numBuckets: -1,
    // Hive names the serde after the table.
    serde: { ...table.serde, name: table.tableName },
    bucketColumns: [],
    sortColumns: [],
    parameters: {},
  };
  // Without EXTERNAL=TRUE, HMS (ObjectStore.convertToMTable) stores an EXTERNAL_TABLE as MANAGED_TABLE.
  const external: Record<string, string> = table.tableType === 'EXTERNAL_TABLE' ? { EXTERNAL: 'TRUE' } : {};
  return new hms.Table({
    tableName: table.tableName,
    dbName: table.dbName,
    owner: unsetAllowed(table.owner),
    // HMS stamps the creation time itself.
    createTime: unsetAllowed<number>(undefined),
    lastAccessTime: unsetAllowed<number>(undefined),
    retention: 0,
    sd: toThriftStorageDescriptor(storage),
    partitionKeys: table.partitionKeys.map(
      (column) => new hms.FieldSchema({ ...column, comment: unsetAllowed(column.comment) }),
    ),
    parameters: { ...table.parameters, ...external },
    viewOriginalText: unsetAllowed<string>(undefined),
    viewExpandedText: unsetAllowed<string>(undefined),
    tableType: table.tableType,
  });
}
