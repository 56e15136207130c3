// WebHdfsFileSystem's own logic: the two-leg CREATE, failover between NameNodes, which answers are
// retried and which are final, what its errors say, and a rename whose answer was lost. The other
// side is a scripted HTTP test double, not HDFS: it proves the client does what it means to, never
// that HDFS answers this way. test/integration/fs-contract.test.ts runs against the stack's HDFS.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FileSystemError } from '../../src/sink/fs.ts';
import { WebHdfsFileSystem } from '../../src/sink/hdfs.ts';
import { WebHdfsError } from '../../src/sink/webhdfs-client.ts';
import type { RetryPolicy } from '../../src/sink/retry.ts';

interface Seen {
  method: string;
  /** The path after /webhdfs/v1, percent-decoded, as the server sees it. */
  path: string;
  /** The raw request target, to check the encoding. */
  rawUrl: string;
  op: string;
  query: URLSearchParams;
  body: Buffer;
  /** The body came in chunks of unannounced length (Transfer-Encoding: chunked). */
  chunked: boolean;
}

type Reply = { status: number; json?: unknown; headers?: Record<string, string> } | 'drop';

/**
 * Test double: an in-process HTTP server that answers each request with whatever its script
 * returns, and records every request. It plays a NameNode or a DataNode only as far as a test's
 * script says; it is not HDFS.
 */
class ScriptedHttpServer {
  readonly seen: Seen[] = [];
  private constructor(private readonly server: Server, private script: (req: Seen) => Reply) {}

  static async start(t: TestContext, script: (req: Seen) => Reply): Promise<ScriptedHttpServer> {
    let self: ScriptedHttpServer | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url!, 'http://x');
        const seen: Seen = {
          method: req.method!, rawUrl: req.url!, op: url.searchParams.get('op') ?? '', query: url.searchParams,
          path: decodeURIComponent(url.pathname.replace(/^\/webhdfs\/v1/, '')), body: Buffer.concat(chunks),
          chunked: req.headers['transfer-encoding'] === 'chunked',
        };
        self!.seen.push(seen);
        const reply = self!.script(seen);
        if (reply === 'drop') { req.socket.destroy(); return; }
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.json === undefined ? '' : JSON.stringify(reply.json));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new ScriptedHttpServer(server, script);
    t.after(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
    return self;
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  ops(): string[] {
    return this.seen.map((s) => s.op);
  }

  setScript(script: (req: Seen) => Reply): void {
    this.script = script;
  }
}

/** An address where nothing listens: a server started, then closed. */
async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

const fast: RetryPolicy = { budgetMs: 400, firstDelayMs: 5, maxDelayMs: 20 };

function hdfs(nameNodes: string[], retry = fast): WebHdfsFileSystem {
  return new WebHdfsFileSystem({ authority: 'mycluster', nameNodes, user: 'alice' }, { retry, requestTimeoutMs: 2000 });
}

const remote = (status: number, exception: string, message: string): Reply =>
  ({ status, json: { RemoteException: { exception, javaClassName: `org.apache.hadoop.${exception}`, message } } });

const status = (fileId: number, length: number, type = 'FILE'): Reply =>
  ({ status: 200, json: { FileStatus: { pathSuffix: '', type, length, fileId } } });

const notFound = (path: string): Reply => remote(404, 'FileNotFoundException', `File does not exist: ${path}`);

/** A NameNode script for CREATE that redirects to `dataNode`, as a NameNode does. */
function redirectTo(dataNode: ScriptedHttpServer, req: Seen): Reply {
  return { status: 307, headers: { location: `http://${dataNode.address}${req.rawUrl}&namenoderpcaddress=mycluster` } };
}

test('a write goes in two legs: CREATE at the NameNode without overwrite, the bytes to the DataNode it redirects to', async (t) => {
  const dataNode = await ScriptedHttpServer.start(t, () => ({ status: 201 }));
  const nameNode = await ScriptedHttpServer.start(t, (req) => redirectTo(dataNode, req));
  // Hive's escaped partition values keep '%' literally; Kafka file names hold '+'.
  const path = '/w/t/dt=2026 11/c=a%2Fb/.staging/pv+0+10+19.parquet';
  await hdfs([nameNode.address]).writeFileDurably(path, new Uint8Array([1, 2, 3]));

  const [create] = nameNode.seen;
  assert.equal(create!.method, 'PUT');
  assert.equal(create!.op, 'CREATE');
  assert.equal(create!.query.get('overwrite'), 'false');
  assert.equal(create!.query.get('user.name'), 'alice');
  assert.equal(create!.path, path);
  assert.match(create!.rawUrl, /^\/webhdfs\/v1\/w\/t\/dt%3D2026%2011\/c%3Da%252Fb\/.staging\/pv%2B0%2B10%2B19.parquet\?/);
  assert.equal(create!.body.length, 0, 'no bytes to the NameNode');
  assert.deepEqual([...dataNode.seen[0]!.body], [1, 2, 3]);
});

