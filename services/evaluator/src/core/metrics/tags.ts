/** Tag prediction metrics (HPR-BENCH.md §3): tag score and Avg@k. */
import type { LabelSet, ScoringDimension } from './labels.js';
import { mean } from './stats.js';

/** Jaccard similarity of two sets; two empty sets are identical (1). */
export function jaccard(a: readonly string[], b: readonly string[]): number {
  const sa = new Set(a);
  const sb = new Set(b);
  if (sa.size === 0 && sb.size === 0) return 1;
  let inter = 0;
  for (const v of sa) if (sb.has(v)) inter++;
  return inter / (sa.size + sb.size - inter);
}

/**
 * Score of one dimension of one prediction: 1/0 exact match (single-valued), Jaccard (multi-valued).
 * `undefined` when the truth does not label a single-valued dimension for this user (not scored).
 * A multi-valued dimension is always scored (a user may truly have no life events).
 */
export function dimensionScore(prediction: LabelSet, truth: LabelSet, dim: ScoringDimension): number | undefined {
  if (dim.multiValued) return jaccard(prediction.multi[dim.name] ?? [], truth.multi[dim.name] ?? []);
  const t = truth.single[dim.name];
  if (t === undefined) return undefined;
  return prediction.single[dim.name] === t ? 1 : 0;
}

/** Tag score of one prediction: mean over the scored dimensions of {@link dimensionScore}. */
export function tagScore(prediction: LabelSet, truth: LabelSet, dims: readonly ScoringDimension[]): number {
  const scores: number[] = [];
  for (const d of dims) {
    const s = dimensionScore(prediction, truth, d);
    if (s !== undefined) scores.push(s);
  }
  return mean(scores);
}

/** Mean tag score over a user's k samples; 0 when there is no sample (no persona). */
export function userAvgAtK(samples: readonly LabelSet[], truth: LabelSet, dims: readonly ScoringDimension[]): number {
  if (samples.length === 0) return 0;
  return mean(samples.map((s) => tagScore(s, truth, dims)));
}

/**
 * Avg@k: mean over users of the mean tag score over each user's k samples. A user without samples
 * scores 0 (never skipped).
 */
export function avgAtK(
  users: ReadonlyArray<{ samples: readonly LabelSet[]; truth: LabelSet }>,
  dims: readonly ScoringDimension[],
): number {
  return mean(users.map((u) => userAvgAtK(u.samples, u.truth, dims)));
}
