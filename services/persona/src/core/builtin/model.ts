import type { FeatureMap, FeatureSink } from './features.js';
import { sigmoid, softmaxInPlace } from './linear.js';

/** Softmax model of one single-valued dimension. `w` is classes × (features + 1), row-major, bias last. */
export interface SingleDimModel {
  classes: string[];
  w: number[];
  /** Calibration temperature applied to the logits. */
  temperature: number;
  /** L2 strength chosen on the held-out part (informational). */
  lambda?: number;
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
  sinceMethod: SinceMethod;
  halfLifeDays: number;
  meta: {
    trainUsers: number;
    seed?: number;
    trainScore?: number;
    testScore?: number;
    holdoutScore?: number;
    /** Summaries at the chosen threshold on the held-out users (estimate of Acc_Ex / hallucination). */
    holdoutSummary?: { accEx: number; hallucination: number };
    perDimension?: Record<string, number>;
    source?: string;
  };
}

/** Present features of one user: model feature indices and raw (unstandardized) values. */
export interface SparseFeatures {
  idx: Int32Array;
  val: Float64Array;
  n: number;
}

interface CompiledDim {
  k: number;
  /** Column-major (feature-major) weights divided by the feature's std: wt[j·k + c]. */
  wt: Float64Array;
  /** Bias with the standardization folded in: b[c] − Σ_j w[c][j]·mean_j/std_j. */
  b0: Float64Array;
  /** Row-major weights for contributions, centred over classes for softmax dims. */
  wc: Float64Array;
  temperature: number;
}

/**
 * A model prepared for fast prediction. Standardization is folded into the weights, so a logit is a
 * sparse dot product over the features the user actually has (absent features are 0 before
 * standardization): cost ∝ present features × outputs, not all features.
 */
export class CompiledModel {
  readonly f: number;
  private readonly index = new Map<string, number>();
  private readonly mean: Float64Array;
  private readonly invStd: Float64Array;
  private readonly dims = new Map<string, CompiledDim>();
  /** Category named by each feature (for life-event onsets), or undefined. */
  readonly featureCategory: Array<string | undefined>;

  constructor(
    readonly weights: ModelWeights,
    categoryOf: (feature: string) => string | undefined = () => undefined,
  ) {
    const f = weights.features.length;
    this.f = f;
    weights.features.forEach((name, i) => {
      this.index.set(name, i);
    });
    this.featureCategory = weights.features.map(categoryOf);
    this.mean = Float64Array.from(weights.mean);
    this.invStd = Float64Array.from(weights.std.map((s) => (s > 0 ? 1 / s : 0)));
    const compile = (w: number[], k: number, temperature: number, centre: boolean): CompiledDim => {
      const stride = f + 1;
      const wt = new Float64Array(f * k);
      const b0 = new Float64Array(k);
      const wc = new Float64Array(k * f);
      for (let c = 0; c < k; c++) {
        let b = w[c * stride + f] as number;
        for (let j = 0; j < f; j++) {
          const wj = w[c * stride + j] as number;
          const scaled = wj * (this.invStd[j] as number);
          wt[j * k + c] = scaled;
          b -= scaled * (this.mean[j] as number);
        }
        b0[c] = b;
      }
      for (let j = 0; j < f; j++) {
        let avg = 0;
        if (centre && k > 1) {
          for (let c = 0; c < k; c++) avg += w[c * stride + j] as number;
          avg /= k;
        }
        for (let c = 0; c < k; c++) wc[c * f + j] = (w[c * stride + j] as number) - avg;
      }
      return { k, wt, b0, wc, temperature };
    };
    for (const [dim, m] of Object.entries(weights.single)) {
      this.dims.set(dim, compile(m.w, m.classes.length, m.temperature, true));
    }
    for (const [dim, m] of Object.entries(weights.multi)) {
      this.dims.set(dim, compile(m.w, m.labels.length, m.temperature, false));
    }
  }

  /** The user's present, known features. */
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
    return { idx, val, n };
  }

  /** A sink that builds the sparse vector directly while features are written. */
  sparseBuilder(): FeatureSink & { done(): SparseFeatures } {
    const idx = new Int32Array(this.f);
    const val = new Float64Array(this.f);
    let n = 0;
    const index = this.index;
    return {
      set(name: string, v: number) {
        if (v === 0 || n >= idx.length) return;
        const j = index.get(name);
        if (j === undefined) return;
        idx[n] = j;
        val[n] = v;
        n++;
      },
      done: () => ({ idx, val, n }),
    };
  }

  /** Raw logits (before temperature) of a dimension. */
  logits(dim: string, x: SparseFeatures): Float64Array | undefined {
    const d = this.dims.get(dim);
    if (!d) return undefined;
    const k = d.k;
    const z = Float64Array.from(d.b0);
    for (let t = 0; t < x.n; t++) {
      const base = (x.idx[t] as number) * k;
      const v = x.val[t] as number;
      for (let c = 0; c < k; c++) z[c] = (z[c] as number) + (d.wt[base + c] as number) * v;
    }
    return z;
  }

  /** Calibrated class probabilities of a single-valued dimension (undefined when not in the model). */
  single(dim: string, x: SparseFeatures): Float64Array | undefined {
    const z = this.logits(dim, x);
    const d = this.dims.get(dim);
    if (!z || !d) return undefined;
    for (let c = 0; c < d.k; c++) z[c] = (z[c] as number) / d.temperature;
    softmaxInPlace(z, d.k);
    return z;
  }

  /** Calibrated per-label probabilities of a multi-valued dimension. */
  multi(dim: string, x: SparseFeatures): Float64Array | undefined {
    const z = this.logits(dim, x);
    const d = this.dims.get(dim);
    if (!z || !d) return undefined;
    for (let c = 0; c < d.k; c++) z[c] = sigmoid((z[c] as number) / d.temperature);
    return z;
  }

  /**
   * Present features that pushed class/label `c` up the most: contribution of feature j =
   * w'[c][j] · standardized x_j (w' centred over classes for softmax). The `top` positive ones,
   * largest first (feature indices).
   */
  contributions(dim: string, c: number, x: SparseFeatures, top = 3): Array<{ j: number; value: number }> {
    const d = this.dims.get(dim);
    if (!d) return [];
    const f = this.f;
    const best: Array<{ j: number; value: number }> = [];
    for (let t = 0; t < x.n; t++) {
      const j = x.idx[t] as number;
      const v =
        (d.wc[c * f + j] as number) * ((x.val[t] as number) - (this.mean[j] as number)) * (this.invStd[j] as number);
      if (v <= 0) continue;
      if (best.length === top && v <= (best[top - 1] as { value: number }).value) continue;
      let at = best.length;
      while (at > 0 && (best[at - 1] as { value: number }).value < v) at--;
      best.splice(at, 0, { j, value: v });
      if (best.length > top) best.pop();
    }
    return best;
  }

  /** Summed positive contribution per category to label `c` (life-event onsets). */
  categoryContributions(dim: string, c: number, x: SparseFeatures): Map<string, number> {
    const out = new Map<string, number>();
    const d = this.dims.get(dim);
    if (!d) return out;
    const f = this.f;
    for (let t = 0; t < x.n; t++) {
      const j = x.idx[t] as number;
      const cat = this.featureCategory[j];
      if (cat === undefined) continue;
      const v =
        (d.wc[c * f + j] as number) * ((x.val[t] as number) - (this.mean[j] as number)) * (this.invStd[j] as number);
      if (v > 0) out.set(cat, (out.get(cat) ?? 0) + v);
    }
    return out;
  }

  featureName(j: number): string {
    return this.weights.features[j] as string;
  }
}
