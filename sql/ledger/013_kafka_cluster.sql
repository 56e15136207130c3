-- The id of the Kafka cluster a table's offsets were read from, recorded at its first start. An offset
-- of one cluster means nothing in another: a kafka.broker.list ALTERed to brokers of another cluster
-- fails the table instead of reading there from the ledger's offsets. Tables from before this version
-- record the cluster they reach at their next start.
ALTER TABLE streams ADD COLUMN kafka_cluster_id TEXT;
