/** Convergence (HPR-BENCH.md §3): tag score as a function of how much history has been seen. */

/** Default number of history buckets (deciles of each user's history). */
export const CONVERGENCE_BUCKETS = 10;

/**
 * Bucket of one persona update by the fraction of the user's history seen so far
 * (`windowsSeen / totalWindows`): the upper bound of its decile, 0.1 … 1.0.
 */
export function historyBucket(windowsSeen: number, totalWindows: number, buckets = CONVERGENCE_BUCKETS): number {
  if (totalWindows <= 0) return 1;
  const f = Math.min(1, Math.max(0, windowsSeen / totalWindows));
  const b = Math.min(buckets, Math.max(1, Math.ceil(f * buckets - 1e-9)));
  return Math.round((b / buckets) * 1e6) / 1e6;
}

export interface ConvergenceInput {
  userId: string;
  bucket: number;
  tagScore: number;
}

export interface ConvergencePoint {
  /** Bucket: fraction of history (0.1 … 1.0) or windows seen, per the caller's bucketing. */
  bucket: number;
  /** Mean tag score of the updates in the bucket. */
  tag_score: number;
  /** Updates in the bucket. */
  points: number;
  /** Distinct users in the bucket. */
  users: number;
}

/** Mean tag score per bucket, ascending by bucket. */
export function convergenceCurve(points: readonly ConvergenceInput[]): ConvergencePoint[] {
  const by = new Map<number, { sum: number; n: number; users: Set<string> }>();
  for (const p of points) {
    const b = by.get(p.bucket) ?? { sum: 0, n: 0, users: new Set<string>() };
    b.sum += p.tagScore;
    b.n++;
    b.users.add(p.userId);
    by.set(p.bucket, b);
  }
  return [...by.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([bucket, b]) => ({ bucket, tag_score: b.sum / b.n, points: b.n, users: b.users.size }));
}
