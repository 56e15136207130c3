// WebHDFS REST v1 over Node's own fetch: one request to a NameNode (failing over between the
// NameNodes of an HA name service), the DataNode leg a NameNode redirects writes and reads to, and
// what an answer means (RemoteException -> FileSystemError, retriable or not). No file system
// semantics here; hdfs.ts builds those from these calls.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { FileSystemError } from './fs-error.ts';

/** Where a location's file system answers: the location's authority and its NameNodes' HTTP addresses. */
export interface WebHdfsEndpoints {
  /** As the location names it: "127.0.0.1:8020", or an HA name service such as "mycluster". */
  authority: string;
  /** WebHDFS HTTP addresses (host:port), tried in this order. */
  nameNodes: readonly string[];
  /** Simple authentication: sent as user.name on every request. */
  user: string;
}

/** The body of a WebHDFS error answer. */
export interface RemoteException {
  exception: string;
  javaClassName?: string;
  message: string;
}

/** A failed exchange with a NameNode or DataNode. */
export class WebHdfsError extends FileSystemError {
  constructor(
    operation: string,
    path: string,
    code: string | undefined,
    retriable: boolean,
    /** The message without the operation and path. */
    readonly detail: string,
    /** The NameNode or DataNode address that gave this answer (or that could not be reached). */
    readonly endpoint: string,
    readonly httpStatus: number | undefined,
    readonly remote: RemoteException | undefined,
    options?: { cause?: unknown },
  ) {
    super(operation, path, code, retriable, detail, options);
    this.name = 'WebHdfsError';
  }
}

/** Whether an error is the NameNode's answer that a path does not exist. */
export function isNotFound(error: unknown): boolean {
  return error instanceof WebHdfsError && error.remote?.exception === 'FileNotFoundException';
}

// Answers about the request or the namespace: the same call gives the same answer.
const permanentExceptions = new Set([
  'AccessControlException', 'AuthorizationException', 'SecurityException', 'SnapshotAccessControlException',
  'FileAlreadyExistsException', 'FileNotFoundException', 'ParentNotDirectoryException', 'PathIsNotEmptyDirectoryException',
  'DSQuotaExceededException', 'NSQuotaExceededException', 'QuotaExceededException', 'QuotaByStorageTypeExceededException',
  'InvalidPathException', 'UnresolvedPathException', 'PathComponentTooLongException', 'MaxDirectoryItemsExceededException',
  'IllegalArgumentException', 'HadoopIllegalArgumentException', 'UnsupportedOperationException',
]);

// The nearest system error code, so callers and tests can treat both file systems alike.
const errnoOf: Record<string, string> = {
  FileNotFoundException: 'ENOENT',
  FileAlreadyExistsException: 'EEXIST',
  PathIsNotEmptyDirectoryException: 'ENOTEMPTY',
  ParentNotDirectoryException: 'ENOTDIR',
  AccessControlException: 'EACCES',
  DSQuotaExceededException: 'EDQUOT',
  NSQuotaExceededException: 'EDQUOT',
  QuotaExceededException: 'EDQUOT',
  PathComponentTooLongException: 'ENAMETOOLONG',
};

/**
 * Whether trying again can succeed. Hadoop answers every IOException with HTTP 403, so the status
 * alone says little: 400/404 and known namespace and permission answers are final; StandbyException,
 * RetriableException, SafeModeException (a restarted NameNode), "Failed to find datanode" (a
 * restarting DataNode) and any other IOException, 5xx and lost connections are worth another try
 * within the retry budget.
 */
export function isTransient(status: number, remote: RemoteException | undefined): boolean {
  if (status === 400 || status === 401 || status === 404 || status === 405) return false;
  if (remote) return !permanentExceptions.has(remote.exception);
  return status >= 500 || status === 408 || status === 429; // no RemoteException: a proxy or servlet container answered
}

