-- The evaluator's checkpoint: every distinct record it consumed for a run (persona updates without
-- evidence, ground truths, end-of-run markers), protobuf bytes in base64. A batch's records are
-- written here before its offsets are committed, so a restarted evaluator rebuilds an unfinished
-- run's state from this table plus the records after the committed offsets. record_id is
-- deterministic (u|tenant/user|version|kind, t|tenant/user, m|topic|partition), so re-delivered
-- records replace themselves.
CREATE TABLE IF NOT EXISTS evaluator_inbox (
  run_id String,
  record_id String,
  written_ms UInt64,
  role String,
  payload String
) ENGINE = ReplacingMergeTree(written_ms) ORDER BY (run_id, record_id);
