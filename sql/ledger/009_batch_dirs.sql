-- The compactor's candidates per directory, read without the table's whole batch history. Each round
-- it asks, for every table, how many committed files each directory Hive reads holds; grouped over
-- batch_files that read every file the table ever committed (kept for good): 32-50 ms per table per
-- round at 25,000 batches, 400 tables = 13-20 s of the main thread every 30 s.

-- A file's directory, kept by SQLite whatever rewrites final_path (a compaction given up, a RENAME).
ALTER TABLE batch_files ADD COLUMN dir TEXT GENERATED ALWAYS AS (rtrim(rtrim(final_path, replace(final_path, '/', '')), '/')) VIRTUAL;
CREATE INDEX batch_files_by_dir ON batch_files (dir);

-- Directories that may hold a table's counted files: every directory a file is recorded or moved into
-- (the triggers), less the old directory of a finished compaction (nothing is recorded there again).
CREATE TABLE batch_dirs (
  table_id INTEGER NOT NULL,
  dir      TEXT    NOT NULL,
  PRIMARY KEY (table_id, dir)
) WITHOUT ROWID;

INSERT OR IGNORE INTO batch_dirs (table_id, dir) SELECT DISTINCT b.table_id, f.dir FROM batch_files f JOIN batches b USING (batch_id);
DELETE FROM batch_dirs WHERE EXISTS (SELECT 1 FROM compactions c
  WHERE c.table_id = batch_dirs.table_id AND c.old_dir = batch_dirs.dir AND c.state = 'done'
    AND NOT EXISTS (SELECT 1 FROM partition_dirs p WHERE p.table_id = c.table_id AND p.current_dir = c.old_dir));

CREATE TRIGGER batch_dirs_on_record AFTER INSERT ON batch_files BEGIN
  INSERT OR IGNORE INTO batch_dirs (table_id, dir) SELECT table_id, NEW.dir FROM batches WHERE batch_id = NEW.batch_id;
END;
CREATE TRIGGER batch_dirs_on_move AFTER UPDATE OF final_path ON batch_files BEGIN
  INSERT OR IGNORE INTO batch_dirs (table_id, dir) SELECT table_id, NEW.dir FROM batches WHERE batch_id = NEW.batch_id;
END;

-- What the compactor asks of each listed directory: is it where a partition moved, did a partition
-- move away from it, did a compaction write it.
CREATE INDEX partition_dirs_by_current ON partition_dirs (table_id, current_dir);
CREATE INDEX compactions_by_new_dir ON compactions (table_id, new_dir);
