import { test } from 'node:test';
import assert from 'node:assert/strict';
import { historyKey, systemRows, type SystemSnapshot } from '../../src/system/rows.ts';
import { deadLetterLine, DEADLETTERS, HISTORY, hiveTimestamp, PARTITIONS, STREAMS } from '../../src/system/tables.ts';

const at = Date.UTC(2024, 0, 2, 3, 4, 5, 67);

const parse = (text: string) => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

test('hiveTimestamp writes UTC as yyyy-MM-dd HH:mm:ss.SSS, and nothing Hive cannot read', () => {
  assert.equal(hiveTimestamp(at), '2024-01-02 03:04:05.067');
  assert.equal(hiveTimestamp(0), '1970-01-01 00:00:00.000');
  assert.equal(hiveTimestamp(-1), '1969-12-31 23:59:59.999');
  assert.equal(hiveTimestamp(Date.UTC(10000, 0, 1)), undefined);
  assert.equal(hiveTimestamp(Number.NaN), undefined);
});

test('rows: every column as a lower-case key in column order, missing values null, timestamps as Hive text', () => {
  const snapshot: SystemSnapshot = {
    at,
    streams: [
      { db: 'sales', table: 'orders', tableId: 12, owner: 'host:/ledger', state: 'running', tasks: 2, restarts: 1,
        lastError: 'boom "quoted"\nline', lastErrorAt: at - 1000, recordsPerSecond: 12.5, lagRecords: 3, lagSeconds: 0.25 },
      { db: 'default', table: 'clicks', tableId: 9n, state: 'paused', tasks: 0, restarts: 0, recordsPerSecond: Number.NaN },
    ],
    partitions: [
      { db: 'sales', table: 'orders', topic: 'orders', partition: 1, committed: 100 },
      { db: 'sales', table: 'orders', topic: 'orders', partition: 0, committed: 2 ** 53 - 1, logEnd: 2 ** 53 - 1, lagRecords: 0, lagSeconds: 0, lastCommitAt: at },
    ],
    history: [
      { db: 'sales', table: 'orders', tableId: 12, eventId: 5, at, event: 'paused', detail: { by: 'ALTER', n: 1 } },
      { db: 'sales', table: 'orders', tableId: 12, eventId: 4, at: at - 1, event: 'created' },
    ],
  };
  const text = systemRows(snapshot);
  for (const t of ['streams', 'partitions', 'history'] as const) assert.ok(text[t].endsWith('\n'));

  const streams = parse(text.streams);
  // Sorted by db, table: default.clicks first, whatever order they came in.
  assert.deepEqual(Object.keys(streams[0]!), STREAMS.columns.map((c) => c.name));
  assert.deepEqual(streams[0], {
    db_name: 'default', table_name: 'clicks', table_id: 9, owner: null, state: 'paused', tasks: 0, restarts: 0,
    last_error: null, last_error_at: null, records_per_second: null, lag_records: null, lag_seconds: null,
    snapshot_at: '2024-01-02 03:04:05.067',
  });
  assert.deepEqual(streams[1], {
    db_name: 'sales', table_name: 'orders', table_id: 12, owner: 'host:/ledger', state: 'running', tasks: 2, restarts: 1,
    last_error: 'boom "quoted"\nline', last_error_at: '2024-01-02 03:04:04.067', records_per_second: 12.5, lag_records: 3,
    lag_seconds: 0.25, snapshot_at: '2024-01-02 03:04:05.067',
  });
  // One object per line: a newline inside a value stays escaped.
  assert.equal(text.streams.split('\n').length, 3);

  const partitions = parse(text.partitions);
  assert.deepEqual(Object.keys(partitions[0]!), PARTITIONS.columns.map((c) => c.name));
  assert.deepEqual(partitions.map((p) => p.kafka_partition), [0, 1]);
  assert.ok(text.partitions.includes('"committed_offset":9007199254740991'));
  assert.deepEqual(partitions[1], {
    db_name: 'sales', table_name: 'orders', topic: 'orders', kafka_partition: 1, committed_offset: 100, log_end_offset: null,
    lag_records: null, lag_seconds: null, last_commit_at: null, snapshot_at: '2024-01-02 03:04:05.067',
  });

  const history = parse(text.history);
  assert.deepEqual(Object.keys(history[0]!), HISTORY.columns.map((c) => c.name));
  assert.deepEqual(history.map((h) => h.event_id), [4, 5]);
  assert.equal(history[0]!.detail, null);
  // detail is JSON text, for get_json_object.
  assert.equal(history[1]!.detail, '{"by":"ALTER","n":1}');
  assert.equal(history[1]!.at, '2024-01-02 03:04:05.067');
});

test('rows: a bigint id beyond 2^53 is written exactly; empty tables are empty text', () => {
  const text = systemRows({ at, streams: [], partitions: [], history: [
    { db: 'd', table: 't', tableId: 2n ** 63n - 1n, eventId: 1, at, event: 'created' },
  ] });
  assert.ok(text.history.includes('"table_id":9223372036854775807,'));
  assert.equal(text.streams, '');
  assert.equal(text.partitions, '');
});

