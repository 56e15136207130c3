// Typed client for the few Hive Metastore calls hive-kafka needs: one TCP connection,
// TBufferedTransport + TBinaryProtocol (HMS defaults: unframed, no SASL).
import thrift from 'thrift';
import ThriftHiveMetastore from './gen/ThriftHiveMetastore.js';
import hms from './gen/hive_metastore_types.js';
import {
  bigIntToInt64,
  fromThriftDatabase,
  fromThriftNotificationEvent,
  fromThriftPartition,
  fromThriftTable,
  int64ToBigInt,
  toThriftDatabase,
  toThriftPartition,
  toThriftTable,
} from './convert.ts';
import { isAnsweredWith, MetastoreError, toMetastoreError } from './errors.ts';
import type {
  Database,
  FieldSchema,
  NewDatabase,
  NewPartition,
  NewTable,
  NotificationEvent,
  Partition,
  Table,
} from './types.ts';

export interface ConnectOptions {
  /** Limit for connecting and for each call. */
  timeoutMs: number;
}

// Always the callback style: the generated promise style needs `thrift.Q`, which thrift 0.24 no longer exports.
type Callback<T> = (error: unknown, result: T) => void;

interface PendingCall {
  call: string;
  fail: (error: MetastoreError) => void;
}

// The conditional alter of HIVE-26882 (hive_metastoreConstants EXPECTED_PARAMETER_KEY / _VALUE) and its refusal.
const EXPECTED_KEY = 'expected_parameter_key';
const EXPECTED_VALUE = 'expected_parameter_value';
const MODIFIED_MEANWHILE = 'The table has been modified';
const DDL_TIME = 'transient_lastDdlTime';
/** Longer than transient_lastDdlTime's resolution of one second. */
const GUARD_SETTLE_MS = 1_100;
const GUARD_ATTEMPTS = 10;

// HMS requires this capability to return insert-only (micro-managed ACID) tables; Hive's own client sends it too.
const clientCapabilities = new hms.ClientCapabilities({ values: [hms.ClientCapability.INSERT_ONLY_TABLES] });

function parseThriftUri(uri: string): { host: string; port: number; endpoint: string } {
  const url = URL.canParse(uri) ? new URL(uri) : undefined;
  if (url?.protocol !== 'thrift:' || url.hostname === '' || url.port === '') {
    throw new Error(`not a metastore URI (expected thrift://host:port): ${uri}`);
  }
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(url.port),
    endpoint: `${url.hostname}:${url.port}`,
  };
}

export class MetastoreClient {
  private readonly pending = new Map<number, PendingCall>();
  private nextCallId = 0;
  /** Set once the connection is unusable; later calls fail at once instead of queueing forever. */
  private closedBecause: string | undefined;
  private readonly client: ThriftHiveMetastore.Client;

  private constructor(
    readonly endpoint: string,
    private readonly connection: thrift.Connection,
    private readonly timeoutMs: number,
  ) {
    this.client = thrift.createClient(ThriftHiveMetastore.Client, connection);
    // node thrift only reports failures as events: without these, a pending call would wait forever.
    connection.on('error', (error: unknown) => {
      this.abandon('after a connection error', (call) => toMetastoreError(error, endpoint, call));
      // After a socket or protocol error the byte stream cannot be trusted any more.
      connection.destroy();
    });
    connection.on('close', () => this.abandon('closed by the server or the network'));
  }

  static async connect(uri: string, opts: ConnectOptions): Promise<MetastoreClient> {
    const { host, port, endpoint } = parseThriftUri(uri);
    const connection = thrift.createConnection(host, port, {
      transport: thrift.TBufferedTransport,
      protocol: thrift.TBinaryProtocol,
    });
    const client = new MetastoreClient(endpoint, connection, opts.timeoutMs);
    await client.invoke<void>('connect', (done) => connection.once('connect', () => done(null, undefined)));
    return client;
  }

  close(): void {
    if (this.closedBecause !== undefined) return;
    this.abandon('closed by the client');
    this.connection.end();
  }

  async getAllDatabases(): Promise<string[]> {
    return this.invoke('get_all_databases', (done) => this.client.get_all_databases(done));
  }

