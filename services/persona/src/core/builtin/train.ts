import {
  type DimensionSpec,
  enabledDimensions,
  partitionForKey,
  type SemantizedWindow,
} from '@personastream/contracts';
import { groupTags, jaccard, type TagLike, tagScore } from '../score.js';
import { emptyStats, type FeatureStats, updateStats } from '../stats.js';
import { BuiltinBackend } from './backend.js';
import { extractFeatures, type FeatureMap, ITEM_PREFIX } from './features.js';
import { allLogits, type Dataset, fitLinear, roundSig, sigmoid, softmaxInPlace, subset } from './linear.js';
import type { ModelWeights, MultiDimModel, SinceMethod, SingleDimModel } from './model.js';

/** One labelled user: statistics (or the windows to fold into them) and the ground truth tags. */
export interface TrainingExample {
  /** Stable id (user id) for the held-out split; defaults to the index. */
  id?: string;
  stats?: FeatureStats;
  windows?: readonly SemantizedWindow[];
  /** Ground truth (a `GroundTruth` message fits): multi-valued dimensions once per value. */
  truth: { tags: readonly TagLike[] };
}

export interface TrainOptions {
  /** Dimensions to learn (default: all, sensitive included). */
  dimensions?: readonly DimensionSpec[];
  /** L2 strengths tried; the best on the held-out part is kept per dimension. */
  lambdas?: number[];
  iterations?: number;
  learningRate?: number;
  /** A feature is kept when non-zero in at least this fraction of examples (and ≥ 3); item codes need only 3. */
  minSupport?: number;
  /**
   * Tenants whose item ids the training users' item codes come from (`ModelWeights.items`): the
   * item features apply to them only. Entries ending in `*` are prefixes. Unset: to every tenant.
   */
  itemTenants?: readonly string[];
  /** Percent of the training users held out for calibration, λ and thresholds. Default 20. */
  holdoutPercent?: number;
  halfLifeDays?: number;
  /** Largest share of wrong facts allowed among those a summary states (sets the threshold). */
  hallucinationTarget?: number;
  name?: string;
  seed?: number;
  source?: string;
  log?: (message: string) => void;
}

const TEMPERATURES = [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.25, 1.4, 1.6, 1.8, 2, 2.5, 3];

function statsOf(e: TrainingExample, halfLifeDays: number): FeatureStats {
  if (e.stats) return e.stats;
  const s = emptyStats({ halfLifeDays });
  for (const w of e.windows ?? []) updateStats(s, w);
  return s;
}

interface Prepared {
  names: string[];
  mean: number[];
  std: number[];
  data: Dataset;
}

/**
 * Users an item-code feature must appear in: items are many and each is rare (a MovieLens movie is
 * rated by ~1 % of users), yet together they carry the item-level signal; L2 keeps rare ones small.
 */
const ITEM_MIN_SUPPORT = 3;
const ITEM_FEATURE = `${ITEM_PREFIX}:`;

function prepare(maps: FeatureMap[], minSupport: number): Prepared {
  const support = new Map<string, number>();
  for (const m of maps) for (const [k, v] of m) if (v !== 0) support.set(k, (support.get(k) ?? 0) + 1);
  const need = Math.max(3, Math.ceil(minSupport * maps.length));
  const candidates = [...support.entries()]
    .filter(([k, n]) => n >= (k.startsWith(ITEM_FEATURE) ? ITEM_MIN_SUPPORT : need))
    .map(([k]) => k)
    .sort();
  const n = maps.length;
  const names: string[] = [];
  const mean: number[] = [];
  const std: number[] = [];
  for (const name of candidates) {
    let s = 0;
    let s2 = 0;
    for (const m of maps) {
      const v = m.get(name) ?? 0;
      s += v;
      s2 += v * v;
    }
    const mu = s / n;
    const sd = Math.sqrt(Math.max(0, s2 / n - mu * mu));
    if (sd < 1e-9) continue;
    names.push(name);
    mean.push(mu);
    std.push(sd);
  }
  const f = names.length;
  const index = new Map(names.map((nm, j) => [nm, j]));
  const rowPtr = new Int32Array(n + 1);
  const cols: number[] = [];
  const vals: number[] = [];
  maps.forEach((m, i) => {
    const entries: Array<[number, number]> = [];
    for (const [k, v] of m) {
      const j = index.get(k);
      if (j !== undefined && v !== 0) entries.push([j, v / (std[j] as number)]);
    }
    entries.sort((x, y) => x[0] - y[0]);
    for (const [j, v] of entries) {
      cols.push(j);
      vals.push(v);
    }
    rowPtr[i + 1] = cols.length;
  });
  const shift = Float64Array.from(mean.map((mu, j) => mu / (std[j] as number)));
  const data: Dataset = { n, f, rowPtr, col: Int32Array.from(cols), val: Float64Array.from(vals), shift };
  return { names, mean, std, data };
}

