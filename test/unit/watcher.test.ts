// The notification watcher against an in-memory metastore. Events are the recorded real ones in
// fixtures/events/, decoded, edited (names, id, storage_handler, parameters) and encoded again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { decodeMessage } from '../../src/metastore/events.ts';
import { MetastoreError } from '../../src/metastore/errors.ts';
import type { NotificationEvent, Table } from '../../src/metastore/types.ts';
import {
  KAFKA_STREAM_STORAGE_HANDLER,
  NotificationWatcher,
  backoffDelayMs,
  noticeForEvent,
  type TableNotice,
  type WatcherMetastore,
  type WatcherOptions,
} from '../../src/metastore/watcher.ts';

// ---- building events from the fixtures ------------------------------------------------------------

function loadFixture(file: string): NotificationEvent {
  const raw = JSON.parse(readFileSync(new URL(`../../fixtures/events/${file}`, import.meta.url), 'utf8'));
  return { ...raw, eventId: BigInt(raw.eventId) };
}

const fixtures = {
  CREATE_TABLE: loadFixture('create_table.json'),
  ALTER_TABLE: loadFixture('alter_table.json'),
  DROP_TABLE: loadFixture('drop_table.json'),
};

interface TableSpec {
  name: string;
  db?: string;
  id: bigint;
  /** Default: ours. null: no storage_handler parameter at all. */
  storageHandler?: string | null;
  params?: Record<string, string>;
}

/** Rewrites a Table serialized with Thrift's TJSONProtocol (field 1 name, 2 db, 9 parameters, 25 id). */
function editTableJson(json: string, spec: TableSpec): string {
  const table = JSON.parse(json);
  const parameters: Record<string, string> = { ...table['9'].map[3], ...spec.params };
  delete parameters.storage_handler;
  const handler = spec.storageHandler === undefined ? KAFKA_STREAM_STORAGE_HANDLER : spec.storageHandler;
  if (handler !== null) parameters.storage_handler = handler;
  table['1'] = { str: spec.name };
  table['2'] = { str: spec.db ?? 'default' };
  table['9'] = { map: ['str', 'str', Object.keys(parameters).length, parameters] };
  table['25'] = { i64: Number(spec.id) };
  return JSON.stringify(table);
}

function reencode(
  type: keyof typeof fixtures,
  eventId: bigint,
  tables: Record<string, TableSpec>,
  names: TableSpec,
  /** Every table edited from this one of the fixture's (else each from its own). */
  base?: string,
): NotificationEvent {
  const fixture = fixtures[type];
  const body = JSON.parse(gunzipSync(Buffer.from(fixture.message, 'base64')).toString('utf8'));
  const originals = { ...body };
  for (const [field, spec] of Object.entries(tables)) body[field] = editTableJson(originals[base ?? field], spec);
  body.db = names.db ?? 'default';
  body.table = names.name;
  const message = gzipSync(Buffer.from(JSON.stringify(body), 'utf8')).toString('base64');
  return { ...fixture, eventId, dbName: names.db ?? 'default', tableName: names.name, message };
}

const createEvent = (eventId: bigint, spec: TableSpec) => reencode('CREATE_TABLE', eventId, { tableObjJson: spec }, spec);
const dropEvent = (eventId: bigint, spec: TableSpec) => reencode('DROP_TABLE', eventId, { tableObjJson: spec }, spec);
// Like HMS: the event's db/table come from the table after the change, the message's from the one before.
function alterEvent(eventId: bigint, before: TableSpec, after: TableSpec, sameBase = false): NotificationEvent {
  const event = reencode('ALTER_TABLE', eventId, { tableObjBeforeJson: before, tableObjAfterJson: after }, before, sameBase ? 'tableObjBeforeJson' : undefined);
  return { ...event, dbName: after.db ?? 'default', tableName: after.name };
}
function otherEvent(eventId: bigint, eventType = 'ADD_PARTITION'): NotificationEvent {
  return { ...fixtures.CREATE_TABLE, eventId, eventType, message: '{}', messageFormat: 'json-0.2' };
}

function tableOf(spec: TableSpec): Table {
  const decoded = decodeMessage(createEvent(1n, spec));
  assert.equal(decoded.type, 'CREATE_TABLE');
  return decoded.table;
}

