/** Compression and retention (HPR-BENCH.md §3). */

export interface SizePair {
  raw: number;
  semantized: number;
}

/**
 * Compression = 1 − Σ semantized / Σ raw (bytes or tokens). `null` when there is no raw input.
 * Pooled sums, so large users weigh more, as the paper's "x % smaller" does.
 */
export function compression(items: readonly SizePair[]): number | null {
  let raw = 0;
  let sem = 0;
  for (const it of items) {
    raw += it.raw;
    sem += it.semantized;
  }
  return raw > 0 ? 1 - sem / raw : null;
}

/**
 * A ratio of tag scores: the model's (semantized input) over a reference's. The report's `retention`
 * divides by the `raw_items` reference learner's tag score (raw events, same split);
 * `retention_vs_unfiltered` by the same backend's score on less-filtered semantized input
 * (docs/hpr-bench.md). `null` when the reference score is unavailable or not positive.
 */
export function retention(semantizedScore: number, rawScore: number | null | undefined): number | null {
  if (rawScore === null || rawScore === undefined || !(rawScore > 0)) return null;
  return semantizedScore / rawScore;
}