  /** Undefined when the database does not exist. */
  async getDatabase(name: string): Promise<Database | undefined> {
    const database = await this.orUndefined(hms.NoSuchObjectException,
      this.invoke<hms.Database>('get_database', (done) => this.client.get_database(name, done)));
    return database && fromThriftDatabase(database);
  }

  /** False when the database already exists (whatever its location); HMS creates the directory otherwise. */
  async createDatabase(db: NewDatabase): Promise<boolean> {
    const database = toThriftDatabase(db);
    return this.orFalse(hms.AlreadyExistsException,
      this.invoke<void>('create_database', (done) => this.client.create_database(database, done)));
  }

  async getAllTables(dbName: string): Promise<string[]> {
    return this.invoke('get_all_tables', (done) => this.client.get_all_tables(dbName, done));
  }

  async getTable(dbName: string, tableName: string): Promise<Table> {
    return fromThriftTable(await this.thriftTable(dbName, tableName));
  }

  /** The table as HMS stores it: empty processorCapabilities make HMS skip its metadata transformer. */
  private async thriftTable(dbName: string, tableName: string): Promise<hms.Table> {
    const request = new hms.GetTableRequest({ dbName, tblName: tableName, capabilities: clientCapabilities, processorCapabilities: [] });
    return (await this.invoke<hms.GetTableResult>('get_table_req', (done) => this.client.get_table_req(request, done))).table;
  }

  /** Writes back a table read with thriftTable; `properties` go in the EnvironmentContext (CASCADE). */
  private async alterThriftTable(dbName: string, tableName: string, table: hms.Table, properties: Record<string, string>): Promise<void> {
    const context = new hms.EnvironmentContext({ properties });
    await this.invoke<void>('alter_table_with_environment_context', (done) =>
      this.client.alter_table_with_environment_context(dbName, tableName, table, context, done));
  }

  /**
   * Appends the columns the table lacks (by name, case-insensitively), to the table and, with CASCADE,
   * to every partition: Hive reads a partition with the partition's own columns. Returns the names added.
   * Fields of the table this IDL leaves out (privileges, creation metadata) are not altered by HMS.
   */
  async addColumns(dbName: string, tableName: string, columns: FieldSchema[]): Promise<string[]> {
    const added = await this.alterTableGuarded(dbName, tableName, { CASCADE: 'true' }, (table) => {
      const have = new Set(table.sd.cols.map((c) => c.name.toLowerCase()));
      const missing = columns.filter((c) => !have.has(c.name.toLowerCase()));
      if (missing.length === 0) return undefined;
      table.sd.cols.push(...missing.map((c) => new hms.FieldSchema({ name: c.name, type: c.type, comment: c.comment ?? '' })));
      return missing.map((c) => c.name);
    });
    return added ?? [];
  }

  /**
   * Reads the table, lets `change` edit it (undefined: nothing to write) and writes it back only if no
   * ALTER landed in between: a table is written whole, so an ALTER TABLE ... SET TBLPROPERTIES between
   * the read and the write would otherwise be reverted. The guard is HMS 4.1's conditional alter
   * (HIVE-26882) on transient_lastDdlTime, which HMS sets to its clock, in whole seconds, on every ALTER
   * that does not send it (Hive's do not; ours send it back as read, unchanged). Two reads more than a
   * second apart with the same value make the guard exact: an ALTER after the second read has a later
   * second. A refused write starts over. An HMS without HIVE-26882 ignores the guard.
   */
  async alterTableGuarded<T>(dbName: string, tableName: string, properties: Record<string, string>,
    change: (table: hms.Table) => T | undefined | Promise<T | undefined>): Promise<T | undefined> {
    let id: string | undefined; // the table first read: one dropped and created again under the name is another
    const read = async () => {
      const table = await this.thriftTable(dbName, tableName);
      const now = table.id === undefined || table.id === null ? 'none' : String(int64ToBigInt(table.id));
      if ((id ??= now) !== now) {
        throw new MetastoreError(this.endpoint, 'get_table_req', `${dbName}.${tableName} was dropped and created again while hive-kafka was altering it (id ${id}, now ${now}); nothing written`, false);
      }
      return table;
    };
    for (let attempt = 1; attempt <= GUARD_ATTEMPTS; attempt += 1) {
      const first = await read();
      await new Promise((resolve) => setTimeout(resolve, GUARD_SETTLE_MS));
      const table = await read();
      const ddlTime = table.parameters?.[DDL_TIME];
      if (ddlTime !== first.parameters?.[DDL_TIME]) continue;
      const result = await change(table);
      if (result === undefined) return undefined;
      const guard: Record<string, string> = ddlTime === undefined ? {} : { [EXPECTED_KEY]: DDL_TIME, [EXPECTED_VALUE]: ddlTime };
      try {
        await this.alterThriftTable(dbName, tableName, table, { ...properties, ...guard });
        return result;
      } catch (error) {
        if (!(error instanceof MetastoreError && error.message.includes(MODIFIED_MEANWHILE))) throw error;
      }
    }
    throw new MetastoreError(this.endpoint, 'alter_table_with_environment_context',
      `${dbName}.${tableName} changed under each of ${GUARD_ATTEMPTS} attempts to alter it (an ALTER about every second); nothing written`, true);
  }