const rawLogits = (data: Dataset, w: Float64Array, k: number) => allLogits(data, w, k);

function softmaxNll(z: Float64Array, k: number, y: Int32Array, T: number): number {
  let nll = 0;
  const row = new Float64Array(k);
  const n = y.length;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) row[c] = (z[i * k + c] as number) / T;
    softmaxInPlace(row, k);
    nll -= Math.log(Math.max(1e-12, row[y[i] as number] as number));
  }
  return nll / Math.max(1, n);
}

function sigmoidNll(z: Float64Array, y: Float64Array, T: number): number {
  let nll = 0;
  for (let i = 0; i < z.length; i++) {
    const p = sigmoid((z[i] as number) / T);
    nll -= (y[i] as number) > 0.5 ? Math.log(Math.max(1e-12, p)) : Math.log(Math.max(1e-12, 1 - p));
  }
  return nll / Math.max(1, z.length);
}

function bestTemperature(nll: (T: number) => number): number {
  let best = 1;
  let bestV = Number.POSITIVE_INFINITY;
  for (const T of TEMPERATURES) {
    const v = nll(T);
    if (v < bestV - 1e-12) {
      best = T;
      bestV = v;
    }
  }
  return best;
}

/** Labels chosen for one row: above threshold (ordered by probability), at least min, at most max. */
export function chooseLabels(
  p: ArrayLike<number>,
  off: number,
  k: number,
  threshold: number,
  min: number,
  max: number,
): number[] {
  const order = Array.from({ length: k }, (_, i) => i).sort(
    (a, b) => (p[off + b] as number) - (p[off + a] as number) || a - b,
  );
  const chosen: number[] = [];
  for (const i of order) {
    if (chosen.length >= max) break;
    if ((p[off + i] as number) >= threshold || chosen.length < min) chosen.push(i);
  }
  return chosen;
}

function meanJaccard(
  p: Float64Array,
  y: Float64Array,
  n: number,
  k: number,
  threshold: number,
  min: number,
  max: number,
): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const chosen = new Set(chooseLabels(p, i * k, k, threshold, min, max).map(String));
    const truth = new Set<string>();
    for (let c = 0; c < k; c++) if ((y[i * k + c] as number) > 0.5) truth.add(String(c));
    sum += jaccard(chosen, truth);
  }
  return sum / Math.max(1, n);
}

const flat = (w: Float64Array) => Array.from(w, (v) => roundSig(v));

/** Top-level categories in at least 3 users' statistics, sorted (`ModelWeights.categories`). */
function trainedCategories(stats: readonly FeatureStats[]): string[] {
  const users = new Map<string, number>();
  for (const s of stats) for (const top in s.cats) users.set(top, (users.get(top) ?? 0) + 1);
  return [...users.entries()]
    .filter(([, n]) => n >= 3)
    .map(([top]) => top)
    .sort();
}

