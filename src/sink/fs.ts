// The file systems a table location can be on: the contract the commit protocol writes through,
// and which implementation serves a location. `file:` locations (HMS writes them as file:/x;
// file:///x and file://localhost/x mean the same) use LocalFileSystem (local.ts); `hdfs:` ones use
// WebHdfsFileSystem (hdfs.ts) at the WebHDFS addresses the service config gives their authority.
import { userInfo } from 'node:os';
import { posix } from 'node:path';
import { WebHdfsFileSystem } from './hdfs.ts';
import { LocalFileSystem, localPath } from './local.ts';

export { FileSystemError } from './fs-error.ts';
export { LocalFileSystem, localPath } from './local.ts';

/**
 * What the commit protocol (commit.ts) needs from storage. Every implementation keeps these three
 * properties, and test/integration/fs-contract.test.ts proves each one against each implementation:
 *
 * 1. **A write is durable once it returns.** writeFileDurably returns only when the whole file is
 *    stored and survives a crash of this process: locally after fsync of the file and its directory;
 *    on HDFS after the DataNode pipeline acknowledged the last packet and the NameNode closed the
 *    file (hflush durability; on disk only where dfs.datanode.synconclose is set).
 * 2. **Create never overwrites a published file.** Files are only ever created under hidden staging
 *    names (HDFS: CREATE with overwrite=false); a leftover under that same hidden name from an earlier
 *    attempt is replaced whole, never mixed. A file reaches its published name only by rename.
 * 3. **Publish is an atomic rename that never replaces an existing file.** If the target exists the
 *    rename fails and both files stay as they were. A rename whose outcome a crash or a lost answer
 *    hid can be repeated: a rename of a source that is gone while the target exists fails
 *    (non-retriable) without touching it, and the commit protocol, which renames first, then finds
 *    the source gone and the target there, and counts the file published.
 *
 * Paths are absolute paths on the file system (/warehouse/t/...), never URLs. Errors are
 * FileSystemError, with `retriable` true only when trying again later can succeed.
 */
