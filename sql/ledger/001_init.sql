-- The ledger: what hive-kafka owns, per table, and the positions that make ingestion exactly once.
-- One SQLite file, WAL mode. Rows of dropped tables are kept for audit.

-- One row per table stored by KafkaStreamStorageHandler, keyed by the metastore's table id so a
-- re-created table with the same name is a new stream.
CREATE TABLE streams (
  table_id      INTEGER PRIMARY KEY,
  db_name       TEXT    NOT NULL,
  table_name    TEXT    NOT NULL,
  spec_json     TEXT    NOT NULL,          -- the validated StreamSpec
  layout_json   TEXT    NOT NULL,          -- location, columns, partition keys, buckets
  desired_state TEXT    NOT NULL CHECK (desired_state IN ('running', 'paused', 'dropped')),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  dropped_at    INTEGER
);
CREATE INDEX streams_by_name ON streams (db_name, table_name);

CREATE TABLE stream_history (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  table_id    INTEGER NOT NULL REFERENCES streams (table_id),
  at          INTEGER NOT NULL,
  event       TEXT    NOT NULL,            -- created, altered, paused, resumed, renamed, dropped, ...
  detail_json TEXT
);

-- The next Kafka offset to ingest per partition, and which task epoch may write it. A task claims a
-- partition by bumping owner_epoch; any write by an older epoch is refused (fencing).
CREATE TABLE partition_offsets (
  table_id        INTEGER NOT NULL REFERENCES streams (table_id),
  kafka_partition INTEGER NOT NULL,
  next_offset     INTEGER NOT NULL,
  owner_epoch     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (table_id, kafka_partition)
);

-- A batch is recorded as intent ('written': its files exist under hidden names) before anything is
-- published, and becomes 'committed' with the offset move. Recovery rolls 'written' batches forward.
CREATE TABLE batches (
  batch_id        INTEGER PRIMARY KEY AUTOINCREMENT,
  table_id        INTEGER NOT NULL REFERENCES streams (table_id),
  kafka_partition INTEGER NOT NULL,
  first_offset    INTEGER NOT NULL,
  last_offset     INTEGER NOT NULL,
  record_count    INTEGER NOT NULL,
  owner_epoch     INTEGER NOT NULL,
  state           TEXT    NOT NULL CHECK (state IN ('written', 'committed')),
  created_at      INTEGER NOT NULL,
  committed_at    INTEGER
);
CREATE INDEX batches_pending ON batches (table_id, state);

CREATE TABLE batch_files (
  batch_id         INTEGER NOT NULL REFERENCES batches (batch_id),
  hidden_path      TEXT    NOT NULL,
  final_path       TEXT    NOT NULL UNIQUE,
  partition_values TEXT,                   -- JSON array of Hive partition values, NULL if unpartitioned
  bucket           INTEGER
);

CREATE TABLE tasks (
  task_id      TEXT    PRIMARY KEY,
  table_id     INTEGER NOT NULL REFERENCES streams (table_id),
  partitions   TEXT    NOT NULL,           -- JSON array of Kafka partitions
  state        TEXT    NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT,
  heartbeat_at INTEGER,
  updated_at   INTEGER NOT NULL
);

CREATE TABLE errors (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  table_id INTEGER,
  at       INTEGER NOT NULL,
  scope    TEXT    NOT NULL,               -- watcher, task, commit, ...
  message  TEXT    NOT NULL
);

-- The last metastore notification event applied. Replaying an event is harmless, so this moves only
-- after the event's effect is recorded.
CREATE TABLE watcher_cursor (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  last_event_id INTEGER NOT NULL
);