test('a write the DataNode refused while restarting is retried: the leftover is deleted, then created again', async (t) => {
  let writes = 0;
  const dataNode = await ScriptedHttpServer.start(t, () => (++writes === 1 ? 'drop' : { status: 201 }));
  const nameNode = await ScriptedHttpServer.start(t, (req) =>
    req.op === 'CREATE' ? redirectTo(dataNode, req) : { status: 200, json: { boolean: true } });
  await hdfs([nameNode.address]).writeFileDurably('/w/.h', new Uint8Array([7]));
  assert.deepEqual(nameNode.ops(), ['CREATE', 'DELETE', 'CREATE']);
  assert.equal(nameNode.seen[1]!.query.get('recursive'), 'false');
  assert.equal(writes, 2);
});

test('a write that finds a leftover under its hidden name deletes it and creates again, never with overwrite', async (t) => {
  let created = false;
  const dataNode = await ScriptedHttpServer.start(t, (req) => (created
    ? { status: 201 }
    : remote(403, 'FileAlreadyExistsException', `${req.path} for client 127.0.0.1 already exists`)));
  const nameNode = await ScriptedHttpServer.start(t, (req) => {
    if (req.op === 'DELETE') { created = true; return { status: 200, json: { boolean: true } }; }
    return redirectTo(dataNode, req);
  });
  await hdfs([nameNode.address]).writeFileDurably('/w/.h', new Uint8Array([7]));
  assert.deepEqual(nameNode.ops(), ['CREATE', 'DELETE', 'CREATE']);
  assert.ok(nameNode.seen.filter((s) => s.op === 'CREATE').every((s) => s.query.get('overwrite') === 'false'));
});

test('a file written in pieces: under the threshold it is one whole CREATE at close; past it, the leftover is deleted and the pieces stream in one chunked CREATE', async (t) => {
  const dataNode = await ScriptedHttpServer.start(t, () => ({ status: 201 }));
  const nameNode = await ScriptedHttpServer.start(t, (req) => (req.op === 'CREATE' ? redirectTo(dataNode, req) : { status: 200, json: { boolean: true } }));
  const fs = new WebHdfsFileSystem({ authority: 'mycluster', nameNodes: [nameNode.address], user: 'alice' }, { retry: fast, requestTimeoutMs: 2000, streamAfterBytes: 10 });

  const small = await fs.openDurably('/w/.small');
  await small.append(new Uint8Array([1, 2]));
  await small.append(new Uint8Array([3]));
  assert.deepEqual(nameNode.ops(), [], 'nothing sent while the pieces are under the threshold');
  await small.close();
  assert.deepEqual(nameNode.ops(), ['CREATE']);
  assert.deepEqual([...dataNode.seen[0]!.body], [1, 2, 3]);
  assert.equal(dataNode.seen[0]!.chunked, false, 'a whole file goes with its length');

  const large = await fs.openDurably('/w/.large');
  const pieces = [[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11], [12], [13, 14]];
  for (const piece of pieces) await large.append(new Uint8Array(piece));
  assert.deepEqual(nameNode.ops(), ['CREATE', 'DELETE', 'CREATE'], 'past 10 bytes: the leftover deleted, then one CREATE');
  assert.equal(nameNode.seen[2]!.query.get('overwrite'), 'false');
  await large.close();
  assert.deepEqual([...dataNode.seen[1]!.body], pieces.flat(), 'every piece in order, in one request');
  assert.equal(dataNode.seen[1]!.chunked, true);
});

