import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetastoreClient } from '../../src/metastore/client.ts';
import { MetastoreError } from '../../src/metastore/errors.ts';
import hms from '../../src/metastore/gen/hive_metastore_types.js';
import type { Partition, Table } from '../../src/metastore/types.ts';
import { isNoSuchObject, metastoreCatalog } from '../../src/system/catalog.ts';

const storage = (location: string) => ({ columns: [{ name: 'topic', type: 'string' }], location, inputFormat: 'in', outputFormat: 'out',
  compressed: false, numBuckets: -1, serde: { serializationLib: 'serde', parameters: { 'serialization.format': '1' } }, bucketColumns: [], sortColumns: [], parameters: {} });

function fakeClient(tables: Record<string, Table>, failure?: Error) {
  const log: string[] = [];
  const client = {
    close: () => log.push('close'),
    async getTable(db: string, name: string) {
      log.push(`getTable ${db}.${name}`);
      if (failure) throw failure;
      const t = tables[`${db}.${name}`];
      if (!t) throw new MetastoreError('hms:9083', 'get_table_req', 'NoSuchObjectException: no such table', false, { cause: new hms.NoSuchObjectException({ message: 'no such table' }) });
      return t;
    },
    async addPartitions(db: string, name: string, parts: unknown[], ifNotExists: boolean) {
      log.push(`addPartitions ${db}.${name} ${JSON.stringify(parts)} ${ifNotExists}`);
      return [];
    },
    async getPartitions(): Promise<Partition[]> {
      return [{ dbName: 'hive_kafka', tableName: 'deadletters', values: ['a', 'b'], createTime: 0, storage: storage('file:/w/a.db/b/_hive_kafka_deadletter'), parameters: {} }];
    },
    async dropPartition(db: string, name: string, values: string[], deleteData: boolean) {
      log.push(`dropPartition ${db}.${name} ${values.join('/')} deleteData=${deleteData}`);
      return true;
    },
  };
  return { log, connect: async () => client as unknown as MetastoreClient };
}

const deadletters: Table = { dbName: 'hive_kafka', tableName: 'deadletters', tableType: 'EXTERNAL_TABLE', createTime: 0, storage: storage('file:/w/dl'),
  partitionKeys: [{ name: 'db_name', type: 'string' }, { name: 'table_name', type: 'string' }], parameters: {}, temporary: false };

test('metastoreCatalog: a missing table is undefined; any other failure is thrown, not taken for "missing"', async () => {
  const { log, connect } = fakeClient({ 'hive_kafka.deadletters': deadletters });
  const catalog = metastoreCatalog(connect);
  const found = await catalog.round((c) => c.getTable('hive_kafka', 'deadletters'));
  assert.deepEqual(found, { location: 'file:/w/dl', columns: deadletters.storage.columns, partitionKeys: deadletters.partitionKeys });
  assert.equal(await catalog.round((c) => c.getTable('hive_kafka', 'nope')), undefined);
  // One connection per round, closed after.
  assert.deepEqual(log.filter((l) => l === 'close').length, 2);

  const down = fakeClient({}, new MetastoreError('hms:9083', 'get_table_req', 'timed out after 1000 ms', true));
  await assert.rejects(metastoreCatalog(down.connect).round((c) => c.getTable('hive_kafka', 'streams')), /timed out/);
  assert.deepEqual(down.log, ['getTable hive_kafka.streams', 'close']);
  assert.equal(isNoSuchObject(new Error('NoSuchObjectException')), false);
});

test('metastoreCatalog: partitions get the table storage at their own location; drops never delete data', async () => {
  const { log, connect } = fakeClient({ 'hive_kafka.deadletters': deadletters });
  const catalog = metastoreCatalog(connect);
  await catalog.round(async (c) => {
    assert.deepEqual(await c.getPartitions('hive_kafka', 'deadletters'), [{ values: ['a', 'b'], location: 'file:/w/a.db/b/_hive_kafka_deadletter' }]);
    await c.addPartitions('hive_kafka', 'deadletters', [{ values: ['c', 'd'], location: 'file:/w/c.db/d/_hive_kafka_deadletter' }]);
    await c.dropPartition('hive_kafka', 'deadletters', ['a', 'b']);
  });
  const added = log.find((l) => l.startsWith('addPartitions'))!;
  assert.ok(added.endsWith(' true'), added);
  const parts = JSON.parse(added.slice('addPartitions hive_kafka.deadletters '.length, -' true'.length)) as { values: string[]; storage: { location: string; serde: unknown } }[];
  assert.deepEqual(parts[0]!.values, ['c', 'd']);
  assert.equal(parts[0]!.storage.location, 'file:/w/c.db/d/_hive_kafka_deadletter');
  assert.deepEqual(parts[0]!.storage.serde, deadletters.storage.serde);
  assert.ok(log.includes('dropPartition hive_kafka.deadletters a/b deleteData=false'));
});
