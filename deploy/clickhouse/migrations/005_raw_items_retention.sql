-- Issue 16: the `raw_items` reference learner and the redefined retention (docs/hpr-bench.md).
-- Valid on ClickHouse 18.16 and current releases; re-runnable (the runner treats "column already
-- exists" on ADD COLUMN as done, so each column is its own statement).
--
-- runs: `retention` is now our tag score ÷ the raw_items learner's (rows written before this
-- migration hold the old figure there, with retention_vs_unfiltered NULL); the old figure (the same
-- backend on less-filtered semantized input) moves to `retention_vs_unfiltered`; the raw_items
-- baseline's tag score, Acc_Ex and ECE. `calibration_ece` is the report's `ece`.
ALTER TABLE runs ADD COLUMN retention_vs_unfiltered Nullable(Float64) AFTER retention;
ALTER TABLE runs ADD COLUMN raw_items_tag_avg_at_k Nullable(Float64) AFTER raw_frequency_acc_ex;
ALTER TABLE runs ADD COLUMN raw_items_acc_ex Nullable(Float64) AFTER raw_items_tag_avg_at_k;
ALTER TABLE runs ADD COLUMN raw_items_ece Nullable(Float64) AFTER raw_items_acc_ex;

-- dimension_scores: each baseline's score on the dimension (NULL when the run had no such baseline).
ALTER TABLE dimension_scores ADD COLUMN prior_accuracy Nullable(Float64) AFTER support;
ALTER TABLE dimension_scores ADD COLUMN raw_frequency_accuracy Nullable(Float64) AFTER prior_accuracy;
ALTER TABLE dimension_scores ADD COLUMN raw_items_accuracy Nullable(Float64) AFTER raw_frequency_accuracy;
