// `hive-kafka ledger rebuild db.table`: a lost or empty ledger is rebuilt from the metastore (what the
// table is) and from the names of the published files (where ingestion got to): every published file
// is named <topic>+<kafka partition>+<first offset>+<last offset>.parquet. This is the one place that
// lists a whole table directory; normal restarts never do.
import { posix } from 'node:path';
import type { Table } from '../metastore/types.ts';
import { streamRecord } from '../properties/stream.ts';
import type { FileSystem } from '../sink/fs.ts';
import type { Ledger } from './ledger.ts';

const PUBLISHED = /^(.+)\+(\d+)\+(\d+)\+(\d+)\.parquet$/;

/** Highest published last offset per Kafka partition of `topic` under `dir`, skipping hidden entries. */
export async function lastPublishedOffsets(fs: FileSystem, dir: string, topic: string): Promise<Map<number, number>> {
  const last = new Map<number, number>();
  const visit = async (d: string): Promise<void> => {
    for (const name of await fs.list(d)) {
      if (name.startsWith('.') || name.startsWith('_')) continue; // staging and Hive's own hidden files
      const m = PUBLISHED.exec(name);
      if (m) {
        if (m[1] !== topic) continue;
        const p = Number(m[2]);
        last.set(p, Math.max(last.get(p) ?? -1, Number(m[4])));
      } else if (name.includes('=')) {
        await visit(posix.join(d, name)); // a partition directory
      }
    }
  };
  await visit(dir);
  return last;
}

export async function rebuildLedger(ledger: Ledger, table: Table, fsFor: (location: string) => { fs: FileSystem; path: string }): Promise<Map<number, number>> {
  const record = streamRecord(table);
  if (!record.ok) throw new Error(record.message);
  const { tableId, spec, layout } = record;
  ledger.upsertStream({
    tableId, dbName: table.dbName, tableName: table.tableName, specJson: JSON.stringify(spec),
    layoutJson: JSON.stringify(layout), desiredState: spec.paused ? 'paused' : 'running',
  });
  const { fs, path } = fsFor(layout.location);
  const last = await lastPublishedOffsets(fs, path, spec.topic);
  ledger.rebuildOffsets(tableId, last);
  ledger.appendHistory(tableId, 'ledger-rebuilt', { partitions: Object.fromEntries(last) });
  return ledger.nextOffsets(tableId);
}