export interface FileSystem {
  /**
   * Writes the whole file under a hidden name (replacing a leftover of an earlier attempt); durable when
   * it returns. Makes its directory and missing parents (HDFS's CREATE does; locally only when open()
   * finds one missing), so a batch costs no mkdirs call.
   */
  writeFileDurably(path: string, bytes: Uint8Array): Promise<void>;
  /**
   * The same, in pieces: a batch's file grows in storage a row group at a time instead of in memory.
   * Durable once close() returns, as writeFileDurably. On HDFS the first pieces wait in memory and
   * the rest stream to a DataNode in one CREATE (hdfs.ts says when, and why not APPEND: each append
   * is a block pipeline recovery). Makes its directory, as writeFileDurably.
   */
  openDurably(path: string): Promise<PieceWriter>;
  /** The whole file: for tools and tests (ingestion itself never reads back). */
  readFile(path: string): Promise<Uint8Array>;
  /**
   * Atomically gives a file its new name; fails if `to` already names another file (as HDFS does), so a
   * published file is never replaced. Repeating a rename that a crash interrupted finishes it; once the
   * old name is gone, renaming it again fails (the commit protocol then checks `exists` on both names).
   */
  rename(from: string, to: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Names (not paths) of the entries of a directory, sorted. A missing directory fails (ENOENT). */
  list(dir: string): Promise<string[]>;
  /** Creates a directory and its missing parents; an existing directory is fine. */
  mkdirs(dir: string): Promise<void>;
  /** Removes a file or an empty directory; a missing one is fine. Never removes a directory tree. */
  remove(path: string): Promise<void>;
  /**
   * Removes a directory and everything under it; a missing one is fine. Only DROP TABLE uses it, on
   * the location of a table Hive has already purged; nothing in ingestion or recovery ever does.
   */
  removeTree(dir: string): Promise<void>;
}

/**
 * Removes a directory that holds only files: each file, then the directory (remove() takes a file or
 * an empty directory only). The directory must exist. Not removeTree: nothing below it is walked.
 */
export async function removeDirOfFiles(fs: Pick<FileSystem, 'list' | 'remove'>, dir: string): Promise<void> {
  for (const name of await fs.list(dir)) await fs.remove(posix.join(dir, name));
  await fs.remove(dir);
}

/** A file written in pieces under a hidden name (FileSystem.openDurably). */
export interface PieceWriter {
  append(bytes: Uint8Array): Promise<void>;
  /** fsync of the file and its directory; the file is whole and durable when it returns. */
  close(): Promise<void>;
  /** Gives the file up (the batch failed); recovery removes what is left in staging. */
  abandon(): Promise<void>;
}

/** The service config's `hdfs` key: how an hdfs: location's authority maps to WebHDFS endpoints. */
export interface HdfsSettings {
  /** Authority as locations name it (NameNode RPC host:port, or an HA name service) -> its NameNodes' WebHDFS host:port, in failover order. */
  nameServices: Record<string, string[]>;
  /** user.name for simple authentication; default: the OS user this service runs as. */
  user?: string;
}

/** The stack's NameNode (RPC 8020, HTTP 9870), under both names HMS and Hive may write. */
export const defaultHdfsSettings: HdfsSettings = {
  nameServices: { '127.0.0.1:8020': ['127.0.0.1:9870'], 'localhost:8020': ['127.0.0.1:9870'] },
};

/** A location no file system here can serve: a config or DDL problem, so restarting the task cannot fix it. */
export class LocationError extends Error {
  override readonly name = 'LocationError';
  readonly retriable = false;
}

export interface Located {
  fs: FileSystem;
  /** The location's path on `fs`. */
  path: string;
}

export interface FileSystems {
  /** The file system and the path on it for a table or partition location as the metastore stores it. */
  for(location: string, tableName?: string): Located;
}

/**
 * Resolves locations with the given HDFS settings. One WebHdfsFileSystem per authority, kept, so
 * an HA name service remembers which NameNode is active across calls.
 */
export function fileSystems(hdfs: HdfsSettings = defaultHdfsSettings): FileSystems {
  const local = new LocalFileSystem();
  const byAuthority = new Map<string, WebHdfsFileSystem>();
  const nameServices = new Map(Object.entries(hdfs.nameServices).map(([k, v]) => [k.toLowerCase(), v]));
  const user = hdfs.user ?? userInfo().username;

  const webHdfs = (authority: string, nameNodes: readonly string[]): WebHdfsFileSystem => {
    let fs = byAuthority.get(authority);
    if (!fs) byAuthority.set(authority, fs = new WebHdfsFileSystem({ authority, nameNodes, user }));
    return fs;
  };

  return {
    for(location, tableName) {
      const where = tableName === undefined ? `location ${location}` : `table ${tableName}: location ${location}`;
      const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(location)?.[1]?.toLowerCase();
      if (scheme === 'file') {
        try {
          return { fs: local, path: localPath(location) };
        } catch (error) {
          throw new LocationError(tableName === undefined ? (error as Error).message : `table ${tableName}: ${(error as Error).message}`);
        }
      }
      if (scheme === 'hdfs' || scheme === 'webhdfs') {
        const { authority, path } = splitHdfs(location, where);
        if (scheme === 'webhdfs') return { fs: webHdfs(`webhdfs://${authority}`, [authority]), path };
        const nameNodes = nameServices.get(authority);
        if (!nameNodes || nameNodes.length === 0) {
          // A host:port authority is one NameNode; a bare name is usually an HA name service of several.
          const addresses = /:\d+$/.test(authority) ? [`${authority.replace(/:\d+$/, '')}:9870`] : ['<namenode1>:9870', '<namenode2>:9870'];
          const example = JSON.stringify({ hdfs: { nameServices: { [authority]: addresses } } }).slice(1, -1);
          throw new LocationError(`${where}: no WebHDFS address for "${authority}"; add it to the service config: ${example}`);
        }
        return { fs: webHdfs(authority, nameNodes), path };
      }
      throw new LocationError(`${where}: ${scheme === undefined ? 'no scheme' : `scheme "${scheme}:" is not supported`}; ` +
        'hive-kafka writes to file: and hdfs: locations');
    },
  };
}

/** hdfs://authority/path -> its parts; the path is taken literally, as localPath does. */
function splitHdfs(location: string, where: string): { authority: string; path: string } {
  const match = /^[a-z]+:\/\/([^/]*)(\/.*)?$/i.exec(location);
  if (!match) throw new LocationError(`${where}: expected hdfs://<namenode or name service>/<path>`);
  const authority = match[1]!.toLowerCase();
  if (authority === '') throw new LocationError(`${where}: names no NameNode (hdfs:///...); hive-kafka needs the NameNode or name service in the location`);
  return { authority, path: match[2] ?? '/' };
}

let withDefaults: FileSystems | undefined;

/**
 * The file system and the path on it for a location, with the default HDFS settings (the stack's
 * NameNode). For call sites that have no service config; those that have one use fileSystems(config.hdfs).
 */
export function fileSystemFor(location: string, tableName?: string): Located {
  withDefaults ??= fileSystems();
  return withDefaults.for(location, tableName);
}
