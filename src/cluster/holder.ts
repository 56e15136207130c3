// Who may ingest a table: a file beside its data (.hive-kafka-holder, hidden from Hive) naming one
// cluster (cluster:<name>) or one instance without a cluster (instance:<id>). It is created by an
// atomic rename that never replaces, so of two services that were never told about each other
// exactly one holds the table, and the other refuses it and names the holder. It is never taken
// over silently: `hive-kafka release db.table` removes it (README, "Several instances").
import { posix } from 'node:path';
import type { FileSystem } from '../sink/fs.ts';

export const HOLDER_FILE = '.hive-kafka-holder';

export interface Holder { holder: string; since: string; by: string }

export type HoldResult = { ok: true } | { ok: false; holder: Holder };

/** Holds the table for `me` unless someone else holds it already. */
export async function holdTable(fs: FileSystem, tableDir: string, me: string, by: string): Promise<HoldResult> {
  const path = posix.join(tableDir, HOLDER_FILE);
  if (!(await fs.exists(path))) {
    await fs.mkdirs(tableDir);
    const staged = posix.join(tableDir, `${HOLDER_FILE}.${process.pid}.${Date.now()}.tmp`);
    await fs.writeFileDurably(staged, Buffer.from(`${JSON.stringify({ holder: me, since: new Date().toISOString(), by } satisfies Holder)}\n`));
    // The rename fails if another service created the holder first; then its file decides.
    await fs.rename(staged, path).catch(() => undefined);
    await fs.remove(staged);
  }
  const holder = await readHolder(fs, tableDir);
  if (!holder) return holdTable(fs, tableDir, me, by); // released between the two calls
  return holder.holder === me ? { ok: true } : { ok: false, holder };
}

export async function readHolder(fs: FileSystem, tableDir: string): Promise<Holder | undefined> {
  const path = posix.join(tableDir, HOLDER_FILE);
  try {
    return JSON.parse(Buffer.from(await fs.readFile(path)).toString()) as Holder;
  } catch (e) {
    if (!(await fs.exists(path))) return undefined;
    throw e;
  }
}

export async function releaseTable(fs: FileSystem, tableDir: string): Promise<void> {
  await fs.remove(posix.join(tableDir, HOLDER_FILE));
}
