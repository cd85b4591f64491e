import type { DimensionSpec } from '@personastream/contracts';

/** The minimal shape of a tag for scoring (proto `Tag` fits). */
export interface TagLike {
  dimension: string;
  value: string;
  sinceMs?: number;
  confidence?: number;
}

/** Tag values grouped by dimension. */
export interface GroupedTags {
  single: Map<string, string>;
  multi: Map<string, Map<string, number>>;
}

export function groupTags(tags: readonly TagLike[], dims: readonly DimensionSpec[]): GroupedTags {
  const multiDims = new Set(dims.filter((d) => d.multiValued).map((d) => d.name as string));
  const single = new Map<string, string>();
  const multi = new Map<string, Map<string, number>>();
  for (const t of tags) {
    if (multiDims.has(t.dimension)) {
      let m = multi.get(t.dimension);
      if (!m) {
        m = new Map();
        multi.set(t.dimension, m);
      }
      m.set(t.value, t.sinceMs ?? 0);
    } else if (!single.has(t.dimension)) {
      single.set(t.dimension, t.value);
    }
  }
  return { single, multi };
}

/** Jaccard of two sets; two empty sets score 1. */
export function jaccard(
  a: ReadonlySet<string> | ReadonlyMap<string, unknown>,
  b: ReadonlySet<string> | ReadonlyMap<string, unknown>,
): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  for (const k of a.keys()) if (b.has(k)) inter++;
  return inter / (a.size + b.size - inter);
}

/**
 * HPR-Bench tag score of one prediction (shared/HPR-BENCH.md §3): mean over the enabled dimensions
 * of exact match (single-valued) or Jaccard (multi-valued). Also returns the per-dimension scores.
 */
export function tagScore(
  predicted: readonly TagLike[],
  truth: readonly TagLike[],
  dims: readonly DimensionSpec[],
): { score: number; perDimension: Record<string, number> } {
  const p = groupTags(predicted, dims);
  const t = groupTags(truth, dims);
  const perDimension: Record<string, number> = {};
  let sum = 0;
  for (const d of dims) {
    let s: number;
    if (d.multiValued) s = jaccard(p.multi.get(d.name) ?? new Map(), t.multi.get(d.name) ?? new Map());
    else s = p.single.get(d.name) !== undefined && p.single.get(d.name) === t.single.get(d.name) ? 1 : 0;
    perDimension[d.name] = s;
    sum += s;
  }
  return { score: dims.length ? sum / dims.length : 0, perDimension };
}
