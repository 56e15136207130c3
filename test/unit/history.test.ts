// `hive-kafka history`: the ledger's lifecycle events per stream, in the order written, as text and JSON,
// with the service down (no other connection) or running (another connection in a write transaction).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Ledger } from '../../src/ledger/ledger.ts';
import { compactDetail, formatHistoryText, historyCommand, readHistory, type HistoryEvent } from '../../src/cli/history.ts';

const stream = (tableId: number, dbName: string, tableName: string) =>
  ({ tableId, dbName, tableName, specJson: '{}', layoutJson: '{}', desiredState: 'running' as const });

/** A ledger file with a scripted life: a table dropped and created again, a renamed one, another database. */
function scriptedLedger(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'history-')), 'ledger.db');
  const l = Ledger.open(path);
  l.upsertStream(stream(101, 'default', 'pageviews'));
  l.setDesiredState(101, 'paused', 'paused');
  l.setDesiredState(101, 'running', 'resumed');
  l.appendHistory(101, 'altered', { db: 'default', table: 'pageviews' });
  l.appendHistory(101, 'offset-gap', { partition: 0, from: 1000, to: 1499, records: 500, policy: 'skip' });
  l.setDesiredState(101, 'dropped', 'dropped');
  l.upsertStream(stream(150, 'sales', 'orders'));
  l.appendHistory(150, 'task-failed', { task: 'task-0', error: 'broker 127.0.0.1:9092 is down' });
  l.upsertStream(stream(160, 'default', 'old_clicks'));
  l.upsertStream(stream(160, 'default', 'clicks'));
  l.appendHistory(160, 'renamed', { db: 'default', table: 'clicks' });
  l.upsertStream(stream(202, 'default', 'pageviews'));
  l.appendHistory(202, 'schema-changed', { added: ['referrer'] });
  l.close();
  return path;
}

const summary = (events: HistoryEvent[]) => events.map((e) => `${e.table}/${e.tableId} ${e.event}`);

test('one table: each stream of that name, oldest first, its events in the order written; any case, default database', () => {
  const l = Ledger.open(scriptedLedger(), { migrate: false });
  const expected = ['default.pageviews/101 created', 'default.pageviews/101 paused', 'default.pageviews/101 resumed',
    'default.pageviews/101 altered', 'default.pageviews/101 offset-gap', 'default.pageviews/101 dropped',
    'default.pageviews/202 created', 'default.pageviews/202 schema-changed'];
  assert.deepEqual(summary(readHistory(l, 'pageviews')!), expected);
  assert.deepEqual(summary(readHistory(l, 'DEFAULT.PageViews')!), expected);
  assert.deepEqual(readHistory(l, 'default.pageviews')![4]!.detail, { partition: 0, from: 1000, to: 1499, records: 500, policy: 'skip' });
  assert.equal(readHistory(l, 'nosuch'), undefined);
  assert.equal(readHistory(l, 'sales.pageviews'), undefined);
  l.close();
});

test('a renamed table answers to its old name too', () => {
  const l = Ledger.open(scriptedLedger(), { migrate: false });
  assert.deepEqual(summary(readHistory(l, 'old_clicks')!), ['default.clicks/160 created', 'default.clicks/160 renamed']);
  l.close();
});

test('every table: by name, then streams oldest first', () => {
  const l = Ledger.open(scriptedLedger(), { migrate: false });
  const tables = readHistory(l)!.map((e) => `${e.table}/${e.tableId}`);
  assert.deepEqual([...new Set(tables)], ['default.clicks/160', 'default.pageviews/101', 'default.pageviews/202', 'sales.orders/150']);
  assert.equal(tables.length, 12);
  l.close();
});

test('text: ISO time, table, stream id, event and detail as key=value, aligned', () => {
  const events: HistoryEvent[] = [
    { table: 'default.pageviews', tableId: 101, at: '2026-05-01T10:00:00.000Z', event: 'created', detail: { db: 'default', table: 'pageviews' } },
    { table: 'default.pageviews', tableId: 101, at: '2026-05-01T10:05:00.000Z', event: 'paused', detail: null },
    { table: 'sales.orders', tableId: 2024, at: '2026-05-01T10:06:00.000Z', event: 'offset-gap', detail: { partition: 3, from: 10, to: 19 } },
  ];
  assert.deepEqual(formatHistoryText(events), [
    '2026-05-01T10:00:00.000Z  default.pageviews  id=101   created     db=default table=pageviews',
    '2026-05-01T10:05:00.000Z  default.pageviews  id=101   paused',
    '2026-05-01T10:06:00.000Z  sales.orders       id=2024  offset-gap  partition=3 from=10 to=19',
  ]);
});

