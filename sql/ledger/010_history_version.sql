-- A number that changes whenever the history does (a row appended, a repeat counted on one): each
-- system-tables round asks it first and rebuilds the history table only when it moved. Reading and
-- writing out the whole history every round cost 1.5 s of the main thread at 200,000 rows.
CREATE TABLE history_version (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL
);
INSERT INTO history_version (id, version) VALUES (1, 0);
CREATE TRIGGER history_version_on_append AFTER INSERT ON stream_history BEGIN
  UPDATE history_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER history_version_on_count AFTER UPDATE ON stream_history BEGIN
  UPDATE history_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER history_version_on_delete AFTER DELETE ON stream_history BEGIN
  UPDATE history_version SET version = version + 1 WHERE id = 1;
END;
