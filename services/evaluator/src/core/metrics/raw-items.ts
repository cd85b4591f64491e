/**
 * The `raw_items` reference learner (HPR-BENCH.md §3, docs/hpr-bench.md): what a data scientist
 * would try first on real data — a regularized linear model over the TF-IDF of each user's **raw
 * events** (no semantization), trained on the train split and scored with the same tag score as the
 * model. Pure and deterministic: fixed vocabulary order, fixed iteration count, no randomness.
 *
 * - Tokens of one event: its action type (`a:<EventType>`), its item id (`i:<id>`) and every level
 *   of its category path (`c1:Electronics`, `c2:Electronics>Audio`, …). A user's document is every
 *   event they sent.
 * - TF-IDF fitted on the train users: tf = 1 + ln(count) (sublinear), idf = ln((1 + n) / (1 + df))
 *   + 1 (smoothed), tokens no train user has are dropped, rows L2-normalized.
 * - One-vs-rest logistic regression for every value of every labelled dimension (values no train
 *   user has are never predicted): minimize (1/n) Σ log(1 + exp(−y (w·x + b))) + (λ/2)‖w‖² with
 *   λ = 1/n (scikit-learn's default C = 1), intercept unregularized; Nesterov accelerated gradient,
 *   step 1/L with L from a power iteration on the centered XᵀX/n, adaptive momentum restart, a fixed number of
 *   iterations ({@link RAW_ITEMS_DEFAULTS}), on implicitly centered rows.
 * - Prediction: a single-valued dimension takes the value of highest probability (ties: schema
 *   order), confidence = that probability / the sum over the dimension's values; a multi-valued one
 *   takes the values with probability ≥ 0.5, at least the schema's `minValues` and at most its
 *   `maxValues` (most probable first), confidence = the value's probability.
 */
import { dimensionSpec } from '@personastream/contracts';
import { confidenceKey, type LabelSet, type ScoringDimension } from './labels.js';

/** What the learner reads of a raw event (a `BehaviorEvent` fits). */
export interface RawEventLike {
  type: number;
  item?: { id: string; categoryPath: readonly string[] } | undefined;
}

/** Token counts of one user's raw events. */
export type TokenCounts = Map<string, number>;

/** Adds the tokens of one raw event to a user's counts. */
export function addEventTokens(counts: TokenCounts, e: RawEventLike): void {
  const bump = (t: string) => counts.set(t, (counts.get(t) ?? 0) + 1);
  bump(`a:${e.type}`);
  const item = e.item;
  if (!item) return;
  if (item.id) bump(`i:${item.id}`);
  let path = '';
  for (let i = 0; i < item.categoryPath.length; i++) {
    const c = item.categoryPath[i] as string;
    path = i === 0 ? c : `${path}>${c}`;
    bump(`c${i + 1}:${path}`);
  }
}

/** Token counts per user id, built one raw event at a time. */
export class RawItemCounts {
  readonly users = new Map<string, TokenCounts>();

  add(userId: string, e: RawEventLike): void {
    let c = this.users.get(userId);
    if (!c) {
      c = new Map();
      this.users.set(userId, c);
    }
    addEventTokens(c, e);
  }

  get(userId: string): TokenCounts {
    return this.users.get(userId) ?? new Map();
  }
}

export const RAW_ITEMS_DEFAULTS = {
  /** Gradient iterations per dimension. */
  iterations: 30,
  /** λ = `regularization` / train users (1: scikit-learn's default C = 1). */
  regularization: 1,
  /** Power iterations for the step size. */
  powerIterations: 30,
} as const;

export interface RawItemsOptions {
  iterations?: number;
  regularization?: number;
}

/** One training example: the user's token counts and truth labels. */
export interface RawItemsExample {
  counts: ReadonlyMap<string, number>;
  labels: LabelSet;
}

/** A sparse row: token indices (ascending) and TF-IDF values (L2-normalized). */
interface SparseRow {
  idx: Int32Array;
  val: Float64Array;
}

interface DimensionModel {
  dim: ScoringDimension;
  /** Values with a model, schema order. */
  values: string[];
  /** weights[j * K + k]: token j, value k. */
  weights: Float64Array;
  bias: Float64Array;
}

export interface RawItemsModel {
  vocabulary: Map<string, number>;
  idf: Float64Array;
  dims: DimensionModel[];
}

