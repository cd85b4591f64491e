import { type BehaviorEvent, EventType, INTERESTS, LIFE_EVENTS, splitOf } from '@personastream/contracts';
import { runContext } from './behaviour.js';
import type { SimulatorConfig } from './config.js';
import { toBehaviorEvent } from './event-json.js';
import { simulateRawUser } from './run.js';
import { singleValues } from './truth.js';
import type { Persona } from './types.js';

/**
 * A reference learner that checks the benchmark is learnable from behaviour alone: hand-made
 * features over the *visible* event payloads (BehaviorEvent messages, no hidden labels) and one
 * softmax / logistic regression per dimension, trained on the train split and scored (HPR-Bench tag
 * score) on the test split. Not a product model — a floor on what a model can reach.
 */

type Features = Map<string, number>;

const CHEAP = /\b(cheap|deals|discount|on sale|budget|best price|clearance)\b/;
const PREMIUM = /\b(luxury|high end|top rated|designer)\b/;
const RESEARCH = /\b(review|comparison|vs|guide|top 10|reliable)\b/;

function add(f: Features, k: string, v: number): void {
  f.set(k, (f.get(k) ?? 0) + v);
}

/** Features of one user's events (visible payload only). */
export function userFeatures(
  events: BehaviorEvent[],
  startMs: number,
  horizonMs: number,
  leafLogPrice: Map<string, number>,
): Features {
  const f: Features = new Map();
  const seen = new Set<string>();
  const clean: BehaviorEvent[] = [];
  for (const e of events) {
    if (seen.has(e.eventId)) continue;
    seen.add(e.eventId);
    const ua = e.context?.userAgent ?? '';
    if (/bot|python|headless/i.test(ua)) continue;
    if (e.type === EventType.ITEM_VIEW && e.dwellMs < 1500) continue;
    clean.push(e);
  }
  clean.sort((a, b) => a.eventTimeMs - b.eventTimeMs);
  const sessions = new Map<string, { start: number; device: string; channel: string }>();
  let views = 0;
  let carts = 0;
  let purchases = 0;
  let searches = 0;
  let dwellLog = 0;
  let relPriceViews = 0;
  let relPriceN = 0;
  let relPricePurch = 0;
  let relPricePurchN = 0;
  const bins = 6;
  const midBins = new Map<string, Float64Array>();
  const binTotals = new Float64Array(bins);
  const brandByTop = new Map<string, Map<string, number>>();
  for (const e of clean) {
    const sid = e.context?.sessionId ?? '';
    if (!sessions.has(sid))
      sessions.set(sid, { start: e.eventTimeMs, device: e.context?.device ?? '', channel: e.context?.channel ?? '' });
    add(f, `hour:${new Date(e.eventTimeMs).getUTCHours()}`, 1);
    const p = e.properties;
    switch (e.type) {
      case EventType.SEARCH:
        searches++;
        if (p.sort === 'price_asc') add(f, 'search_price_asc', 1);
        if (CHEAP.test(e.query)) add(f, 'query_cheap', 1);
        if (PREMIUM.test(e.query)) add(f, 'query_premium', 1);
        if (RESEARCH.test(e.query)) add(f, 'query_research', 1);
        if (e.query.endsWith(' gift')) add(f, 'query_gift', 1);
        break;
      case EventType.PAGE_VIEW:
        add(f, `page:${p.page ?? ''}`, 1);
        break;
      case EventType.FAVORITE:
        add(f, 'favorites', 1);
        break;
      case EventType.IDENTIFY:
        add(f, 'signup', 1);
        break;
      default:
        break;
    }
    const item = e.item;
    if (!item) continue;
    const path = item.categoryPath;
    const top = path[0] ?? '';
    const mid = `${top}>${path[1] ?? ''}`;
    const leaf = path.join('>');
    const w =
      e.type === EventType.PURCHASE ? 3 : e.type === EventType.ADD_TO_CART ? 2 : e.type === EventType.ITEM_VIEW ? 1 : 0;
    if (w === 0) continue;
    add(f, `top:${top}`, w);
    add(f, `mid:${mid}`, w);
    add(f, `leaf:${leaf}`, w);
    add(f, `brand:${item.brand}`, w);
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((e.eventTimeMs - startMs) / horizonMs) * bins)));
    binTotals[b] = (binTotals[b] as number) + w;
    let mb = midBins.get(mid);
    if (!mb) {
      mb = new Float64Array(bins);
      midBins.set(mid, mb);
    }
    mb[b] = (mb[b] as number) + w;
    const lp = leafLogPrice.get(leaf);
    const rel = lp === undefined ? 0 : Math.log(item.price) - lp;
    if (e.type === EventType.ITEM_VIEW) {
      views++;
      dwellLog += Math.log(1 + e.dwellMs);
      relPriceViews += rel;
      relPriceN++;
      if (p.discount_pct) add(f, 'view_discounted', 1);
      if (p.source) add(f, `source:${p.source}`, 1);
      let bt = brandByTop.get(top);
      if (!bt) {
        bt = new Map();
        brandByTop.set(top, bt);
      }
      bt.set(item.brand, (bt.get(item.brand) ?? 0) + 1);
    } else if (e.type === EventType.ADD_TO_CART) carts++;
    else if (e.type === EventType.PURCHASE) {
      purchases++;
      relPricePurch += rel;
      relPricePurchN++;
      if (p.coupon) add(f, 'coupon', 1);
      if (p.shipping === 'express') add(f, 'express', 1);
      if (p.checkout === 'one_click') add(f, 'one_click', 1);
      if (p.payment === 'buy_now_pay_later') add(f, 'bnpl', 1);
      if (p.gift_wrap) add(f, 'gift_wrap', 1);
    }
  }
  // Normalize counts into shares.
  const total = [...f.entries()].filter(([k]) => k.startsWith('top:')).reduce((s, [, v]) => s + v, 0) || 1;
  const nEvents = clean.length || 1;
  for (const [k, v] of f) {
    if (k.startsWith('top:') || k.startsWith('mid:') || k.startsWith('leaf:') || k.startsWith('brand:'))
      f.set(k, v / total);
    else if (k.startsWith('hour:')) f.set(k, v / nEvents);
    else if (k.startsWith('query_') || k === 'search_price_asc') f.set(k, v / Math.max(1, searches));
    else if (k.startsWith('page:')) f.set(k, v / Math.max(1, sessions.size));
    else if (k === 'view_discounted' || k.startsWith('source:') || k === 'favorites') f.set(k, v / Math.max(1, views));
    else if (['coupon', 'express', 'one_click', 'bnpl', 'gift_wrap'].includes(k)) f.set(k, v / Math.max(1, purchases));
  }
  // Sessions: devices, channels, rate, trend.
  const thirds = [0, 0, 0];
  let first = Number.POSITIVE_INFINITY;
  for (const s of sessions.values()) {
    add(f, `device:${s.device}`, 1 / sessions.size);
    add(f, `channel:${s.channel}`, 1 / sessions.size);
    const u = (s.start - startMs) / horizonMs;
    const th = Math.min(2, Math.max(0, Math.floor(u * 3)));
    thirds[th] = (thirds[th] as number) + 1;
    first = Math.min(first, u);
  }
  if (!Number.isFinite(first)) first = 1;
  const activeWeeks = Math.max(1, ((1 - first) * horizonMs) / (7 * 86_400_000));
  f.set('log_sessions_per_week', Math.log(1 + sessions.size / activeWeeks));
  f.set('log_events', Math.log(1 + clean.length));
  f.set('events_per_session', clean.length / Math.max(1, sessions.size));
  f.set('first_active', first);
  f.set('trend', Math.log(((thirds[2] as number) + 1) / ((thirds[0] as number) + 1)));
  // Slope of weekly sessions over the active weeks, relative to their mean.
  const weeks = Math.max(1, Math.round(horizonMs / (7 * 86_400_000)));
  const perWeek = new Float64Array(weeks);
  for (const s of sessions.values()) {
    const wk = Math.min(weeks - 1, Math.max(0, Math.floor(((s.start - startMs) / horizonMs) * weeks)));
    perWeek[wk] = (perWeek[wk] as number) + 1;
  }
  const w0 = Math.min(weeks - 1, Math.floor(first * weeks));
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  let nw = 0;
  for (let k = w0; k < weeks; k++) {
    const x = (k - w0) / Math.max(1, weeks - 1 - w0);
    const y = perWeek[k] as number;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
    nw++;
  }
  const slope = nw > 1 ? (nw * sxy - sx * sy) / Math.max(1e-9, nw * sxx - sx * sx) : 0;
  f.set('week_slope', slope / Math.max(0.5, sy / Math.max(1, nw)));
  f.set('trend_mid', Math.log(((thirds[1] as number) + 1) / ((thirds[0] as number) + 1)));
  f.set('views_per_purchase', Math.log((1 + views) / (1 + purchases)));
  f.set('carts_per_view', carts / Math.max(1, views));
  f.set('purchases_per_cart', purchases / Math.max(1, carts));
  f.set('searches_per_session', searches / Math.max(1, sessions.size));
  f.set('dwell', views ? dwellLog / views : 0);
  f.set('rel_price_views', relPriceN ? relPriceViews / relPriceN : 0);
  f.set('rel_price_purchases', relPricePurchN ? relPricePurch / relPricePurchN : 0);
  let conc = 0;
  let concN = 0;
  for (const bt of brandByTop.values()) {
    const counts = [...bt.values()];
    const s = counts.reduce((a, b) => a + b, 0);
    if (s < 3) continue;
    conc += Math.max(...counts) / s;
    concN++;
  }
  f.set('brand_concentration', concN ? conc / concN : 0);
  // Category shifts over time (life events): best step increase of each mid category's share.
  for (const [mid, mb] of midBins) {
    let best = 0;
    for (let split = 1; split < bins; split++) {
      let bs = 0;
      let bt = 0;
      let as = 0;
      let at = 0;
      for (let k = 0; k < bins; k++) {
        if (k < split) {
          bs += mb[k] as number;
          bt += binTotals[k] as number;
        } else {
          as += mb[k] as number;
          at += binTotals[k] as number;
        }
      }
      if (bt < 5 || at < 5) continue;
      best = Math.max(best, as / at - bs / bt);
    }
    f.set(`shift:${mid}`, best);
  }
  return f;
}