/** The q-quantile of `values` (nearest rank; 0 for none). */
function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Class frequencies of labels 0..k−1 (the prior confidences shrink toward). */
function frequencies(y: Int32Array, k: number): number[] {
  const n = new Array<number>(k).fill(0);
  for (const c of y) n[c] = (n[c] as number) + 1;
  return n.map((v) => roundSig(v / Math.max(1, y.length), 4));
}

/** A fact a held-out summary could state: its dimension, the model's confidence, and whether it is true. */
export interface SummaryFact {
  dim: string;
  conf: number;
  ok: boolean;
}

/** Weight of the calibrated confidence against the observed outcome when choosing per-dimension cuts. */
export const SUMMARY_SHRINK = 0.3;

/** A confidence above every possible one: the dimension is never stated. */
export const NEVER_STATED = 1.01;

/**
 * Per-dimension summary thresholds that state the most correct facts while wrong facts stay within
 * `target` of the facts stated (pooled over dimensions). For a price q of a wrong fact relative to a
 * right one, each dimension independently keeps the prefix of its facts (by falling confidence) that
 * maximizes Σ (ok − q) — the Lagrangian of the budget constraint, so per-dimension calibration
 * differences are used; `ok` is shrunk towards the fact's confidence by `shrink` — and q is scanned for
 * the best plan whose observed wrong share meets the budget.
 */
export function chooseSummaryThresholds(
  facts: readonly SummaryFact[],
  target: number,
  shrink = SUMMARY_SHRINK,
): { thresholds: Record<string, number>; correct: number; wrong: number; stated: number } {
  const byDim = new Map<string, SummaryFact[]>();
  for (const f of facts) {
    let list = byDim.get(f.dim);
    if (!list) {
      list = [];
      byDim.set(f.dim, list);
    }
    list.push(f);
  }
  const dims = [...byDim.keys()].sort();
  for (const d of dims) (byDim.get(d) as SummaryFact[]).sort((a, b) => b.conf - a.conf);
  let best = { thresholds: {} as Record<string, number>, correct: 0, wrong: 0, stated: 0 };
  for (let q = 0.5; q <= 0.9951; q += 0.005) {
    const thresholds: Record<string, number> = {};
    let correct = 0;
    let wrong = 0;
    for (const d of dims) {
      const list = byDim.get(d) as SummaryFact[];
      let profit = 0;
      let bestProfit = 0;
      let cut = NEVER_STATED;
      let c = 0;
      let w = 0;
      let bestC = 0;
      let bestW = 0;
      for (let i = 0; i < list.length; i++) {
        const f = list[i] as SummaryFact;
        // Outcome shrunk towards the calibrated confidence: small dimensions do not chase noise.
        profit += (1 - shrink) * (f.ok ? 1 : 0) + shrink * f.conf - q;
        if (f.ok) c++;
        else w++;
        // Only cut between distinct confidences.
        if (i + 1 < list.length && (list[i + 1] as SummaryFact).conf === f.conf) continue;
        if (profit > bestProfit + 1e-12) {
          bestProfit = profit;
          cut = f.conf;
          bestC = c;
          bestW = w;
        }
      }
      thresholds[d] = cut;
      correct += bestC;
      wrong += bestW;
    }
    const stated = correct + wrong;
    if (stated > 0 && wrong / stated <= target && correct > best.correct) best = { thresholds, correct, wrong, stated };
  }
  return best;
}

/**
 * Trains the builtin model: per single-valued dimension a softmax regression, per multi-valued one
 * independent sigmoids with a tuned threshold; L2 strength, temperature (calibration), thresholds,
 * the summary threshold and the life-event onset method are chosen on a held-out part of the
 * training users (by hash of the id), then weights are refit on all of them. Deterministic.
 */
