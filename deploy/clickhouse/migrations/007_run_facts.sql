-- Issue 20 (chaos run): run facts (`PUT /api/tenants/{tenant}/runs/{runId}/facts`: seed, stack,
-- baselines…) kept in ClickHouse, not only in the evaluator's memory, so an evaluator restart
-- between the PUT and the run's end no longer writes the run without them. One row per put; the
-- latest wins. Valid on ClickHouse 18.16 and current releases; re-runnable.
CREATE TABLE IF NOT EXISTS run_facts (
  tenant String,
  run_id String,
  written_ms UInt64,
  facts String
) ENGINE = ReplacingMergeTree(written_ms) ORDER BY (tenant, run_id);
