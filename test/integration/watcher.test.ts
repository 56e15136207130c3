// The notification watcher on the real metastore, with DDL run through real beeline.
// Other test files run DDL at the same time, so every assertion looks only at this file's tables.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect as connectTcp, type AddressInfo, type Socket } from 'node:net';
import thrift from 'thrift';
import { MetastoreClient } from '../../src/metastore/client.ts';
import ThriftHiveMetastore from '../../src/metastore/gen/ThriftHiveMetastore.js';
import hms from '../../src/metastore/gen/hive_metastore_types.js';
import { NotificationWatcher, type TableNotice } from '../../src/metastore/watcher.ts';
import { runBeeline } from './helpers/beeline.ts';
import { requireHiveServer2, requireMetastore, stack } from './helpers/services.ts';

const HANDLER = 'org.apache.hadoop.hive.kafka.KafkaStreamStorageHandler';
/** How long a notice may take to arrive after beeline returned: polls are 200 ms apart. */
const NOTICE_WITHIN_MS = 5000;

const suffix = randomUUID().slice(0, 8);
const names = {
  stream: `it_watch_${suffix}`,
  renamed: `it_watch_${suffix}_renamed`,
  plain: `it_watch_plain_${suffix}`,
};
const ours = new Set(Object.values(names));
/** Created during the outage test, which has its own watcher. */
const outageTable = `it_watch_outage_${suffix}`;

interface Received { notice: TableNotice; at: number }
const received: Received[] = [];
const logged: { level: string; msg: string }[] = [];
let cursor: bigint | undefined;
let watcher: NotificationWatcher;

const connect = () => MetastoreClient.connect(stack.metastoreUri, { timeoutMs: 10_000 });
const logger = {
  info: (_: object, msg: string) => { logged.push({ level: 'info', msg }); },
  warn: (_: object, msg: string) => { logged.push({ level: 'warn', msg }); },
  error: (_: object, msg: string) => { logged.push({ level: 'error', msg }); },
};

before(async () => {
  await requireMetastore();
  await requireHiveServer2();
  // Start at the current event, so the watcher reports what this file does and no resync of old tables.
  const probe = await connect();
  cursor = await probe.getCurrentEventId();
  probe.close();
  watcher = new NotificationWatcher({
    connect,
    readCursor: () => cursor,
    writeCursor: (eventId) => { cursor = eventId; },
    onNotice: async (notice) => { received.push({ notice, at: Date.now() }); },
    logger,
    pollIntervalMs: 200,
  });
  watcher.start();
});

after(async () => {
  await watcher?.stop();
  await runBeeline([...Object.values(names), outageTable].map((name) => `DROP TABLE IF EXISTS default.${name}`).join('; '));
});

function nameOf(notice: TableNotice): string | undefined {
  if (notice.kind === 'upsert') return notice.table.tableName;
  if (notice.kind === 'drop') return notice.tableName;
  return undefined;
}

/** The notices about this file's tables, in arrival order. */
function ourNotices(): Received[] {
  return received.filter(({ notice }) => ours.has(nameOf(notice) ?? ''));
}

