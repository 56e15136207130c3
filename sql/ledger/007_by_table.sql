-- A table's own rows, found without reading every table's: its history in order (`hive-kafka history
-- db.table`, a repeated task failure finding the row that counts it) and its latest errors (status and
-- the streams system table ask for every table's, each round: without this index SQLite read the whole
-- errors table from its end for each table that had none).
CREATE INDEX stream_history_by_table ON stream_history (table_id, id);
CREATE INDEX errors_by_table ON errors (table_id, id);
