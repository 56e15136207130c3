// Where a test table lives: the stack's file: warehouse, or HDFS (hdfs://127.0.0.1:8020). Tests that
// must hold on both file systems run once per kind, and read published files back through the same
// FileSystem implementations the service writes with (WebHDFS for hdfs:).
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileSystems } from '../../../src/sink/fs.ts';
import { stack } from './services.ts';

export type Warehouse = 'file' | 'hdfs';
export const WAREHOUSES: readonly Warehouse[] = ['file', 'hdfs'];

/** The file systems of the stack's locations: file: and its HDFS (through WebHDFS), as the service writes them. */
export const stackFileSystems = fileSystems({ nameServices: { [new URL(stack.hdfs).host]: [stack.webHdfs] } });

/** The LOCATION clause for a new table: none on file: (the warehouse default), a fresh HDFS directory on hdfs:. */
export function locationClause(kind: Warehouse, table: string): string {
  return kind === 'hdfs' ? `LOCATION '${stack.hdfs}/hive-kafka-it/${table}'` : '';
}

/**
 * A local directory holding the table's files as Hive reads them (names starting with '.' or '_'
 * left out), copied through WebHDFS for hdfs: locations; the location itself for file: ones.
 */
export async function readableCopy(location: string): Promise<string> {
  const { fs, path } = stackFileSystems.for(location);
  if (location.startsWith('file:')) return path;
  const target = mkdtempSync(join(tmpdir(), 'hive-kafka-hdfs-copy-'));
  const copy = async (dir: string, into: string): Promise<void> => {
    for (const name of await fs.list(dir)) {
      if (name.startsWith('.') || name.startsWith('_')) continue;
      const from = posix.join(dir, name);
      const children = await fs.list(from).catch(() => undefined); // a file: not a directory
      if (children) { mkdirSync(join(into, name)); await copy(from, join(into, name)); } else writeFileSync(join(into, name), await fs.readFile(from));
    }
  };
  await copy(path, target);
  return target;
}

/** Whether a path (as a location string) exists, on either file system. */
export async function locationExists(location: string): Promise<boolean> {
  const { fs, path } = stackFileSystems.for(location);
  return fs.exists(path);
}
