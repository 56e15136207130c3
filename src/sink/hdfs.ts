// The FileSystem for hdfs: locations, over WebHDFS REST v1 (webhdfs-client.ts). Every method is one
// retried unit: a transient failure (a NameNode failing over or restarting, a DataNode restarting, a
// lost connection) is retried with backoff within the budget; a final answer (the target exists,
// permission denied) is thrown at once. Each method is safe to retry even when an earlier attempt's
// answer was lost; the comments on writeFileDurably and rename say why.
import { posix } from 'node:path';
import type { FileSystem, PieceWriter } from './fs.ts';
import { FileSystemError } from './fs-error.ts';
import { defaultRetryPolicy, retrying, type RetryClock, type RetryPolicy } from './retry.ts';
import { isNotFound, WebHdfsClient, WebHdfsError, type Answer, type Call, type Upload, type WebHdfsEndpoints } from './webhdfs-client.ts';

export interface WebHdfsOptions {
  retry?: RetryPolicy;
  /** Longest one NameNode call may take (a DataNode transfer gets more for a large file). */
  requestTimeoutMs?: number;
  /** Tests replace time. */
  clock?: RetryClock;
  /** Where a file written in pieces starts streaming to a DataNode (openDurably); tests lower it. */
  streamAfterBytes?: number;
}

/**
 * A staging file streams to a DataNode once its pieces reach this size (openDurably). A 100,000-record
 * batch of the benchmark's ~200-byte records encodes to about 2 MB, so it streams; a quiet table's
 * batch does not, and holds no DataNode connection while it fills.
 */
export const STREAM_AFTER_BYTES = 1 << 20;

/** What GETFILESTATUS and LISTSTATUS say about one entry (the fields used here). */
interface FileStatus {
  pathSuffix: string;
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK';
  length: number;
  /** The inode id; a rename keeps it. */
  fileId?: number;
}

export class WebHdfsFileSystem implements FileSystem {
  private readonly client: WebHdfsClient;
  private readonly retry: RetryPolicy;
  private readonly clock: RetryClock | undefined;
  private readonly streamAfterBytes: number;

  constructor(readonly endpoints: WebHdfsEndpoints, options: WebHdfsOptions = {}) {
    this.client = new WebHdfsClient(endpoints, { requestTimeoutMs: options.requestTimeoutMs ?? 30_000 });
    this.retry = options.retry ?? defaultRetryPolicy;
    this.clock = options.clock;
    this.streamAfterBytes = options.streamAfterBytes ?? STREAM_AFTER_BYTES;
  }

  /**
   * CREATE with overwrite=false, in two legs: the NameNode redirects (307) to a DataNode, the bytes
   * go there. Durable when it returns: the DataNode answers 201 only after it closed the file, that
   * is after the block pipeline acknowledged the last packet and the NameNode completed the file.
   * That is hflush durability: every DataNode of the pipeline has the bytes (handed to its OS), so
   * they survive a crash of this process or of a DataNode process; they are forced to disk (and so
   * survive a power loss of every replica's machine) only where dfs.datanode.synconclose=true.
   *
   * Only hidden staging names are written. A retry may find what an earlier attempt left under this
   * name (a partial file, or a whole one whose 201 was lost): it deletes that, then creates again,
   * still with overwrite=false. Deleting rather than overwriting also works while the dead attempt's
   * DataNode still holds the file's lease, which CREATE overwrite=true would refuse.
   */
  async writeFileDurably(path: string, bytes: Uint8Array): Promise<void> {
    const call: Call = { operation: 'write', path: absolutePath(path), method: 'PUT', op: 'CREATE', params: { overwrite: 'false' } };
    await this.retried(async (attempt) => {
      if (attempt > 1) await this.delete(call.operation, call.path, false);
      try {
        const answer = await this.client.dataNode(call, await this.redirect(call), bytes);
        await answer.body?.cancel();
      } catch (error) {
        // A leftover from an earlier call with this name: the next attempt deletes it first.
        if (error instanceof WebHdfsError && error.remote?.exception === 'FileAlreadyExistsException') throw retriableCopy(error);
        throw error;
      }
    });
  }