async function nextNotice(seen: number, what: string, timeoutMs = 15_000): Promise<Received> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const notices = ourNotices();
    if (notices.length > seen) return notices[seen]!;
    if (Date.now() > deadline) {
      throw new Error(`no notice for ${what} within ${timeoutMs} ms; watcher log:\n${logged.map((l) => `${l.level} ${l.msg}`).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function ddl(sql: string): Promise<number> {
  await runBeeline(sql);
  return Date.now();
}

const createStream = (name: string, topic: string) =>
  `CREATE TABLE default.${name} (id BIGINT, page STRING) STORED BY '${HANDLER}' ` +
  `TBLPROPERTIES ('kafka.topic'='${topic}','kafka.broker.list'='127.0.0.1:9092')`;

let streamId: bigint | undefined;

test('CREATE TABLE ... STORED BY the handler yields upsert(create) within seconds; a plain table yields nothing', async (t) => {
  await ddl(`CREATE TABLE default.${names.plain} (id BIGINT) TBLPROPERTIES ('kafka.topic'='not_ours')`);
  const createdAt = await ddl(createStream(names.stream, 't1'));

  // Events arrive in order, so by the time the stream's notice is here the plain table's event was seen.
  const { notice, at } = await nextNotice(0, `CREATE of ${names.stream}`);
  assert.ok(at - createdAt < NOTICE_WITHIN_MS, `notice after ${at - createdAt} ms`);
  t.diagnostic(`upsert(create) arrived ${at - createdAt} ms after beeline returned (negative: before its JVM exited)`);
  assert.equal(notice.kind, 'upsert');
  assert.equal(notice.cause, 'create');
  assert.equal(notice.table.dbName, 'default');
  assert.equal(notice.table.tableName, names.stream);
  assert.equal(notice.table.parameters.storage_handler, HANDLER);
  assert.equal(notice.table.parameters['kafka.topic'], 't1');
  assert.equal(typeof notice.table.id, 'bigint');
  assert.ok(cursor !== undefined && cursor >= notice.eventId, 'the cursor moved past the event');
  streamId = notice.table.id;
  assert.equal(ourNotices().length, 1, 'nothing for the plain table');
});

test('ALTER ... SET TBLPROPERTIES yields upsert(alter) with the new parameter and the same id', async () => {
  const alteredAt = await ddl(`ALTER TABLE default.${names.stream} SET TBLPROPERTIES ('kafka.ingestion.paused'='true')`);
  const { notice, at } = await nextNotice(1, `ALTER of ${names.stream}`);
  assert.ok(at - alteredAt < NOTICE_WITHIN_MS, `notice after ${at - alteredAt} ms`);
  assert.equal(notice.kind, 'upsert');
  assert.equal(notice.cause, 'alter');
  assert.equal(notice.table.parameters['kafka.ingestion.paused'], 'true');
  assert.equal(notice.table.parameters['kafka.topic'], 't1');
  assert.equal(notice.table.id, streamId);
});

test('a rename yields upsert(rename) with the new name and the same id', async (t) => {
  // HiveServer2 refuses ALTER TABLE ... RENAME TO for storage-handler tables (Error 10134: only ADDPROPS,
  // DROPPROPS, ADDCOLS, EXECUTE) until the handler allows it, so this renames through the metastore's own
  // alter_table call, which writes the same ALTER_TABLE event HiveServer2 would.
  // Once hooks/ allows RENAME: await ddl(`ALTER TABLE default.${names.stream} RENAME TO default.${names.renamed}`).
  const renamedAt = await renameInMetastore('default', names.stream, names.renamed);
  const { notice, at } = await nextNotice(2, `RENAME of ${names.stream}`);
  assert.ok(at - renamedAt < NOTICE_WITHIN_MS, `notice after ${at - renamedAt} ms`);
  t.diagnostic(`upsert(rename) arrived ${at - renamedAt} ms after alter_table returned`);
  assert.equal(notice.kind, 'upsert');
  assert.equal(notice.cause, 'rename');
  assert.equal(notice.table.dbName, 'default');
  assert.equal(notice.table.tableName, names.renamed);
  assert.equal(notice.table.id, streamId);
  assert.equal(notice.table.parameters['kafka.ingestion.paused'], 'true');
});

test('DROP TABLE yields a drop with the same id', async () => {
  const droppedAt = await ddl(`DROP TABLE default.${names.renamed}`);
  const { notice, at } = await nextNotice(3, `DROP of ${names.renamed}`);
  assert.ok(at - droppedAt < NOTICE_WITHIN_MS, `notice after ${at - droppedAt} ms`);
  assert.deepEqual(notice, {
    kind: 'drop', tableId: streamId, dbName: 'default', tableName: names.renamed, eventId: notice.eventId,
  });
});

let recreatedId: bigint | undefined;

test('CREATE again under the same name yields an upsert(create) with a different id', async () => {
  await ddl(createStream(names.renamed, 't2'));
  const { notice } = await nextNotice(4, `re-CREATE of ${names.renamed}`);
  assert.equal(notice.kind, 'upsert');
  assert.equal(notice.cause, 'create');
  assert.equal(notice.table.tableName, names.renamed);
  assert.equal(notice.table.parameters['kafka.topic'], 't2');
  assert.notEqual(notice.table.id, streamId);
  recreatedId = notice.table.id;
  assert.deepEqual(logged.filter((line) => line.level !== 'info'), [], 'no warnings or errors so far');
});

test('a first start without a cursor resynchronises: the live table ids, then each live handler table', async () => {
  let freshCursor: bigint | undefined;
  const notices: TableNotice[] = [];
  const fresh = new NotificationWatcher({
    connect,
    readCursor: () => freshCursor,
    writeCursor: (eventId) => { freshCursor = eventId; },
    onNotice: async (notice) => { notices.push(notice); },
    logger: { info: () => {}, warn: () => {}, error: logger.error },
  });
  fresh.start();
  try {
    const deadline = Date.now() + 15_000;
    while (freshCursor === undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await fresh.stop();
  }
  assert.ok(freshCursor !== undefined, 'the resync finished and saved its cursor within 15 s');
  const complete = notices.find((notice) => notice.kind === 'resync-live');
  assert.ok(complete, 'resync-live arrived');
  assert.equal(notices[0], complete, 'resync-live comes before the upserts: a dropped table stops before one created again starts');
  const upsert = notices.find((notice) => notice.kind === 'upsert' && notice.table.tableName === names.renamed);
  assert.ok(upsert?.kind === 'upsert' && upsert.cause === 'resync', 'the live handler table is reported');
  assert.equal(upsert.table.id, recreatedId);
  assert.equal(upsert.table.parameters['kafka.topic'], 't2');
  assert.ok(complete.liveTableIds.includes(recreatedId!));
  assert.ok(!complete.liveTableIds.includes(streamId!), 'the dropped table is not live');
  assert.ok(notices.every((notice) => notice.kind !== 'upsert' || notice.table.tableName !== names.plain));
  assert.equal(freshCursor, complete.eventId, 'the cursor starts at the id read before listing');
});

test('when the metastore becomes unreachable the watcher backs off, reconnects, and reports what happened meanwhile', async () => {
  // A TCP proxy in front of the real metastore stands in for an outage: the stack itself is never stopped.
  const proxy = await startProxy(0);
  let proxyCursor: bigint | undefined = await (async () => {
    const probe = await connect();
    try { return await probe.getCurrentEventId(); } finally { probe.close(); }
  })();
  const notices: TableNotice[] = [];
  const lines: { level: string; msg: string }[] = [];
  const record = (level: string) => (_: object, msg: string) => { lines.push({ level, msg }); };
  const proxied = new NotificationWatcher({
    connect: () => MetastoreClient.connect(`thrift://127.0.0.1:${proxy.port}`, { timeoutMs: 5000 }),
    readCursor: () => proxyCursor,
    writeCursor: (eventId) => { proxyCursor = eventId; },
    onNotice: async (notice) => { notices.push(notice); },
    logger: { info: record('info'), warn: record('warn'), error: record('error') },
    pollIntervalMs: 200,
    backoff: { initialMs: 100, maxMs: 400 },
  });
  proxied.start();
  try {
    await new Promise((resolve) => setTimeout(resolve, 500));
    await proxy.close();
    await ddl(createStream(outageTable, 'during_outage'));
    assert.ok(lines.some((line) => line.level === 'warn' && /metastore unavailable: .*127\.0\.0\.1:\d+/.test(line.msg)),
      `an outage warning was logged: ${JSON.stringify(lines)}`);
    assert.equal(notices.length, 0);

    const restarted = await startProxy(proxy.port);
    try {
      const deadline = Date.now() + 15_000;
      while (!notices.some((notice) => nameOf(notice) === outageTable) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await proxied.stop();
      await restarted.close();
    }
    const notice = notices.find((candidate) => nameOf(candidate) === outageTable);
    assert.ok(notice?.kind === 'upsert' && notice.cause === 'create', 'the table created during the outage is reported');
    assert.ok(lines.some((line) => line.level === 'info' && /recovered/.test(line.msg)));
    assert.deepEqual(lines.filter((line) => line.level === 'error'), []);
  } finally {
    await proxied.stop();
  }
});

