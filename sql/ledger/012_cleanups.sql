-- When a dropped table's clean-up (src/sink/dropped.ts) succeeded. A DROP whose clean-up failed and was
-- still due when the service stopped is tried again at the next start; before this it was forgotten.
-- Tables dropped before this version count as cleaned up: nothing says otherwise, and a clean-up run
-- again long after its DROP would find the location in someone else's use.
ALTER TABLE streams ADD COLUMN cleaned_at INTEGER;
UPDATE streams SET cleaned_at = COALESCE(dropped_at, updated_at) WHERE desired_state = 'dropped';