export interface Call {
  /** For messages: what the file system was doing ("write", "rename", ...). */
  operation: string;
  /** The absolute path the call is about, for the URL and for messages. */
  path: string;
  method: 'GET' | 'PUT' | 'DELETE';
  op: string;
  params?: Record<string, string>;
}

export interface ClientOptions {
  /** Longest a NameNode call, or a DataNode transfer of a small file, may take. */
  requestTimeoutMs: number;
}

/** A NameNode's redirect, or the NameNode's own answer. */
export interface Answer {
  response: Response;
  /** The NameNode that gave it. */
  nameNode: string;
}

export class WebHdfsClient {
  /** Index of the NameNode that answered last: HA clients start there, as Hadoop's own client does. */
  private active = 0;

  constructor(readonly endpoints: WebHdfsEndpoints, private readonly options: ClientOptions) {
    if (endpoints.nameNodes.length === 0) throw new Error(`no WebHDFS address for "${endpoints.authority}"`);
  }

  /**
   * One call to the name service: tries its NameNodes from the last active one on, moving to the next
   * on a connection error or StandbyException. Returns a 2xx answer or a 307 redirect to a DataNode;
   * any other answer is thrown as a WebHdfsError.
   */
  async nameNode(call: Call): Promise<Answer> {
    const { nameNodes } = this.endpoints;
    const failures: string[] = [];
    let last: WebHdfsError | undefined;
    for (let i = 0; i < nameNodes.length; i++) {
      const index = (this.active + i) % nameNodes.length;
      const nameNode = nameNodes[index]!;
      let response: Response;
      try {
        response = await fetch(this.url(nameNode, call), {
          method: call.method, redirect: 'manual', signal: AbortSignal.timeout(this.options.requestTimeoutMs),
        });
      } catch (error) {
        last = this.unreachable(call, nameNode, this.nameNodeName(nameNode), error);
        failures.push(`${nameNode}: ${reason(error)}`);
        continue;
      }
      if (response.ok || response.status === 307) {
        this.active = index;
        return { response, nameNode };
      }
      const failure = await this.refused(call, nameNode, this.nameNodeName(nameNode), response);
      if (failure.remote?.exception === 'StandbyException') {
        last = failure;
        failures.push(`${nameNode}: standby`);
        continue;
      }
      this.active = index; // it answered: it is the active one, even when the answer is an error
      throw failure;
    }
    if (nameNodes.length === 1) throw last!;
    throw new WebHdfsError(call.operation, call.path, last?.code, last?.retriable ?? true,
      `no active NameNode for ${this.endpoints.authority} answered (${failures.join('; ')})`,
      nameNodes.join(','), last?.httpStatus, last?.remote, { cause: last });
  }

  /**
   * The DataNode leg of CREATE or OPEN: follows the NameNode's 307 to the DataNode it chose. A
   * refused or failed transfer is retriable unless the DataNode's answer is a final one.
   */
  async dataNode(call: Call, redirect: Answer, body?: Uint8Array): Promise<Response> {
    const { location, dataNode, who } = await this.redirectTarget(call, redirect);
    // A stalled DataNode must not hang a task; a large file must still have time at 1 MB/s.
    const timeoutMs = this.options.requestTimeoutMs + Math.ceil((body?.byteLength ?? 0) / 1_000_000) * 1000;
    let response: Response;
    try {
      response = await dataNodeRequest(location, call.method, timeoutMs, body);
    } catch (error) {
      throw this.unreachable(call, dataNode, who, error);
    }
    if (response.ok) return response;
    throw await this.refused(call, dataNode, who, response);
  }

