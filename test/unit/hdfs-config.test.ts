// How a table location finds its file system: the service config's `hdfs` key, its default for the
// stack, and the messages for a location it cannot serve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/cli/config.ts';
import { fileSystemFor, fileSystems, LocalFileSystem, LocationError } from '../../src/sink/fs.ts';
import { WebHdfsFileSystem } from '../../src/sink/hdfs.ts';

async function configFile(t: { after(fn: () => Promise<void>): void }, json: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hive-kafka-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify(json));
  return file;
}

function webHdfs(located: { fs: unknown }): WebHdfsFileSystem {
  assert.ok(located.fs instanceof WebHdfsFileSystem, 'a WebHdfsFileSystem');
  return located.fs;
}

test('by default the stack\'s NameNode is known under 127.0.0.1:8020 and localhost:8020, as the OS user', () => {
  const config = loadConfig(undefined, {});
  assert.deepEqual(config.hdfs, { nameServices: { '127.0.0.1:8020': ['127.0.0.1:9870'], 'localhost:8020': ['127.0.0.1:9870'] } });
  for (const location of ['hdfs://127.0.0.1:8020/warehouse/t', 'hdfs://localhost:8020/warehouse/t']) {
    const located = fileSystems(config.hdfs).for(location);
    assert.equal(located.path, '/warehouse/t');
    assert.deepEqual(webHdfs(located).endpoints.nameNodes, ['127.0.0.1:9870']);
    assert.equal(webHdfs(located).endpoints.user, userInfo().username);
  }
  // Call sites without a config get the same defaults.
  assert.deepEqual(webHdfs(fileSystemFor('hdfs://127.0.0.1:8020/w')).endpoints.nameNodes, ['127.0.0.1:9870']);
});

test('a config file maps an HA name service to its NameNodes in failover order, and replaces the default', async (t) => {
  const file = await configFile(t, { hdfs: { nameServices: { mycluster: ['nn1.example:9870', 'nn2.example:9870'] }, user: 'hive' } });
  const config = loadConfig(file, {});
  const resolve = fileSystems(config.hdfs);
  const located = resolve.for('hdfs://MyCluster/warehouse/pv/dt=a%2Fb c');
  assert.equal(located.path, '/warehouse/pv/dt=a%2Fb c', 'taken literally, as Hive stores it');
  assert.deepEqual(webHdfs(located).endpoints, { authority: 'mycluster', nameNodes: ['nn1.example:9870', 'nn2.example:9870'], user: 'hive' });
  assert.equal(resolve.for('hdfs://mycluster/other').fs, located.fs, 'one client per name service, so it remembers the active NameNode');
  assert.throws(() => resolve.for('hdfs://127.0.0.1:8020/w'), /no WebHDFS address for "127.0.0.1:8020"/);
});

test('a bad hdfs key is refused, naming the key', async (t) => {
  const url = await configFile(t, { hdfs: { nameServices: { mycluster: ['http://nn1:9870'] } } });
  assert.throws(() => loadConfig(url, {}), /hdfs\.nameServices\.mycluster\.0: expected a WebHDFS host:port/);
  const empty = await configFile(t, { hdfs: { nameServices: { mycluster: [] } } });
  assert.throws(() => loadConfig(empty, {}), /hdfs\.nameServices\.mycluster/);
  const typo = await configFile(t, { hdfs: { nameservices: {} } });
  assert.throws(() => loadConfig(typo, {}), /hdfs: Unrecognized key: "nameservices"/);
});

test('an unknown authority fails naming the table, the location and the config to add', () => {
  const resolve = fileSystems({ nameServices: {} });
  assert.throws(() => resolve.for('hdfs://nn1:8020/w/t', 'default.pv'), {
    message: 'table default.pv: location hdfs://nn1:8020/w/t: no WebHDFS address for "nn1:8020"; ' +
      'add it to the service config: "hdfs":{"nameServices":{"nn1:8020":["nn1:9870"]}}',
  });
  assert.throws(() => resolve.for('hdfs://prod/w/t'), {
    message: 'location hdfs://prod/w/t: no WebHDFS address for "prod"; ' +
      'add it to the service config: "hdfs":{"nameServices":{"prod":["<namenode1>:9870","<namenode2>:9870"]}}',
  });
  assert.throws(() => resolve.for('hdfs:///w/t', 'default.pv'), /table default.pv: location hdfs:\/\/\/w\/t: names no NameNode/);
  assert.throws(() => resolve.for('s3a://bucket/t', 'default.pv'), /table default.pv: location s3a:\/\/bucket\/t: scheme "s3a:" is not supported/);
  assert.throws(() => resolve.for('file://otherhost/w', 'default.pv'), /table default.pv: file: location file:\/\/otherhost\/w names host/);
  // A restart cannot fix a location: the table fails with the message instead of restarting forever.
  assert.throws(() => resolve.for('hdfs://nn1:8020/w/t'), (e: unknown) => e instanceof LocationError && e.retriable === false);
});

test('file: stays local and webhdfs: names its HTTP address itself', () => {
  const resolve = fileSystems({ nameServices: {} });
  const local = resolve.for('file:/warehouse/t');
  assert.ok(local.fs instanceof LocalFileSystem);
  assert.equal(local.path, '/warehouse/t');
  const direct = resolve.for('webhdfs://nn1:9870/warehouse/t');
  assert.deepEqual(webHdfs(direct).endpoints.nameNodes, ['nn1:9870']);
  assert.equal(direct.path, '/warehouse/t');
});