export function trainBuiltinModel(examples: readonly TrainingExample[], opts: TrainOptions = {}): ModelWeights {
  const log = opts.log ?? (() => {});
  const dims = opts.dimensions ?? enabledDimensions(true);
  const halfLifeDays = opts.halfLifeDays ?? 14;
  // Strongest first: each fit warm-starts from the previous one (a regularization path).
  const lambdas = [...(opts.lambdas ?? [10, 3, 1, 0.3, 0.1, 0.03])].sort((a, b) => b - a);
  const iterations = opts.iterations ?? 250;
  const fitOpts = (lambda: number, init?: Float64Array) => ({
    lambda,
    iterations: init ? Math.ceil(iterations / 2) : iterations,
    learningRate: opts.learningRate ?? 0.05,
    ...(init ? { init } : {}),
  });
  if (examples.length < 5) throw new Error(`trainBuiltinModel needs at least 5 examples (got ${examples.length})`);

  const stats = examples.map((e) => statsOf(e, halfLifeDays));
  const maps = stats.map((st) => extractFeatures(st));
  const prep = prepare(maps, opts.minSupport ?? 0.02);
  log(`features: ${prep.names.length} from ${examples.length} users`);
  const truths = examples.map((e) => groupTags(e.truth.tags, dims));
  const ids = examples.map((e, i) => e.id ?? String(i));
  const holdPct = opts.holdoutPercent ?? 20;
  const isHold = ids.map((id) => partitionForKey(`holdout:${id}`, 100) < holdPct);
  const fitIdx = ids.map((_, i) => i).filter((i) => !isHold[i]);
  const holdIdx = ids.map((_, i) => i).filter((i) => isHold[i]);
  if (holdIdx.length === 0 || fitIdx.length === 0) throw new Error('training set too small for a held-out part');

  const single: Record<string, SingleDimModel> = {};
  const multi: Record<string, MultiDimModel> = {};
  // Held-out calibrated predictions of the fit-split models (for the summary threshold).
  const holdWeights: ModelWeights = {
    format: 'personastream-builtin/1',
    name: 'holdout',
    features: prep.names,
    mean: prep.mean,
    std: prep.std,
    single: {},
    multi: {},
    summaryThreshold: 0.5,
    sinceMethod: 'onset',
    halfLifeDays,
    meta: { trainUsers: fitIdx.length },
  };

  for (const d of dims) {
    if (d.multiValued) continue;
    const rows = ids.map((_, i) => i).filter((i) => truths[i]?.single.has(d.name));
    const classes = d.values.filter((v) => rows.some((i) => truths[i]?.single.get(d.name) === v));
    if (classes.length === 0) continue;
    const k = classes.length;
    const label = (i: number) => classes.indexOf(truths[i]?.single.get(d.name) as string);
    const fitRows = rows.filter((i) => !isHold[i]);
    const holdRows = rows.filter((i) => isHold[i]);
    const fitData = subset(prep.data, fitRows);
    const holdData = subset(prep.data, holdRows);
    const yFit = Int32Array.from(fitRows, label);
    const yHold = Int32Array.from(holdRows, label);
    let best: { lambda: number; acc: number; nll: number; w: Float64Array; T: number } | undefined;
    let prev: Float64Array | undefined;
    for (const lambda of k === 1 ? [lambdas[0] ?? 0.01] : lambdas) {
      const w = fitLinear(fitData, k, 'softmax', yFit, fitOpts(lambda, prev));
      prev = w;
      const z = rawLogits(holdData, w, k);
      const T = bestTemperature((t) => softmaxNll(z, k, yHold, t));
      const nll = softmaxNll(z, k, yHold, T);
      let correct = 0;
      for (let i = 0; i < holdRows.length; i++) {
        let arg = 0;
        for (let c = 1; c < k; c++) if ((z[i * k + c] as number) > (z[i * k + arg] as number)) arg = c;
        if (arg === yHold[i]) correct++;
      }
      const acc = correct / Math.max(1, holdRows.length);
      // Accuracy decides; within half a point the better log-loss wins (less noisy on small held-out sets).
      if (!best || acc > best.acc + 0.005 || (acc > best.acc - 0.005 && nll < best.nll)) {
        best = { lambda, acc, nll, w, T };
      }
    }
    if (!best) continue;
    const prior = frequencies(Int32Array.from(rows, label), k);
    holdWeights.single[d.name] = { classes, w: flat(best.w), temperature: best.T, prior };
    // Refit on every training user, warm-started from the held-out winner.
    const wAll = fitLinear(
      subset(prep.data, rows),
      k,
      'softmax',
      Int32Array.from(rows, label),
      fitOpts(best.lambda, best.w),
    );
    single[d.name] = { classes, w: flat(wAll), temperature: best.T, lambda: best.lambda, prior };
    log(`${d.name}: held-out accuracy ${best.acc.toFixed(3)} (λ=${best.lambda}, T=${best.T})`);
  }

  for (const d of dims) {
    if (!d.multiValued) continue;
    const labels = [...d.values];
    const k = labels.length;
    const min = d.minValues ?? 0;
    const max = d.maxValues ?? k;
    const targets = (rows: number[]) => {
      const y = new Float64Array(rows.length * k);
      rows.forEach((i, r) => {
        const set = truths[i]?.multi.get(d.name);
        labels.forEach((l, c) => {
          if (set?.has(l)) y[r * k + c] = 1;
        });
      });
      return y;
    };
    const allRows = ids.map((_, i) => i);
    const fitData = subset(prep.data, fitIdx);
    const holdData = subset(prep.data, holdIdx);
    const yFit = targets(fitIdx);
    const yHold = targets(holdIdx);
    let best: { lambda: number; score: number; w: Float64Array; T: number; threshold: number } | undefined;
    let prev: Float64Array | undefined;
    for (const lambda of lambdas) {
      const w = fitLinear(fitData, k, 'sigmoid', yFit, fitOpts(lambda, prev));
      prev = w;
      const z = rawLogits(holdData, w, k);
      const T = bestTemperature((t) => sigmoidNll(z, yHold, t));
      const p = z.map((v) => sigmoid(v / T));
      let bestThr = 0.5;
      let bestScore = -1;
      for (let thr = 0.1; thr <= 0.9001; thr += 0.025) {
        const s = meanJaccard(p, yHold, holdIdx.length, k, thr, min, max);
        if (s > bestScore + 1e-9) {
          bestScore = s;
          bestThr = Math.round(thr * 1000) / 1000;
        }
      }
      if (!best || bestScore > best.score + 1e-9) best = { lambda, score: bestScore, w, T, threshold: bestThr };
    }
    if (!best) continue;
    const yAll = targets(allRows);
    const prior = labels.map((_, c) => {
      let n = 0;
      for (let r = 0; r < allRows.length; r++) n += yAll[r * k + c] as number;
      return roundSig(n / Math.max(1, allRows.length), 4);
    });
    holdWeights.multi[d.name] = {
      labels,
      w: flat(best.w),
      temperature: best.T,
      threshold: best.threshold,
      min,
      max,
      prior,
    };
    const wAll = fitLinear(subset(prep.data, allRows), k, 'sigmoid', yAll, fitOpts(best.lambda, best.w));
    multi[d.name] = {
      labels,
      w: flat(wAll),
      temperature: best.T,
      threshold: best.threshold,
      min,
      max,
      lambda: best.lambda,
      prior,
    };
    log(`${d.name}: held-out Jaccard ${best.score.toFixed(3)} (λ=${best.lambda}, T=${best.T}, thr=${best.threshold})`);
  }

  // Held-out predictions: summary threshold, onset method, held-out score.
  const holdBackend = new BuiltinBackend(holdWeights);
  const facts: SummaryFact[] = [];
  let holdScore = 0;
  let trueFacts = 0;
  const sinceErr: Record<SinceMethod, number[]> = { onset: [], burst: [], first: [] };
  for (const i of holdIdx) {
    const s = stats[i] as FeatureStats;
    const truth = truths[i];
    const tags = holdBackend.predictTags(s, dims);
    holdScore += tagScore(tags, examples[i]?.truth.tags ?? [], dims).score;
    trueFacts += truth?.single.size ?? 0;
    for (const m of truth?.multi.values() ?? []) trueFacts += m.size;
    for (const t of tags) {
      const isMulti = dims.find((d) => d.name === t.dimension)?.multiValued;
      const ok = isMulti
        ? (truth?.multi.get(t.dimension)?.has(t.value) ?? false)
        : truth?.single.get(t.dimension) === t.value;
      facts.push({ dim: t.dimension, conf: t.confidence, ok });
    }
    for (const method of ['onset', 'burst', 'first'] as const) {
      holdWeights.sinceMethod = method;
      for (const t of holdBackend.predictTags(s, dims)) {
        if (t.dimension !== 'life_events') continue;
        const since = truth?.multi.get('life_events')?.get(t.value);
        if (since) sinceErr[method].push(Math.abs(t.sinceMs - since));
      }
    }
    holdWeights.sinceMethod = 'onset';
  }
  holdScore /= Math.max(1, holdIdx.length);
  const target = opts.hallucinationTarget ?? 0.04;
  facts.sort((a, b) => b.conf - a.conf);
  let summaryThreshold = 0.99;
  let wrong = 0;
  for (let i = 0; i < facts.length; i++) {
    const fct = facts[i] as { conf: number; ok: boolean };
    if (!fct.ok) wrong++;
    const next = facts[i + 1];
    // Only cut between distinct confidences.
    if (next && next.conf === fct.conf) continue;
    if (wrong / (i + 1) <= target) summaryThreshold = Math.max(0.3, fct.conf);
  }
  // What summaries at a threshold would score on the held-out users (Acc_Ex ≈ correct stated / true facts).
  const summaryAt = (tau: number) => {
    const stated = facts.filter((x) => x.conf >= tau);
    const correct = stated.filter((x) => x.ok).length;
    return {
      accEx: correct / Math.max(1, trueFacts),
      hallucination: stated.length ? (stated.length - correct) / stated.length : 0,
    };
  };
  for (const tau of [0.5, 0.6, 0.7, 0.8, 0.9]) {
    const r = summaryAt(tau);
    log(`  summary threshold ${tau}: Acc_Ex ≈ ${r.accEx.toFixed(3)}, hallucination ≈ ${r.hallucination.toFixed(3)}`);
  }
  const global = summaryAt(summaryThreshold);
  log(
    `  global ${summaryThreshold.toFixed(3)}: Acc_Ex ≈ ${global.accEx.toFixed(3)}, hallucination ≈ ${global.hallucination.toFixed(3)}`,
  );
  const perDim = chooseSummaryThresholds(facts, target);
  const chosen = {
    accEx: perDim.correct / Math.max(1, trueFacts),
    hallucination: perDim.stated ? perDim.wrong / perDim.stated : 0,
  };
  log(
    `  per dimension: Acc_Ex ≈ ${chosen.accEx.toFixed(3)}, hallucination ≈ ${chosen.hallucination.toFixed(3)}; ${Object.entries(
      perDim.thresholds,
    )
      .map(([d, v]) => `${d} ${v}`)
      .join(', ')}`,
  );
  const median = (xs: number[]) => {
    if (xs.length === 0) return Number.POSITIVE_INFINITY;
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)] as number;
  };
  let sinceMethod: SinceMethod = 'onset';
  for (const m of ['burst', 'first'] as const) if (median(sinceErr[m]) < median(sinceErr[sinceMethod])) sinceMethod = m;
  log(
    `held-out tag score ${holdScore.toFixed(4)}; summary threshold ${summaryThreshold.toFixed(3)}; onset method ${sinceMethod} (median error ${(median(sinceErr[sinceMethod]) / 86_400_000).toFixed(1)} days)`,
  );

  const weights: ModelWeights = {
    format: 'personastream-builtin/1',
    name: opts.name ?? 'builtin/logreg-v1',
    features: prep.names,
    mean: prep.mean.map((v) => roundSig(v, 8)),
    std: prep.std.map((v) => roundSig(v, 8)),
    single,
    multi,
    summaryThreshold: Math.round(summaryThreshold * 1e4) / 1e4,
    summaryThresholds: perDim.thresholds,
    sinceMethod,
    halfLifeDays,
    ...(opts.itemTenants ? { items: { tenants: [...new Set(opts.itemTenants)].sort() } } : {}),
    categories: trainedCategories(stats),
    meta: {
      trainUsers: examples.length,
      historyEvents: percentile(
        stats.map((st) => st.events),
        0.1,
      ),
      holdoutScore: Math.round(holdScore * 1e4) / 1e4,
      holdoutSummary: {
        accEx: Math.round(chosen.accEx * 1e4) / 1e4,
        hallucination: Math.round(chosen.hallucination * 1e4) / 1e4,
      },
      ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      ...(opts.source ? { source: opts.source } : {}),
    },
  };
  const final = new BuiltinBackend(weights);
  let trainScore = 0;
  examples.forEach((e, i) => {
    trainScore += tagScore(final.predictTags(stats[i] as FeatureStats, dims), e.truth.tags, dims).score;
  });
  weights.meta.trainScore = Math.round((trainScore / examples.length) * 1e4) / 1e4;
  return weights;
}