/** Softmax regression by full-batch gradient descent (Adam), L2-regularized. */
function trainSoftmax(
  x: Float64Array[],
  y: number[],
  classes: number,
  dims: number,
  iters = 120,
  l2 = 0.003,
): Float64Array {
  const w = new Float64Array(classes * (dims + 1));
  const m = new Float64Array(w.length);
  const v = new Float64Array(w.length);
  const n = x.length;
  const grad = new Float64Array(w.length);
  const z = new Float64Array(classes);
  const lr = 0.08;
  for (let it = 1; it <= iters; it++) {
    grad.fill(0);
    for (let i = 0; i < n; i++) {
      const xi = x[i] as Float64Array;
      let max = -Infinity;
      for (let c = 0; c < classes; c++) {
        let s = w[c * (dims + 1) + dims] as number;
        const off = c * (dims + 1);
        for (let d = 0; d < dims; d++) s += (w[off + d] as number) * (xi[d] as number);
        z[c] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let c = 0; c < classes; c++) {
        z[c] = Math.exp((z[c] as number) - max);
        sum += z[c] as number;
      }
      for (let c = 0; c < classes; c++) {
        const g = (z[c] as number) / sum - (y[i] === c ? 1 : 0);
        const off = c * (dims + 1);
        for (let d = 0; d < dims; d++) grad[off + d] = (grad[off + d] as number) + g * (xi[d] as number);
        grad[off + dims] = (grad[off + dims] as number) + g;
      }
    }
    for (let k = 0; k < w.length; k++) {
      const g = (grad[k] as number) / n + l2 * (w[k] as number);
      m[k] = 0.9 * (m[k] as number) + 0.1 * g;
      v[k] = 0.999 * (v[k] as number) + 0.001 * g * g;
      const mh = (m[k] as number) / (1 - 0.9 ** it);
      const vh = (v[k] as number) / (1 - 0.999 ** it);
      w[k] = (w[k] as number) - (lr * mh) / (Math.sqrt(vh) + 1e-8);
    }
  }
  return w;
}

