-- Small-file compaction (src/sink/compact.ts). A compaction writes a partition's files, merged, into
-- a new directory and then points the Hive partition there in one metastore call.

-- Where a partition directory the tasks compute (natural_dir: table location + partition path) is
-- now: once a compaction is planned, batches recorded after it publish into its new directory.
CREATE TABLE partition_dirs (
  table_id    INTEGER NOT NULL REFERENCES streams (table_id),
  natural_dir TEXT    NOT NULL,
  current_dir TEXT    NOT NULL,
  PRIMARY KEY (table_id, natural_dir)
);

-- One row per compaction, rolled forward after a crash: planned (new directory chosen, batches go
-- there) -> switched (Hive reads the new directory) -> done (the old directory is removed).
CREATE TABLE compactions (
  compaction_id    INTEGER PRIMARY KEY AUTOINCREMENT,
  table_id         INTEGER NOT NULL REFERENCES streams (table_id),
  partition_values TEXT    NOT NULL,       -- JSON array, in partition-key order
  natural_dir      TEXT    NOT NULL,
  old_dir          TEXT    NOT NULL,
  new_dir          TEXT    NOT NULL,
  state            TEXT    NOT NULL CHECK (state IN ('planned', 'switched', 'done')),
  planned_at       INTEGER NOT NULL,
  switched_at      INTEGER,
  done_at          INTEGER,
  input_files      INTEGER,
  output_files     INTEGER
);
CREATE INDEX compactions_open ON compactions (table_id, state);
