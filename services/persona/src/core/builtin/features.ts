import { type CategoryStats, type FeatureStats, spanDays } from '../stats.js';

/**
 * Features of the builtin model: named, computed from the sufficient statistics only (normalized
 * shares, log counts, ratios, recent-vs-long-term contrasts). The model's vocabulary (which names it
 * knows) comes from training; unknown names are ignored, missing ones are 0.
 */
export type FeatureMap = Map<string, number>;

/** Where features are written: a Map, or a model's sparse vector builder (no intermediate Map). */
export interface FeatureSink {
  set(name: string, value: number): unknown;
  /**
   * Optional: a setter of the features `prefix:key` of one prefix, so a sink that knows its
   * vocabulary looks keys up directly instead of concatenating names (same effect as
   * `set(fname(prefix, key), value)`, in the same order).
   */
  keyed?(prefix: string): KeyedSetter;
}

/** Sets the feature `prefix:key` of the prefix it was made for. */
export type KeyedSetter = (key: string, value: number) => void;

/** The sink's setter of `prefix:key` features (a name-concatenating one for a plain Map). */
function keyed(f: FeatureSink, prefix: string): KeyedSetter {
  return (
    f.keyed?.(prefix) ??
    ((key, value) => {
      f.set(fname(prefix, key), value);
    })
  );
}

