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
 * Retention = tag score with semantized input / tag score with raw input (same backend). `null` when
 * the raw-input score is unavailable or not positive.
 */
export function retention(semantizedScore: number, rawScore: number | null | undefined): number | null {
  if (rawScore === null || rawScore === undefined || !(rawScore > 0)) return null;
  return semantizedScore / rawScore;
}
