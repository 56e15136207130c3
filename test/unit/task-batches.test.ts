// A partition's batches tile its offsets: each batch's range starts right after the batch before, even
// where Kafka has no record to hand over (a transaction's marker, aborted or compacted records). The
// file names carry those ranges, and a RENAME's relocation follows them back batch by batch
// (src/sink/relocate.ts): a range that started at its first record left a hole at every marker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IngestionTask, type TaskDeps } from '../../src/task/task.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { LocalFileSystem } from '../../src/sink/fs.ts';
import { parseTableProperties } from '../../src/properties/parse.ts';
import type { SourceOptions, SourceRecord } from '../../src/task/source.ts';

const record = (offset: number): SourceRecord => ({ offset, value: Buffer.from(JSON.stringify({ id: offset })), timestamp: Date.now(), key: null });

test('batches of a partition with offsets missing between records are named by ranges that tile the partition', async () => {
  const parsed = parseTableProperties({ 'kafka.topic': 'tx', 'kafka.broker.list': '127.0.0.1:9092', 'kafka.batch.maxSize': '3' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const ledger = Ledger.open(':memory:');
  ledger.upsertStream({ tableId: 1, dbName: 'db', tableName: 't', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
  ledger.initPartitions(1, new Map([[0, 100]]));
  let source: SourceOptions | undefined;
  const failures: string[] = [];
  const deps = {
    fs: new LocalFileSystem(), ledger,
    registerPartitions: async () => {}, registries: {}, addColumns: async () => [],
    logStartOffsets: async () => new Map([[0, 0]]),
    onFailure: (e: Error) => { failures.push(e.message); },
    openSource: async (o: SourceOptions) => { source = o; return { start: async () => {}, committed: async () => {}, stop: async () => {} }; },
  } as unknown as TaskDeps;
  const dir = mkdtempSync(join(tmpdir(), 'task-batches-'));
  const task = new IngestionTask({ taskId: 't0', tableId: 1, table: 'db.t', partitions: [0], spec: parsed.spec,
    layout: { dir, columns: [{ name: 'id', type: 'bigint' }], partitionKeys: [] }, auth: {} } as never, deps);
  await task.start();
  // A transaction of three records and its marker (103), one of two (106 is an aborted record's place),
  // then a compacted stretch: Kafka hands over only the records.
  await source!.onRecords(0, [100, 101, 102, 104, 105, 107].map(record));
  await source!.onRecords(0, [200, 201].map(record));
  await task.stop({ commitBuffered: true });
  assert.deepEqual(failures, []);
  const names = readdirSync(dir).filter((n) => n.endsWith('.parquet')).sort((a, b) => Number(a.split('+')[2]) - Number(b.split('+')[2]));
  assert.deepEqual(names, ['tx+0+100+102.parquet', 'tx+0+103+107.parquet', 'tx+0+108+201.parquet']);
  assert.equal(ledger.nextOffsets(1).get(0), 202);
  assert.deepEqual(ledger.batchEndingAt(1, 0, 107), { firstOffset: 103, files: 1 });
});

test('a batch ends after the transaction markers read past its last record, so a marker retention deletes is no gap; markers alone wait for the next batch', async () => {
  const parsed = parseTableProperties({ 'kafka.topic': 'tx', 'kafka.broker.list': '127.0.0.1:9092' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const ledger = Ledger.open(':memory:');
  ledger.upsertStream({ tableId: 1, dbName: 'db', tableName: 't', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
  ledger.initPartitions(1, new Map([[0, 100]]));
  let logStart = 0;
  let source: SourceOptions | undefined;
  const failures: string[] = [];
  const deps = {
    fs: new LocalFileSystem(), ledger,
    registerPartitions: async () => {}, registries: {}, addColumns: async () => [],
    logStartOffsets: async () => new Map([[0, logStart]]),
    onFailure: (e: Error) => { failures.push(e.message); },
    openSource: async (o: SourceOptions) => { source = o; return { start: async () => {}, committed: async () => {}, stop: async () => {} }; },
  } as unknown as TaskDeps;
  const dir = mkdtempSync(join(tmpdir(), 'task-batches-'));
  const plan = { taskId: 't0', tableId: 1, table: 'db.t', partitions: [0], spec: parsed.spec,
    layout: { dir, columns: [{ name: 'id', type: 'bigint' }], partitionKeys: [] }, auth: {} } as never;
  const task = new IngestionTask(plan, deps);
  await task.start();
  await source!.onRecords(0, [100, 101, 102].map(record), 104); // a transaction and its marker at 103
  logStart = 104; // retention deleted everything up to the marker, the marker too
  await source!.onRecords(0, [104, 105].map(record), 106);
  await source!.onRecords(0, [], 107); // a marker alone, read while the batch is open
  await task.stop({ commitBuffered: true });
  // Before, the batch ended at 102, the record at 104 found the log start past 103, and the table failed on "offsets 103..103" deleted.
  assert.deepEqual(failures, []);
  assert.deepEqual(ledger.gaps(1), []);
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.parquet')), ['tx+0+100+106.parquet']);
  assert.equal(ledger.nextOffsets(1).get(0), 107);

  // No batch open: markers alone make no batch of no file (a RENAME's relocation walks batches by
  // their file names); the next batch's range starts at them.
  const again = new IngestionTask(plan, deps);
  await again.start();
  await source!.onRecords(0, [], 109);
  await again.stop({ commitBuffered: true });
  assert.equal(ledger.nextOffsets(1).get(0), 107, 'nothing committed for the markers alone');
  const third = new IngestionTask(plan, deps);
  await third.start();
  await source!.onRecords(0, [109].map(record), 110);
  await third.stop({ commitBuffered: true });
  assert.deepEqual(failures, []);
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.parquet')).sort(), ['tx+0+100+106.parquet', 'tx+0+107+109.parquet']);
  assert.equal(ledger.nextOffsets(1).get(0), 110);
  assert.equal(ledger.batchEndingAt(1, 0, 108), undefined);
});

test('two instances staging the same batch of a table (a frozen former owner and its successor, both at epoch 1 in their own ledgers) write apart', async () => {
  const parsed = parseTableProperties({ 'kafka.topic': 'tx', 'kafka.broker.list': '127.0.0.1:9092' });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const dir = mkdtempSync(join(tmpdir(), 'task-batches-'));
  const started: { task: IngestionTask; source: SourceOptions }[] = [];
  try {
    for (const instance of ['a', 'b']) {
      const ledger = Ledger.open(':memory:');
      ledger.upsertStream({ tableId: 1, dbName: 'db', tableName: 't', specJson: '{}', layoutJson: '{}', desiredState: 'running' });
      ledger.initPartitions(1, new Map([[0, 100]]));
      let source: SourceOptions | undefined;
      const deps = {
        fs: new LocalFileSystem(), ledger,
        registerPartitions: async () => {}, registries: {}, addColumns: async () => [],
        logStartOffsets: async () => new Map([[0, 0]]),
        onFailure: () => {},
        openSource: async (o: SourceOptions) => { source = o; return { start: async () => {}, committed: async () => {}, stop: async () => {} }; },
      } as unknown as TaskDeps;
      const task = new IngestionTask({ taskId: `t-${instance}`, tableId: 1, table: 'db.t', partitions: [0], spec: parsed.spec,
        layout: { dir, columns: [{ name: 'id', type: 'bigint' }], partitionKeys: [] }, auth: {} } as never, deps);
      await task.start();
      started.push({ task, source: source! });
    }
    // Both started (the successor's recovery cleared staging), then both stage offset 100 on.
    for (const { source } of started) await source.onRecords(0, [100, 101].map(record));
    // Before, both were .hive-kafka-staging/0/100-g0.1.tmp: the second open truncated the file the first was writing.
    const staged = readdirSync(join(dir, '.hive-kafka-staging', '0'));
    assert.equal(staged.length, 2, staged.join(', '));
  } finally {
    for (const { task } of started) await task.stop({ commitBuffered: false });
  }
});
