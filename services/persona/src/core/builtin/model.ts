import type { FeatureMap, FeatureSink, KeyedSetter } from './features.js';
import { sigmoid, softmaxInPlace } from './linear.js';

/** Softmax model of one single-valued dimension. `w` is classes × (features + 1), row-major, bias last. */
export interface SingleDimModel {
  classes: string[];
  w: number[];
  /** Calibration temperature applied to the logits. */
  temperature: number;
  /** L2 strength chosen on the held-out part (informational). */
  lambda?: number;
  /** Class frequencies of the training users (what confidences shrink toward, `reliability.ts`). */
  prior?: number[];
}

/** Independent sigmoids of one multi-valued dimension. `w` is labels × (features + 1). */
export interface MultiDimModel {
  labels: string[];
  w: number[];
  temperature: number;
  /** Labels whose calibrated probability reaches this are predicted (tuned for Jaccard). */
  threshold: number;
  min: number;
  max: number;
  lambda?: number;
  /** Label frequencies of the training users (what confidences shrink toward, `reliability.ts`). */
  prior?: number[];
}

/** How a life event's `since_ms` is estimated from its driving category. */
export type SinceMethod = 'onset' | 'burst' | 'first';

/** The builtin model file (JSON). */
export interface ModelWeights {
  format: 'personastream-builtin/1';
  name: string;
  features: string[];
  mean: number[];
  std: number[];
  single: Record<string, SingleDimModel>;
  multi: Record<string, MultiDimModel>;
  /** Facts below this calibrated confidence are never written into summaries. */
  summaryThreshold: number;
  /**
   * Per-dimension summary thresholds (chosen together on held-out users: the most correct facts
   * stated within the hallucination budget); dimensions missing here use `summaryThreshold`.
   */
  summaryThresholds?: Record<string, number>;
  sinceMethod: SinceMethod;
  halfLifeDays: number;
  /**
   * Scope of the item-code features (`item:`): the tenants whose item ids they were learned from
   * (an entry ending in `*` is a prefix). Item codes of other tenants name other items, so their
   * users are predicted without item features. Absent: the features apply to every tenant.
   */
  items?: { tenants: string[] };
  /**
   * Top-level categories of the training users (in at least 3 of them), including those every user
   * had (no feature: a constant is not a signal): a category outside them is foreign to the model
   * (`reliability.ts`). Absent in older models: the `cat:` features say what it knows.
   */
  categories?: string[];
  meta: {
    trainUsers: number;
    seed?: number;
    trainScore?: number;
    testScore?: number;
    holdoutScore?: number;
    /** Summaries at the chosen threshold on the held-out users (estimate of Acc_Ex / hallucination). */
    holdoutSummary?: { accEx: number; hallucination: number };
    /** Summaries at the per-dimension thresholds re-chosen on fresh calibration users (estimate). */
    calibrationSummary?: { users: number; accEx: number; hallucination: number };
    perDimension?: Record<string, number>;
    source?: string;
    /** 10th percentile of the training users' event counts: how short a history the model was fitted on (`reliability.ts`). */
    historyEvents?: number;
  };
}

/** Present features of one user: model feature indices, raw values, and standardized values. */
export interface SparseFeatures {
  idx: Int32Array;
  val: Float64Array;
  /** (val − μ)/σ of each present feature. */
  std: Float64Array;
  n: number;
  /** Logits of every output of the model (all dimensions), before temperature. */
  z: Float64Array;
}

interface DimSlot {
  /** First output of the dimension in the fused layout, and its number of outputs. */
  off: number;
  k: number;
  temperature: number;
}

const NO_KEYS: ReadonlyMap<string, number> = new Map();

/** Collects the present, known features of one prediction into the model's scratch buffers. */
class SparseBuilder implements FeatureSink {
  n = 0;
  private readonly setters = new Map<string, KeyedSetter>();

  constructor(
    private readonly index: ReadonlyMap<string, number>,
    private readonly byPrefix: ReadonlyMap<string, ReadonlyMap<string, number>>,
    private readonly idx: Int32Array,
    private readonly val: Float64Array,
    private readonly finish: (idx: Int32Array, val: Float64Array, n: number) => SparseFeatures,
  ) {}

  private push(j: number | undefined, v: number): void {
    if (j === undefined) return;
    this.idx[this.n] = j;
    this.val[this.n] = v;
    this.n++;
  }

