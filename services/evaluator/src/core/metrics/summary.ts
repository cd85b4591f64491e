/** Summary metrics (HPR-BENCH.md §3): Acc_Ex and hallucination rate. */
import type { FactRef } from '../facts.js';
import type { LabelSet, ScoringDimension } from './labels.js';

const factId = (f: FactRef) => `${f.dimension}\u0000${f.value}`;

/**
 * Acc_Ex of one summary: true key facts the summary states / true key facts. `stated` are the facts
 * the extractor found (affirmatively). `null` when there is no key fact to state.
 */
export function accEx(keyFacts: readonly FactRef[], stated: readonly FactRef[]): number | null {
  const keys = new Set(keyFacts.map(factId));
  if (keys.size === 0) return null;
  const statedIds = new Set(stated.map(factId));
  let hit = 0;
  for (const k of keys) if (statedIds.has(k)) hit++;
  return hit / keys.size;
}

export interface HallucinationCount {
  /** Distinct facts stated on scored dimensions the truth labels. */
  stated: number;
  /** Of those, facts that contradict the truth. */
  contradicting: number;
}

/**
 * Counts stated facts and those contradicting the truth: a single-valued value other than the true
 * one, a multi-valued value (interest, life event) the truth does not have. Facts on dimensions that
 * are not scored, or single-valued dimensions this user's truth does not label, are not counted.
 */
export function countHallucinations(
  stated: readonly FactRef[],
  truth: LabelSet,
  dims: readonly ScoringDimension[],
): HallucinationCount {
  const byName = new Map(dims.map((d) => [d.name, d]));
  const seen = new Set<string>();
  let count = 0;
  let contradicting = 0;
  for (const f of stated) {
    const dim = byName.get(f.dimension);
    if (!dim || seen.has(factId(f))) continue;
    if (dim.multiValued) {
      seen.add(factId(f));
      count++;
      if (!(truth.multi[dim.name] ?? []).includes(f.value)) contradicting++;
    } else {
      const t = truth.single[dim.name];
      if (t === undefined) continue;
      seen.add(factId(f));
      count++;
      if (f.value !== t) contradicting++;
    }
  }
  return { stated: count, contradicting };
}

/** Hallucination rate pooled over summaries: Σ contradicting / Σ stated (0 when nothing is stated). */
export function hallucinationRate(counts: readonly HallucinationCount[]): number {
  let stated = 0;
  let contradicting = 0;
  for (const c of counts) {
    stated += c.stated;
    contradicting += c.contradicting;
  }
  return stated === 0 ? 0 : contradicting / stated;
}
