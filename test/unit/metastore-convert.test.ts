// The Thrift structs hive-kafka writes for DDL, and the client's DDL calls against an in-process fake HMS
// speaking the same generated protocol. The field ids themselves were checked against Hive 4.0.1; this only
// checks what we send and how the declared exceptions are read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import thrift from 'thrift';
import ThriftHiveMetastore from '../../src/metastore/gen/ThriftHiveMetastore.js';
import hms from '../../src/metastore/gen/hive_metastore_types.js';
import { MetastoreClient } from '../../src/metastore/client.ts';
import { fromThriftDatabase, fromThriftPartition, fromThriftTable, toThriftPartition, toThriftTable } from '../../src/metastore/convert.ts';
import { MetastoreError } from '../../src/metastore/errors.ts';
import type { NewTable, StorageDescriptor } from '../../src/metastore/types.ts';

const newTable: NewTable = {
  dbName: 'kafka',
  tableName: 'events',
  tableType: 'EXTERNAL_TABLE',
  columns: [{ name: 'id', type: 'bigint' }, { name: 'body', type: 'string', comment: 'raw' }],
  partitionKeys: [{ name: 'dt', type: 'string' }],
  location: 'hdfs://nn:8020/data/events',
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serde: { serializationLib: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe', parameters: { 'serialization.format': '1' } },
  parameters: { 'hive-kafka.topic': 'events' },
};

function storage(location: string | undefined): StorageDescriptor {
  return {
    columns: [{ name: 'id', type: 'bigint' }],
    location,
    inputFormat: 'in',
    outputFormat: 'out',
    compressed: false,
    numBuckets: -1,
    serde: { serializationLib: 'lib', parameters: {} },
    bucketColumns: [],
    sortColumns: [],
    parameters: {},
  };
}

test('an external table gets EXTERNAL=TRUE and the storage Hive itself would write', () => {
  const table = toThriftTable(newTable);
  assert.equal(table.tableType, 'EXTERNAL_TABLE');
  assert.deepEqual(table.parameters, { 'hive-kafka.topic': 'events', EXTERNAL: 'TRUE' });
  assert.equal(table.sd.location, newTable.location);
  assert.equal(table.sd.inputFormat, newTable.inputFormat);
  assert.equal(table.sd.outputFormat, newTable.outputFormat);
  assert.equal(table.sd.numBuckets, -1);
  assert.equal(table.sd.compressed, false);
  assert.deepEqual(table.sd.bucketCols, []);
  assert.deepEqual(table.sd.sortCols, []);
  assert.equal(table.sd.serdeInfo.name, 'events');
  assert.equal(table.sd.serdeInfo.serializationLib, newTable.serde.serializationLib);
  assert.deepEqual(table.sd.serdeInfo.parameters, { 'serialization.format': '1' });
  assert.deepEqual(table.sd.cols.map((c) => [c.name, c.type, c.comment]), [['id', 'bigint', null], ['body', 'string', 'raw']]);
  assert.deepEqual(table.partitionKeys.map((c) => [c.name, c.type]), [['dt', 'string']]);
  // Left to HMS.
  assert.equal(table.owner, null);
  assert.equal(table.createTime, null);
  assert.deepEqual(newTable.parameters, { 'hive-kafka.topic': 'events' }, 'the caller\'s parameters are not changed');
});

test('a managed table gets no EXTERNAL parameter; an owner is passed on', () => {
  const table = toThriftTable({ ...newTable, tableType: 'MANAGED_TABLE', owner: 'hive' });
  assert.equal(table.tableType, 'MANAGED_TABLE');
  assert.deepEqual(table.parameters, { 'hive-kafka.topic': 'events' });
  assert.equal(table.owner, 'hive');
});

test('a new partition keeps the location it is given, and leaves it unset when it has none', () => {
  const placed = toThriftPartition('kafka', 'events', { values: ['2024-01-01'], storage: storage('hdfs://nn:8020/elsewhere/dt=2024-01-01') });
  assert.equal(placed.sd.location, 'hdfs://nn:8020/elsewhere/dt=2024-01-01');
  assert.equal(fromThriftPartition(placed).storage.location, 'hdfs://nn:8020/elsewhere/dt=2024-01-01');
  const unplaced = toThriftPartition('kafka', 'events', { values: ['2024-01-02'], storage: storage(undefined) });
  assert.equal(unplaced.sd.location, null);
});

test('a database HMS sends without description reads as undefined', () => {
  const read = new hms.Database();
  read.name = 'kafka';
  read.locationUri = 'hdfs://nn:8020/warehouse/kafka.db';
  assert.deepEqual(fromThriftDatabase(read), { name: 'kafka', locationUri: 'hdfs://nn:8020/warehouse/kafka.db', description: undefined });
});

type Done = (error: unknown, result?: unknown) => void;

/** Just enough of HMS for the DDL calls: one database, one table, its partitions keyed by values. */
function fakeHandler() {
  const partitions = new Map<string, hms.Partition>();
  const seen: { alteredTable?: { table: hms.Table; context: hms.EnvironmentContext }; alteredPartition?: hms.Partition; createdTable?: hms.Table; createdDatabase?: hms.Database; dropped?: [string[], boolean] } = {};
  const table = toThriftTable(newTable);
  const partition = (values: string[]) => partitions.get(values.join('/'));
  partitions.set('2024-01-01', toThriftPartition('kafka', 'events', { values: ['2024-01-01'], storage: storage('hdfs://nn:8020/data/events/dt=2024-01-01') }));
  const handler = {
    get_database(name: string, done: Done) {
      if (name !== 'kafka') return done(new hms.NoSuchObjectException({ message: `${name} not found` }));
      done(null, new hms.Database({ name, description: unsetAllowed(), locationUri: 'hdfs://nn:8020/warehouse/kafka.db', parameters: {} }));
    },
    create_database(database: hms.Database, done: Done) {
      if (database.name === 'kafka') return done(new hms.AlreadyExistsException({ message: 'Database kafka already exists' }));
      if (database.name === 'broken') return done(new hms.MetaException({ message: 'disk full' }));
      seen.createdDatabase = database;
      done(null);
    },
    create_table(tbl: hms.Table, done: Done) {
      if (tbl.tableName === 'events') return done(new hms.AlreadyExistsException({ message: 'Table kafka.events already exists' }));
      seen.createdTable = tbl;
      done(null);
    },
    get_table_req(_request: hms.GetTableRequest, done: Done) {
      done(null, new hms.GetTableResult({ table }));
    },
    alter_table_with_environment_context(_db: string, _tbl: string, newTbl: hms.Table, context: hms.EnvironmentContext, done: Done) {
      seen.alteredTable = { table: newTbl, context };
      done(null);
    },
    get_partitions(_db: string, _tbl: string, maxParts: number, done: Done) {
      assert.equal(maxParts, -1);
      done(null, [...partitions.values()]);
    },
    get_partition(db: string, tbl: string, values: string[], done: Done) {
      const found = partition(values);
      if (found === undefined) return done(new hms.NoSuchObjectException({ message: `partition values=[${values}] in ${db}.${tbl} not found` }));
      done(null, found);
    },
    alter_partition(_db: string, _tbl: string, newPart: hms.Partition, done: Done) {
      seen.alteredPartition = newPart;
      done(null);
    },
    drop_partition(_db: string, _tbl: string, values: string[], deleteData: boolean, done: Done) {
      if (partition(values) === undefined) return done(new hms.NoSuchObjectException({ message: 'Partition doesn\'t exist.' }));
      seen.dropped = [values, deleteData];
      partitions.delete(values.join('/'));
      done(null, true);
    },
  };
  return { handler, seen };
}

function unsetAllowed<T>(): T {
  return undefined as T;
}

async function withFakeMetastore(body: (client: MetastoreClient, seen: ReturnType<typeof fakeHandler>['seen']) => Promise<void>): Promise<void> {
  const { handler, seen } = fakeHandler();
  const server = thrift.createServer(ThriftHiveMetastore.Processor as never, handler, {
    transport: thrift.TBufferedTransport,
    protocol: thrift.TBinaryProtocol,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = await MetastoreClient.connect(`thrift://127.0.0.1:${port}`, { timeoutMs: 5000 });
  try {
    await body(client, seen);
  } finally {
    client.close();
    await new Promise((resolve) => server.close(resolve));
  }
}

test('getDatabase and createDatabase read the expected exceptions as answers', async () => {
  await withFakeMetastore(async (client, seen) => {
    assert.deepEqual(await client.getDatabase('kafka'), { name: 'kafka', locationUri: 'hdfs://nn:8020/warehouse/kafka.db', description: undefined });
    assert.equal(await client.getDatabase('nope'), undefined);
    assert.equal(await client.createDatabase({ name: 'kafka' }), false);
    assert.equal(await client.createDatabase({ name: 'fresh', description: 'd' }), true);
    assert.equal(seen.createdDatabase?.name, 'fresh');
    assert.equal(seen.createdDatabase?.description, 'd');
    assert.equal(seen.createdDatabase?.locationUri, null, 'no location: HMS picks one');
    // Any other exception is still a failure.
    await assert.rejects(client.createDatabase({ name: 'broken' }), (error: unknown) =>
      error instanceof MetastoreError && /create_database .*MetaException: disk full/.test(error.message));
  });
});

test('createTable sends the table and reads AlreadyExistsException as false', async () => {
  await withFakeMetastore(async (client, seen) => {
    assert.equal(await client.createTable(newTable), false);
    assert.equal(await client.createTable({ ...newTable, tableName: 'fresh' }), true);
    assert.equal(seen.createdTable?.tableName, 'fresh');
    assert.equal(seen.createdTable?.parameters.EXTERNAL, 'TRUE');
    assert.equal(seen.createdTable?.sd.serdeInfo.name, 'fresh');
    assert.equal(seen.createdTable?.sd.numBuckets, -1);
  });
});

test('setTableLocation changes only the location, without CASCADE', async () => {
  await withFakeMetastore(async (client, seen) => {
    await client.setTableLocation('kafka', 'events', 'hdfs://nn:8020/moved');
    const altered = seen.alteredTable;
    assert.ok(altered);
    assert.equal(altered.table.sd.location, 'hdfs://nn:8020/moved');
    assert.deepEqual(altered.context.properties, {});
    const before = toThriftTable(newTable);
    assert.deepEqual(fromThriftTable(altered.table).storage, { ...fromThriftTable(before).storage, location: 'hdfs://nn:8020/moved' });
    assert.deepEqual(altered.table.parameters, before.parameters);
  });
});

test('partitions: list, get, relocate, drop', async () => {
  await withFakeMetastore(async (client, seen) => {
    const all = await client.getPartitions('kafka', 'events');
    assert.deepEqual(all.map((p) => p.values), [['2024-01-01']]);
    assert.equal((await client.getPartition('kafka', 'events', ['2024-01-01']))?.storage.location, 'hdfs://nn:8020/data/events/dt=2024-01-01');
    assert.equal(await client.getPartition('kafka', 'events', ['1999-01-01']), undefined);

    await client.setPartitionLocation('kafka', 'events', ['2024-01-01'], 'hdfs://nn:8020/moved/dt=2024-01-01');
    assert.deepEqual(seen.alteredPartition?.values, ['2024-01-01']);
    assert.equal(seen.alteredPartition?.sd.location, 'hdfs://nn:8020/moved/dt=2024-01-01');
    assert.equal(seen.alteredPartition?.sd.inputFormat, 'in');
    await assert.rejects(client.setPartitionLocation('kafka', 'events', ['1999-01-01'], 'hdfs://nn:8020/x'), (error: unknown) =>
      error instanceof MetastoreError && error.message.includes('kafka.events') && error.message.includes('1999-01-01') && !error.retriable);

    assert.equal(await client.dropPartition('kafka', 'events', ['1999-01-01'], false), false);
    assert.equal(await client.dropPartition('kafka', 'events', ['2024-01-01'], true), true);
    assert.deepEqual(seen.dropped, [['2024-01-01'], true]);
    assert.deepEqual(await client.getPartitions('kafka', 'events'), []);
  });
});
