-- Erased users (DeletePersona tombstones): a digest of tenant/user_id (never the id) and the erasure
-- time. The evaluator reads them at start and drops an erased user's records that arrive later: truths,
-- and updates of personas from before the erasure. The user's rows in the other tables are deleted
-- with ALTER TABLE … DELETE mutations when the tombstone arrives.
CREATE TABLE IF NOT EXISTS erasures (
  tenant String,
  user_digest String,
  erased_ms UInt64
) ENGINE = ReplacingMergeTree(erased_ms) ORDER BY (tenant, user_digest);