// ---- an in-memory metastore ----------------------------------------------------------------------

class FakeMetastore implements WatcherMetastore {
  /** The notification log; cleaning removes from the front, the current id stays. */
  log: NotificationEvent[] = [];
  currentEventId = 0n;
  databases = new Map<string, Table[]>([['default', []]]);
  down = false;
  /** When set, getNextEvents never answers (a hung metastore). */
  hang = false;
  connects = 0;
  closes = 0;
  tableRequests: string[][] = [];

  add(...events: NotificationEvent[]): void {
    for (const event of events) {
      this.log.push(event);
      if (event.eventId > this.currentEventId) this.currentEventId = event.eventId;
    }
  }

  cleanUpTo(eventId: bigint): void {
    this.log = this.log.filter((event) => event.eventId > eventId);
  }

  connect = async (): Promise<WatcherMetastore> => {
    this.connects += 1;
    this.check('connect');
    return this;
  };

  close(): void {
    this.closes += 1;
  }

  async getCurrentEventId(): Promise<bigint> {
    this.check('get_current_notificationEventId');
    return this.currentEventId;
  }

  async getNextEvents(lastEvent: bigint, maxEvents: number): Promise<NotificationEvent[]> {
    this.check('get_next_notification');
    if (this.hang) return new Promise(() => {});
    return this.log.filter((event) => event.eventId > lastEvent).slice(0, maxEvents);
  }

  async getAllDatabases(): Promise<string[]> {
    this.check('get_all_databases');
    return [...this.databases.keys()];
  }

  async getAllTables(dbName: string): Promise<string[]> {
    this.check('get_all_tables');
    return (this.databases.get(dbName) ?? []).map((table) => table.tableName);
  }

  async getTables(dbName: string, tableNames: string[]): Promise<Table[]> {
    this.check('get_table_objects_by_name_req');
    this.tableRequests.push(tableNames);
    return (this.databases.get(dbName) ?? []).filter((table) => tableNames.includes(table.tableName));
  }

  private check(call: string): void {
    if (this.down) throw new MetastoreError('127.0.0.1:9083', call, 'connection refused', true);
  }
}

// ---- the watcher's surroundings ----------------------------------------------------------------

interface LogLine { level: 'info' | 'warn' | 'error'; obj: object; msg: string }

function recordingLogger() {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (obj: object, msg: string) => { lines.push({ level, obj, msg }); };
  return { lines, logger: { info: at('info'), warn: at('warn'), error: at('error') } };
}

/** A durable cursor, like the ledger's; survives "crashes" of a watcher. */
class CursorStore {
  writes: bigint[] = [];
  constructor(public value: bigint | undefined) {}
  read = () => this.value;
  write = (eventId: bigint) => { this.value = eventId; this.writes.push(eventId); };
}

