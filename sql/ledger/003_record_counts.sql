-- Records a batch consumed but did not store, counted with the batch so the counts are exactly as
-- durable as its rows: filtered out by kafka.mapping's WHERE (or CSV header rows), and refused under
-- kafka.error.policy skip or deadletter. `hive-kafka status` sums them per table.
ALTER TABLE batches ADD COLUMN filtered_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN rejected_count INTEGER NOT NULL DEFAULT 0;
