/**
 * Small, deterministic linear models: multinomial (softmax) and independent binary (sigmoid)
 * logistic regression, trained by full-batch gradient descent (Adam steps) with L2 on the weights.
 *
 * Features are standardized, x̃_j = (x_j − μ_j)/σ_j, but most raw features of a user are 0, so rows
 * are kept sparse (CSR) as x_j/σ_j over the non-zero entries plus a dense shift μ_j/σ_j: then
 * w·x̃ = Σ_nz w_j·x_j/σ_j − Σ_j w_j·μ_j/σ_j, and the second sum is computed once per iteration.
 * Weights are k × (f + 1) row-major in the standardized space, the last column the bias.
 */

export interface Dataset {
  n: number;
  f: number;
  /** CSR rows: entries rowPtr[i]..rowPtr[i+1] of col/val. */
  rowPtr: Int32Array;
  col: Int32Array;
  /** x_j / σ_j of the non-zero entries. */
  val: Float64Array;
  /** μ_j / σ_j per feature. */
  shift: Float64Array;
}

export interface FitOptions {
  lambda: number;
  iterations?: number;
  learningRate?: number;
  /** Start from these weights (warm start). */
  init?: Float64Array;
}

export function softmaxInPlace(z: Float64Array | number[], len = z.length): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < len; i++) max = Math.max(max, z[i] as number);
  let sum = 0;
  for (let i = 0; i < len; i++) {
    const e = Math.exp((z[i] as number) - max);
    z[i] = e;
    sum += e;
  }
  for (let i = 0; i < len; i++) z[i] = (z[i] as number) / sum;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Per-class constant of the logits: b_c − Σ_j w_cj·shift_j. */
function offsets(w: Float64Array, k: number, data: Dataset, out: Float64Array): void {
  const f = data.f;
  const stride = f + 1;
  for (let c = 0; c < k; c++) {
    let b = w[c * stride + f] as number;
    const base = c * stride;
    for (let j = 0; j < f; j++) b -= (w[base + j] as number) * (data.shift[j] as number);
    out[c] = b;
  }
}

/** Logits of every row (n × k). */
export function allLogits(data: Dataset, w: Float64Array, k: number): Float64Array {
  const stride = data.f + 1;
  const off = new Float64Array(k);
  offsets(w, k, data, off);
  const out = new Float64Array(data.n * k);
  for (let i = 0; i < data.n; i++) {
    for (let c = 0; c < k; c++) {
      let z = off[c] as number;
      const base = c * stride;
      for (let e = data.rowPtr[i] as number; e < (data.rowPtr[i + 1] as number); e++) {
        z += (w[base + (data.col[e] as number)] as number) * (data.val[e] as number);
      }
      out[i * k + c] = z;
    }
  }
  return out;
}

/**
 * Trains k-class softmax (mode "softmax", labels: class index per row) or k independent sigmoids
 * (mode "sigmoid", labels: n × k 0/1 targets). Returns weights k × (f + 1).
 */
export function fitLinear(
  data: Dataset,
  k: number,
  mode: 'softmax' | 'sigmoid',
  labels: Int32Array | Float64Array,
  opts: FitOptions,
): Float64Array {
  const { n, f } = data;
  const stride = f + 1;
  const w = opts.init ? Float64Array.from(opts.init) : new Float64Array(k * stride);
  const m = new Float64Array(k * stride);
  const v = new Float64Array(k * stride);
  const g = new Float64Array(k * stride);
  const z = new Float64Array(k);
  const off = new Float64Array(k);
  const dsum = new Float64Array(k);
  const iterations = opts.iterations ?? 300;
  const lr = opts.learningRate ?? 0.05;
  const b1 = 0.9;
  const b2 = 0.999;
  if (n === 0) return w;
  const inv = 1 / n;
  for (let it = 1; it <= iterations; it++) {
    g.fill(0);
    dsum.fill(0);
    offsets(w, k, data, off);
    for (let i = 0; i < n; i++) {
      const r0 = data.rowPtr[i] as number;
      const r1 = data.rowPtr[i + 1] as number;
      for (let c = 0; c < k; c++) {
        let s = off[c] as number;
        const base = c * stride;
        for (let e = r0; e < r1; e++) s += (w[base + (data.col[e] as number)] as number) * (data.val[e] as number);
        z[c] = s;
      }
      if (mode === 'softmax') {
        softmaxInPlace(z, k);
        const y = labels[i] as number;
        z[y] = (z[y] as number) - 1;
      } else {
        for (let c = 0; c < k; c++) z[c] = sigmoid(z[c] as number) - (labels[i * k + c] as number);
      }
      for (let c = 0; c < k; c++) {
        const d = (z[c] as number) * inv;
        if (d === 0) continue;
        dsum[c] = (dsum[c] as number) + d;
        const base = c * stride;
        for (let e = r0; e < r1; e++) {
          const j = base + (data.col[e] as number);
          g[j] = (g[j] as number) + d * (data.val[e] as number);
        }
      }
    }
    // Dense part of the gradient: −shift_j · Σ_i d_ic, and the bias.
    for (let c = 0; c < k; c++) {
      const base = c * stride;
      const ds = dsum[c] as number;
      for (let j = 0; j < f; j++) g[base + j] = (g[base + j] as number) - ds * (data.shift[j] as number);
      g[base + f] = ds;
    }
    const c1 = 1 - b1 ** it;
    const c2 = 1 - b2 ** it;
    for (let idx = 0; idx < w.length; idx++) {
      let gi = g[idx] as number;
      if (idx % stride !== f) gi += opts.lambda * (w[idx] as number);
      const mi = b1 * (m[idx] as number) + (1 - b1) * gi;
      const vi = b2 * (v[idx] as number) + (1 - b2) * gi * gi;
      m[idx] = mi;
      v[idx] = vi;
      w[idx] = (w[idx] as number) - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + 1e-8);
    }
  }
  return w;
}

/** Rows of `data` selected by `idx`, as a new dataset. */
export function subset(data: Dataset, idx: readonly number[]): Dataset {
  let nnz = 0;
  for (const r of idx) nnz += (data.rowPtr[r + 1] as number) - (data.rowPtr[r] as number);
  const rowPtr = new Int32Array(idx.length + 1);
  const col = new Int32Array(nnz);
  const val = new Float64Array(nnz);
  let at = 0;
  idx.forEach((r, i) => {
    const a = data.rowPtr[r] as number;
    const b = data.rowPtr[r + 1] as number;
    col.set(data.col.subarray(a, b), at);
    val.set(data.val.subarray(a, b), at);
    at += b - a;
    rowPtr[i + 1] = at;
  });
  return { n: idx.length, f: data.f, rowPtr, col, val, shift: data.shift };
}

/** Rounds to a fixed number of significant digits (compact, deterministic JSON). */
export function roundSig(x: number, digits = 6): number {
  if (x === 0 || !Number.isFinite(x)) return 0;
  return Number(x.toPrecision(digits));
}
