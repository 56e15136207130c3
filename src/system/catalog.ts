// The few metastore calls the system tables need, behind a narrow interface: the publisher runs on the
// real metastore through metastoreCatalog, and its unit tests on an in-memory twin.
import type { MetastoreClient } from '../metastore/client.ts';
import { isAnsweredWith } from '../metastore/errors.ts';
import hms from '../metastore/gen/hive_metastore_types.js';
import type { FieldSchema, NewTable } from '../metastore/types.ts';

export interface CatalogDatabase {
  name: string;
  locationUri?: string;
}

export interface CatalogTable {
  location?: string;
  columns: FieldSchema[];
  partitionKeys: FieldSchema[];
}

export type CatalogNewTable = NewTable;

export interface CatalogPartition {
  values: string[];
  location?: string;
}

/** The calls of one round, all on one metastore connection. */
export interface CatalogCalls {
  /** Undefined when the database does not exist. */
  getDatabase(name: string): Promise<CatalogDatabase | undefined>;
  /** False when it existed already. */
  createDatabase(db: { name: string; description?: string; locationUri?: string }): Promise<boolean>;
  /** Undefined only when the metastore says the table does not exist; any other failure throws. */
  getTable(db: string, table: string): Promise<CatalogTable | undefined>;
  /** False when it existed already. */
  createTable(table: CatalogNewTable): Promise<boolean>;
  /** One metastore call: a reader sees the old location or the new one. */
  setTableLocation(db: string, table: string, location: string): Promise<void>;
  /** False when it existed not. External tables only: no file is deleted. */
  dropTable(db: string, table: string): Promise<boolean>;
  getPartitions(db: string, table: string): Promise<CatalogPartition[]>;
  /** One metastore call: a reader of the partition sees the old location or the new one. */
  setPartitionLocation(db: string, table: string, values: string[], location: string): Promise<void>;
  /** Adds those that do not exist yet, with the table's storage and the given locations. */
  addPartitions(db: string, table: string, partitions: { values: string[]; location: string }[]): Promise<void>;
  /** Drops the partition from the metastore only: its files are never deleted. False when it did not exist. */
  dropPartition(db: string, table: string, values: string[]): Promise<boolean>;
}

export interface SystemCatalog {
  /** Runs one round of calls; on the metastore, on one connection opened for it and closed after. */
  round<T>(fn: (calls: CatalogCalls) => Promise<T>): Promise<T>;
}

/** HMS answers a lookup of a missing object with NoSuchObjectException; only that means "missing". */
export function isNoSuchObject(error: unknown): boolean {
  return isAnsweredWith(error, hms.NoSuchObjectException);
}

/**
 * The SystemCatalog of a metastore: each round connects, runs, and closes, so a broken connection
 * never outlives the round that saw it (the next round starts fresh).
 */
export function metastoreCatalog(connect: () => Promise<MetastoreClient>): SystemCatalog {
  return {
    async round(fn) {
      const client = await connect();
      try {
        return await fn(clientCalls(client));
      } finally {
        client.close();
      }
    },
  };
}

function clientCalls(client: MetastoreClient): CatalogCalls {
  const getTable = async (db: string, table: string) => {
    try {
      return await client.getTable(db, table);
    } catch (error) {
      // A network error or timeout is not "missing": creating the table then would be a guess.
      if (isNoSuchObject(error)) return undefined;
      throw error;
    }
  };
  return {
    getDatabase: (name) => client.getDatabase(name),
    createDatabase: (db) => client.createDatabase(db),
    async getTable(db, table) {
      const t = await getTable(db, table);
      return t && { location: t.storage.location, columns: t.storage.columns, partitionKeys: t.partitionKeys };
    },
    createTable: (table) => client.createTable(table),
    setTableLocation: (db, table, location) => client.setTableLocation(db, table, location),
    dropTable: (db, table) => client.dropTable(db, table, false),
    setPartitionLocation: (db, table, values, location) => client.setPartitionLocation(db, table, values, location),
    async getPartitions(db, table) {
      return (await client.getPartitions(db, table)).map((p) => ({ values: p.values, location: p.storage.location }));
    },
    async addPartitions(db, table, partitions) {
      if (partitions.length === 0) return;
      const t = await getTable(db, table);
      if (!t) throw new Error(`table ${db}.${table} does not exist`);
      // A partition reads with its own storage descriptor: the table's (columns, serde, formats) at its own location.
      await client.addPartitions(db, table, partitions.map((p) => ({ values: p.values, storage: { ...t.storage, location: p.location } })), true);
    },
    dropPartition: (db, table, values) => client.dropPartition(db, table, values, false),
  };
}
