// The one error every file system throws. Kept apart from fs.ts so the implementations can import
// it without importing the module that imports them.

export class FileSystemError extends Error {
  constructor(
    readonly operation: string,
    readonly path: string,
    /** The system error code (ENOSPC, EACCES, ...), when there is one; HDFS errors use the nearest one. */
    readonly code: string | undefined,
    /** True when trying again later can succeed (a full or failing disk, an unreachable NameNode); false for a wrong path or state. */
    readonly retriable: boolean,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation} ${path} failed: ${detail}`, options);
    this.name = 'FileSystemError';
  }
}
