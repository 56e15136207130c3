// A POSIX file system for file: locations. Durability by fsync of the file and of each directory
// whose entries changed; publishing by link() + unlink(), because rename(2) would replace a target.
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, readdir, readFile, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { FileSystem, PieceWriter } from './fs.ts';
import { FileSystemError } from './fs-error.ts';

// These describe the request, not the disk: retrying the same call gives the same answer.
const permanentCodes = new Set(['ENOENT', 'EEXIST', 'ENOTDIR', 'EISDIR', 'ENOTEMPTY', 'ENAMETOOLONG', 'EINVAL', 'EXDEV', 'ELOOP']);

function fsError(operation: string, path: string, error: unknown): FileSystemError {
  const code = (error as NodeJS.ErrnoException).code;
  const detail = error instanceof Error ? error.message : String(error);
  return new FileSystemError(operation, path, code, code === undefined || !permanentCodes.has(code), detail, { cause: error });
}

/**
 * The local path of a file: location. Hadoop's Path stores paths unescaped (a '%' or a space in
 * the location is that character in the directory name), so nothing is percent-decoded here.
 */
export function localPath(location: string): string {
  const match = /^file:(?:\/\/([^/]*))?(\/.*)$/i.exec(location);
  if (!match) throw new Error(`not a file: location with an absolute path: ${location}`);
  const [, authority, path] = match;
  if (authority !== undefined && authority !== '' && authority.toLowerCase() !== 'localhost') {
    throw new Error(`file: location ${location} names host "${authority}"; only local paths are supported`);
  }
  return path!;
}

export class LocalFileSystem implements FileSystem {
  async writeFileDurably(path: string, bytes: Uint8Array): Promise<void> {
    const file = await this.openDurably(path);
    try {
      await file.append(bytes);
    } catch (error) {
      await file.abandon();
      throw error;
    }
    await file.close();
  }

  async openDurably(path: string): Promise<PieceWriter> {
    const absolute = absolutePath(path);
    let file: Awaited<ReturnType<typeof open>>;
    try {
      file = await open(absolute, 'w');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError('write', absolute, error);
      // Its directory is missing (a new staging directory): made durably, then the open again.
      await this.mkdirs(dirname(absolute));
      try {
        file = await open(absolute, 'w');
      } catch (again) {
        throw fsError('write', absolute, again);
      }
    }
    return {
      async append(bytes) {
        try { await file.writeFile(bytes); } catch (error) { throw fsError('write', absolute, error); }
      },
      async close() {
        try {
          await file.sync();
        } catch (error) {
          throw fsError('write', absolute, error);
        } finally {
          await file.close();
        }
        await syncDirectory(dirname(absolute));
      },
      async abandon() { await file.close().catch(() => undefined); },
    };
  }

  async readFile(path: string): Promise<Uint8Array> {
    const absolute = absolutePath(path);
    try {
      return new Uint8Array(await readFile(absolute));
    } catch (error) {
      throw fsError('read', absolute, error);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const source = absolutePath(from);
    const target = absolutePath(to);
    // link() creates the new name atomically and fails if it exists (rename(2) would replace it);
    // the old name is removed after. A crash in between leaves two names for one file, which
    // the repeated call recognises by inode and finishes.
    try {
      await link(source, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await sameFile(source, target))) {
        // done before, up to the unlink
      } else if (code === 'ENOENT' && !(await existsAt(source)) && (await existsAt(target))) {
        throw new FileSystemError('rename', `${source} -> ${target}`, code, false,
          'the source is gone and the target exists (renamed already, or by another writer)', { cause: error });
      } else if (code === 'EEXIST') {
        throw new FileSystemError('rename', `${source} -> ${target}`, code, false,
          'the target already exists and is a different file; a published file is never replaced', { cause: error });
      } else {
        throw fsError('rename', `${source} -> ${target}`, error);
      }
    }
    await syncDirectory(dirname(target));
    try {
      await unlink(source);
    } catch (error) {
      throw fsError('rename (removing the old name)', source, error);
    }
    await syncDirectory(dirname(source));
  }

  async exists(path: string): Promise<boolean> {
    return existsAt(absolutePath(path));
  }

  async list(dir: string): Promise<string[]> {
    const absolute = absolutePath(dir);
    try {
      return (await readdir(absolute)).sort();
    } catch (error) {
      throw fsError('list', absolute, error);
    }
  }

  async mkdirs(dir: string): Promise<void> {
    const absolute = absolutePath(dir);
    let firstCreated: string | undefined;
    try {
      firstCreated = await mkdir(absolute, { recursive: true });
    } catch (error) {
      throw fsError('mkdirs', absolute, error);
    }
    if (firstCreated === undefined) return;
    // Each new directory's entry lives in its parent: sync from the first new one's parent down.
    for (let d = absolute; d !== dirname(d); d = dirname(d)) {
      await syncDirectory(dirname(d));
      if (d === firstCreated) break;
    }
  }

  async remove(path: string): Promise<void> {
    const absolute = absolutePath(path);
    try {
      const info = await lstat(absolute);
      if (info.isDirectory()) await rmdir(absolute);
      else await unlink(absolute);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw fsError('remove', absolute, error);
    }
    await syncDirectory(dirname(absolute));
  }

  async removeTree(dir: string): Promise<void> {
    const absolute = absolutePath(dir);
    if (absolute === '/') throw new FileSystemError('remove tree', absolute, undefined, false, 'refusing to remove the root directory');
    try {
      await rm(absolute, { recursive: true, force: true });
    } catch (error) {
      throw fsError('remove tree', absolute, error);
    }
    if (await existsAt(dirname(absolute))) await syncDirectory(dirname(absolute));
  }
}

function absolutePath(path: string): string {
  if (!isAbsolute(path)) throw new Error(`LocalFileSystem needs absolute paths, got ${JSON.stringify(path)}`);
  return resolve(path);
}

async function existsAt(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fsError('exists', path, error);
  }
}

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [sa, sb] = await Promise.all([stat(a), stat(b)]);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw fsError('fsync directory', dir, error);
  }
}
