// MetastoreClient and event decoding against the real Hive Metastore, with DDL run through real beeline.
// The failure-handling tests at the end use local stand-ins, since the real HMS cannot be made to hang.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type AddressInfo } from 'node:net';
import thrift from 'thrift';
import { MetastoreClient } from '../../src/metastore/client.ts';
import { MetastoreError } from '../../src/metastore/errors.ts';
import { decodeMessage } from '../../src/metastore/events.ts';
import ThriftHiveMetastore from '../../src/metastore/gen/ThriftHiveMetastore.js';
import { runBeeline } from './helpers/beeline.ts';
import { stack } from './helpers/services.ts';

const timeoutMs = 10_000;

async function connectOrExplain(uri: string): Promise<MetastoreClient> {
  try {
    const client = await MetastoreClient.connect(uri, { timeoutMs });
    await client.getCurrentEventId();
    return client;
  } catch (cause) {
    throw new Error(`Hive Metastore is not reachable at ${uri} (start it with: npm run stack:up)`, { cause });
  }
}

const client = await connectOrExplain(stack.metastoreUri);
after(() => client.close());

function uniqueTableName(prefix: string): string {
  return `${prefix}_${randomUUID().slice(0, 8)}`;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`thrift://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

test('lists databases, including default', async () => {
  assert.ok((await client.getAllDatabases()).includes('default'));
});

test('reads a table created through beeline, and adds partitions to it', async (t) => {
  const name = uniqueTableName('it_meta_read');
  await runBeeline(
    `CREATE TABLE default.${name} (id BIGINT, payload STRING) PARTITIONED BY (dt STRING) ` +
      `STORED AS PARQUET TBLPROPERTIES ('hive.kafka.test'='yes')`,
  );
  t.after(() => runBeeline(`DROP TABLE IF EXISTS default.${name}`));

  const table = await client.getTable('default', name);
  assert.equal(table.tableName, name);
  assert.equal(table.dbName, 'default');
  assert.deepEqual(table.storage.columns, [
    { name: 'id', type: 'bigint' },
    { name: 'payload', type: 'string' },
  ]);
  assert.deepEqual(table.partitionKeys, [{ name: 'dt', type: 'string' }]);
  assert.equal(table.storage.serde.serializationLib, 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
  assert.equal(table.storage.inputFormat, 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat');
  assert.match(table.storage.location ?? '', new RegExp(`/${name}$`));
  assert.equal(table.parameters['hive.kafka.test'], 'yes');

  assert.ok((await client.getAllTables('default')).includes(name));
  assert.deepEqual(await client.getTables('default', [name]), [table]);

  assert.deepEqual(await client.getPartitionNames('default', name), []);
  const partition = { values: ['2024-01-01'], storage: { ...table.storage, location: undefined } };
  const added = await client.addPartitions('default', name, [partition], true);
  assert.equal(added.length, 1);
  assert.deepEqual(added[0]?.values, ['2024-01-01']);
  assert.match(added[0]?.storage.location ?? '', new RegExp(`/${name}/dt=2024-01-01$`));
  assert.deepEqual(await client.getPartitionNames('default', name), ['dt=2024-01-01']);
  assert.deepEqual(await client.addPartitions('default', name, [partition], true), [], 'ifNotExists skips existing');
});

test('a missing table is a NoSuchObjectException, named in the error', async () => {
  const name = uniqueTableName('it_meta_missing');
  await assert.rejects(client.getTable('default', name), (error: unknown) => {
    assert.ok(error instanceof MetastoreError);
    assert.equal(error.call, 'get_table_req');
    assert.equal(error.retriable, false);
    assert.match(error.message, /get_table_req on .* failed: NoSuchObjectException: .*table not found/);
    return true;
  });
});

test('CREATE, ALTER and DROP through beeline come back as decodable notification events', async () => {
  const name = uniqueTableName('it_meta_events');
  const since = await client.getCurrentEventId();
  await runBeeline(`CREATE TABLE default.${name} (id BIGINT) TBLPROPERTIES ('step'='created')`);
  await runBeeline(`ALTER TABLE default.${name} SET TBLPROPERTIES ('step'='altered')`);
  await runBeeline(`DROP TABLE default.${name}`);

  // Other test files run DDL concurrently, so keep only this table's events.
  const events = (await client.getNextEvents(since, 1000)).filter((event) => event.tableName === name);
  assert.deepEqual(
    events.map((event) => event.eventType),
    ['CREATE_TABLE', 'ALTER_TABLE', 'DROP_TABLE'],
  );
  assert.ok(events.every((event) => event.eventId > since && event.dbName === 'default'));

  const [created, altered, dropped] = events.map(decodeMessage);
  assert.equal(created?.type, 'CREATE_TABLE');
  assert.equal(created.table.tableName, name);
  assert.deepEqual(created.table.storage.columns, [{ name: 'id', type: 'bigint' }]);
  assert.equal(created.table.parameters.step, 'created');
  assert.equal(altered?.type, 'ALTER_TABLE');
  assert.equal(altered.before.parameters.step, 'created');
  assert.equal(altered.after.parameters.step, 'altered');
  assert.equal(altered.isTruncateOp, false);
  assert.equal(dropped?.type, 'DROP_TABLE');
  assert.equal(dropped.table.tableName, name);
  assert.equal(dropped.table.parameters.step, 'altered');
});

test('a refused connection fails with a retriable MetastoreError naming the endpoint and the call', async () => {
  await assert.rejects(MetastoreClient.connect('thrift://127.0.0.1:1', { timeoutMs: 5000 }), (error: unknown) => {
    assert.ok(error instanceof MetastoreError);
    assert.equal(error.endpoint, '127.0.0.1:1');
    assert.equal(error.call, 'connect');
    assert.equal(error.retriable, true);
    assert.equal(error.message, 'connect on 127.0.0.1:1 failed: connection refused');
    return true;
  });
});

test('a call that gets no answer times out, and the client then fails fast', async (t) => {
  const silent = createServer(() => {});
  t.after(() => silent.close());
  const stalled = await MetastoreClient.connect(await listen(silent), { timeoutMs: 300 });
  t.after(() => stalled.close());

  await assert.rejects(stalled.getAllDatabases(), (error: unknown) => {
    assert.ok(error instanceof MetastoreError);
    assert.equal(error.retriable, true);
    assert.match(error.message, /^get_all_databases on 127\.0\.0\.1:\d+ failed: timed out after 300 ms$/);
    return true;
  });
  await assert.rejects(stalled.getAllTables('default'), /get_all_tables on .* failed: connection is closed/);
});

test('a connection closed by the server rejects the pending call', async (t) => {
  const closing = createServer((socket) => socket.once('data', () => socket.destroy()));
  t.after(() => closing.close());
  const doomed = await MetastoreClient.connect(await listen(closing), { timeoutMs: 5000 });

  await assert.rejects(doomed.getAllTables('default'), (error: unknown) => {
    assert.ok(error instanceof MetastoreError);
    assert.equal(error.call, 'get_all_tables');
    assert.equal(error.retriable, true);
    return true;
  });
});

test('a TApplicationException is named and not retriable', async (t) => {
  const refusing = thrift.createServer(ThriftHiveMetastore.Processor, {
    get_current_notificationEventId(callback: (error: Error) => void) {
      callback(new Error('User root is not allowed to perform this API call'));
    },
  });
  t.after(() => refusing.close());
  const refused = await MetastoreClient.connect(await listen(refusing as unknown as Server), { timeoutMs: 5000 });
  t.after(() => refused.close());

  await assert.rejects(refused.getCurrentEventId(), (error: unknown) => {
    assert.ok(error instanceof MetastoreError);
    assert.equal(error.retriable, false);
    assert.match(
      error.message,
      /^get_current_notificationEventId on 127\.0\.0\.1:\d+ failed: TApplicationException \(UNKNOWN\): User root is not allowed/,
    );
    return true;
  });
});

test('a guarded alter writes nothing over an ALTER that landed between its read and its write, and tries again', async (t) => {
  const name = uniqueTableName('it_meta_guard');
  await runBeeline(`CREATE TABLE default.${name} (id BIGINT) TBLPROPERTIES ('step'='created')`);
  t.after(() => runBeeline(`DROP TABLE IF EXISTS default.${name}`));
  const moved = `${(await client.getTable('default', name)).storage.location}_moved`;
  let writes = 0;
  const attempt = await client.alterTableGuarded('default', name, {}, async (table) => {
    writes += 1;
    // A user's ALTER after the service read the table: the first write must be refused, not revert it.
    if (writes === 1) await runBeeline(`ALTER TABLE default.${name} SET TBLPROPERTIES ('step'='altered meanwhile')`);
    table.sd.location = moved;
    return writes;
  });
  assert.equal(attempt, 2, 'the write based on the stale read was refused and made again from a fresh read');
  const table = await client.getTable('default', name);
  assert.equal(table.parameters.step, 'altered meanwhile');
  assert.equal(table.storage.location, moved);
  // And setTableLocation, which the compaction switch uses, keeps the user's properties too.
  await client.setTableLocation('default', name, `${moved}2`);
  const again = await client.getTable('default', name);
  assert.deepEqual([again.parameters.step, again.storage.location], ['altered meanwhile', `${moved}2`]);
});