function schemaOrder(dimension: string, values: Iterable<string>): string[] {
  const spec = dimensionSpec(dimension);
  const rank = (v: string) => {
    const i = spec?.values.indexOf(v) ?? -1;
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return [...values].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function vectorize(counts: ReadonlyMap<string, number>, vocabulary: Map<string, number>, idf: Float64Array): SparseRow {
  const pairs: Array<[number, number]> = [];
  for (const [t, c] of counts) {
    const j = vocabulary.get(t);
    if (j === undefined || !(c > 0)) continue;
    pairs.push([j, (1 + Math.log(c)) * (idf[j] as number)]);
  }
  pairs.sort((a, b) => a[0] - b[0]);
  let norm = 0;
  for (const [, v] of pairs) norm += v * v;
  norm = Math.sqrt(norm);
  const idx = new Int32Array(pairs.length);
  const val = new Float64Array(pairs.length);
  pairs.forEach(([j, v], i) => {
    idx[i] = j;
    val[i] = norm > 0 ? v / norm : 0;
  });
  return { idx, val };
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** The train rows as one compressed sparse row matrix, and the column means (for implicit centering). */
interface Csr {
  n: number;
  vocab: number;
  ptr: Int32Array;
  idx: Int32Array;
  val: Float64Array;
  mean: Float64Array;
}

function toCsr(rows: readonly SparseRow[], vocab: number): Csr {
  const n = rows.length;
  const ptr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) ptr[i + 1] = (ptr[i] as number) + (rows[i] as SparseRow).idx.length;
  const idx = new Int32Array(ptr[n] as number);
  const val = new Float64Array(ptr[n] as number);
  const mean = new Float64Array(vocab);
  for (let i = 0; i < n; i++) {
    const r = rows[i] as SparseRow;
    idx.set(r.idx, ptr[i] as number);
    val.set(r.val, ptr[i] as number);
    for (let p = 0; p < r.idx.length; p++)
      mean[r.idx[p] as number] = (mean[r.idx[p] as number] as number) + (r.val[p] as number) / n;
  }
  return { n, vocab, ptr, idx, val, mean };
}

/**
 * Largest eigenvalue of X_cᵀX_c / n, X_c the centered rows (never formed: x − mean), by power
 * iteration from a fixed start. Centering takes the rows' common direction out of the curvature (the
 * intercept absorbs it), so the weights' step can be much larger than on the raw rows.
 */
function centeredCurvature(m: Csr, iterations: number): number {
  const { n, vocab, ptr, idx, val, mean } = m;
  let v = new Float64Array(vocab).fill(1 / Math.sqrt(Math.max(1, vocab)));
  let eig = 0;
  for (let it = 0; it < iterations; it++) {
    let vm = 0;
    for (let j = 0; j < vocab; j++) vm += (v[j] as number) * (mean[j] as number);
    const next = new Float64Array(vocab);
    let su = 0;
    for (let i = 0; i < n; i++) {
      const end = ptr[i + 1] as number;
      let u = -vm;
      for (let p = ptr[i] as number; p < end; p++) u += (val[p] as number) * (v[idx[p] as number] as number);
      for (let p = ptr[i] as number; p < end; p++)
        next[idx[p] as number] = (next[idx[p] as number] as number) + (val[p] as number) * u;
      su += u;
    }
    let norm = 0;
    for (let j = 0; j < vocab; j++) {
      const x = (next[j] as number) - (mean[j] as number) * su;
      next[j] = x;
      norm += x * x;
    }
    norm = Math.sqrt(norm);
    eig = norm / n;
    if (norm === 0) break;
    for (let j = 0; j < vocab; j++) next[j] = (next[j] as number) / norm;
    v = next;
  }
  return eig;
}

/**
 * One-vs-rest L2 logistic regression of K binary outputs sharing the rows: targets[i * K + k] ∈ {0, 1}.
 * Solved on implicitly centered rows (z = w·(x − mean) + c; the same model, since the intercept is
 * not regularized: b = c − w·mean) by Nesterov accelerated gradient with block step sizes (1/L_w for
 * the weights, 4 for the intercept: the loss' curvature is at most ¼ of the centered Gram matrix,
 * which is block-diagonal) and per-output adaptive restart.
 */
function fitOutputs(
  m: Csr,
  targets: Uint8Array,
  K: number,
  lambda: number,
  Lw: number,
  iterations: number,
): { weights: Float64Array; bias: Float64Array } {
  const { n, vocab, ptr, idx, val, mean } = m;
  const size = vocab * K;
  const w = new Float64Array(size);
  const c = new Float64Array(K);
  // start at the base rate (the intercept-only optimum)
  for (let k = 0; k < K; k++) {
    let pos = 0;
    for (let i = 0; i < n; i++) pos += targets[i * K + k] as number;
    const rate = Math.min(1 - 1e-6, Math.max(1e-6, pos / n));
    c[k] = Math.log(rate / (1 - rate));
  }
  const wPrev = Float64Array.from(w);
  const cPrev = Float64Array.from(c);
  const vw = new Float64Array(size);
  const vc = new Float64Array(K);
  const gw = new Float64Array(size);
  const gc = new Float64Array(K);
  const z = new Float64Array(K);
  const vm = new Float64Array(K);
  const dot = new Float64Array(K);
  const stepW = 1 / Lw;
  const stepC = 4;
  const q = Math.sqrt(lambda / Lw);
  const beta = (1 - q) / (1 + q);
  const momentum = new Float64Array(K).fill(beta);
  for (let it = 0; it < iterations; it++) {
    // look-ahead point v = x + β (x − x_prev), and v·mean per output
    vm.fill(0);
    for (let j = 0; j < vocab; j++) {
      const o = j * K;
      const mj = mean[j] as number;
      for (let k = 0; k < K; k++) {
        const x = w[o + k] as number;
        const y = x + (momentum[k] as number) * (x - (wPrev[o + k] as number));
        vw[o + k] = y;
        vm[k] = (vm[k] as number) + y * mj;
      }
    }
    for (let k = 0; k < K; k++)
      vc[k] = (c[k] as number) + (momentum[k] as number) * ((c[k] as number) - (cPrev[k] as number));
    // gradient at v: r_i = σ(z_i) − y_i; g_w = (1/n) Σ r_i (x_i − mean) + λ v_w; g_c = (1/n) Σ r_i
    gw.fill(0);
    gc.fill(0);
    for (let i = 0; i < n; i++) {
      const start = ptr[i] as number;
      const end = ptr[i + 1] as number;
      for (let k = 0; k < K; k++) z[k] = (vc[k] as number) - (vm[k] as number);
      for (let p = start; p < end; p++) {
        const o = (idx[p] as number) * K;
        const x = val[p] as number;
        for (let k = 0; k < K; k++) z[k] = (z[k] as number) + x * (vw[o + k] as number);
      }
      const t = i * K;
      for (let k = 0; k < K; k++) {
        const r = (sigmoid(z[k] as number) - (targets[t + k] as number)) / n;
        z[k] = r;
        gc[k] = (gc[k] as number) + r;
      }
      for (let p = start; p < end; p++) {
        const o = (idx[p] as number) * K;
        const x = val[p] as number;
        for (let k = 0; k < K; k++) gw[o + k] = (gw[o + k] as number) + x * (z[k] as number);
      }
    }
    // x_new = v − step · g; restart an output's momentum when its step goes against its last move
    dot.fill(0);
    for (let j = 0; j < vocab; j++) {
      const o = j * K;
      const mj = mean[j] as number;
      for (let k = 0; k < K; k++) {
        const g = (gw[o + k] as number) - mj * (gc[k] as number) + lambda * (vw[o + k] as number);
        const next = (vw[o + k] as number) - stepW * g;
        dot[k] = (dot[k] as number) + g * (next - (w[o + k] as number));
        wPrev[o + k] = w[o + k] as number;
        w[o + k] = next;
      }
    }
    for (let k = 0; k < K; k++) {
      const g = gc[k] as number;
      const next = (vc[k] as number) - stepC * g;
      dot[k] = (dot[k] as number) + g * (next - (c[k] as number));
      cPrev[k] = c[k] as number;
      c[k] = next;
      momentum[k] = (dot[k] as number) > 0 ? 0 : beta;
    }
  }
  // back to uncentered rows: b = c − w·mean
  const bias = Float64Array.from(c);
  for (let j = 0; j < vocab; j++) {
    const o = j * K;
    const mj = mean[j] as number;
    for (let k = 0; k < K; k++) bias[k] = (bias[k] as number) - (w[o + k] as number) * mj;
  }
  return { weights: w, bias };
}

/**
 * Fits the learner on train examples for the given dimensions. Examples are used in the order given
 * (callers sort them, e.g. by user id, for byte-identical models).
 */
export function fitRawItems(
  train: readonly RawItemsExample[],
  dims: readonly ScoringDimension[],
  options: RawItemsOptions = {},
): RawItemsModel {
  const iterations = options.iterations ?? RAW_ITEMS_DEFAULTS.iterations;
  // vocabulary and document frequencies of the train users, tokens sorted
  const df = new Map<string, number>();
  for (const ex of train) for (const [t, c] of ex.counts) if (c > 0) df.set(t, (df.get(t) ?? 0) + 1);
  const tokens = [...df.keys()].sort();
  const vocabulary = new Map(tokens.map((t, j) => [t, j]));
  const n = train.length;
  const idf = Float64Array.from(tokens, (t) => Math.log((1 + n) / (1 + (df.get(t) as number))) + 1);
  const model: RawItemsModel = { vocabulary, idf, dims: [] };
  if (n === 0) return model;
  const lambda = (options.regularization ?? RAW_ITEMS_DEFAULTS.regularization) / n;
  const rows = train.map((ex) => vectorize(ex.counts, vocabulary, idf));
  const all = toCsr(rows, tokens.length);

  for (const dim of dims) {
    // users who label the dimension (a multi-valued one is always labelled: empty is a label)
    const labelled: number[] = [];
    const seen = new Set<string>();
    train.forEach((ex, i) => {
      if (dim.multiValued) {
        labelled.push(i);
        for (const v of ex.labels.multi[dim.name] ?? []) seen.add(v);
      } else {
        const v = ex.labels.single[dim.name];
        if (v === undefined) return;
        labelled.push(i);
        seen.add(v);
      }
    });
    const values = schemaOrder(dim.name, seen);
    const K = values.length;
    if (K === 0 || labelled.length === 0) {
      // nothing to learn: a single-valued dimension gets no value, a multi-valued one the empty set
      model.dims.push({ dim, values: [], weights: new Float64Array(0), bias: new Float64Array(0) });
      continue;
    }
    const targets = new Uint8Array(labelled.length * K);
    labelled.forEach((i, r) => {
      const ex = train[i] as RawItemsExample;
      const truth = dim.multiValued
        ? new Set(ex.labels.multi[dim.name] ?? [])
        : new Set([ex.labels.single[dim.name] as string]);
      values.forEach((v, k) => {
        targets[r * K + k] = truth.has(v) ? 1 : 0;
      });
    });
    const m =
      labelled.length === n
        ? all
        : toCsr(
            labelled.map((i) => rows[i] as SparseRow),
            tokens.length,
          );
    // a 10 % margin over the power iteration's estimate (it approaches the eigenvalue from below)
    const Lw = 0.25 * 1.1 * centeredCurvature(m, RAW_ITEMS_DEFAULTS.powerIterations) + lambda;
    const { weights, bias } = fitOutputs(m, targets, K, lambda, Lw, iterations);
    model.dims.push({ dim, values, weights, bias });
  }
  return model;
}

/** Probability of every modelled value of every dimension for one user's token counts. */
export function rawItemsProbabilities(
  model: RawItemsModel,
  counts: ReadonlyMap<string, number>,
): Map<string, Array<{ value: string; p: number }>> {
  const row = vectorize(counts, model.vocabulary, model.idf);
  const out = new Map<string, Array<{ value: string; p: number }>>();
  for (const d of model.dims) {
    const K = d.values.length;
    const z = Float64Array.from(d.bias);
    for (let p = 0; p < row.idx.length; p++) {
      const o = (row.idx[p] as number) * K;
      const x = row.val[p] as number;
      for (let k = 0; k < K; k++) z[k] = (z[k] as number) + x * (d.weights[o + k] as number);
    }
    out.set(
      d.dim.name,
      d.values.map((value, k) => ({ value, p: sigmoid(z[k] as number) })),
    );
  }
  return out;
}

/** The learner's prediction for one user (see the module comment for the rules), with confidences. */
export function rawItemsPrediction(model: RawItemsModel, counts: ReadonlyMap<string, number>): LabelSet {
  const out: LabelSet = { single: {}, multi: {}, confidence: {} };
  const confidence = out.confidence as Record<string, number>;
  for (const [name, probs] of rawItemsProbabilities(model, counts)) {
    const spec = dimensionSpec(name);
    const ranked = probs.map((x, k) => ({ ...x, k })).sort((a, b) => b.p - a.p || a.k - b.k);
    if (spec?.multiValued) {
      const min = spec.minValues ?? 0;
      const max = spec.maxValues ?? ranked.length;
      const chosen = ranked.filter((x, i) => i < max && (x.p >= 0.5 || i < min));
      out.multi[name] = chosen.map((x) => x.value).sort();
      for (const x of chosen) confidence[confidenceKey(name, x.value)] = x.p;
    } else {
      const top = ranked[0];
      if (!top) continue;
      const sum = probs.reduce((a, x) => a + x.p, 0);
      out.single[name] = top.value;
      confidence[confidenceKey(name, top.value)] = sum > 0 ? top.p / sum : 0;
    }
  }
  return out;
}
