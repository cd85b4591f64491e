import { splitOf } from '@personastream/contracts';
import { singleValues } from './truth.js';
import type { Persona } from './types.js';

/** Tag values of one user: single-valued dimensions by name, plus the two multi-valued sets. */
export interface TagPrediction {
  single: Record<string, string>;
  interests: string[];
  lifeEvents: string[];
}

/** Jaccard similarity; two empty sets match perfectly (1). */
export function jaccard(a: readonly string[], b: readonly string[]): number {
  const sa = new Set(a);
  const sb = new Set(b);
  if (sa.size === 0 && sb.size === 0) return 1;
  let inter = 0;
  for (const x of sa) if (sb.has(x)) inter++;
  return inter / (sa.size + sb.size - inter);
}

export function personaTags(p: Persona): TagPrediction {
  return {
    single: Object.fromEntries(singleValues(p)),
    interests: [...p.interests],
    lifeEvents: p.lifeEvents.map((e) => e.kind),
  };
}

/**
 * HPR-Bench tag score of one prediction: mean over dimensions of exact match (single-valued) and
 * Jaccard (interests, life events). `includeGender` false drops the sensitive dimension.
 */
export function tagScore(pred: TagPrediction, truth: TagPrediction, includeGender = true): number {
  let sum = 0;
  let n = 0;
  for (const [dim, value] of Object.entries(truth.single)) {
    if (dim === 'gender' && !includeGender) continue;
    sum += pred.single[dim] === value ? 1 : 0;
    n++;
  }
  sum += jaccard(pred.interests, truth.interests) + jaccard(pred.lifeEvents, truth.lifeEvents);
  return sum / (n + 2);
}

function mostFrequent(values: string[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? '';
}

function topK(lists: string[][], k: number): string[] {
  const counts = new Map<string, number>();
  for (const l of lists) for (const v of l) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, k)
    .map(([v]) => v);
}

export interface PriorBaseline {
  prediction: TagPrediction;
  /** Mean tag score on the test split. */
  score: number;
  /** Per-dimension mean on the test split. */
  perDimension: Record<string, number>;
  trainUsers: number;
  testUsers: number;
}

/**
 * The `prior` baseline of HPR-Bench: the most frequent train-split value of every single-valued
 * dimension and the most frequent interests / life events. For the multi-valued dimensions the number
 * of values is chosen to maximize the train score (k = 0…5 interests, 0…2 life events), so this is the
 * strongest prior of its kind.
 */
export function priorBaseline(personas: readonly Persona[], includeGender = true): PriorBaseline {
  const train = personas.filter((p) => splitOf(p.userId) === 'train').map(personaTags);
  const test = personas.filter((p) => splitOf(p.userId) === 'test').map(personaTags);
  const single: Record<string, string> = {};
  for (const dim of Object.keys(train[0]?.single ?? {}))
    single[dim] = mostFrequent(train.map((t) => t.single[dim] ?? ''));
  const best = (lists: string[][], maxK: number) => {
    let bestK = 0;
    let bestScore = -1;
    for (let k = 0; k <= maxK; k++) {
      const cand = topK(lists, k);
      const s = lists.reduce((acc, l) => acc + jaccard(cand, l), 0);
      if (s > bestScore) {
        bestScore = s;
        bestK = k;
      }
    }
    return topK(lists, bestK);
  };
  const prediction: TagPrediction = {
    single,
    interests: best(
      train.map((t) => t.interests),
      5,
    ),
    lifeEvents: best(
      train.map((t) => t.lifeEvents),
      2,
    ),
  };
  const perDimension: Record<string, number> = {};
  for (const t of test) {
    for (const [dim, v] of Object.entries(t.single))
      perDimension[dim] = (perDimension[dim] ?? 0) + (prediction.single[dim] === v ? 1 : 0) / test.length;
    perDimension.interests = (perDimension.interests ?? 0) + jaccard(prediction.interests, t.interests) / test.length;
    perDimension.life_events =
      (perDimension.life_events ?? 0) + jaccard(prediction.lifeEvents, t.lifeEvents) / test.length;
  }
  const score = test.reduce((s, t) => s + tagScore(prediction, t, includeGender), 0) / Math.max(1, test.length);
  return { prediction, score, perDimension, trainUsers: train.length, testUsers: test.length };
}