  /**
   * The DataNode leg of a CREATE whose body is sent in pieces (chunked), as they come: Hadoop's own
   * WebHDFS client streams its writes the same way. The DataNode creates the file when the request
   * starts and answers once the last piece is in and the file closed. No timeout while pieces come
   * (a batch fills at its own pace; the DataNode keeps its block pipeline alive meanwhile); the
   * answer after the last piece has the same time as a whole-file write of that size.
   */
  async dataNodeUpload(call: Call, redirect: Answer): Promise<Upload> {
    const { location, dataNode, who } = await this.redirectTarget(call, redirect);
    return new StreamedUpload(location, this.options.requestTimeoutMs,
      (error) => this.unreachable(call, dataNode, who, error),
      (response) => this.refused(call, dataNode, who, response));
  }

  /** Where a NameNode's 307 points, and how messages name that DataNode. */
  private async redirectTarget(call: Call, redirect: Answer): Promise<{ location: string; dataNode: string; who: string }> {
    const location = redirect.response.headers.get('location');
    await redirect.response.body?.cancel();
    if (!location) {
      throw new WebHdfsError(call.operation, call.path, undefined, false,
        `NameNode ${redirect.nameNode} answered ${call.op} with HTTP ${redirect.response.status} but no Location`, redirect.nameNode, redirect.response.status, undefined);
    }
    const dataNode = hostOf(location);
    return { location, dataNode, who: `DataNode ${dataNode} (chosen by NameNode ${redirect.nameNode} of ${this.endpoints.authority})` };
  }

  private url(nameNode: string, call: Call): string {
    const query = new URLSearchParams({ op: call.op, 'user.name': this.endpoints.user, ...call.params });
    return `http://${nameNode}/webhdfs/v1${encodePath(call.path)}?${query}`;
  }

  private nameNodeName(nameNode: string): string {
    return `NameNode ${nameNode} of ${this.endpoints.authority}`;
  }

  /** `who` names the endpoint for messages: "NameNode host:port of <authority>", or the DataNode and who chose it. */
  private unreachable(call: Call, endpoint: string, who: string, error: unknown): WebHdfsError {
    // fetch fails without a cause only for a request it would never send (a blocked port, a bad URL).
    const cause = (error as { cause?: { code?: string } }).cause;
    const retriable = cause !== undefined || (error as Error).name === 'TimeoutError';
    return new WebHdfsError(call.operation, call.path, cause?.code, retriable,
      `${who} did not answer ${call.op}: ${reason(error)}`, endpoint, undefined, undefined, { cause: error });
  }

  private async refused(call: Call, endpoint: string, who: string, response: Response): Promise<WebHdfsError> {
    const text = await response.text().catch(() => '');
    const remote = remoteException(text);
    const status = response.status;
    if (status === 401) {
      return new WebHdfsError(call.operation, call.path, 'EACCES', false,
        `${who} asks for authentication (HTTP 401): hive-kafka speaks WebHDFS with ` +
        `simple authentication only (user.name=${this.endpoints.user}); Kerberos (SPNEGO) and delegation tokens are not supported`,
        endpoint, status, remote);
    }
    const what = remote ? `${remote.exception}: ${remote.message}` : text.trim().slice(0, 200) || response.statusText;
    const asUser = remote?.exception === 'AccessControlException' ? ` (as user ${this.endpoints.user})` : '';
    return new WebHdfsError(call.operation, call.path, remote ? errnoOf[remote.exception] : undefined, isTransient(status, remote),
      `${who} answered ${call.op} with HTTP ${status} ${what}${asUser}`, endpoint, status, remote);
  }
}

/**
 * One request to a DataNode with node:http rather than fetch: Hadoop's DataNode answers a PUT with
 * an unsolicited "100 Continue" before its 201, which undici's fetch rejects as a "bad response"
 * (observed with Hadoop 3.5.0); node:http passes over informational answers. Failures look like
 * fetch's (an error whose cause has the system code), so callers treat both alike.
 */