function predictProbs(w: Float64Array, xi: Float64Array, classes: number, dims: number): number[] {
  const z: number[] = [];
  let max = -Infinity;
  for (let c = 0; c < classes; c++) {
    let s = w[c * (dims + 1) + dims] as number;
    for (let d = 0; d < dims; d++) s += (w[c * (dims + 1) + d] as number) * (xi[d] as number);
    z.push(s);
    max = Math.max(max, s);
  }
  const e = z.map((s) => Math.exp(s - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

export interface LearnabilityReport {
  trainUsers: number;
  testUsers: number;
  features: number;
  tagScore: number;
  perDimension: Record<string, number>;
}

/** Trains and scores the reference learner on a run; returns the test-split tag score. */
export function referenceLearnerScore(config: SimulatorConfig): LearnabilityReport {
  const ctx = runContext(config);
  const users: Array<{ persona: Persona; events: BehaviorEvent[]; split: string }> = [];
  const leafSum = new Map<string, { s: number; n: number }>();
  for (let i = 0; i < config.users; i++) {
    const raw = simulateRawUser(ctx, i);
    const events = raw.behaviour.events.map((e) => toBehaviorEvent(ctx.catalogue, raw.json, e));
    const split = splitOf(raw.persona.userId);
    users.push({ persona: raw.persona, events, split });
    if (split !== 'train') continue;
    for (const e of events) {
      if (e.type !== EventType.ITEM_VIEW || !e.item) continue;
      const k = e.item.categoryPath.join('>');
      const r = leafSum.get(k) ?? { s: 0, n: 0 };
      r.s += Math.log(e.item.price);
      r.n++;
      leafSum.set(k, r);
    }
  }
  const leafLogPrice = new Map([...leafSum].map(([k, r]) => [k, r.s / r.n]));
  const horizonMs = config.horizonDays * 86_400_000;
  const feats = users.map((u) => userFeatures(u.events, config.startTimeMs, horizonMs, leafLogPrice));
  // Vocabulary: features present for ≥ 3 % of train users.
  const df = new Map<string, number>();
  users.forEach((u, i) => {
    if (u.split !== 'train') return;
    for (const k of (feats[i] as Features).keys()) df.set(k, (df.get(k) ?? 0) + 1);
  });
  const nTrain = users.filter((u) => u.split === 'train').length;
  const vocab = [...df]
    .filter(([k, c]) => c >= 0.05 * nTrain && !k.startsWith('brand:'))
    .map(([k]) => k)
    .sort();
  const dims = vocab.length;
  const index = new Map(vocab.map((k, i) => [k, i]));
  const xs = feats.map((f) => {
    const x = new Float64Array(dims);
    for (const [k, v] of f) {
      const j = index.get(k);
      if (j !== undefined) x[j] = v;
    }
    return x;
  });
  // Standardize on train.
  const mean = new Float64Array(dims);
  const sd = new Float64Array(dims);
  xs.forEach((x, i) => {
    if (users[i]?.split !== 'train') return;
    for (let d = 0; d < dims; d++) mean[d] = (mean[d] as number) + (x[d] as number) / nTrain;
  });
  xs.forEach((x, i) => {
    if (users[i]?.split !== 'train') return;
    for (let d = 0; d < dims; d++) sd[d] = (sd[d] as number) + ((x[d] as number) - (mean[d] as number)) ** 2 / nTrain;
  });
  for (const x of xs)
    for (let d = 0; d < dims; d++)
      x[d] = ((x[d] as number) - (mean[d] as number)) / (Math.sqrt(sd[d] as number) + 1e-6);
  const trainIdx = users.map((u, i) => (u.split === 'train' ? i : -1)).filter((i) => i >= 0);
  const testIdx = users.map((u, i) => (u.split === 'test' ? i : -1)).filter((i) => i >= 0);
  const xTrain = trainIdx.map((i) => xs[i] as Float64Array);
  const perDimension: Record<string, number> = {};
  const scores = testIdx.map(() => [] as number[]);

  // Single-valued dimensions.
  const singleNames = singleValues(users[0]?.persona as Persona).map(([d]) => d);
  singleNames.forEach((dim, di) => {
    const values = [...new Set(users.map((u) => singleValues(u.persona)[di]?.[1] as string))].sort();
    const y = trainIdx.map((i) =>
      values.indexOf(singleValues((users[i] as { persona: Persona }).persona)[di]?.[1] as string),
    );
    const w = trainSoftmax(xTrain, y, values.length, dims);
    let correct = 0;
    testIdx.forEach((i, t) => {
      const probs = predictProbs(w, xs[i] as Float64Array, values.length, dims);
      const pred = values[probs.indexOf(Math.max(...probs))];
      const ok = pred === singleValues((users[i] as { persona: Persona }).persona)[di]?.[1] ? 1 : 0;
      correct += ok;
      scores[t]?.push(ok);
    });
    perDimension[dim] = correct / Math.max(1, testIdx.length);
  });

  // Multi-valued dimensions: one binary model per value.
  const multi = (dim: string, values: readonly string[], truth: (p: Persona) => string[], min: number, max: number) => {
    const probs = testIdx.map(() => [] as number[]);
    for (const v of values) {
      const y = trainIdx.map((i) => (truth((users[i] as { persona: Persona }).persona).includes(v) ? 1 : 0));
      const w = trainSoftmax(xTrain, y, 2, dims);
      testIdx.forEach((i, t) => {
        probs[t]?.push(predictProbs(w, xs[i] as Float64Array, 2, dims)[1] as number);
      });
    }
    let sum = 0;
    testIdx.forEach((i, t) => {
      const pr = probs[t] as number[];
      const order = values.map((v, k) => [v, pr[k] as number] as const).sort((a, b) => b[1] - a[1]);
      let pred = order.filter(([, p]) => p > 0.5).map(([v]) => v);
      if (pred.length < min) pred = order.slice(0, min).map(([v]) => v);
      pred = pred.slice(0, max);
      const truthSet = new Set(truth((users[i] as { persona: Persona }).persona));
      const inter = pred.filter((v) => truthSet.has(v)).length;
      const union = new Set([...pred, ...truthSet]).size;
      const j = union === 0 ? 1 : inter / union;
      sum += j;
      scores[t]?.push(j);
    });
    perDimension[dim] = sum / Math.max(1, testIdx.length);
  };
  multi('interests', INTERESTS, (p) => p.interests, 1, 5);
  multi('life_events', LIFE_EVENTS, (p) => p.lifeEvents.map((e) => e.kind), 0, 2);

  const tagScore =
    scores.reduce((s, xs) => s + xs.reduce((a, b) => a + b, 0) / xs.length, 0) / Math.max(1, scores.length);
  return { trainUsers: trainIdx.length, testUsers: testIdx.length, features: dims, tagScore, perDimension };
}