  set(name: string, v: number): void {
    if (v === 0 || this.n >= this.idx.length) return;
    this.push(this.index.get(name), v);
  }

  keyed(prefix: string): KeyedSetter {
    let setter = this.setters.get(prefix);
    if (!setter) {
      const keys = this.byPrefix.get(prefix) ?? NO_KEYS;
      setter = (key, v) => {
        if (v === 0 || this.n >= this.idx.length) return;
        this.push(keys.get(key), v);
      };
      this.setters.set(prefix, setter);
    }
    return setter;
  }

  done(): SparseFeatures {
    // Copies: the index array's identity marks the model's latest prediction (see `contributions`).
    return this.finish(this.idx.slice(0, this.n), this.val.slice(0, this.n), this.n);
  }
}

/**
 * A model prepared for fast prediction. All dimensions' weights are fused into one output-major
 * matrix (row o = output o's weight of every feature, divided by σ_j) and standardization is folded
 * into the biases, so the logits need only the features the user actually has (absent features are
 * 0 before standardization): per output, a sum over the present features in their order.
 */
export class CompiledModel {
  readonly f: number;
  /** Outputs of all dimensions together. */
  readonly outputs: number;
  private readonly index = new Map<string, number>();
  /** Feature indices of the `prefix:key` names, by prefix then key (see `FeatureSink.keyed`). */
  private readonly byPrefix = new Map<string, Map<string, number>>();
  private readonly mean: Float64Array;
  private readonly invStd: Float64Array;
  private readonly slots = new Map<string, DimSlot>();
  /**
   * wo[o·F + j] = w_o[j]/σ_j: one row per output, read at the present features' indices (float32:
   * half the memory traffic).
   */
  private readonly wo: Float32Array;
  /** Biases with standardization folded in: b_o − Σ_j w_o[j]·μ_j/σ_j. */
  private readonly b0: Float64Array;
  /** Category named by each feature (for life-event onsets), or undefined. */
  readonly featureCategory: Array<string | undefined>;
  private readonly scratchIdx: Int32Array;
  private readonly scratchVal: Float64Array;
  /**
   * Per output: the features that can push it up the most, by |w| (positive weight: a present
   * feature above its mean pushes up; negative weight: a present feature below its mean does).
   * Evidence is searched among these instead of every present feature.
   */
  private readonly candidates: Int32Array[];
  /** Centred weight (softmax dims: minus the mean over the dimension's classes) of each candidate. */
  private readonly candidateW: Float32Array[];
  /** Standardized value of each feature of the current prediction (NaN when absent). */
  private readonly presentStd: Float64Array;
  /** Centred weights, output-major (slow path of `contributions`, `categoryContributions`). */
  private readonly wc: Float64Array;