function dataNodeRequest(url: string, method: string, timeoutMs: number, body?: Uint8Array): Promise<Response> {
  return new Promise((resolve, reject) => {
    const fail = (cause: Error) => reject(Object.assign(new TypeError(`request to ${hostOf(url)} failed`), { cause }));
    const req = httpRequest(url, {
      method,
      timeout: timeoutMs,
      headers: body ? { 'content-type': 'application/octet-stream', 'content-length': body.byteLength } : {},
    }, (res) => { collect(res).then(resolve, fail); });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', fail);
    req.end(body);
  });
}

/** A file's bytes on their way to a DataNode, a piece at a time (WebHdfsClient.dataNodeUpload). */
export interface Upload {
  /** Resolves once the piece is handed to the connection; rejects once the request failed or the DataNode answered early. */
  write(bytes: Uint8Array): Promise<void>;
  /** Ends the body and waits for the DataNode's answer: the file is closed (durable) when this resolves. */
  finish(): Promise<void>;
  /** Gives up: the connection is cut, and the DataNode closes what it got under the hidden name. */
  cancel(): void;
}

class StreamedUpload implements Upload {
  private readonly request: ClientRequest;
  private readonly answer: Promise<Response>;
  /** Set once the request failed or the DataNode answered before the last piece: every later call throws it. */
  private failure: Error | undefined;
  private sent = 0;
  private ended = false;

  constructor(url: string, private readonly timeoutMs: number, unreachable: (error: unknown) => Error, refused: (response: Response) => Promise<Error>) {
    let settle!: { resolve(response: Response): void; reject(error: Error): void };
    const answered = new Promise<Response>((resolve, reject) => { settle = { resolve, reject }; });
    const fail = (cause: Error) => settle.reject(unreachable(Object.assign(new TypeError(`request to ${hostOf(url)} failed`), { cause })));
    this.request = httpRequest(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' } }, (res) => {
      collect(res).then(settle.resolve, fail);
    });
    this.request.on('timeout', () => this.request.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    this.request.on('error', fail);
    this.answer = answered.then(async (response) => {
      if (response.ok) return response;
      throw await refused(response);
    });
    // An answer before finish() is a refusal (or a cut): the next write or finish throws it.
    this.answer.then(() => { if (!this.ended) this.failure ??= new Error('the DataNode answered before the last piece'); },
      (error: Error) => { this.failure ??= error; });
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (bytes.byteLength === 0) return;
    this.sent += bytes.byteLength;
    await new Promise<void>((resolve, reject) => {
      this.request.write(bytes, (error) => (error ? reject(this.failure ?? error) : resolve()));
    });
    if (this.failure) throw this.failure;
  }

  async finish(): Promise<void> {
    if (this.failure) throw this.failure;
    // The DataNode answers after it closed the file: as long as a whole-file write of this size may take.
    this.request.setTimeout(this.timeoutMs + Math.ceil(this.sent / 1_000_000) * 1000);
    this.ended = true;
    this.request.end();
    const response = await this.answer;
    await response.body?.cancel();
  }

  cancel(): void {
    this.failure ??= new Error('upload cancelled');
    this.request.destroy();
  }
}

/** A whole answer as a fetch Response (the body read to its end). */
function collect(res: IncomingMessage): Promise<Response> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
      const status = res.statusCode ?? 502;
      resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers }));
    });
  });
}

/** Each segment percent-encoded: Hive's partition directories hold '%', '=', ' ' and '+' literally. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function remoteException(text: string): RemoteException | undefined {
  try {
    const parsed = JSON.parse(text) as { RemoteException?: Partial<RemoteException> };
    const r = parsed.RemoteException;
    if (r && typeof r.exception === 'string') return { exception: r.exception, javaClassName: r.javaClassName, message: r.message ?? '' };
  } catch {
    // not JSON: a proxy's or servlet container's own error page
  }
  return undefined;
}

function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code === 'ECONNREFUSED' ? 'connection refused (ECONNREFUSED)' : `${cause.message ?? cause.code}`;
  if ((error as Error).name === 'TimeoutError') return 'timed out';
  return cause?.message ?? (error as Error).message;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
