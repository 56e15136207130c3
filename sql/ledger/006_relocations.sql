-- A RENAME moves a table's directory in Hive's file system (src/sink/relocate.ts). Kept until the
-- files the table's tasks wrote to the old location in the meantime are moved and every path of the
-- ledger points to the new one, so that a crash in between finishes it at the next start.
CREATE TABLE relocations (
  table_id      INTEGER NOT NULL REFERENCES streams (table_id),
  from_location TEXT    NOT NULL,
  to_location   TEXT    NOT NULL,
  recorded_at   INTEGER NOT NULL,
  PRIMARY KEY (table_id, from_location)
);
