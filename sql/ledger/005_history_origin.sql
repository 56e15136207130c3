-- Where a lifecycle event came from. 'metastore': a DDL notice, which every member of a cluster
-- sees and records; 'service': something that happened where the table ran (a failure, a restart,
-- an offset gap), recorded by that member only. The history system table publishes a DDL event
-- once, from the member that runs the table, and a service event from the member that recorded it.
ALTER TABLE stream_history ADD COLUMN origin TEXT NOT NULL DEFAULT 'service' CHECK (origin IN ('metastore', 'service'));