function watcherWith(
  fake: FakeMetastore,
  cursor: CursorStore,
  onNotice: (notice: TableNotice) => Promise<void>,
  overrides: Partial<WatcherOptions> = {},
) {
  const { lines, logger } = recordingLogger();
  const watcher = new NotificationWatcher({
    connect: fake.connect,
    readCursor: cursor.read,
    writeCursor: cursor.write,
    onNotice,
    logger,
    pollIntervalMs: 5,
    backoff: { initialMs: 5, maxMs: 20 },
    ...overrides,
  });
  return { watcher, lines };
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** A summary of a notice that is easy to compare. */
function brief(notice: TableNotice): string {
  switch (notice.kind) {
    case 'upsert': return `${notice.eventId} upsert(${notice.cause}) ${notice.table.dbName}.${notice.table.tableName}#${notice.table.id}`;
    case 'drop': return `${notice.eventId} drop ${notice.dbName}.${notice.tableName}#${notice.tableId}`;
    case 'resync-live': return `${notice.eventId} resync-live [${notice.liveTableIds.join(',')}]`;
  }
}

/** What a consumer keeps: live tables by id. Applying notices is idempotent, as the contract asks. */
function applyNotice(state: Map<bigint, string>, notice: TableNotice): void {
  if (notice.kind === 'upsert' && notice.table.id !== undefined) {
    state.set(notice.table.id, `${notice.table.dbName}.${notice.table.tableName} ${JSON.stringify(notice.table.parameters['kafka.topic'])}`);
  } else if (notice.kind === 'drop' && notice.tableId !== undefined) {
    state.delete(notice.tableId);
  } else if (notice.kind === 'resync-live') {
    for (const id of state.keys()) if (!notice.liveTableIds.includes(id)) state.delete(id);
  }
}

// ---- mapping events to notices ---------------------------------------------------------------------

const pageviews: TableSpec = { name: 'pageviews', id: 41n, params: { 'kafka.topic': 'pv' } };

test('CREATE_TABLE of a handler table is an upsert(create); of any other table, nothing', () => {
  assert.deepEqual(noticeForEvent(createEvent(7n, pageviews)), {
    kind: 'upsert', table: tableOf(pageviews), cause: 'create', eventId: 7n,
  });
  assert.equal(noticeForEvent(createEvent(7n, { ...pageviews, storageHandler: null })), undefined);
  // Hive's own Kafka handler, and near misses of ours, are not ours: the match is exact.
  for (const other of ['org.apache.hadoop.hive.kafka.KafkaStorageHandler', `${KAFKA_STREAM_STORAGE_HANDLER} `, KAFKA_STREAM_STORAGE_HANDLER.toLowerCase()]) {
    assert.equal(noticeForEvent(createEvent(7n, { ...pageviews, storageHandler: other })), undefined, other);
  }
});

test('ALTER_TABLE of a handler table is an upsert(alter) carrying the table after the change', () => {
  const paused = { ...pageviews, params: { ...pageviews.params, 'kafka.ingestion.paused': 'true' } };
  const notice = noticeForEvent(alterEvent(8n, pageviews, paused));
  assert.equal(notice?.kind, 'upsert');
  assert.equal(notice.cause, 'alter');
  assert.equal(notice.eventId, 8n);
  assert.equal(notice.table.parameters['kafka.ingestion.paused'], 'true');
  assert.equal(notice.table.id, 41n);
});

test("an ALTER_TABLE that changes only Hive's statistics (ANALYZE) is no notice; one that also sets last_modified_time (a user's ALTER) is", () => {
  // What ANALYZE TABLE ... COMPUTE STATISTICS wrote on the stack's Hive 4.0.1.
  const analyzed = { ...pageviews, params: { ...pageviews.params, numRows: '0', rawDataSize: '0', numFiles: '0', numFilesErasureCoded: '0', totalSize: '0',
    COLUMN_STATS_ACCURATE: '{"BASIC_STATS":"true"}', transient_lastDdlTime: '1796623691' } };
  assert.equal(noticeForEvent(alterEvent(8n, pageviews, analyzed, true)), undefined);
  // A no-op SET TBLPROPERTIES: the same kafka.* values, Hive's modification stamp.
  const touched = { ...analyzed, params: { ...analyzed.params, transient_lastDdlTime: '1796623703', last_modified_time: '1796623703', last_modified_by: 'root' } };
  assert.equal(noticeForEvent(alterEvent(9n, analyzed, touched, true))?.kind, 'upsert');
  assert.equal(noticeForEvent(alterEvent(10n, pageviews, { ...pageviews, params: { ...pageviews.params, numRows: '5', comment: 'x' } }, true))?.kind, 'upsert', 'statistics and a comment');
});

test('a rename, in the same or another database, is an upsert(rename) with the new name and the same id', () => {
  for (const after of [{ ...pageviews, name: 'pageviews_v2' }, { ...pageviews, db: 'web' }]) {
    const notice = noticeForEvent(alterEvent(9n, pageviews, after));
    assert.equal(notice?.kind, 'upsert');
    assert.equal(notice.cause, 'rename');
    assert.equal(notice.table.dbName, after.db ?? 'default');
    assert.equal(notice.table.tableName, after.name);
    assert.equal(notice.table.id, 41n);
  }
});

test('an ALTER that changes storage_handler away from ours is a drop, and to ours a create', () => {
  const plain = { ...pageviews, storageHandler: null };
  assert.deepEqual(noticeForEvent(alterEvent(10n, pageviews, plain)), {
    kind: 'drop', tableId: 41n, dbName: 'default', tableName: 'pageviews', eventId: 10n,
  });
  const notice = noticeForEvent(alterEvent(11n, plain, pageviews));
  assert.equal(notice?.kind, 'upsert');
  assert.equal(notice.cause, 'create');
  assert.equal(noticeForEvent(alterEvent(12n, plain, { ...plain, params: { a: '3' } })), undefined);
});

test('DROP_TABLE of a handler table is a drop naming its id; other drops and other events are ignored', () => {
  assert.deepEqual(noticeForEvent(dropEvent(13n, pageviews)), {
    kind: 'drop', tableId: 41n, dbName: 'default', tableName: 'pageviews', eventId: 13n,
  });
  assert.equal(noticeForEvent(dropEvent(13n, { ...pageviews, storageHandler: null })), undefined);
  for (const type of ['ADD_PARTITION', 'CREATE_DATABASE', 'DROP_DATABASE', 'OPEN_TXN', 'COMMIT_TXN']) {
    assert.equal(noticeForEvent(otherEvent(14n, type)), undefined, type);
  }
});

test('backoff doubles from the initial delay up to the cap, with jitter in the upper half', () => {
  const backoff = { initialMs: 250, maxMs: 10_000 };
  assert.deepEqual([1, 2, 3, 6, 7, 50].map((n) => backoffDelayMs(n, backoff, () => 1)), [250, 500, 1000, 8000, 10_000, 10_000]);
  assert.deepEqual([1, 2, 7].map((n) => backoffDelayMs(n, backoff, () => 0)), [125, 250, 5000]);
});

// ---- the watcher loop ---------------------------------------------------------------------------

test('the watcher reports only handler tables, in event order, and moves the cursor past every event', async (t) => {
  const fake = new FakeMetastore();
  const plain = { name: 'plain', id: 50n, storageHandler: null };
  const hiveKafka = { name: 'hive_kafka', id: 51n, storageHandler: 'org.apache.hadoop.hive.kafka.KafkaStorageHandler' };
  const renamed = { ...pageviews, name: 'pv2', params: { 'kafka.topic': 'pv2' } };
  fake.add(
    createEvent(11n, plain), createEvent(12n, hiveKafka), createEvent(13n, pageviews), otherEvent(14n),
    alterEvent(15n, plain, { ...plain, params: { a: '9' } }), alterEvent(16n, pageviews, renamed),
    dropEvent(17n, plain), dropEvent(18n, renamed), otherEvent(19n),
  );
  const cursor = new CursorStore(10n);
  const notices: TableNotice[] = [];
  const { watcher } = watcherWith(fake, cursor, async (notice) => { notices.push(notice); }, { maxEvents: 4 });
  watcher.start();
  t.after(() => watcher.stop());

  await waitUntil(() => cursor.value === 19n, 'the cursor reaches event 19');
  assert.deepEqual(notices.map(brief), [
    '13 upsert(create) default.pageviews#41',
    '16 upsert(rename) default.pv2#41',
    '18 drop default.pv2#41',
  ]);
  // Once per notice, and once at the end of each page (4 events a page) for the ignored events.
  assert.deepEqual(cursor.writes, [13n, 14n, 16n, 18n, 19n]);
  await watcher.stop();
  assert.equal(fake.connects, 1);
});

test('the cursor moves only after onNotice resolved, so a crash replays the event, which is harmless', async () => {
  const fake = new FakeMetastore();
  const other = { name: 'clicks', id: 42n, params: { 'kafka.topic': 'clicks' } };
  fake.add(
    createEvent(21n, pageviews), createEvent(22n, other),
    alterEvent(23n, other, { ...other, params: { 'kafka.topic': 'clicks2' } }), dropEvent(24n, pageviews),
  );
  const cursor = new CursorStore(20n);

  // The first process applies event 22's notice, then dies before onNotice resolves.
  const firstRun = new Map<bigint, string>();
  let crashed = false;
  let releaseHung!: () => void;
  const { watcher: first } = watcherWith(fake, cursor, (notice) => {
    applyNotice(firstRun, notice);
    if (notice.eventId !== 22n) return Promise.resolve();
    crashed = true;
    return new Promise<void>((resolve) => { releaseHung = resolve; });
  }, {
    // A dead process writes nothing more.
    writeCursor: (eventId) => { if (!crashed) cursor.write(eventId); },
  });
  first.start();
  await waitUntil(() => crashed, 'the first watcher is inside onNotice for event 22');
  assert.equal(cursor.value, 21n, 'event 22 is not past the cursor while its notice is being handled');

  // The restarted process starts from the durable cursor: event 22 comes again, nothing is skipped.
  const consumer = new Map(firstRun);
  const replayed: TableNotice[] = [];
  const { watcher: second } = watcherWith(fake, cursor, async (notice) => {
    replayed.push(notice);
    applyNotice(consumer, notice);
  });
  second.start();
  await waitUntil(() => cursor.value === 24n, 'the second watcher reaches event 24');
  await second.stop();
  assert.deepEqual(replayed.map(brief), [
    '22 upsert(create) default.clicks#42',
    '23 upsert(alter) default.clicks#42',
    '24 drop default.pageviews#41',
  ]);

  // Same end state as a run that never crashed.
  const clean = new Map<bigint, string>();
  for (const event of fake.log) {
    const notice = noticeForEvent(event);
    if (notice) applyNotice(clean, notice);
  }
  assert.deepEqual(consumer, clean);
  assert.deepEqual([...consumer.values()], ['default.clicks "clicks2"']);

  releaseHung();
  await first.stop();
});

test('a notice handler that throws is logged and retried with the same notice after a backoff', async (t) => {
  const fake = new FakeMetastore();
  fake.add(createEvent(31n, pageviews), createEvent(32n, { ...pageviews, name: 'next', id: 43n }));
  const cursor = new CursorStore(30n);
  const attempts: string[] = [];
  const { watcher, lines } = watcherWith(fake, cursor, async (notice) => {
    attempts.push(brief(notice));
    if (notice.eventId === 31n && attempts.length < 3) throw new Error('ledger is busy');
    assert.equal(cursor.value, notice.eventId - 1n, 'the cursor waits for the handler');
  });
  watcher.start();
  t.after(() => watcher.stop());

  await waitUntil(() => cursor.value === 32n, 'the cursor reaches event 32');
  assert.deepEqual(attempts, [
    '31 upsert(create) default.pageviews#41',
    '31 upsert(create) default.pageviews#41',
    '31 upsert(create) default.pageviews#41',
    '32 upsert(create) default.next#43',
  ]);
  const errors = lines.filter((line) => line.level === 'error');
  assert.equal(errors.length, 2);
  assert.match(errors[0]!.msg, /notice handler failed for upsert \(create\) of default\.pageviews at event 31; retrying the same notice/);
  assert.equal(((errors[0]!.obj as { err: Error }).err.cause as Error).message, 'ledger is busy');
  assert.equal(fake.connects, 1, 'a handler failure keeps the metastore connection');
});

test('a hole in the event ids (cleaned events) triggers a resync, then the watcher continues from the current id', async (t) => {
  const fake = new FakeMetastore();
  const live = [
    { ...pageviews },
    { name: 'clicks', id: 42n, params: { 'kafka.topic': 'clicks' } },
    { name: 'orders', db: 'shop', id: 44n, params: { 'kafka.topic': 'orders' } },
  ];
  fake.databases.set('default', [tableOf(live[0]!), tableOf({ name: 'plain', id: 50n, storageHandler: null }), tableOf(live[1]!)]);
  fake.databases.set('shop', [tableOf(live[2]!)]);
  fake.databases.set('empty', []);
  // We stopped at 40; events 41..45 were cleaned; 46 is the oldest left and 47 comes after the resync.
  fake.add(createEvent(46n, live[1]!));
  fake.currentEventId = 46n;
  const cursor = new CursorStore(40n);
  const notices: TableNotice[] = [];
  const { watcher, lines } = watcherWith(fake, cursor, async (notice) => { notices.push(notice); }, { resyncChunkSize: 2 });
  watcher.start();
  t.after(() => watcher.stop());

  await waitUntil(() => cursor.value === 46n, 'the resync moved the cursor to 46');
  fake.add(dropEvent(47n, live[1]!));
  await waitUntil(() => cursor.value === 47n, 'the cursor reaches event 47');
  assert.deepEqual(notices.map(brief), [
    '46 resync-live [41,42,44]',
    '46 upsert(resync) default.pageviews#41',
    '46 upsert(resync) default.clicks#42',
    '46 upsert(resync) shop.orders#44',
    '47 drop default.clicks#42',
  ]);
  assert.deepEqual(fake.tableRequests, [['pageviews', 'plain'], ['clicks'], ['orders']], 'tables are fetched in chunks');
  assert.ok(lines.some((line) => line.level === 'warn' && /event 41 is missing \(the next one is 46\)/.test(line.msg)));
});

test('a resync re-reads the tables oldest first: one renamed away from a name before the one created since under it', async (t) => {
  const fake = new FakeMetastore();
  // While nothing was read: pageviews (41) renamed to zz_archive, and a new pageviews (60) created. Listed by name, the new one comes first.
  fake.databases.set('default', [tableOf({ name: 'pageviews', id: 60n, params: { 'kafka.topic': 'pv' } }), tableOf({ ...pageviews, name: 'zz_archive' })]);
  fake.add(createEvent(70n, { name: 'other', id: 99n, storageHandler: null }));
  const cursor = new CursorStore(undefined);
  const notices: TableNotice[] = [];
  const { watcher } = watcherWith(fake, cursor, async (notice) => { notices.push(notice); });
  watcher.start();
  t.after(() => watcher.stop());
  await waitUntil(() => cursor.value === 70n, 'the resync moved the cursor to 70');
  assert.deepEqual(notices.map(brief), ['70 resync-live [60,41]', '70 upsert(resync) default.zz_archive#41', '70 upsert(resync) default.pageviews#60']);
});

test('a resync also happens on first start, when every event after the cursor was cleaned, and when the log was reset', async (t) => {
  const cases: { name: string; cursor: bigint | undefined; prepare: (fake: FakeMetastore) => void; reason: RegExp }[] = [
    { name: 'first start', cursor: undefined, prepare: () => {}, reason: /first start: no cursor yet/ },
    { name: 'all cleaned', cursor: 60n, prepare: (fake) => fake.cleanUpTo(70n), reason: /events 61 to 70 were cleaned/ },
    { name: 'log reset', cursor: 90n, prepare: () => {}, reason: /current event id 70 is behind our cursor 90/ },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const fake = new FakeMetastore();
      fake.databases.set('default', [tableOf(pageviews)]);
      fake.add(createEvent(70n, { name: 'gone', id: 99n }));
      c.prepare(fake);
      const cursor = new CursorStore(c.cursor);
      const notices: TableNotice[] = [];
      const { watcher, lines } = watcherWith(fake, cursor, async (notice) => { notices.push(notice); });
      watcher.start();
      await waitUntil(() => cursor.value === 70n, 'the cursor is at the current event id');
      await watcher.stop();
      assert.deepEqual(notices.map(brief), ['70 resync-live [41]', '70 upsert(resync) default.pageviews#41']);
      assert.ok(lines.some((line) => line.level === 'warn' && c.reason.test(line.msg)), c.name);
    });
  }
});

