/** Per-dimension accuracy, macro-F1 and calibration (HPR-BENCH.md §3). */
import { confidenceKey, type LabelSet, type ScoringDimension } from './labels.js';
import { dimensionScore } from './tags.js';

/** One single-valued prediction instance; `weight` lets k samples of one user count as one user. */
export interface SinglePair {
  truth: string;
  predicted: string | undefined;
  weight?: number;
}

export interface MultiPair {
  truth: readonly string[];
  predicted: readonly string[];
  weight?: number;
}

interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

function macro(counts: Map<string, Counts>): number {
  if (counts.size === 0) return 0;
  let sum = 0;
  for (const c of counts.values()) {
    const denom = 2 * c.tp + c.fp + c.fn;
    sum += denom === 0 ? 0 : (2 * c.tp) / denom;
  }
  return sum / counts.size;
}

function bump(counts: Map<string, Counts>, cls: string, field: keyof Counts, w: number): void {
  const c = counts.get(cls) ?? { tp: 0, fp: 0, fn: 0 };
  c[field] += w;
  counts.set(cls, c);
}

/**
 * Macro-F1 of a single-valued dimension: the mean over classes (every value that occurs in truth
 * or prediction) of F1 = 2TP / (2TP + FP + FN). A missing prediction is a false negative of the
 * true class only.
 */
export function macroF1Single(pairs: readonly SinglePair[]): number {
  const counts = new Map<string, Counts>();
  for (const p of pairs) {
    const w = p.weight ?? 1;
    if (p.predicted === p.truth) bump(counts, p.truth, 'tp', w);
    else {
      bump(counts, p.truth, 'fn', w);
      if (p.predicted !== undefined) bump(counts, p.predicted, 'fp', w);
    }
  }
  return macro(counts);
}

/** Macro-F1 of a multi-valued dimension: each value is a binary class, averaged over values seen. */
export function macroF1Multi(pairs: readonly MultiPair[]): number {
  const counts = new Map<string, Counts>();
  for (const p of pairs) {
    const w = p.weight ?? 1;
    const truth = new Set(p.truth);
    const predicted = new Set(p.predicted);
    for (const v of predicted) bump(counts, v, truth.has(v) ? 'tp' : 'fp', w);
    for (const v of truth) if (!predicted.has(v)) bump(counts, v, 'fn', w);
  }
  return macro(counts);
}

export interface CalibrationItem {
  confidence: number;
  correct: boolean;
  weight?: number;
}

/**
 * Expected calibration error with equal-width bins over [0, 1] (confidence 1 falls in the last
 * bin): Σ_b (W_b / W) · |accuracy_b − mean confidence_b|. `null` when there is nothing to calibrate.
 */
export function expectedCalibrationError(items: readonly CalibrationItem[], bins = 10): number | null {
  const w = new Array<number>(bins).fill(0);
  const conf = new Array<number>(bins).fill(0);
  const acc = new Array<number>(bins).fill(0);
  let total = 0;
  for (const it of items) {
    const weight = it.weight ?? 1;
    const c = Math.min(1, Math.max(0, Number.isFinite(it.confidence) ? it.confidence : 0));
    const b = Math.min(bins - 1, Math.floor(c * bins));
    w[b] = (w[b] as number) + weight;
    conf[b] = (conf[b] as number) + weight * c;
    acc[b] = (acc[b] as number) + (it.correct ? weight : 0);
    total += weight;
  }
  if (total === 0) return null;
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const wb = w[b] as number;
    if (wb === 0) continue;
    ece += (wb / total) * Math.abs((acc[b] as number) / wb - (conf[b] as number) / wb);
  }
  return ece;
}

/** Calibration items of one prediction for one dimension (predicted values that report a confidence). */
export function calibrationItems(
  prediction: LabelSet,
  truth: LabelSet,
  dim: ScoringDimension,
  weight = 1,
): CalibrationItem[] {
  const conf = prediction.confidence;
  if (!conf) return [];
  const out: CalibrationItem[] = [];
  if (dim.multiValued) {
    const truthSet = new Set(truth.multi[dim.name] ?? []);
    for (const v of prediction.multi[dim.name] ?? []) {
      const c = conf[confidenceKey(dim.name, v)];
      if (c !== undefined) out.push({ confidence: c, correct: truthSet.has(v), weight });
    }
  } else {
    const t = truth.single[dim.name];
    const v = prediction.single[dim.name];
    if (t === undefined || v === undefined) return out;
    const c = conf[confidenceKey(dim.name, v)];
    if (c !== undefined) out.push({ confidence: c, correct: v === t, weight });
  }
  return out;
}

/** Scores of one dimension over a set of users. */
export interface DimensionScore {
  dimension: string;
  multi_valued: boolean;
  /** Mean over users of the mean over samples of the dimension score (exact match / Jaccard). */
  accuracy: number;
  macro_f1: number;
  /** ECE of the reported confidences; null when no prediction reported one. */
  ece: number | null;
  /** Users that contributed (users whose truth labels the dimension). */
  support: number;
}

/** One scored user: truth and the k samples (none when the user has no persona). */
export interface ScoredUserInput {
  truth: LabelSet;
  samples: readonly LabelSet[];
}

/**
 * Per-dimension accuracy, macro-F1 and ECE. Each user weighs 1 (its k samples weigh 1/k each); a
 * user without samples scores 0 and counts as a miss. The mean of `accuracy` over dimensions
 * equals Avg@k when every user labels every dimension.
 */
export function perDimensionScores(
  users: readonly ScoredUserInput[],
  dims: readonly ScoringDimension[],
): DimensionScore[] {
  return dims.map((dim) => {
    let support = 0;
    let accSum = 0;
    const singles: SinglePair[] = [];
    const multis: MultiPair[] = [];
    const calib: CalibrationItem[] = [];
    for (const u of users) {
      if (!dim.multiValued && u.truth.single[dim.name] === undefined) continue;
      support++;
      const k = u.samples.length;
      if (k === 0) {
        if (dim.multiValued) multis.push({ truth: u.truth.multi[dim.name] ?? [], predicted: [] });
        else singles.push({ truth: u.truth.single[dim.name] as string, predicted: undefined });
        continue;
      }
      let userSum = 0;
      for (const s of u.samples) {
        userSum += dimensionScore(s, u.truth, dim) ?? 0;
        if (dim.multiValued) {
          multis.push({ truth: u.truth.multi[dim.name] ?? [], predicted: s.multi[dim.name] ?? [], weight: 1 / k });
        } else {
          singles.push({ truth: u.truth.single[dim.name] as string, predicted: s.single[dim.name], weight: 1 / k });
        }
        calib.push(...calibrationItems(s, u.truth, dim, 1 / k));
      }
      accSum += userSum / k;
    }
    return {
      dimension: dim.name,
      multi_valued: dim.multiValued,
      accuracy: support === 0 ? 0 : accSum / support,
      macro_f1: dim.multiValued ? macroF1Multi(multis) : macroF1Single(singles),
      ece: expectedCalibrationError(calib),
      support,
    };
  });
}

/** Overall ECE pooled over every scored dimension and user. */
export function overallCalibrationError(
  users: readonly ScoredUserInput[],
  dims: readonly ScoringDimension[],
): number | null {
  const items: CalibrationItem[] = [];
  for (const u of users) {
    const k = u.samples.length;
    for (const s of u.samples) for (const d of dims) items.push(...calibrationItems(s, u.truth, d, 1 / k));
  }
  return expectedCalibrationError(items);
}