/** `prefix:0` … `prefix:n-1` (fixed positional feature names). */
function indexedNames(prefix: string, n: number): readonly string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}:${i}`);
}
const HOUR = indexedNames('hour', 24);
const HBIN = indexedNames('hbin', 6);
const HBIN_SHIFT = indexedNames('hbinShift', 6);
const QUARTER = indexedNames('quarter', 4);
const FUNNEL = indexedNames('funnel', 5);

const LN2 = Math.log(2);

function total(map: Record<string, number>): number {
  let t = 0;
  for (const k in map) t += map[k] as number;
  return t;
}

/** Interned feature names (`prefix:key`), so hot paths do not concatenate strings. */
const names = new Map<string, Map<string, string>>();
export function fname(prefix: string, key: string): string {
  let m = names.get(prefix);
  if (!m) {
    m = new Map();
    names.set(prefix, m);
  }
  let n = m.get(key);
  if (n === undefined) {
    n = `${prefix}:${key}`;
    if (m.size < 50_000) m.set(key, n);
  }
  return n;
}

function shares(out: FeatureSink, prefix: string, map: Record<string, number>): void {
  const t = total(map);
  if (t <= 0) return;
  const set = keyed(out, prefix);
  for (const k in map) {
    const v = map[k] as number;
    if (v > 0) set(k, v / t);
  }
}

/** Expected recent (decayed) count for a constant rate over the span, relative to the long-term count. */
function recentRatio(recent: number, longTerm: number, span: number, halfLife: number): number {
  if (longTerm <= 0) return 0;
  const horizon = (halfLife / LN2) * (1 - 2 ** (-span / halfLife));
  const expected = (longTerm / span) * horizon;
  return Math.log((recent + 0.5) / (expected + 0.5));
}

/** Activity over the user's history: trend and quarter shares of windows per time bucket. */
function bucketFeatures(s: FeatureStats, f: FeatureSink): void {
  const firstB = Math.floor(Math.max(0, (s.firstMs - s.originMs) / 86_400_000) / s.bucketDays);
  const lastB = Math.min(s.buckets.length - 1, Math.floor((s.lastMs - s.originMs) / 86_400_000 / s.bucketDays));
  const len = lastB - firstB + 1;
  if (len < 2) return;
  let total = 0;
  let active = 0;
  let sx = 0;
  let sxy = 0;
  let sxx = 0;
  const q = [0, 0, 0, 0];
  for (let b = firstB; b <= lastB; b++) {
    const y = s.buckets[b] ?? 0;
    const x = (b - firstB) / (len - 1);
    total += y;
    if (y > 0) active++;
    sx += x;
    sxy += x * y;
    sxx += x * x;
    const qi = Math.min(3, Math.floor(((b - firstB) / len) * 4));
    q[qi] = (q[qi] ?? 0) + y;
  }
  if (total <= 0) return;
  const mean = total / len;
  const mx = sx / len;
  const slope = (sxy / len - mx * mean) / Math.max(1e-9, sxx / len - mx * mx);
  f.set('activity_trend', slope / mean);
  f.set('active_bucket_share', active / len);
  for (let i = 0; i < 4; i++) f.set(QUARTER[i] as string, (q[i] ?? 0) / total);
  f.set('last_bucket_ratio', Math.log(((s.buckets[lastB] ?? 0) + 0.5) / (mean + 0.5)));
  // A burst right after the first activity (new users explore, then settle).
  f.set('first_bucket_ratio', Math.log(((s.buckets[firstB] ?? 0) + 0.5) / (mean + 0.5)));
  // Activity at its peak (engagement at full activity, whatever the trend): windows per week in the
  // busiest bucket and in the busiest quarter of the history.
  let peak = 0;
  for (let b = firstB; b <= lastB; b++) peak = Math.max(peak, s.buckets[b] ?? 0);
  f.set('peak_windows_per_week', Math.log1p((peak / s.bucketDays) * 7));
  const quarterDays = (len * s.bucketDays) / 4;
  f.set('peak_quarter_windows_per_week', Math.log1p((Math.max(...q) / quarterDays) * 7));
}

/** Which feature groups to write. */
export interface FeatureOptions {
  /**
   * Item-code features (`item:`). Off for a user of a tenant whose item ids the model was not
   * trained on: item codes mean something only within one catalogue. Default true.
   */
  items?: boolean;
}

/** Computes the feature map of a user's statistics. */
export function extractFeatures(s: FeatureStats, opts: FeatureOptions = {}): FeatureMap {
  const f: FeatureMap = new Map();
  writeFeatures(s, f, opts);
  return f;
}

/** Writes the features of a user's statistics into `f`. */
export function writeFeatures(s: FeatureStats, f: FeatureSink, opts: FeatureOptions = {}): void {
  if (s.windows === 0) return;
  const span = spanDays(s);
  const H = s.halfLifeDays;

  // Volume and rhythm.
  f.set('log_windows', Math.log1p(s.windows));
  f.set('log_events', Math.log1p(s.events));
  f.set('events_per_window', Math.log1p(s.events / s.windows));
  f.set('log_span_days', Math.log1p(span));
  f.set('windows_per_week', Math.log1p((s.windows / span) * 7));
  f.set('events_per_week', Math.log1p((s.events / span) * 7));
  f.set('recent_window_ratio', recentRatio(s.recentWindows, s.windows, span, H));
  f.set('recent_event_ratio', recentRatio(s.recentEvents, s.events, span, H));
  // Where the activity sits in the user's history: 0.5 = even, > 0.5 later (growing), < 0.5 earlier.
  const spanMs = Math.max(1, s.lastMs - s.firstMs);
  const meanDay = s.wT / s.windows;
  const meanPos = (s.originMs + meanDay * 86_400_000 - s.firstMs) / spanMs;
  f.set('window_time_pos', meanPos - 0.5);
  const varDay = Math.max(0, s.wT2 / s.windows - meanDay * meanDay);
  f.set('window_time_std', Math.sqrt(varDay) / Math.max(1, spanMs / 86_400_000));

  // Actions and funnel ratios.
  const actionTotal = total(s.actions);
  shares(f, 'act', s.actions);
  shares(f, 'actR', s.recentActions);
  const a = (k: string) => s.actions[k] ?? 0;
  const views = a('view') + a('item_view');
  const purchases = a('purchase');
  const carts = a('cart') + a('add_to_cart');
  const searches = a('search');
  f.set('ratio_purchase_view', Math.log((purchases + 1) / (views + 1)));
  f.set('ratio_cart_view', Math.log((carts + 1) / (views + 1)));
  f.set('ratio_search_view', Math.log((searches + 1) / (views + 1)));
  f.set('ratio_purchase_cart', Math.log((purchases + 1) / (carts + 1)));
  f.set('ratio_purchase_window', Math.log((purchases + 1) / (s.windows + 1)));
  f.set('log_actions', Math.log1p(actionTotal));
  for (let d = 0; d < 5; d++) f.set(FUNNEL[d] as string, (s.funnel[d] ?? 0) / s.windows);

  // Categories: long-term, recent, purchases, contrast, timing.
  let catTotal = 0;
  let catRecent = 0;
  let catPurch = 0;
  for (const name in s.cats) {
    const c = s.cats[name] as CategoryStats;
    catTotal += c.n;
    catRecent += c.r;
    catPurch += c.p;
  }
  const overallMean = meanDay;
  const cat = keyed(f, 'cat');
  const catR = keyed(f, 'catR');
  const catP = keyed(f, 'catP');
  const catW = keyed(f, 'catW');
  const catShift = keyed(f, 'catShift');
  const catLate = keyed(f, 'catLate');
  const catBurst = keyed(f, 'catBurst');
  const catFirst = keyed(f, 'catFirst');
  for (const name in s.cats) {
    const c = s.cats[name] as CategoryStats;
    if (c.n <= 0) continue;
    const lt = c.n / Math.max(1, catTotal);
    const rc = catRecent > 0 ? c.r / catRecent : 0;
    cat(name, lt);
    catR(name, rc);
    if (catPurch > 0) catP(name, c.p / catPurch);
    catW(name, c.w / s.windows);
    catShift(name, rc - lt);
    // Later-than-average activity (days over the span): positive for a category that took off late.
    catLate(name, (c.t / c.n - overallMean) / Math.max(1, span));
    // Fraction of the history since the category's current burst began.
    catBurst(name, (s.lastMs - c.burst) / spanMs);
    catFirst(name, (c.first - s.firstMs) / spanMs);
  }
  shares(f, 'path', s.paths);
  // Paths that took off late in the history (life events bring new sub-categories).
  const pathLate = keyed(f, 'pathLate');
  const pathFirst = keyed(f, 'pathFirst');
  for (const k in s.paths) {
    const n = s.paths[k] as number;
    if (n <= 0) continue;
    pathLate(k, ((s.pathT[k] ?? 0) / n - overallMean) / Math.max(1, span));
    const first = s.pathFirst[k];
    if (first !== undefined) pathFirst(k, (s.originMs + first * 86_400_000 - s.firstMs) / spanMs);
  }
  bucketFeatures(s, f);

  // Price tiers, spend.
  shares(f, 'tier', s.tiers);
  shares(f, 'tierR', s.recentTiers);
  f.set('log_spend_per_purchase', Math.log1p(s.spend / Math.max(1, purchases)));
  f.set('log_spend_per_week', Math.log1p((s.spend / span) * 7));
  f.set('recent_spend_ratio', recentRatio(s.recentSpend, s.spend, span, H));

  // Hours (UTC): shares, 4-hour bins, circular mean and concentration.
  const hourTotal = s.hours.reduce((x, y) => x + y, 0);
  if (hourTotal > 0) {
    let sx = 0;
    let sy = 0;
    let entropy = 0;
    for (let h = 0; h < 24; h++) {
      const p = (s.hours[h] ?? 0) / hourTotal;
      f.set(HOUR[h] as string, p);
      const ang = (2 * Math.PI * (h + 0.5)) / 24;
      sx += p * Math.cos(ang);
      sy += p * Math.sin(ang);
      if (p > 0) entropy -= p * Math.log(p);
    }
    for (let b = 0; b < 6; b++) {
      let p = 0;
      for (let h = b * 4; h < b * 4 + 4; h++) p += (s.hours[h] ?? 0) / hourTotal;
      f.set(HBIN[b] as string, p);
    }
    f.set('hour_cos', sx);
    f.set('hour_sin', sy);
    f.set('hour_entropy', entropy);
  }
  const recentHourTotal = s.recentHours.reduce((x, y) => x + y, 0);
  if (recentHourTotal > 0 && hourTotal > 0) {
    for (let b = 0; b < 6; b++) {
      let p = 0;
      let q = 0;
      for (let h = b * 4; h < b * 4 + 4; h++) {
        p += (s.recentHours[h] ?? 0) / recentHourTotal;
        q += (s.hours[h] ?? 0) / hourTotal;
      }
      f.set(HBIN_SHIFT[b] as string, p - q);
    }
  }

  // Devices.
  shares(f, 'dev', s.devices);
  shares(f, 'devR', s.recentDevices);

  // Brands.
  if (s.brandMentions > 0) {
    f.set('brand_repeat', s.brandRepeats / s.brandMentions);
    let top = 0;
    let distinct = 0;
    for (const k in s.brands) {
      top = Math.max(top, s.brands[k] as number);
      distinct++;
    }
    f.set('brand_top_share', top / s.brandMentions);
    f.set('brand_distinct', distinct / s.brandMentions);
  }
  f.set('brands_per_window', Math.log1p(s.brandMentions / s.windows));
  // Which brands (brands differ in price tier and in the age of their shoppers).
  shares(f, 'brand', s.brands);

  // Search intents, dwell, notable events, dropped noise.
  shares(f, 'intent', s.intents);
  f.set('intents_per_window', Math.log1p(total(s.intents) / s.windows));
  f.set('dwell_per_event_s', Math.log1p(s.dwellMs / Math.max(1, s.events) / 1000));
  const notable = keyed(f, 'notable');
  for (const k in s.notable) notable(k, Math.log1p(s.notable[k] as number) / Math.log1p(s.windows));
  const dropped = keyed(f, 'dropped');
  for (const k in s.dropped) dropped(k, Math.log1p((s.dropped[k] as number) / s.windows));
  signalFeatures(s, f, { views, purchases, searches });
  interestFeatures(s, f);
  if (opts.items !== false && s.items) shares(f, ITEM_PREFIX, s.items);
}

/**
 * Prefix of the item-code features: `item:<code>` = the share of the user's item mentions that name
 * the code (which items, where the category features say which categories).
 */
export const ITEM_PREFIX = 'item';

/**
 * Interests by the semantizer's taxonomy mapper: long-term shares (`int:`), recent shares (`intR:`)
 * and events per window (`intRate:`). They name the schema's interests, not the platform's category
 * names, so they mean the same on any catalogue (the `cat:` features only know the categories the
 * model was trained on).
 */
function interestFeatures(s: FeatureStats, f: FeatureSink): void {
  const ints = s.interests;
  if (!ints) return;
  shares(f, 'int', ints);
  if (s.recentInterests) shares(f, 'intR', s.recentInterests);
  const rate = keyed(f, 'intRate');
  for (const k in ints) {
    const n = ints[k] as number;
    if (n > 0) rate(k, Math.log1p(n / s.windows));
  }
}

/**
 * What each behaviour signal is a rate of: discounted views among views, cheapest-first sorting among
 * searches, checkout choices among purchases; the rest per window.
 */
const SIGNAL_BASE: Readonly<Record<string, 'views' | 'searches' | 'purchases'>> = {
  sale_view: 'views',
  price_sort: 'searches',
  coupon: 'purchases',
  express: 'purchases',
  one_click: 'purchases',
  pay_later: 'purchases',
  gift_wrap: 'purchases',
};

/** Behaviour signals: smoothed rate against their base (`sig:`), windows carrying them (`sigW:`), presence (`sigAny:`). */
function signalFeatures(
  s: FeatureStats,
  f: FeatureSink,
  base: { views: number; purchases: number; searches: number },
): void {
  const sig = s.signals;
  if (!sig) return;
  const sw = s.signalWindows ?? {};
  const rate = keyed(f, 'sig');
  const windows = keyed(f, 'sigW');
  const any = keyed(f, 'sigAny');
  for (const k in sig) {
    const n = sig[k] as number;
    if (n <= 0) continue;
    const b = SIGNAL_BASE[k];
    rate(k, b === undefined ? n / s.windows : n / (base[b] + 1));
    windows(k, (sw[k] ?? 0) / s.windows);
    any(k, 1);
  }
}

/** Feature names that refer to one category, and the category they name ("catShift:Baby" → "Baby"). */
export function featureCategory(name: string): string | undefined {
  const i = name.indexOf(':');
  if (i < 0) return undefined;
  const prefix = name.slice(0, i);
  if (prefix.startsWith('cat')) return name.slice(i + 1);
  if (prefix === 'path') {
    const rest = name.slice(i + 1);
    const j = rest.indexOf(' > ');
    return j < 0 ? rest : rest.slice(0, j);
  }
  return undefined;
}
