-- Since this version a finished compaction takes the rows of the files it cleaned out of the ledger
-- (Ledger.compactionDone); this does the same once for the compactions finished before it. Those files
-- are gone from the file system; their rows were kept for good, 766 bytes a batch.
CREATE TEMP TABLE cleaned_dirs AS
  SELECT c.table_id, c.old_dir FROM compactions c WHERE c.state = 'done'
    AND NOT EXISTS (SELECT 1 FROM partition_dirs p WHERE p.table_id = c.table_id AND p.current_dir = c.old_dir);
CREATE TEMP TABLE cleaned_files AS
  SELECT f.rowid AS file_rowid, f.batch_id FROM batch_files f JOIN batches b USING (batch_id)
    JOIN cleaned_dirs k ON k.table_id = b.table_id AND k.old_dir = f.dir
  WHERE b.state = 'committed';
DELETE FROM batch_files WHERE rowid IN (SELECT file_rowid FROM cleaned_files);
DELETE FROM batches WHERE batch_id IN (SELECT batch_id FROM cleaned_files)
  AND NOT EXISTS (SELECT 1 FROM batch_files f WHERE f.batch_id = batches.batch_id);
DROP TABLE cleaned_dirs;
DROP TABLE cleaned_files;
