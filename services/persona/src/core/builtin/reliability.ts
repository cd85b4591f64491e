import type { FeatureStats } from '../stats.js';

/**
 * How far the builtin model's probabilities can be trusted for one user, and the shrinkage toward the
 * dimension's prior that follows. The model is fitted on simulated users with months of history whose
 * categories it knows; a stranger with one session, or with categories it has never seen, is outside
 * that distribution, and an uncalibrated 0.9998 about them is a guess stated as a fact.
 *
 * Rule (per user, the same for every dimension):
 *
 *   α = h · o,  confidence' = prior + α · (p − prior)   (per class / label)
 *
 * - h = 1 − exp(−events / `HISTORY_EVENTS`): the history's length. 20 events give 0.63, 60 give 0.95,
 *   100 give 0.99; one short session of 6 events 0.26. Relative to the histories the model was trained
 *   on: a model that records them (`meta.historyEvents`, the 10th percentile of its training users'
 *   events) divides h by the same curve at that length (at most 1), since its calibration already
 *   holds for histories that short — a model trained on MovieLens users with two or three sessions
 *   each is not shrunk for having two or three sessions; a model trained on months of history is.
 * - o = 1 − ½·u − ½·v: the share of the user's behaviour the model can read.
 *   u = engaged events whose category the semantizer's taxonomy did not recognize (`unmapped`), of all
 *   engaged events with a category; v = actions in top-level categories the model has no feature for
 *   (a catalogue it was not trained on), of all actions with a category. A user whose categories are
 *   all foreign but mapped to interests keeps half (the interest features still read them); one whose
 *   categories are foreign and unmapped keeps nothing but the prior.
 *
 * The values shown are the model's (the argmax of a single-valued dimension, the labels a
 * multi-valued one chooses with its trained threshold, min and max); only their confidences shrink.
 * So tags keep what evidence there is (one session of headphones still says tech), while how sure
 * the persona claims to be — and so which facts a summary states — follows α. Priors are the class / label frequencies of the training users (`prior` in the model
 * file); a model file without them shrinks toward the uniform distribution (single) or the mean label
 * rate (multi).
 */
export const HISTORY_EVENTS = 20;

/** Action names of engaged events (the semantizer's `ENGAGED` types). */
const ENGAGED_ACTIONS = ['view', 'click', 'cart', 'purchase', 'fav', 'rate', 'review', 'share'] as const;

export interface Reliability {
  /** The shrinkage factor α ∈ [0, 1] (1: the model's probabilities as they are). */
  alpha: number;
  /** h: history length factor. */
  history: number;
  /** u: share of engaged events with an unrecognized category. */
  unmapped: number;
  /** v: share of category actions in categories the model does not know. */
  foreign: number;
}

/** h of a history of `events` for a model trained on histories of at least `trainedEvents` (see the module comment). */
export function historyFactor(events: number, trainedEvents?: number): number {
  const curve = (n: number) => 1 - Math.exp(-Math.max(0, n) / HISTORY_EVENTS);
  const h = curve(events);
  if (trainedEvents === undefined || trainedEvents <= 0) return h;
  return Math.min(1, h / curve(trainedEvents));
}

/**
 * α of a user (see the module comment); `knowsCategory(top)` says whether the model has a feature for
 * a top-level category; `trainedEvents` is the model's `meta.historyEvents`.
 */
export function reliability(
  s: FeatureStats,
  knowsCategory: (top: string) => boolean,
  trainedEvents?: number,
): Reliability {
  const history = historyFactor(s.events, trainedEvents);
  let engaged = 0;
  for (const a of ENGAGED_ACTIONS) engaged += s.actions[a] ?? 0;
  const un = s.unmapped ?? 0;
  const unmapped = un > 0 ? un / Math.max(un, engaged) : 0;
  let all = 0;
  let unknown = 0;
  for (const name in s.cats) {
    const n = s.cats[name]?.n ?? 0;
    all += n;
    if (!knowsCategory(name)) unknown += n;
  }
  const foreign = all > 0 ? unknown / all : 0;
  const fit = Math.max(0, 1 - 0.5 * unmapped - 0.5 * foreign);
  return { alpha: Math.min(1, Math.max(0, history * fit)), history, unmapped, foreign };
}

/**
 * `prior + α·(p − prior)` per entry, in place. `prior` undefined: `fallback` for every entry.
 * α ≥ 1 leaves `p` as it is.
 */
export function shrinkInPlace(
  p: Float64Array,
  alpha: number,
  prior: readonly number[] | undefined,
  fallback: number,
): void {
  if (alpha >= 1) return;
  for (let i = 0; i < p.length; i++) {
    const q = prior?.[i] ?? fallback;
    p[i] = q + alpha * ((p[i] as number) - q);
  }
}