test('a stream the DataNode cuts or refuses fails its file at once, naming the DataNode; nothing sent is resent', async (t) => {
  let requests = 0;
  // A DataNode that reads some of the body, then either cuts the connection or refuses with a RemoteException.
  const answer = { cut: true };
  const dataNodeServer = createServer((req, res) => {
    requests++;
    let received = 0;
    req.on('data', (c: Buffer) => {
      received += c.length;
      if (received < 1000 || res.headersSent) return;
      if (answer.cut) req.socket.destroy();
      else res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ RemoteException: { exception: 'DSQuotaExceededException', message: 'The DiskSpace quota of /w is exceeded' } }));
    });
  });
  await new Promise<void>((resolve) => dataNodeServer.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => { dataNodeServer.closeAllConnections(); dataNodeServer.close(() => resolve()); }));
  const dataNode = `127.0.0.1:${(dataNodeServer.address() as AddressInfo).port}`;
  const nameNode = await ScriptedHttpServer.start(t, (req) => (req.op === 'CREATE'
    ? { status: 307, headers: { location: `http://${dataNode}/webhdfs/v1${req.path}?op=CREATE` } }
    : { status: 200, json: { boolean: true } }));
  const fs = new WebHdfsFileSystem({ authority: 'mycluster', nameNodes: [nameNode.address], user: 'alice' }, { retry: fast, requestTimeoutMs: 2000, streamAfterBytes: 10 });

  for (const [cut, expected] of [[true, new RegExp(`DataNode ${dataNode} .*did not answer CREATE`)], [false, /HTTP 403 DSQuotaExceededException: The DiskSpace quota of \/w is exceeded/]] as const) {
    answer.cut = cut;
    requests = 0;
    const file = await fs.openDurably(`/w/.${cut ? 'cut' : 'refused'}`);
    const failed = (async () => {
      for (let i = 0; i < 50; i++) await file.append(new Uint8Array(200));
      await file.close();
    })();
    await assert.rejects(failed, (e: unknown) => e instanceof WebHdfsError && expected.test(e.message) && e.message.includes(`/w/.${cut ? 'cut' : 'refused'}`));
    assert.equal(requests, 1, 'one request: streamed bytes are not resent (the batch fails and is read again from Kafka)');
    await file.abandon();
  }
});

test('a write that comes after abandon (queued behind the one before it) opens no upload that no one would finish', async (t) => {
  const nameNode = await ScriptedHttpServer.start(t, () => ({ status: 200, json: { boolean: true } }));
  const fs = new WebHdfsFileSystem({ authority: 'mycluster', nameNodes: [nameNode.address], user: 'alice' }, { retry: fast, requestTimeoutMs: 2000, streamAfterBytes: 10 });
  const file = await fs.openDurably('/w/.abandoned');
  await file.abandon();
  await file.append(new Uint8Array(200));
  assert.equal(nameNode.seen.length, 0, 'no CREATE (nor its DELETE) reached the NameNode');
});

test('HA: a standby or unreachable NameNode is skipped, and the active one is tried first from then on', async (t) => {
  const standby = await ScriptedHttpServer.start(t, () =>
    remote(403, 'StandbyException', 'Operation category READ is not supported in state standby'));
  const active = await ScriptedHttpServer.start(t, () => status(1, 0, 'DIRECTORY'));
  const fs = hdfs([await deadAddress(), standby.address, active.address]);
  assert.equal(await fs.exists('/w'), true);
  assert.equal(await fs.exists('/w'), true);
  assert.equal(standby.seen.length, 1, 'the second call went straight to the active NameNode');
  assert.equal(active.seen.length, 2);
});

test('HA: when every NameNode is standby or down, the call is retried within the budget, then fails naming each', async (t) => {
  const standby = await ScriptedHttpServer.start(t, () => remote(403, 'StandbyException', 'in state standby'));
  const dead = await deadAddress();
  const error = await hdfs([standby.address, dead]).exists('/w').then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof WebHdfsError, String(error));
  assert.equal(error.retriable, true, 'a restart of the task later can still succeed');
  assert.match(error.message, /^exists \/w failed: no active NameNode for mycluster answered/);
  assert.match(error.message, new RegExp(`${standby.address}: standby`));
  assert.match(error.message, new RegExp(`${dead}: connection refused`));
  assert.match(error.message, /gave up after \d+ attempts/);
  assert.ok(standby.seen.length > 1, 'retried');
});