test('detail: bare words stay bare, anything else is JSON', () => {
  assert.equal(compactDetail({ task: 'task-0', error: 'broker is down', ok: true, n: 5, gone: null }), 'task=task-0 error="broker is down" ok=true n=5 gone=null');
  assert.equal(compactDetail({ added: ['referrer'], offsets: { 0: 12 } }), 'added=["referrer"] offsets={"0":12}');
  assert.equal(compactDetail({ value: 'a=b', empty: '' }), 'value="a=b" empty=""');
  assert.equal(compactDetail('just text'), '"just text"');
  assert.equal(compactDetail(undefined), '');
});

test('historyCommand: JSON with table, tableId, ISO at, event and detail (null when none)', () => {
  const lines: string[] = [];
  assert.equal(historyCommand(scriptedLedger(), 'sales.orders', { json: true }, (l) => lines.push(l), assert.fail), 0);
  const events = JSON.parse(lines.join('\n')) as HistoryEvent[];
  assert.deepEqual(events.map((e) => [e.table, e.tableId, e.event, e.detail]), [
    ['sales.orders', 150, 'created', { db: 'sales', table: 'orders' }],
    ['sales.orders', 150, 'task-failed', { task: 'task-0', error: 'broker 127.0.0.1:9092 is down' }],
  ]);
  for (const e of events) assert.match(e.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const paused: string[] = [];
  historyCommand(scriptedLedger(), 'pageviews', { json: true }, (l) => paused.push(l), assert.fail);
  assert.equal((JSON.parse(paused.join('\n')) as HistoryEvent[])[1]!.detail, null);
});

function cli(args: string[], ledgerPath: string) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HIVE_KAFKA_')));
  return spawnSync(process.execPath, ['bin/hive-kafka.mjs', 'history', ...args], { encoding: 'utf8', env: { ...env, HIVE_KAFKA_LEDGER: ledgerPath } });
}

test('hive-kafka history --json reads HIVE_KAFKA_LEDGER while another connection holds a write transaction', () => {
  const path = scriptedLedger();
  // The running service: a writer in the middle of a transaction; the reader sees what was committed.
  const writer = new Database(path);
  writer.exec('BEGIN IMMEDIATE');
  writer.prepare("INSERT INTO stream_history (table_id, at, event, detail_json) VALUES (150, 0, 'uncommitted', NULL)").run();
  try {
    const run = cli(['--json'], path);
    assert.equal(run.status, 0, run.stderr);
    const events = JSON.parse(run.stdout) as HistoryEvent[];
    assert.equal(events.length, 12);
    assert.ok(!events.some((e) => e.event === 'uncommitted'));
    const text = cli(['sales.orders'], path);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^\S+Z {2}sales\.orders {2}id=150 {2}created {6}db=sales table=orders\n\S+Z {2}sales\.orders {2}id=150 {2}task-failed {2}task=task-0 error="broker 127\.0\.0\.1:9092 is down"\n$/);
  } finally {
    writer.exec('ROLLBACK');
    writer.close();
  }
});

test('hive-kafka history without a ledger, or for an unknown table: exit 1 with a message naming the path and how to set it', () => {
  const missing = join(mkdtempSync(join(tmpdir(), 'history-')), 'nowhere', 'ledger.db');
  const run = cli([], missing);
  assert.equal(run.status, 1);
  assert.match(run.stderr, new RegExp(`no ledger at ${missing.replace(/[.]/g, '\\.')}; .*ledgerPath.*HIVE_KAFKA_LEDGER`));
  assert.equal(existsSync(missing), false, 'the ledger must not be created');
  const unknown = cli(['nosuch'], scriptedLedger());
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /has no table default\.nosuch/);
});