/**
 * Re-chooses a trained model's per-dimension summary thresholds on calibration users the weights were
 * not fitted on (more users, and the final model rather than the held-out one): the facts its tags
 * would state, `chooseSummaryThresholds` within `target`. Mutates `weights` (thresholds and
 * `meta.calibrationSummary`) and returns the estimate.
 */
export function calibrateSummaryThresholds(
  weights: ModelWeights,
  examples: readonly TrainingExample[],
  dims: readonly DimensionSpec[] = enabledDimensions(true),
  target = 0.04,
): { users: number; accEx: number; hallucination: number } {
  const backend = new BuiltinBackend(weights);
  const facts: SummaryFact[] = [];
  let trueFacts = 0;
  for (const e of examples) {
    const truth = groupTags(e.truth.tags, dims);
    trueFacts += truth.single.size;
    for (const m of truth.multi.values()) trueFacts += m.size;
    for (const t of backend.predictTags(statsOf(e, weights.halfLifeDays), dims)) {
      const multi = dims.find((d) => d.name === t.dimension)?.multiValued;
      const ok = multi
        ? (truth.multi.get(t.dimension)?.has(t.value) ?? false)
        : truth.single.get(t.dimension) === t.value;
      facts.push({ dim: t.dimension, conf: t.confidence, ok });
    }
  }
  const r = chooseSummaryThresholds(facts, target);
  const out = {
    users: examples.length,
    accEx: Math.round((r.correct / Math.max(1, trueFacts)) * 1e4) / 1e4,
    hallucination: Math.round((r.stated ? r.wrong / r.stated : 0) * 1e4) / 1e4,
  };
  weights.summaryThresholds = r.thresholds;
  weights.meta.calibrationSummary = out;
  return out;
}

/** Scores a model on labelled examples: mean tag score and per-dimension means. */
export function evaluateBuiltin(
  weights: ModelWeights,
  examples: readonly TrainingExample[],
  dims: readonly DimensionSpec[] = enabledDimensions(true),
): { score: number; perDimension: Record<string, number>; users: number } {
  const backend = new BuiltinBackend(weights);
  const per: Record<string, number> = {};
  let total = 0;
  for (const e of examples) {
    const s = statsOf(e, weights.halfLifeDays);
    const r = tagScore(backend.predictTags(s, dims), e.truth.tags, dims);
    total += r.score;
    for (const [k, v] of Object.entries(r.perDimension)) per[k] = (per[k] ?? 0) + v;
  }
  const n = Math.max(1, examples.length);
  for (const k of Object.keys(per)) per[k] = Math.round(((per[k] ?? 0) / n) * 1e4) / 1e4;
  return { score: Math.round((total / n) * 1e4) / 1e4, perDimension: per, users: examples.length };
}
