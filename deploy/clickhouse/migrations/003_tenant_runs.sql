-- Runs are (tenant, run id) (issue 15): two tenants may use the same run id, and nothing of one
-- tenant's run may replace the other's rows. Valid on ClickHouse 18.16 and current releases.
--
-- `runs` (sorting key run_id) and `dimension_scores` (run_id, dimension; no tenant column) are
-- rebuilt with the tenant first in their sorting key: 18.16 cannot add an existing column to a
-- sorting key. Each rebuild is: create the new table, copy the old rows (dimension_scores takes its
-- tenant from the run's row), rename the old table to `<name>_before_tenants` (kept for reference;
-- drop it when you no longer need it), rename the new one into place. Every step carries an
-- `unless-table` guard, so a run of this file that stopped at any point is finished by the next one;
-- copying twice is harmless (ReplacingMergeTree, same key and version).
-- `user_scores`, `convergence` and `latency` already have the tenant in their sorting key.
--
-- runs also gains the run's freshness percentiles (README "Freshness").

-- unless-table: runs_before_tenants
CREATE TABLE IF NOT EXISTS runs_by_tenant (
  tenant String,
  run_id String,
  written_ms UInt64,
  started_ms Float64,
  completed_ms Float64,
  users UInt32,
  test_users UInt32,
  events UInt64,
  updates UInt64,
  seed Nullable(Int64),
  backend String,
  stack String,
  samples UInt32,
  scored_split String,
  tag_avg_at_k Float64,
  acc_ex Float64,
  hallucination_rate Float64,
  calibration_ece Nullable(Float64),
  compression_bytes Nullable(Float64),
  compression_tokens Nullable(Float64),
  retention Nullable(Float64),
  prior_tag_avg_at_k Nullable(Float64),
  prior_acc_ex Nullable(Float64),
  raw_frequency_tag_avg_at_k Nullable(Float64),
  raw_frequency_acc_ex Nullable(Float64),
  events_per_s Float64,
  wall_s Float64,
  raw_bytes UInt64,
  semantized_bytes UInt64,
  raw_tokens UInt64,
  semantized_tokens UInt64,
  latency_count UInt64,
  latency_mean_ms Float64,
  latency_p50_ms Float64,
  latency_p90_ms Float64,
  latency_p99_ms Float64,
  latency_max_ms Float64,
  freshness_p50_ms Nullable(Float64),
  freshness_p99_ms Nullable(Float64)
) ENGINE = ReplacingMergeTree(written_ms) ORDER BY (tenant, run_id);

-- unless-table: runs_before_tenants
INSERT INTO runs_by_tenant (tenant, run_id, written_ms, started_ms, completed_ms, users, test_users, events, updates,
  seed, backend, stack, samples, scored_split, tag_avg_at_k, acc_ex, hallucination_rate, calibration_ece,
  compression_bytes, compression_tokens, retention, prior_tag_avg_at_k, prior_acc_ex, raw_frequency_tag_avg_at_k,
  raw_frequency_acc_ex, events_per_s, wall_s, raw_bytes, semantized_bytes, raw_tokens, semantized_tokens,
  latency_count, latency_mean_ms, latency_p50_ms, latency_p90_ms, latency_p99_ms, latency_max_ms)
SELECT tenant, run_id, written_ms, started_ms, completed_ms, users, test_users, events, updates,
  seed, backend, stack, samples, scored_split, tag_avg_at_k, acc_ex, hallucination_rate, calibration_ece,
  compression_bytes, compression_tokens, retention, prior_tag_avg_at_k, prior_acc_ex, raw_frequency_tag_avg_at_k,
  raw_frequency_acc_ex, events_per_s, wall_s, raw_bytes, semantized_bytes, raw_tokens, semantized_tokens,
  latency_count, latency_mean_ms, latency_p50_ms, latency_p90_ms, latency_p99_ms, latency_max_ms
FROM runs;

-- unless-table: runs_before_tenants
RENAME TABLE runs TO runs_before_tenants;

-- unless-table: runs
RENAME TABLE runs_by_tenant TO runs;

-- unless-table: dimension_scores_before_tenants
CREATE TABLE IF NOT EXISTS dimension_scores_by_tenant (
  tenant String,
  run_id String,
  dimension String,
  written_ms UInt64,
  multi_valued UInt8,
  accuracy Float64,
  macro_f1 Float64,
  ece Nullable(Float64),
  support UInt32
) ENGINE = ReplacingMergeTree(written_ms) ORDER BY (tenant, run_id, dimension);

-- unless-table: dimension_scores_before_tenants
INSERT INTO dimension_scores_by_tenant (tenant, run_id, dimension, written_ms, multi_valued, accuracy, macro_f1, ece, support)
SELECT tenant, run_id, dimension, written_ms, multi_valued, accuracy, macro_f1, ece, support
FROM dimension_scores
ANY LEFT JOIN (SELECT run_id, tenant FROM runs FINAL) USING run_id;

-- unless-table: dimension_scores_before_tenants
RENAME TABLE dimension_scores TO dimension_scores_before_tenants;

-- unless-table: dimension_scores
RENAME TABLE dimension_scores_by_tenant TO dimension_scores;

-- The checkpoint: record ids are unique within a run, and a run is now (tenant, run id). Rows written
-- before this migration have tenant '' and are read as their payload's tenant (the service decodes
-- every checkpointed record and keeps only the run's tenant's).
ALTER TABLE evaluator_inbox ADD COLUMN tenant String, MODIFY ORDER BY (run_id, record_id, tenant);
