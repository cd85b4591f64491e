-- HPR-Bench scores written by the evaluator (services/evaluator). Valid on ClickHouse 18.16 and
-- current releases: plain MergeTree family, no LowCardinality, no DateTime64, no query parameters.
--
-- Every table is a ReplacingMergeTree whose sorting key is the row's deterministic id and whose
-- version column is `written_ms`: writing a run again (re-delivered messages, a restart) replaces its
-- rows instead of adding to them. Read with FINAL (or argMax(col, written_ms) GROUP BY key) so rows
-- not yet merged are never double counted. Times are epoch milliseconds (Float64 / UInt64).

-- One row per run: the HPR-BENCH.md §5 report fields and latency percentiles.
CREATE TABLE IF NOT EXISTS runs (
  run_id String,
  tenant String,
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
  latency_max_ms Float64
) ENGINE = ReplacingMergeTree(written_ms) ORDER BY run_id;

-- One row per (run, scored dimension).
CREATE TABLE IF NOT EXISTS dimension_scores (
  run_id String,
  dimension String,
  written_ms UInt64,
  multi_valued UInt8,
  accuracy Float64,
  macro_f1 Float64,
  ece Nullable(Float64),
  support UInt32
) ENGINE = ReplacingMergeTree(written_ms) ORDER BY (run_id, dimension);

-- One row per (run, user): final scores of the user's last persona.
CREATE TABLE IF NOT EXISTS user_scores (
  run_id String,
  tenant String,
  user_id String,
  written_ms UInt64,
  split String,
  scored UInt8,
  has_truth UInt8,
  has_persona UInt8,
  tombstoned UInt8,
  persona_version UInt32,
  windows_seen UInt32,
  events_seen UInt32,
  updates UInt32,
  tag_score Float64,
  acc_ex Nullable(Float64),
  key_facts UInt32,
  key_facts_stated UInt32,
  stated_facts UInt32,
  hallucinated_facts UInt32,
  raw_bytes UInt64,
  semantized_bytes UInt64,
  raw_tokens UInt64,
  semantized_tokens UInt64,
  compression_bytes Nullable(Float64),
  model String,
  summary String
) ENGINE = ReplacingMergeTree(written_ms) ORDER BY (run_id, tenant, user_id);

-- One row per persona update: tag score by amount of history seen (scored = 1 for scored users).
CREATE TABLE IF NOT EXISTS convergence (
  run_id String,
  tenant String,
  user_id String,
  persona_version UInt32,
  written_ms UInt64,
  window_id String,
  windows_seen UInt32,
  events_seen UInt32,
  history_fraction Float64,
  bucket Float64,
  scored UInt8,
  tag_score Float64,
  raw_bytes UInt64,
  semantized_bytes UInt64
) ENGINE = ReplacingMergeTree(written_ms) ORDER BY (run_id, tenant, user_id, persona_version);

-- One row per persona update whose latency is known: ingest time of the window's events → update.
CREATE TABLE IF NOT EXISTS latency (
  run_id String,
  tenant String,
  user_id String,
  persona_version UInt32,
  written_ms UInt64,
  window_id String,
  ingest_time_ms Float64,
  updated_ms Float64,
  latency_ms Float64
) ENGINE = ReplacingMergeTree(written_ms) ORDER BY (run_id, tenant, user_id, persona_version);
