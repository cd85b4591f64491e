/** Small statistics helpers: means, error bars, percentiles. */

export function mean(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

export interface MeanStd {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for fewer than two values. */
  std: number;
  n: number;
}

/** Mean ± sample standard deviation, e.g. of one metric over seeds (HPR-BENCH.md §3 error bars). */
export function meanStd(values: readonly number[]): MeanStd {
  const n = values.length;
  const m = mean(values);
  if (n < 2) return { mean: m, std: 0, n };
  let ss = 0;
  for (const v of values) ss += (v - m) ** 2;
  return { mean: m, std: Math.sqrt(ss / (n - 1)), n };
}

/** Nearest-rank percentile (p in [0, 100]) of unsorted values; 0 for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return percentileOfSorted(sorted, p);
}

/** Nearest-rank percentile (p in [0, 100]) of unsorted values; null for no values. */
export function percentileOrNull(values: readonly number[], p: number): number | null {
  return values.length === 0 ? null : percentile(values, p);
}

function percentileOfSorted(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/**
 * Freshness of one persona update (HPR-BENCH.md §3): persona.updated_ms − update.first_entry_ms, the
 * longest any event the update is the first to reflect waited since it entered the system; null
 * when either time is unknown (0), e.g. a final window whose events early windows already showed.
 */
export function freshnessMs(updatedMs: number, firstEntryMs: number): number | null {
  return firstEntryMs > 0 && updatedMs > 0 ? updatedMs - firstEntryMs : null;
}

export interface LatencyPercentiles {
  count: number;
  mean_ms: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** Latency summary (nearest-rank percentiles) of per-update latencies in milliseconds. */
export function latencyPercentiles(latenciesMs: readonly number[]): LatencyPercentiles {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  if (sorted.length === 0) return { count: 0, mean_ms: 0, p50_ms: 0, p90_ms: 0, p99_ms: 0, max_ms: 0 };
  return {
    count: sorted.length,
    mean_ms: mean(sorted),
    p50_ms: percentileOfSorted(sorted, 50),
    p90_ms: percentileOfSorted(sorted, 90),
    p99_ms: percentileOfSorted(sorted, 99),
    max_ms: sorted[sorted.length - 1] as number,
  };
}