  /**
   * A staging file written in pieces as its batch fills. The pieces wait in memory until they reach
   * STREAM_AFTER_BYTES: a file that stays smaller (a quiet table's batch) is written whole at close,
   * by writeFileDurably, retried as any write, and holds no DataNode connection meanwhile. A larger
   * one is streamed: one CREATE (overwrite=false) whose chunked body the pieces extend as they come,
   * durable when the DataNode answers after the last one (as writeFileDurably). So a batch's memory
   * on HDFS follows the threshold, not kafka.batch.maxSize. Bytes already streamed cannot be sent
   * again: a failed stream fails its batch, whose records the task reads again from the ledger's
   * offset; the DataNode closes the partial file under its hidden name, which recovery removes.
   */
  async openDurably(path: string): Promise<PieceWriter> {
    const absolute = absolutePath(path);
    let held: Uint8Array[] = [];
    let heldBytes = 0;
    let upload: Promise<Upload> | undefined;
    let abandoned = false;
    const call: Call = { operation: 'write', path: absolute, method: 'PUT', op: 'CREATE', params: { overwrite: 'false' } };
    return {
      append: async (bytes) => {
        // A write queued before abandon() must not open an upload that no one finishes or cancels.
        if (abandoned) return;
        if (upload) {
          await (await upload).write(bytes);
          return;
        }
        held.push(bytes);
        heldBytes += bytes.byteLength;
        if (heldBytes < this.streamAfterBytes) return;
        // A leftover under this name (as writeFileDurably finds one) is deleted first: CREATE never overwrites.
        upload = this.retried(async () => {
          await this.delete(call.operation, absolute, false);
          return this.client.dataNodeUpload(call, await this.redirect(call));
        });
        const pieces = held;
        held = [];
        heldBytes = 0;
        const streaming = await upload;
        for (const piece of pieces) await streaming.write(piece);
      },
      close: async () => {
        if (upload) {
          await (await upload).finish();
          return;
        }
        await this.writeFileDurably(absolute, held.length === 1 ? held[0]! : Buffer.concat(held));
        held = [];
      },
      abandon: async () => {
        abandoned = true;
        held = [];
        (await upload?.catch(() => undefined))?.cancel();
      },
    };
  }

  /** OPEN, following the NameNode's redirect to a DataNode that holds the first block. */
  async readFile(path: string): Promise<Uint8Array> {
    const call: Call = { operation: 'read', path: absolutePath(path), method: 'GET', op: 'OPEN' };
    return this.retried(async () => {
      const answer = await this.client.dataNode(call, await this.redirect(call));
      try {
        return new Uint8Array(await answer.arrayBuffer());
      } catch (error) {
        throw transferCut(call, error);
      }
    });
  }

  /**
   * RENAME with renameoptions=NONE (Hadoop's rename2): atomic in the NameNode, and it fails instead
   * of replacing an existing target (or moving into a directory, as the old rename does). A retry
   * after a lost answer may find the rename done: the source gone and the target holding the same
   * inode is success, which is what the commit protocol's roll-forward expects. Any other state is
   * reported as LocalFileSystem reports it.
   */
  async rename(from: string, to: string): Promise<void> {
    const source = absolutePath(from);
    const target = absolutePath(to);
    const paths = `${source} -> ${target}`;
    const before = await this.status('rename', source);
    if (!before) {
      if (await this.exists(target)) {
        throw new FileSystemError('rename', paths, 'ENOENT', false, 'the source is gone and the target exists (renamed already, or by another writer)');
      }
      throw new FileSystemError('rename', paths, 'ENOENT', false, 'the source does not exist');
    }
    const call: Call = { operation: 'rename', path: source, method: 'PUT', op: 'RENAME', params: { destination: target, renameoptions: 'NONE' } };
    await this.retried(async () => {
      let failure: unknown;
      try {
        const answer = await this.client.nameNode(call);
        const text = await answer.response.text().catch((error: unknown) => { throw transferCut(call, error, answer.nameNode); });
        // rename2 answers with an empty body; an old server or HttpFS ignores renameoptions and
        // answers the old rename's {"boolean":...}, false meaning "did not rename".
        if (!/"boolean"\s*:\s*false/.test(text)) return;
        failure = new WebHdfsError('rename', paths, undefined, false, `NameNode ${answer.nameNode} answered RENAME with {"boolean":false}`,
          answer.nameNode, answer.response.status, undefined);
      } catch (error) {
        failure = error;
      }
      const now = await this.statusOnce('rename', target);
      if (now && sameFile(before, now)) return; // done, by this call's lost attempt or a racing twin
      if ((failure as { retriable?: boolean }).retriable) throw failure;
      if (now) {
        throw new FileSystemError('rename', paths, 'EEXIST', false,
          'the target already exists and is a different file; a published file is never replaced', { cause: failure });
      }
      if (!(await this.statusOnce('rename', source))) {
        throw new FileSystemError('rename', paths, 'ENOENT', false, 'the source is gone and the target does not exist', { cause: failure });
      }
      throw failure; // the NameNode's own reason: the target's directory is missing, permission denied, ...
    });
  }

  async exists(path: string): Promise<boolean> {
    return (await this.status('exists', absolutePath(path))) !== undefined;
  }