test('an event that cannot be decoded is logged and replaced by a resync', async (t) => {
  const fake = new FakeMetastore();
  fake.databases.set('default', [tableOf(pageviews)]);
  fake.add({ ...createEvent(81n, pageviews), messageFormat: 'avro-9' });
  const cursor = new CursorStore(80n);
  const notices: TableNotice[] = [];
  const { watcher, lines } = watcherWith(fake, cursor, async (notice) => { notices.push(notice); });
  watcher.start();
  t.after(() => watcher.stop());
  await waitUntil(() => notices.length === 2, 'two notices');
  assert.deepEqual(notices.map(brief), ['81 resync-live [41]', '81 upsert(resync) default.pageviews#41']);
  assert.ok(lines.some((line) => line.level === 'error' && /cannot decode event 81 \(CREATE_TABLE default\.pageviews\)/.test(line.msg)));
});

test('a metastore outage makes the watcher back off and reconnect, then it carries on where it was', async (t) => {
  const fake = new FakeMetastore();
  fake.add(createEvent(101n, pageviews));
  fake.down = true;
  const cursor = new CursorStore(100n);
  const notices: TableNotice[] = [];
  const connectTimes: number[] = [];
  const connect = async () => { connectTimes.push(Date.now()); return fake.connect(); };
  const { watcher, lines } = watcherWith(fake, cursor, async (notice) => { notices.push(notice); }, {
    connect, backoff: { initialMs: 20, maxMs: 80 }, random: () => 1,
  });
  watcher.start();
  t.after(() => watcher.stop());

  await waitUntil(() => connectTimes.length >= 5, 'five connection attempts');
  fake.down = false;
  await waitUntil(() => cursor.value === 101n, 'the cursor reaches event 101');
  const warnings = lines.filter((line) => line.level === 'warn');
  const delays = warnings.map((line) => (line.obj as { retryInMs: number }).retryInMs);
  assert.deepEqual(delays.slice(0, 5), [20, 40, 80, 80, 80], 'delays double up to the cap');
  connectTimes.slice(1, 5).forEach((time, i) => {
    assert.ok(time - connectTimes[i]! >= delays[i]! - 2, `attempt ${i + 2} waited for its backoff`);
  });
  assert.match(warnings[0]!.msg, /metastore unavailable: connect on 127\.0\.0\.1:9083 failed: connection refused; reconnecting/);
  assert.ok(lines.some((line) => line.level === 'info' && /recovered/.test(line.msg)));

  // An outage on an established connection: the watcher drops it and connects again.
  const before = { connects: fake.connects, closes: fake.closes };
  fake.down = true;
  await waitUntil(() => fake.connects > before.connects + 1, 'a reconnection attempt');
  fake.down = false;
  fake.add(dropEvent(102n, pageviews));
  await waitUntil(() => cursor.value === 102n, 'the cursor reaches event 102');
  assert.ok(fake.closes > before.closes, 'the broken connection was closed');
  assert.deepEqual(notices.map(brief), ['101 upsert(create) default.pageviews#41', '102 drop default.pageviews#41']);
});