test('RetriableException and SafeModeException (a restarted NameNode) are retried on the same NameNode', async (t) => {
  let calls = 0;
  const nameNode = await ScriptedHttpServer.start(t, () => {
    calls++;
    if (calls === 1) return remote(403, 'RetriableException', 'Namenode is in startup mode');
    if (calls === 2) return remote(403, 'SafeModeException', 'Cannot create directory /w. Name node is in safe mode.');
    return { status: 200, json: { boolean: true } };
  });
  await hdfs([nameNode.address]).mkdirs('/w');
  assert.equal(calls, 3);
});

test('a final answer is thrown at once, naming the operation, path, NameNode, HTTP status, exception and user', async (t) => {
  const nameNode = await ScriptedHttpServer.start(t, () =>
    remote(403, 'AccessControlException', 'Permission denied: user=alice, access=WRITE, inode="/w":hdfs:supergroup:drwxr-xr-x'));
  const error = await hdfs([nameNode.address]).mkdirs('/w/t').then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof WebHdfsError && error instanceof FileSystemError, String(error));
  assert.equal(nameNode.seen.length, 1, 'not retried');
  assert.equal(error.retriable, false);
  assert.equal(error.code, 'EACCES');
  assert.equal(error.httpStatus, 403);
  assert.equal(error.endpoint, nameNode.address);
  assert.equal(error.remote?.exception, 'AccessControlException');
  assert.equal(error.message, `mkdirs /w/t failed: NameNode ${nameNode.address} of mycluster answered MKDIRS with HTTP 403 ` +
    'AccessControlException: Permission denied: user=alice, access=WRITE, inode="/w":hdfs:supergroup:drwxr-xr-x (as user alice)');
});

test('a NameNode that asks for Kerberos gets a message saying only simple authentication is supported', async (t) => {
  const nameNode = await ScriptedHttpServer.start(t, () => ({ status: 401, headers: { 'www-authenticate': 'Negotiate' } }));
  await assert.rejects(hdfs([nameNode.address]).exists('/w'), (e: unknown) =>
    e instanceof WebHdfsError && !e.retriable && e.httpStatus === 401 &&
    /simple authentication only \(user.name=alice\); Kerberos \(SPNEGO\) and delegation tokens are not supported/.test(e.message));
  assert.equal(nameNode.seen.length, 1);
});

test('5xx and cut connections are retried; a 400 is not', async (t) => {
  let calls = 0;
  const flaky = await ScriptedHttpServer.start(t, () => (++calls === 1 ? { status: 500 } : calls === 2 ? 'drop' : status(3, 5)));
  assert.equal(await hdfs([flaky.address]).exists('/f'), true);
  assert.equal(calls, 3);

  const bad = await ScriptedHttpServer.start(t, () => remote(400, 'IllegalArgumentException', 'Invalid value for webhdfs parameter "op"'));
  await assert.rejects(hdfs([bad.address]).exists('/f'), (e: unknown) => e instanceof WebHdfsError && !e.retriable && e.httpStatus === 400);
  assert.equal(bad.seen.length, 1);
});

test('rename is rename2 without overwrite; a retry after a lost answer finds it done by the inode and succeeds', async (t) => {
  let renamed = false;
  const nameNode = await ScriptedHttpServer.start(t, (req) => {
    if (req.op === 'GETFILESTATUS') {
      if (req.path === '/w/.h') return renamed ? notFound(req.path) : status(42, 10);
      return renamed ? status(42, 10) : notFound(req.path);
    }
    if (req.op === 'RENAME') {
      if (renamed) return remote(404, 'FileNotFoundException', 'rename source /w/.h is not found.');
      renamed = true;
      return 'drop'; // renamed, but the answer never arrives
    }
    return { status: 500 };
  });
  await hdfs([nameNode.address]).rename('/w/.h', '/w/f');
  const rename = nameNode.seen.find((s) => s.op === 'RENAME')!;
  assert.equal(rename.query.get('destination'), '/w/f');
  assert.equal(rename.query.get('renameoptions'), 'NONE');
});

test('rename never replaces: a different file under the target fails it, not retriable, as on the local disk', async (t) => {
  const nameNode = await ScriptedHttpServer.start(t, (req) => {
    if (req.op === 'GETFILESTATUS') return req.path === '/w/.h' ? status(42, 10) : status(7, 99);
    return remote(403, 'FileAlreadyExistsException', 'rename destination /w/f already exists');
  });
  await assert.rejects(hdfs([nameNode.address]).rename('/w/.h', '/w/f'), (e: unknown) =>
    e instanceof FileSystemError && e.code === 'EEXIST' && !e.retriable && /a published file is never replaced/.test(e.message));
  assert.equal(nameNode.ops().filter((op) => op === 'RENAME').length, 1);
});