  async list(dir: string): Promise<string[]> {
    const call: Call = { operation: 'list', path: absolutePath(dir), method: 'GET', op: 'LISTSTATUS' };
    const statuses = await this.retried(async () => {
      const answer = await this.client.nameNode(call);
      return (await readJson<{ FileStatuses: { FileStatus: FileStatus[] } }>(call, answer)).FileStatuses.FileStatus;
    });
    // LISTSTATUS of a file lists the file itself, with an empty suffix; readdir(2) refuses.
    if (statuses.length === 1 && statuses[0]!.pathSuffix === '' && statuses[0]!.type !== 'DIRECTORY') {
      throw new FileSystemError('list', call.path, 'ENOTDIR', false, 'not a directory');
    }
    return statuses.map((s) => s.pathSuffix).sort();
  }

  async mkdirs(dir: string): Promise<void> {
    const call: Call = { operation: 'mkdirs', path: absolutePath(dir), method: 'PUT', op: 'MKDIRS' };
    await this.retried(async () => {
      const answer = await this.client.nameNode(call);
      if ((await readJson<{ boolean: boolean }>(call, answer)).boolean !== true) {
        throw new WebHdfsError(call.operation, call.path, undefined, false, `NameNode ${answer.nameNode} answered MKDIRS with {"boolean":false}`,
          answer.nameNode, answer.response.status, undefined);
      }
    });
  }

  async remove(path: string): Promise<void> {
    await this.retried(() => this.delete('remove', absolutePath(path), false));
  }

  async removeTree(dir: string): Promise<void> {
    const path = absolutePath(dir);
    // A wrong path must not cost the whole file system.
    if (path === '/') throw new FileSystemError('remove tree', path, undefined, false, 'refusing to remove the root directory');
    await this.retried(() => this.delete('remove tree', path, true));
  }

  /** DELETE; a missing path is fine ({"boolean":false}), so a retry after a lost answer is too. */
  private async delete(operation: string, path: string, recursive: boolean): Promise<void> {
    const call: Call = { operation, path, method: 'DELETE', op: 'DELETE', params: { recursive: String(recursive) } };
    await readJson<{ boolean: boolean }>(call, await this.client.nameNode(call));
  }

  /** GETFILESTATUS, retried; undefined when the path does not exist. */
  private status(operation: string, path: string): Promise<FileStatus | undefined> {
    return this.retried(() => this.statusOnce(operation, path));
  }

  /** GETFILESTATUS once, for use inside an attempt that is itself retried. */
  private async statusOnce(operation: string, path: string): Promise<FileStatus | undefined> {
    const call: Call = { operation, path, method: 'GET', op: 'GETFILESTATUS' };
    try {
      return (await readJson<{ FileStatus: FileStatus }>(call, await this.client.nameNode(call))).FileStatus;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async redirect(call: Call): Promise<Answer> {
    const answer = await this.client.nameNode(call);
    if (answer.response.status !== 307) {
      await answer.response.body?.cancel();
      throw new WebHdfsError(call.operation, call.path, undefined, false,
        `NameNode ${answer.nameNode} answered ${call.op} with HTTP ${answer.response.status} instead of a redirect to a DataNode`,
        answer.nameNode, answer.response.status, undefined);
    }
    return answer;
  }

  private retried<T>(attempt: (n: number) => Promise<T>): Promise<T> {
    return retrying(this.retry, attempt, this.clock);
  }
}

function absolutePath(path: string): string {
  if (!path.startsWith('/')) throw new Error(`WebHdfsFileSystem needs absolute paths, got ${JSON.stringify(path)}`);
  return posix.resolve(path);
}

function sameFile(a: FileStatus, b: FileStatus): boolean {
  if (a.type !== b.type || a.length !== b.length) return false;
  return a.fileId === undefined || b.fileId === undefined || a.fileId === b.fileId;
}

async function readJson<T>(call: Call, answer: Answer): Promise<T> {
  try {
    return await answer.response.json() as T;
  } catch (error) {
    throw transferCut(call, error, answer.nameNode);
  }
}

/** The answer's body broke off or is not what WebHDFS sends: worth another try. */
function transferCut(call: Call, error: unknown, endpoint = ''): WebHdfsError {
  return new WebHdfsError(call.operation, call.path, undefined, true,
    `the answer to ${call.op}${endpoint ? ` from ${endpoint}` : ''} broke off or is not WebHDFS JSON: ${(error as Error).message}`,
    endpoint, undefined, undefined, { cause: error });
}

function retriableCopy(error: WebHdfsError): WebHdfsError {
  return new WebHdfsError(error.operation, error.path, error.code, true, `${error.detail} (left by an earlier attempt: deleting it and trying again)`,
    error.endpoint, error.httpStatus, error.remote, { cause: error });
}