  /**
   * False when the table already exists, whatever its definition. An EXTERNAL_TABLE also gets EXTERNAL=TRUE.
   * Without processor capabilities, HMS's default transformer may turn a MANAGED_TABLE into an external one.
   */
  async createTable(table: NewTable): Promise<boolean> {
    const tbl = toThriftTable(table);
    return this.orFalse(hms.AlreadyExistsException,
      this.invoke<void>('create_table', (done) => this.client.create_table(tbl, done)));
  }

  /** Changes only the table's own location: partitions keep theirs (no CASCADE), and no data moves. */
  async setTableLocation(dbName: string, tableName: string, location: string): Promise<void> {
    await this.alterTableGuarded(dbName, tableName, {}, (table) => { table.sd.location = location; return true; });
  }

  /** Names that do not exist are left out of the result. */
  async getTables(dbName: string, tableNames: string[]): Promise<Table[]> {
    const request = new hms.GetTablesRequest({
      dbName,
      tblNames: tableNames,
      capabilities: clientCapabilities,
      processorCapabilities: [],
    });
    const result = await this.invoke<hms.GetTablesResult>('get_table_objects_by_name_req', (done) =>
      this.client.get_table_objects_by_name_req(request, done),
    );
    return result.tables.map(fromThriftTable);
  }

  /** Returns the partitions HMS added; with ifNotExists, existing ones are left out. */
  async addPartitions(
    dbName: string,
    tableName: string,
    partitions: NewPartition[],
    ifNotExists: boolean,
  ): Promise<Partition[]> {
    const request = new hms.AddPartitionsRequest({
      dbName,
      tblName: tableName,
      parts: partitions.map((partition) => toThriftPartition(dbName, tableName, partition)),
      ifNotExists,
      needResult: true,
    });
    const result = await this.invoke<hms.AddPartitionsResult>('add_partitions_req', (done) =>
      this.client.add_partitions_req(request, done),
    );
    return (result.partitions ?? []).map(fromThriftPartition);
  }

  /** Names like "dt=2024-01-01/country=fr". */
  async getPartitionNames(dbName: string, tableName: string): Promise<string[]> {
    return this.invoke('get_partition_names', (done) =>
      this.client.get_partition_names(dbName, tableName, -1, done),
    );
  }

  /** Every partition of the table, in no particular order. */
  async getPartitions(dbName: string, tableName: string): Promise<Partition[]> {
    const partitions = await this.invoke<hms.Partition[]>('get_partitions', (done) =>
      this.client.get_partitions(dbName, tableName, -1, done));
    return partitions.map(fromThriftPartition);
  }

  /** Values in partition-key order. Undefined when HMS says there is no such partition (or table). */
  async getPartition(dbName: string, tableName: string, values: string[]): Promise<Partition | undefined> {
    const partition = await this.fetchPartition(dbName, tableName, values);
    return partition && fromThriftPartition(partition);
  }

  /** Changes only the partition's location; no data moves. Fails if the partition does not exist. */
  async setPartitionLocation(dbName: string, tableName: string, values: string[], location: string): Promise<void> {
    const partition = await this.fetchPartition(dbName, tableName, values);
    if (partition === undefined) {
      throw new MetastoreError(this.endpoint, 'get_partition', `no partition (${values.join(', ')}) in ${dbName}.${tableName}`, false);
    }
    partition.sd.location = location;
    // alter_partition finds the partition by new_part.values, which are the ones we read.
    await this.invoke<void>('alter_partition', (done) => this.client.alter_partition(dbName, tableName, partition, done));
  }