test('rename on a server that answers the old {"boolean":false} is judged by the state it leaves', async (t) => {
  const nameNode = await ScriptedHttpServer.start(t, (req) => {
    if (req.op === 'GETFILESTATUS') return req.path === '/w/.h' ? status(42, 10) : status(7, 99);
    return { status: 200, json: { boolean: false } };
  });
  await assert.rejects(hdfs([nameNode.address]).rename('/w/.h', '/w/f'), (e: unknown) => e instanceof FileSystemError && e.code === 'EEXIST');
});

test('renaming a source that is gone while the target exists fails without touching it', async (t) => {
  const nameNode = await ScriptedHttpServer.start(t, (req) => (req.path === '/w/.h' ? notFound(req.path) : status(42, 10)));
  await assert.rejects(hdfs([nameNode.address]).rename('/w/.h', '/w/f'), (e: unknown) =>
    e instanceof FileSystemError && e.code === 'ENOENT' && !e.retriable && /renamed already, or by another writer/.test(e.message));
  assert.deepEqual(nameNode.ops(), ['GETFILESTATUS', 'GETFILESTATUS'], 'no RENAME sent');
});

test('exists, list, remove and removeTree read the NameNode answers as the local file system would', async (t) => {
  const nameNode = await ScriptedHttpServer.start(t, (req) => {
    if (req.op === 'GETFILESTATUS') return notFound(req.path);
    if (req.op === 'LISTSTATUS' && req.path === '/w') {
      return { status: 200, json: { FileStatuses: { FileStatus: [{ pathSuffix: 'z', type: 'FILE', length: 0 }, { pathSuffix: 'a', type: 'DIRECTORY', length: 0 }] } } };
    }
    if (req.op === 'LISTSTATUS' && req.path === '/w/z') return { status: 200, json: { FileStatuses: { FileStatus: [{ pathSuffix: '', type: 'FILE', length: 0 }] } } };
    if (req.op === 'LISTSTATUS') return remote(404, 'FileNotFoundException', `File ${req.path} does not exist.`);
    if (req.op === 'DELETE' && req.path === '/w/full') return remote(403, 'PathIsNotEmptyDirectoryException', '`/w/full is non empty\': Directory is not empty');
    if (req.op === 'DELETE') return { status: 200, json: { boolean: false } };
    return { status: 500 };
  });
  const fs = hdfs([nameNode.address]);
  assert.equal(await fs.exists('/nope'), false);
  assert.deepEqual(await fs.list('/w'), ['a', 'z']);
  await assert.rejects(fs.list('/w/z'), (e: unknown) => e instanceof FileSystemError && e.code === 'ENOTDIR' && !e.retriable);
  await assert.rejects(fs.list('/nope'), (e: unknown) => e instanceof FileSystemError && e.code === 'ENOENT' && !e.retriable);
  await fs.remove('/w/gone'); // missing is fine
  await assert.rejects(fs.remove('/w/full'), (e: unknown) => e instanceof FileSystemError && e.code === 'ENOTEMPTY' && !e.retriable);
  await fs.removeTree('/w/t');
  assert.equal(nameNode.seen.at(-1)!.query.get('recursive'), 'true');
  assert.equal(nameNode.seen.filter((s) => s.op === 'DELETE' && s.path !== '/w/t').every((s) => s.query.get('recursive') === 'false'), true);
  await assert.rejects(fs.removeTree('/'), /refusing to remove the root directory/);
});

test('readFile follows the redirect to a DataNode', async (t) => {
  const dataNode = await ScriptedHttpServer.start(t, () => ({ status: 200, json: 'bytes' }));
  const nameNode = await ScriptedHttpServer.start(t, (req) => redirectTo(dataNode, req));
  assert.equal(Buffer.from(await hdfs([nameNode.address]).readFile('/w/f')).toString(), '"bytes"');
  assert.equal(nameNode.seen[0]!.op, 'OPEN');
  assert.equal(dataNode.seen[0]!.method, 'GET');
});