  constructor(
    readonly weights: ModelWeights,
    categoryOf: (feature: string) => string | undefined = () => undefined,
  ) {
    const f = weights.features.length;
    this.f = f;
    weights.features.forEach((name, i) => {
      this.index.set(name, i);
      const colon = name.indexOf(':');
      if (colon < 0) return;
      const prefix = name.slice(0, colon);
      let keys = this.byPrefix.get(prefix);
      if (!keys) {
        keys = new Map();
        this.byPrefix.set(prefix, keys);
      }
      keys.set(name.slice(colon + 1), i);
    });
    this.featureCategory = weights.features.map(categoryOf);
    this.mean = Float64Array.from(weights.mean);
    this.invStd = Float64Array.from(weights.std.map((s) => (s > 0 ? 1 / s : 0)));
    const dims: Array<{ name: string; w: number[]; k: number; temperature: number; centre: boolean }> = [
      ...Object.entries(weights.single).map(([name, m]) => ({
        name,
        w: m.w,
        k: m.classes.length,
        temperature: m.temperature,
        centre: true,
      })),
      ...Object.entries(weights.multi).map(([name, m]) => ({
        name,
        w: m.w,
        k: m.labels.length,
        temperature: m.temperature,
        centre: false,
      })),
    ];
    let K = 0;
    for (const d of dims) {
      this.slots.set(d.name, { off: K, k: d.k, temperature: d.temperature });
      K += d.k;
    }
    this.outputs = K;
    this.wo = new Float32Array(K * f);
    /** Centred weights wc[o·F + j], only used here to pick and store the evidence candidates. */
    const wc = new Float64Array(K * f);
    this.b0 = new Float64Array(K);
    const stride = f + 1;
    for (const d of dims) {
      const off = (this.slots.get(d.name) as DimSlot).off;
      for (let c = 0; c < d.k; c++) {
        let b = d.w[c * stride + f] as number;
        for (let j = 0; j < f; j++) {
          const scaled = (d.w[c * stride + j] as number) * (this.invStd[j] as number);
          this.wo[(off + c) * f + j] = scaled;
          b -= scaled * (this.mean[j] as number);
        }
        this.b0[off + c] = b;
      }
      for (let j = 0; j < f; j++) {
        let avg = 0;
        if (d.centre && d.k > 1) {
          for (let c = 0; c < d.k; c++) avg += d.w[c * stride + j] as number;
          avg /= d.k;
        }
        for (let c = 0; c < d.k; c++) wc[(off + c) * f + j] = (d.w[c * stride + j] as number) - avg;
      }
    }
    this.scratchIdx = new Int32Array(f);
    this.scratchVal = new Float64Array(f);
    this.presentStd = new Float64Array(f).fill(Number.NaN);
    const CANDIDATES = 48;
    this.candidates = Array.from({ length: K }, (_, o) => {
      const order = Array.from({ length: f }, (_, j) => j).sort(
        (a, b) => Math.abs(wc[o * f + b] as number) - Math.abs(wc[o * f + a] as number) || a - b,
      );
      return Int32Array.from(order.slice(0, CANDIDATES));
    });
    this.candidateW = this.candidates.map((js, o) => Float32Array.from(js, (j) => wc[o * f + j] as number));
    this.wc = wc;
  }

  private lastIdx: Int32Array | undefined;

  /** Finishes a sparse vector: standardized values and every logit. */
  private finish(idx: Int32Array, val: Float64Array, n: number): SparseFeatures {
    const std = new Float64Array(n);
    // Forget the previous prediction's features, then record this one's.
    if (this.lastIdx) for (const j of this.lastIdx) this.presentStd[j] = Number.NaN;
    this.lastIdx = idx;
    for (let t = 0; t < n; t++) {
      const j = idx[t] as number;
      std[t] = ((val[t] as number) - (this.mean[j] as number)) * (this.invStd[j] as number);
      this.presentStd[j] = std[t] as number;
    }
    return { idx, val, std, n, z: this.logits(idx, val, n) };
  }

  /**
   * Every output's logit b_o + Σ_t wo[o][idx_t]·val_t, summed in feature order (four outputs per pass
   * over the features, each in its own accumulator: the same additions in the same order as one
   * output at a time).
   */
  private logits(idx: Int32Array, val: Float64Array, n: number): Float64Array {
    const F = this.f;
    const K = this.outputs;
    const wo = this.wo;
    const z = this.b0.slice();
    let o = 0;
    for (; o + 4 <= K; o += 4) {
      const r0 = o * F;
      const r1 = r0 + F;
      const r2 = r1 + F;
      const r3 = r2 + F;
      let a0 = z[o] as number;
      let a1 = z[o + 1] as number;
      let a2 = z[o + 2] as number;
      let a3 = z[o + 3] as number;
      for (let t = 0; t < n; t++) {
        const j = idx[t] as number;
        const v = val[t] as number;
        a0 += (wo[r0 + j] as number) * v;
        a1 += (wo[r1 + j] as number) * v;
        a2 += (wo[r2 + j] as number) * v;
        a3 += (wo[r3 + j] as number) * v;
      }
      z[o] = a0;
      z[o + 1] = a1;
      z[o + 2] = a2;
      z[o + 3] = a3;
    }
    for (; o < K; o++) {
      const r = o * F;
      let a = z[o] as number;
      for (let t = 0; t < n; t++) a += (wo[r + (idx[t] as number)] as number) * (val[t] as number);
      z[o] = a;
    }
    return z;
  }

  /** The user's present, known features (from a feature map). */
  sparse(fm: FeatureMap): SparseFeatures {
    const idx = new Int32Array(fm.size);
    const val = new Float64Array(fm.size);
    let n = 0;
    for (const [name, v] of fm) {
      const j = this.index.get(name);
      if (j === undefined || v === 0) continue;
      idx[n] = j;
      val[n] = v;
      n++;
    }
    return this.finish(idx, val, n);
  }

