// What a published file's name says. Every batch file is named
// <topic>+<kafka partition>+<first offset>+<last offset>.parquet, or, in a bucketed table,
// <bucket, 6+ digits>_0_<topic>+<kafka partition>+<first offset>+<last offset>.parquet (the prefix is
// where Hive reads the bucket; bucket.ts). The first offset is where the batch before ended + 1, so
// the names of a partition's batches tile its offsets, transaction markers and aborted or compacted
// records included (files published before 2026-12-05 start at their first record instead).
// `ledger rebuild` and a relocation after a RENAME read offsets back from these names when the
// ledger does not hold them.
import { posix } from 'node:path';
import type { FileSystem } from './fs.ts';

export interface PublishedFile { partition: number; first: number; last: number; bucket: number | null }

/**
 * Reads what a published file name of `topic` says: Kafka partition, offsets and, in a bucketed
 * table, the bucket. Any other name (another topic's, Hive's own) gives undefined.
 */
export function publishedNameParser(topic: string): (name: string) => PublishedFile | undefined {
  const literal = topic.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^(?:(\\d{6,})_0_)?${literal}\\+(\\d+)\\+(\\d+)\\+(\\d+)\\.parquet$`);
  return (name) => {
    const m = pattern.exec(name);
    if (!m) return undefined;
    return { bucket: m[1] === undefined ? null : Number(m[1]), partition: Number(m[2]), first: Number(m[3]), last: Number(m[4]) };
  };
}

/**
 * The files of `topic` published in `dir` and its Hive partition directories (names with '='),
 * hidden entries skipped; `sideDirs` (relative to `dir`) are read too, where a batch's file has the
 * same name with another extension (the dead letters' `.jsonl`).
 */
export async function publishedFilesUnder(fs: Pick<FileSystem, 'exists' | 'list'>, dir: string, topic: string, sideDirs: readonly string[] = []):
  Promise<(PublishedFile & { path: string })[]> {
  const parse = publishedNameParser(topic);
  const out: (PublishedFile & { path: string })[] = [];
  const visit = async (d: string): Promise<void> => {
    for (const name of await fs.list(d)) {
      if (name.startsWith('.') || name.startsWith('_')) continue; // staging and Hive's own hidden files
      const published = parse(name);
      if (published) out.push({ ...published, path: posix.join(d, name) });
      else if (name.includes('=')) await visit(posix.join(d, name));
    }
  };
  await visit(dir);
  for (const side of sideDirs) {
    const d = posix.join(dir, side);
    if (!(await fs.exists(d))) continue;
    for (const name of await fs.list(d)) {
      const published = parse(name.replace(/\.[a-z]+$/, '.parquet'));
      if (published) out.push({ ...published, path: posix.join(d, name) });
    }
  }
  return out;
}