test('rows: the same snapshot in another order gives the same bytes', () => {
  const a = { db: 'a', table: 't', topic: 'x', partition: 0, committed: 1 };
  const b = { db: 'a', table: 't', topic: 'x', partition: 1, committed: 1 };
  assert.equal(systemRows({ at, streams: [], partitions: [a, b], history: [] }).partitions,
    systemRows({ at, streams: [], partitions: [b, a], history: [] }).partitions);
});

test('history: the rows of a round are written out again only as a new array, and the key says when one is needed', () => {
  const event = (eventId: number) => ({ db: 'db', table: 't', tableId: 7, eventId, at, event: 'altered' });
  const history = [event(1)];
  const first = systemRows({ at, streams: [], partitions: [], history }).history;
  assert.equal(systemRows({ at: at + 1, streams: [], partitions: [], history }).history, first);
  const next = systemRows({ at, streams: [], partitions: [], history: [event(1), event(2)] }).history;
  assert.deepEqual(parse(next).map((r) => r.event_id), [1, 2]);

  const tables = [{ tableId: 7, db: 'db', table: 't', speaksFor: true }, { tableId: 8, db: 'db', table: 'u', speaksFor: true }];
  const key = historyKey(3, tables);
  assert.equal(historyKey(3, [...tables].reverse()), key, 'the order tables are listed in does not matter');
  assert.notEqual(historyKey(4, tables), key, 'a new event or a counted repeat');
  assert.notEqual(historyKey(3, [tables[0]!, { ...tables[1]!, table: 'renamed' }]), key, 'a RENAME names the past events anew');
  assert.notEqual(historyKey(3, [tables[0]!, { ...tables[1]!, speaksFor: false }]), key, 'a table this member no longer speaks for');
  assert.notEqual(historyKey(3, [tables[0]!]), key, 'a table gone from the ledger');
});

test('deadLetterLine: the deadletters columns, UTF-8 text and base64 of the raw value', () => {
  const line = deadLetterLine({ topic: 'orders', partition: 3, offset: 41, reason: 'not JSON: unexpected "}"',
    value: Buffer.from('{"id": 1, "name": "ü"}}'), producedAtMs: at, rejectedAtMs: at + 5 });
  assert.ok(!line.includes('\n'));
  const row = JSON.parse(line) as Record<string, unknown>;
  assert.deepEqual(Object.keys(row), DEADLETTERS.columns.map((c) => c.name));
  // The partition keys are in the directory, not in the file.
  assert.ok(!('db_name' in row) && !('table_name' in row));
  assert.deepEqual(row, {
    topic: 'orders', kafka_partition: 3, kafka_offset: 41, reason: 'not JSON: unexpected "}"',
    value: '{"id": 1, "name": "ü"}}', value_base64: Buffer.from('{"id": 1, "name": "ü"}}').toString('base64'),
    produced_at: '2024-01-02 03:04:05.067', rejected_at: '2024-01-02 03:04:05.072',
  });
});

test('deadLetterLine: a value that is not UTF-8 is NULL as text and exact as base64', () => {
  const raw = new Uint8Array([0x00, 0xff, 0xfe, 0x41, 0xc3]);
  const row = JSON.parse(deadLetterLine({ topic: 't', partition: 0, offset: 2n ** 62n, reason: 'bad avro', value: raw,
    producedAtMs: -1, rejectedAtMs: at })) as Record<string, unknown>;
  assert.equal(row.value, null);
  assert.deepEqual(Buffer.from(row.value_base64 as string, 'base64'), Buffer.from(raw));
  // Kafka's "no timestamp" (-1) is NULL, not 1969.
  assert.equal(row.produced_at, null);

  // A slice of a larger buffer: only its own bytes.
  const big = Buffer.from('xxhello');
  const sliced = JSON.parse(deadLetterLine({ topic: 't', partition: 0, offset: 1, reason: 'r', value: big.subarray(2), rejectedAtMs: at })) as Record<string, unknown>;
  assert.equal(sliced.value, 'hello');
  assert.equal(sliced.value_base64, Buffer.from('hello').toString('base64'));

  // A record without a value (tombstone): both NULL.
  const tombstone = JSON.parse(deadLetterLine({ topic: 't', partition: 0, offset: 1, reason: 'no value', value: null, producedAtMs: at, rejectedAtMs: at })) as Record<string, unknown>;
  assert.equal(tombstone.value, null);
  assert.equal(tombstone.value_base64, null);
  // Control characters and NUL in valid UTF-8 survive as JSON escapes.
  const nul = JSON.parse(deadLetterLine({ topic: 't', partition: 0, offset: 1, reason: 'r', value: Buffer.from('a\u0000b\n'), rejectedAtMs: at })) as Record<string, unknown>;
  assert.equal(nul.value, 'a\u0000b\n');
});