/** Forwards TCP connections to the metastore; close() also cuts the open ones, as an outage would. */
async function startProxy(port: number): Promise<{ port: number; close(): Promise<void> }> {
  const target = new URL(stack.metastoreUri);
  const sockets = new Set<Socket>();
  const server = createServer((downstream) => {
    const upstream = connectTcp(Number(target.port), target.hostname);
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => { downstream.destroy(); upstream.destroy(); });
    }
    downstream.pipe(upstream).pipe(downstream);
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- a rename through the metastore's Thrift API ---------------------------------------------------

/** Our IDL subset has no alter_table; this writes that one call by hand with the generated Table struct. */
async function renameInMetastore(dbName: string, from: string, to: string): Promise<number> {
  const url = new URL(stack.metastoreUri);
  const connection = thrift.createConnection(url.hostname, Number(url.port), {
    transport: thrift.TBufferedTransport,
    protocol: thrift.TBinaryProtocol,
  });
  await once(connection, 'connect');
  // The generated client's internals, which its .d.ts does not declare.
  const client = thrift.createClient(ThriftHiveMetastore.Client, connection) as unknown as RawClient;
  try {
    const request = new hms.GetTableRequest({ dbName, tblName: from, processorCapabilities: [] } as hms.GetTableRequest);
    const { table } = await new Promise<hms.GetTableResult>((resolve, reject) =>
      client.get_table_req(request, (error: unknown, result: hms.GetTableResult) => (error ? reject(error) : resolve(result))),
    );
    table.tableName = to;
    await new Promise<void>((resolve, reject) => {
      client._seqid = client.new_seqid();
      client._reqs[client.seqid()] = (error: unknown) => (error ? reject(error) : resolve());
      client.recv_alter_table = readVoidResult(client);
      const output = new client.pClass(client.output);
      output.writeMessageBegin('alter_table', thrift.Thrift.MessageType.CALL, client.seqid());
      output.writeStructBegin('alter_table_args');
      output.writeFieldBegin('dbname', thrift.Thrift.Type.STRING, 1);
      output.writeString(dbName);
      output.writeFieldEnd();
      output.writeFieldBegin('tbl_name', thrift.Thrift.Type.STRING, 2);
      output.writeString(from);
      output.writeFieldEnd();
      output.writeFieldBegin('new_tbl', thrift.Thrift.Type.STRUCT, 3);
      (table as unknown as { write(output: thrift.TProtocol): void }).write(output);
      output.writeFieldEnd();
      output.writeFieldStop();
      output.writeStructEnd();
      output.writeMessageEnd();
      client.output.flush();
    });
    return Date.now();
  } finally {
    connection.end();
  }
}

type Callback = (error: unknown, result?: unknown) => void;
interface RawClient {
  _seqid: number;
  _reqs: Record<number, Callback>;
  new_seqid(): number;
  seqid(): number;
  pClass: new (transport: unknown) => thrift.TProtocol;
  output: { flush(): void };
  get_table_req(request: hms.GetTableRequest, callback: (error: unknown, result: hms.GetTableResult) => void): void;
  recv_alter_table?: (input: thrift.TProtocol, mtype: number, rseqid: number) => void;
}

/** Reads alter_table's answer: nothing, or InvalidOperationException (field 1) / MetaException (field 2). */
function readVoidResult(client: RawClient) {
  return (input: thrift.TProtocol, mtype: number, rseqid: number) => {
    const callback = client._reqs[rseqid] ?? (() => {});
    delete client._reqs[rseqid];
    let error: unknown;
    if (mtype === thrift.Thrift.MessageType.EXCEPTION) {
      error = new thrift.Thrift.TApplicationException();
      (error as unknown as { read(input: thrift.TProtocol): void }).read(input);
    } else {
      input.readStructBegin();
      for (;;) {
        const field = input.readFieldBegin();
        if (field.ftype === thrift.Thrift.Type.STOP) break;
        if (field.fid === 1 || field.fid === 2) {
          const exception = field.fid === 1 ? new hms.InvalidOperationException() : new hms.MetaException();
          (exception as unknown as { read(input: thrift.TProtocol): void }).read(input);
          error = exception;
        } else {
          input.skip(field.ftype);
        }
        input.readFieldEnd();
      }
      input.readStructEnd();
    }
    input.readMessageEnd();
    callback(error);
  };
}
