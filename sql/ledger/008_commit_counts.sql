-- Each partition's committed record counts and last commit time, kept with its next offset by the
-- commit itself. Status and every system-tables round read them for every table; summed over the
-- batches table instead they cost a scan of every batch the table ever committed (a batch every few
-- seconds per partition, kept for good): 0.23 s per round for 400 tables of 2,500 batches each.
ALTER TABLE partition_offsets ADD COLUMN stored_records INTEGER NOT NULL DEFAULT 0;
ALTER TABLE partition_offsets ADD COLUMN filtered_records INTEGER NOT NULL DEFAULT 0;
ALTER TABLE partition_offsets ADD COLUMN rejected_records INTEGER NOT NULL DEFAULT 0;
ALTER TABLE partition_offsets ADD COLUMN last_commit_at INTEGER;
UPDATE partition_offsets SET (stored_records, filtered_records, rejected_records, last_commit_at) = (
  SELECT COALESCE(SUM(b.record_count), 0), COALESCE(SUM(b.filtered_count), 0), COALESCE(SUM(b.rejected_count), 0), MAX(b.committed_at)
  FROM batches b WHERE b.table_id = partition_offsets.table_id AND b.kafka_partition = partition_offsets.kafka_partition AND b.state = 'committed');

-- A batch's files by batch: without it every lookup of a batch's files (recovery, the relocation walk,
-- the compactor's per-table candidates) read the files of every table. The compactor's round over
-- 400 tables of 2,500 one-file batches each took 30 s of the main thread, every 30 s.
CREATE INDEX batch_files_by_batch ON batch_files (batch_id);