test('stop is prompt during a long backoff and during a metastore call that never answers', async (t) => {
  await t.test('during backoff', async () => {
    const fake = new FakeMetastore();
    fake.down = true;
    const { watcher, lines } = watcherWith(fake, new CursorStore(0n), async () => {}, { backoff: { initialMs: 60_000, maxMs: 60_000 } });
    watcher.start();
    await waitUntil(() => lines.some((line) => line.level === 'warn'), 'the first failure');
    const startedAt = Date.now();
    await watcher.stop();
    assert.ok(Date.now() - startedAt < 200, `stopped in ${Date.now() - startedAt} ms`);
  });
  await t.test('during a hung call', async () => {
    const fake = new FakeMetastore();
    fake.hang = true;
    const { watcher } = watcherWith(fake, new CursorStore(0n), async () => {});
    watcher.start();
    await waitUntil(() => fake.connects === 1, 'connected');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const startedAt = Date.now();
    await watcher.stop();
    assert.ok(Date.now() - startedAt < 200, `stopped in ${Date.now() - startedAt} ms`);
    assert.equal(fake.closes, 1, 'the connection is closed');
  });
  await t.test('during a connect that never completes, closing the late connection', async () => {
    const fake = new FakeMetastore();
    let finishConnect!: () => void;
    const connect = () => new Promise<WatcherMetastore>((resolve) => { finishConnect = () => resolve(fake); });
    const { watcher } = watcherWith(fake, new CursorStore(0n), async () => {}, { connect });
    watcher.start();
    await waitUntil(() => finishConnect !== undefined, 'connecting');
    const startedAt = Date.now();
    await watcher.stop();
    assert.ok(Date.now() - startedAt < 200, `stopped in ${Date.now() - startedAt} ms`);
    finishConnect();
    await waitUntil(() => fake.closes === 1, 'the late connection is closed');
  });
});

test('stop waits for a notice being handled, and its event is then past the cursor', async () => {
  const fake = new FakeMetastore();
  fake.add(createEvent(111n, pageviews), createEvent(112n, { ...pageviews, name: 'later', id: 45n }));
  const cursor = new CursorStore(110n);
  let release!: () => void;
  const seen: TableNotice[] = [];
  const { watcher } = watcherWith(fake, cursor, (notice) => {
    seen.push(notice);
    return new Promise<void>((resolve) => { release = resolve; });
  });
  watcher.start();
  await waitUntil(() => seen.length === 1, 'the first notice is being handled');
  let stopped = false;
  const stopping = watcher.stop().then(() => { stopped = true; });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(stopped, false, 'stop waits for onNotice');
  release();
  await stopping;
  assert.equal(cursor.value, 111n);
  assert.equal(seen.length, 1, 'no notice starts after stop');
});