  private builder: SparseBuilder | undefined;

  /**
   * A sink that builds the sparse vector directly while features are written (one builder and its
   * scratch buffers are reused: not re-entrant, which synchronous prediction never needs).
   */
  sparseBuilder(): FeatureSink & { done(): SparseFeatures } {
    if (!this.builder) {
      this.builder = new SparseBuilder(this.index, this.byPrefix, this.scratchIdx, this.scratchVal, (idx, val, n) =>
        this.finish(idx, val, n),
      );
    }
    this.builder.n = 0;
    return this.builder;
  }

  /** Calibrated class probabilities of a single-valued dimension (undefined when not in the model). */
  single(dim: string, x: SparseFeatures): Float64Array | undefined {
    const s = this.slots.get(dim);
    if (!s || this.weights.single[dim] === undefined) return undefined;
    const p = new Float64Array(s.k);
    for (let c = 0; c < s.k; c++) p[c] = (x.z[s.off + c] as number) / s.temperature;
    softmaxInPlace(p, s.k);
    return p;
  }

  /** Calibrated per-label probabilities of a multi-valued dimension. */
  multi(dim: string, x: SparseFeatures): Float64Array | undefined {
    const s = this.slots.get(dim);
    if (!s || this.weights.multi[dim] === undefined) return undefined;
    const p = new Float64Array(s.k);
    for (let c = 0; c < s.k; c++) p[c] = sigmoid((x.z[s.off + c] as number) / s.temperature);
    return p;
  }

  /**
   * Present features that pushed class/label `c` up the most: contribution of feature j =
   * w'[c][j] · standardized x_j (w' centred over classes for softmax). The `top` positive ones,
   * largest first (feature indices).
   */
  contributions(dim: string, c: number, x: SparseFeatures, top = 3): Array<{ j: number; value: number }> {
    const s = this.slots.get(dim);
    if (!s) return [];
    const o = s.off + c;
    const f = this.f;
    const best: Array<{ j: number; value: number }> = [];
    const consider = (j: number, v: number) => {
      if (v <= 0) return;
      if (best.length === top && v <= (best[top - 1] as { value: number }).value) return;
      let at = best.length;
      while (at > 0 && (best[at - 1] as { value: number }).value < v) at--;
      best.splice(at, 0, { j, value: v });
      if (best.length > top) best.pop();
    };
    if (x.idx === this.lastIdx) {
      // Fast path (the latest prediction): only the output's strongest features are examined.
      const list = this.candidates[o] as Int32Array;
      const ws = this.candidateW[o] as Float32Array;
      for (let t = 0; t < list.length; t++) {
        const sv = this.presentStd[list[t] as number] as number;
        if (!Number.isNaN(sv)) consider(list[t] as number, (ws[t] as number) * sv);
      }
    } else {
      for (let t = 0; t < x.n; t++) {
        const j = x.idx[t] as number;
        consider(j, (this.wc[o * f + j] as number) * (x.std[t] as number));
      }
    }
    return best;
  }

  /** Summed positive contribution per category to label `c` (life-event onsets). */
  categoryContributions(dim: string, c: number, x: SparseFeatures): Map<string, number> {
    const out = new Map<string, number>();
    const s = this.slots.get(dim);
    if (!s) return out;
    const o = s.off + c;
    for (let t = 0; t < x.n; t++) {
      const j = x.idx[t] as number;
      const cat = this.featureCategory[j];
      if (cat === undefined) continue;
      const v = (this.wc[o * this.f + j] as number) * (x.std[t] as number);
      if (v > 0) out.set(cat, (out.get(cat) ?? 0) + v);
    }
    return out;
  }

  /** True when the model has a feature `prefix:key` (e.g. a category it was trained on). */
  knows(prefix: string, key: string): boolean {
    return this.byPrefix.get(prefix)?.has(key) ?? false;
  }

  featureName(j: number): string {
    return this.weights.features[j] as string;
  }
}

/** Whether the model's item-code features apply to users of `tenant` (undefined: a caller without tenants, e.g. training). */
export function itemsApply(weights: Pick<ModelWeights, 'items'>, tenant: string | undefined): boolean {
  const scope = weights.items?.tenants;
  if (scope === undefined || tenant === undefined) return true;
  return scope.some((t) => (t.endsWith('*') ? tenant.startsWith(t.slice(0, -1)) : t === tenant));
}
