// An in-memory SystemCatalog that behaves as the metastore does for the calls the publisher makes:
// for unit tests, and for trying the publisher without a metastore.
import type { CatalogCalls, CatalogDatabase, CatalogNewTable, CatalogPartition, CatalogTable, SystemCatalog } from './catalog.ts';

export class MemoryCatalog implements SystemCatalog, CatalogCalls {
  readonly databases = new Map<string, CatalogDatabase & { description?: string }>();
  readonly tables = new Map<string, CatalogNewTable>();
  readonly partitions = new Map<string, CatalogPartition[]>();
  /** Every call, in order, as "name db.table" (or "name db"). */
  readonly calls: string[] = [];
  /** Calls (by name) that fail once each, the next time they are made. */
  readonly failOnce = new Set<string>();
  /** Runs once, just before the named call: another client's change between two calls of ours. */
  readonly beforeOnce = new Map<string, () => void>();
  rounds = 0;

  /** @param warehouse where a database without a location goes, as the metastore's warehouse dir. */
  constructor(private readonly warehouse: string) {}

  async round<T>(fn: (calls: CatalogCalls) => Promise<T>): Promise<T> {
    this.rounds++;
    return fn(this);
  }

  private call(name: string, target: string): void {
    this.calls.push(`${name} ${target}`);
    const before = this.beforeOnce.get(name);
    this.beforeOnce.delete(name);
    before?.();
    if (this.failOnce.delete(name)) throw new Error(`${name} failed (injected)`);
  }

  async getDatabase(name: string) {
    this.call('getDatabase', name);
    const db = this.databases.get(name);
    return db && { name: db.name, locationUri: db.locationUri };
  }

  async createDatabase(db: { name: string; description?: string; locationUri?: string }) {
    this.call('createDatabase', db.name);
    if (this.databases.has(db.name)) return false;
    this.databases.set(db.name, { ...db, locationUri: db.locationUri ?? `${this.warehouse}/${db.name}.db` });
    return true;
  }

  async getTable(db: string, table: string): Promise<CatalogTable | undefined> {
    this.call('getTable', `${db}.${table}`);
    const t = this.tables.get(`${db}.${table}`);
    return t && { location: t.location, columns: t.columns, partitionKeys: t.partitionKeys };
  }

  async createTable(table: CatalogNewTable) {
    this.call('createTable', `${table.dbName}.${table.tableName}`);
    if (!this.databases.has(table.dbName)) throw new Error(`NoSuchObjectException: database ${table.dbName}`);
    const key = `${table.dbName}.${table.tableName}`;
    if (this.tables.has(key)) return false;
    this.tables.set(key, structuredClone(table));
    return true;
  }

  async setTableLocation(db: string, table: string, location: string) {
    this.call('setTableLocation', `${db}.${table}`);
    const t = this.tables.get(`${db}.${table}`);
    if (!t) throw new Error(`NoSuchObjectException: table ${db}.${table}`);
    t.location = location;
  }

  async dropTable(db: string, table: string) {
    this.call('dropTable', `${db}.${table}`);
    this.partitions.delete(`${db}.${table}`);
    return this.tables.delete(`${db}.${table}`);
  }

  async setPartitionLocation(db: string, table: string, values: string[], location: string) {
    this.call('setPartitionLocation', `${db}.${table}`);
    const p = (this.partitions.get(`${db}.${table}`) ?? []).find((q) => q.values.join('/') === values.join('/'));
    // What Hive 4.1's metastore answers alter_partition for a missing partition (seen 2026-12-03).
    if (!p) throw new Error(`InvalidOperationException: alter is not possible: partition values=[${values.join(', ')}]`);
    p.location = location;
  }

  async getPartitions(db: string, table: string) {
    this.call('getPartitions', `${db}.${table}`);
    return (this.partitions.get(`${db}.${table}`) ?? []).map((p) => ({ ...p, values: [...p.values] }));
  }

  async addPartitions(db: string, table: string, partitions: { values: string[]; location: string }[]) {
    this.call('addPartitions', `${db}.${table}`);
    const t = this.tables.get(`${db}.${table}`);
    if (!t) throw new Error(`NoSuchObjectException: table ${db}.${table}`);
    const list = this.partitions.get(`${db}.${table}`) ?? [];
    for (const p of partitions) {
      if (p.values.length !== t.partitionKeys.length) throw new Error(`partition ${p.values.join('/')} does not match the partition keys`);
      if (!list.some((q) => q.values.join('/') === p.values.join('/'))) list.push({ values: [...p.values], location: p.location });
    }
    this.partitions.set(`${db}.${table}`, list);
  }

  async dropPartition(db: string, table: string, values: string[]) {
    this.call('dropPartition', `${db}.${table}`);
    const list = this.partitions.get(`${db}.${table}`) ?? [];
    const kept = list.filter((p) => p.values.join('/') !== values.join('/'));
    this.partitions.set(`${db}.${table}`, kept);
    return kept.length !== list.length;
  }
}