  /** False when there is no such table. deleteData=false leaves every file of the table where it is. */
  async dropTable(dbName: string, tableName: string, deleteData: boolean): Promise<boolean> {
    const dropped = await this.orUndefined(hms.NoSuchObjectException,
      this.invoke<void>('drop_table', (done) => this.client.drop_table(dbName, tableName, deleteData, done)).then(() => true));
    return dropped ?? false;
  }

  /**
   * False when there is no such partition (or table). deleteData only removes files of a managed table
   * (or one with external.table.purge=true); an external table's files stay.
   */
  async dropPartition(dbName: string, tableName: string, values: string[], deleteData: boolean): Promise<boolean> {
    const dropped = await this.orUndefined(hms.NoSuchObjectException,
      this.invoke<boolean>('drop_partition', (done) => this.client.drop_partition(dbName, tableName, values, deleteData, done)));
    return dropped ?? false;
  }

  async getCurrentEventId(): Promise<bigint> {
    const result = await this.invoke<hms.CurrentNotificationEventId>('get_current_notificationEventId', (done) =>
      this.client.get_current_notificationEventId(done),
    );
    return int64ToBigInt(result.eventId);
  }

  /** Events with eventId > lastEvent, oldest first. maxEvents is required: HMS's own cap is a million. */
  async getNextEvents(lastEvent: bigint, maxEvents: number): Promise<NotificationEvent[]> {
    const request = new hms.NotificationEventRequest({ lastEvent: bigIntToInt64(lastEvent), maxEvents });
    const result = await this.invoke<hms.NotificationEventResponse>('get_next_notification', (done) =>
      this.client.get_next_notification(request, done),
    );
    return result.events.map(fromThriftNotificationEvent);
  }

  /** The raw Thrift partition, kept whole so that an alter sends back what was read. */
  private fetchPartition(dbName: string, tableName: string, values: string[]): Promise<hms.Partition | undefined> {
    return this.orUndefined(hms.NoSuchObjectException,
      this.invoke<hms.Partition>('get_partition', (done) => this.client.get_partition(dbName, tableName, values, done)));
  }

  /** Turns one expected answer of HMS (a declared exception) into undefined; every other failure still rejects. */
  private async orUndefined<T>(exception: abstract new (...args: never[]) => unknown, call: Promise<T>): Promise<T | undefined> {
    try {
      return await call;
    } catch (error) {
      if (isAnsweredWith(error, exception)) return undefined;
      throw error;
    }
  }

  /** Like orUndefined, for void calls: true once done, false on the expected exception. */
  private async orFalse(exception: abstract new (...args: never[]) => unknown, call: Promise<unknown>): Promise<boolean> {
    const result = await this.orUndefined(exception, call.then(() => true));
    return result ?? false;
  }

  /** Runs one Thrift call with a deadline, and settles it exactly once whatever happens to the connection. */
  private invoke<T>(call: string, start: (done: Callback<T>) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closedBecause !== undefined) {
        reject(this.closedError(call));
        return;
      }
      const id = this.nextCallId++;
      const settle = (error: MetastoreError | undefined, result?: T) => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(result as T);
      };
      const timer = setTimeout(() => {
        settle(new MetastoreError(this.endpoint, call, `timed out after ${this.timeoutMs} ms`, true));
        // HMS serves one call at a time per connection: the slow call would hold up every later one.
        this.abandon(`${call} timed out`);
        this.connection.destroy();
      }, this.timeoutMs);
      this.pending.set(id, { call, fail: (error) => settle(error) });
      try {
        start((error, result) =>
          error ? settle(toMetastoreError(error, this.endpoint, call)) : settle(undefined, result),
        );
      } catch (error) {
        settle(toMetastoreError(error, this.endpoint, call));
      }
    });
  }

  /** Marks the client unusable and rejects every pending call; the first reason wins. */
  private abandon(reason: string, errorFor = (call: string) => this.closedError(call)): void {
    this.closedBecause ??= reason;
    for (const { call, fail } of [...this.pending.values()]) fail(errorFor(call));
  }

  private closedError(call: string): MetastoreError {
    return new MetastoreError(this.endpoint, call, `connection is closed (${this.closedBecause})`, true);
  }
}
