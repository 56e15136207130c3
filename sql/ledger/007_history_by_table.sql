-- A table's history in order: `hive-kafka history db.table`, and a repeated task failure finding the
-- row that counts it, read only that table's rows instead of every table's.
CREATE INDEX stream_history_by_table ON stream_history (table_id, id);
