-- The live run (run id `live`, each tenant's never-ending clickstream): one row per persona update,
-- written by the evaluator as the update arrives (live updates are never accumulated in memory).
-- Per tenant per minute metrics are SQL over these rows (services/evaluator/README.md, "Live
-- metrics"). Valid on ClickHouse 18.16 and current releases.
--
-- Row identity: (tenant, minute, user_id, persona_version, window_id) — all carried by the update
-- record, so a re-delivered update replaces its row (ReplacingMergeTree, version written_ms; the
-- latest write wins, e.g. scored once the user's truth arrived). Read with FINAL (or argMax … GROUP
-- BY the identity) so rows not merged yet never count twice. `minute` is the start of the minute of
-- `time_ms` (persona.updated_ms, the persona service's wall clock), UTC. Monthly partitions: old
-- months can be dropped with `ALTER TABLE live_updates DROP PARTITION 202601` (18.16 has no TTL).
CREATE TABLE IF NOT EXISTS live_updates (
  tenant String,
  minute DateTime,
  user_id String,
  persona_version UInt32,
  window_id String,
  written_ms UInt64,
  time_ms Float64,
  early UInt8,
  freshness_ms Nullable(Float64),
  flipped UInt32,
  mean_confidence Nullable(Float64),
  tag_dimension Array(String),
  tag_value Array(String),
  tag_confidence Array(Float64),
  tag_score Nullable(Float64),
  model String
) ENGINE = ReplacingMergeTree(written_ms) PARTITION BY toYYYYMM(minute) ORDER BY (tenant, minute, user_id, persona_version, window_id);
