-- The lifecycle's own state (src/lifecycle/states.ts) and what it must not forget.

-- Why a table is failed: an error that retrying cannot fix (a bad record under kafka.error.policy=fail,
-- an offset gap under kafka.offset.gap.policy=fail, a refused change). Its tasks stay stopped until an
-- ALTER TABLE or a restart of the service. NULL while the table is healthy.
ALTER TABLE streams ADD COLUMN failure TEXT;

-- Offsets Kafka deleted before the table read them (retention, deleteRecords). Written by the task
-- that noticed, before any record after the gap is committed; a gap noticed twice is one row.
CREATE TABLE offset_gaps (
  table_id        INTEGER NOT NULL REFERENCES streams (table_id),
  kafka_partition INTEGER NOT NULL,
  first_offset    INTEGER NOT NULL,
  last_offset     INTEGER NOT NULL,
  policy          TEXT    NOT NULL CHECK (policy IN ('fail', 'skip')),
  at              INTEGER NOT NULL,
  PRIMARY KEY (table_id, kafka_partition, first_offset)
);

-- 001's tasks table was never written and keyed task ids across tables; tasks are per table.
DROP TABLE tasks;
CREATE TABLE tasks (
  table_id     INTEGER NOT NULL REFERENCES streams (table_id),
  task_id      TEXT    NOT NULL,
  partitions   TEXT    NOT NULL,           -- JSON array of Kafka partitions
  state        TEXT    NOT NULL CHECK (state IN ('starting', 'running', 'failed', 'hung', 'stopped')),
  owner_epoch  INTEGER,                    -- the epoch the task claimed its partitions with
  attempts     INTEGER NOT NULL DEFAULT 0, -- failures of the table's tasks since it last ran clean
  last_error   TEXT,
  heartbeat_at INTEGER,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (table_id, task_id)
);
