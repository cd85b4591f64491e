import { INTERESTS, itemCodeText, type SemantizedWindow } from '@personastream/contracts';

/** Interest names a window may count (others are ignored: the map stays bounded by the schema). */
const INTEREST_SET: ReadonlySet<string> = new Set(INTERESTS);

/**
 * Decayed sufficient statistics of one user's behaviour: everything a model needs, folded window by
 * window. Two horizons are kept side by side: long-term (undecayed totals) and recent (exponentially
 * decayed with `halfLifeDays` in event time), so a persona can contrast recent shifts with long-term
 * habits. Times inside are days relative to `originMs` (the first window seen) to keep numbers small.
 *
 * Plain JSON (stored as is in Redis); version field `v` for future migrations.
 */
export interface FeatureStats {
  v: 1;
  halfLifeDays: number;
  /** Event time of the first window seen, epoch ms (origin of the day offsets). */
  originMs: number;
  /** Earliest / latest event time seen, epoch ms. */
  firstMs: number;
  lastMs: number;
  /** Reference time of the recent (decayed) values: they are as of this instant, epoch ms. */
  refMs: number;
  windows: number;
  events: number;
  /** Decayed window / event counts (recent horizon). */
  recentWindows: number;
  recentEvents: number;
  /** Sum and sum of squares of window start offsets (days), for the time profile of activity. */
  wT: number;
  wT2: number;
  /** Long-term / recent action counts by action name ("view", "purchase", …). */
  actions: Record<string, number>;
  recentActions: Record<string, number>;
  /** Per top-level category. */
  cats: Record<string, CategoryStats>;
  /** Per category path as the windows give it (e.g. "Top > Mid"), long-term counts (bounded). */
  paths: Record<string, number>;
  /** Per path: count-weighted sum of window start offsets (days) and first offset (days). */
  pathT: Record<string, number>;
  pathFirst: Record<string, number>;
  /** Windows per time bucket since `originMs` (bucket width `bucketDays`, doubled when it fills). */
  buckets: number[];
  bucketDays: number;
  /** Purchases/views by relative price tier. */
  tiers: Record<string, number>;
  recentTiers: Record<string, number>;
  /** Events by hour of day (UTC), long-term and recent. */
  hours: number[];
  recentHours: number[];
  devices: Record<string, number>;
  recentDevices: Record<string, number>;
  /** Brand mentions (bounded); repeat = a window mentions a brand already seen before. */
  brands: Record<string, number>;
  brandMentions: number;
  brandRepeats: number;
  /** Search intents (bounded). */
  intents: Record<string, number>;
  spend: number;
  recentSpend: number;
  dwellMs: number;
  /** Windows by deepest funnel step (index 0..4). */
  funnel: number[];
  /** Notable events by kind. */
  notable: Record<string, number>;
  /** Dropped (noise) events by reason. */
  dropped: Record<string, number>;
  /** Latest windows applied (evidence of time-of-day/device/engagement tags), newest last. */
  lastWindows: string[];
  /**
   * Behaviour signals by name (`SemantizedWindow.signals`: coupon, express, price_sort, signup, …),
   * long-term counts, and the windows carrying each. Absent in statistics stored before signals existed.
   */
  signals?: Record<string, number>;
  signalWindows?: Record<string, number>;
  /**
   * Events per interest by the semantizer's taxonomy mapper (`SemantizedWindow.interests`), long-term
   * and recent (decayed like the category counts), and engaged events whose category the mapper did
   * not recognize (`SemantizedWindow.unmapped`). Absent in statistics stored before interests existed.
   */
  interests?: Record<string, number>;
  recentInterests?: Record<string, number>;
  unmapped?: number;
  /**
   * Item codes (`SemantizedWindow.items`, in their two-character text form) → windows that named
   * them among their most engaged items (bounded: the `MAX_ITEMS` most frequent). Absent until the
   * first window with item codes (and in statistics stored before item codes existed).
   */
  items?: Record<string, number>;
}

export interface CategoryStats {
  /** Long-term action count. */
  n: number;
  /** Recent (decayed) action count. */
  r: number;
  /** Long-term purchases. */
  p: number;
  /** Windows touching the category. */
  w: number;
  /** Sum and sum of squares of window start offsets (days), weighted by action count. */
  t: number;
  t2: number;
  /** First / last event time with this category, epoch ms. */
  first: number;
  last: number;
  /** Start of the first window of the current activity burst, epoch ms (see `updateStats`). */
  burst: number;
  /** Latest windows touching the category, newest last (at most 3). */
  ids: string[];
}

export interface StatsOptions {
  /** Half-life of the recent horizon, days of event time. Default 14. */
  halfLifeDays?: number;
}

const DAY_MS = 86_400_000;
const MAX_BRANDS = 48;
const MAX_INTENTS = 48;
const MAX_PATHS = 96;
/** Item codes kept per user (the most frequent; a long history's tail of one-off items is dropped). */
export const MAX_ITEMS = 128;
const LAST_WINDOWS = 5;
const CAT_IDS = 3;
/** A category whose recent count fell below this is dormant; its next window starts a new burst. */
const DORMANT = 0.5;

export function emptyStats(opts: StatsOptions = {}): FeatureStats {
  return {
    v: 1,
    halfLifeDays: opts.halfLifeDays ?? 14,
    originMs: 0,
    firstMs: 0,
    lastMs: 0,
    refMs: 0,
    windows: 0,
    events: 0,
    recentWindows: 0,
    recentEvents: 0,
    wT: 0,
    wT2: 0,
    actions: {},
    recentActions: {},
    cats: {},
    paths: {},
    pathT: {},
    pathFirst: {},
    buckets: [],
    bucketDays: 7,
    tiers: {},
    recentTiers: {},
    hours: new Array<number>(24).fill(0),
    recentHours: new Array<number>(24).fill(0),
    devices: {},
    recentDevices: {},
    brands: {},
    brandMentions: 0,
    brandRepeats: 0,
    intents: {},
    spend: 0,
    recentSpend: 0,
    dwellMs: 0,
    funnel: [0, 0, 0, 0, 0],
    notable: {},
    dropped: {},
    lastWindows: [],
    signals: {},
    signalWindows: {},
    interests: {},
    recentInterests: {},
    unmapped: 0,
  };
}

/** Top-level category of an action's category path ("Sports > Running" → "Sports"). */
export function topCategory(category: string): string {
  const i = category.indexOf(' > ');
  return (i < 0 ? category : category.slice(0, i)).trim();
}

function add(map: Record<string, number>, key: string, n: number): void {
  map[key] = (map[key] ?? 0) + n;
}

/** `add`, telling whether the key is new (a bounded map can only outgrow its bound then). */
function addKey(map: Record<string, number>, key: string, n: number): boolean {
  const old = map[key];
  map[key] = (old ?? 0) + n;
  return old === undefined;
}

function scaleMap(map: Record<string, number>, f: number): void {
  for (const k in map) map[k] = (map[k] ?? 0) * f;
}

/** Copy of a counts map (for-in: cheaper than a spread on these many-keyed objects; same key order). */
function copyMap(map: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k in map) out[k] = map[k] as number;
  return out;
}

function copyCategory(c: CategoryStats): CategoryStats {
  return {
    n: c.n,
    r: c.r,
    p: c.p,
    w: c.w,
    t: c.t,
    t2: c.t2,
    first: c.first,
    last: c.last,
    burst: c.burst,
    ids: c.ids.slice(),
  };
}

/** Keeps the `max` largest entries (ties broken by key, so the result is deterministic); true if it evicted. */
function cap(map: Record<string, number>, max: number): boolean {
  const keys = Object.keys(map);
  if (keys.length <= max) return false;
  keys.sort((a, b) => (map[b] ?? 0) - (map[a] ?? 0) || (a < b ? -1 : 1));
  for (const k of keys.slice(max)) delete map[k];
  return true;
}

const MAX_BUCKETS = 64;

/** Counts a window in its time bucket; halves the resolution when the history outgrows the buckets. */
function addToBucket(s: FeatureStats, day: number): void {
  let b = Math.floor(day / s.bucketDays);
  while (b >= MAX_BUCKETS) {
    const merged: number[] = [];
    for (let i = 0; i < s.buckets.length; i += 2) merged.push((s.buckets[i] ?? 0) + (s.buckets[i + 1] ?? 0));
    s.buckets = merged;
    s.bucketDays *= 2;
    b = Math.floor(day / s.bucketDays);
  }
  while (s.buckets.length <= b) s.buckets.push(0);
  s.buckets[b] = (s.buckets[b] ?? 0) + 1;
}

function pushBounded(list: string[], id: string, max: number): void {
  const at = list.indexOf(id);
  if (at >= 0) list.splice(at, 1);
  list.push(id);
  if (list.length > max) list.splice(0, list.length - max);
}

/** Deep copy (hand-written: several times faster than structuredClone on this shape). */
export function cloneStats(s: FeatureStats): FeatureStats {
  const cats: Record<string, CategoryStats> = {};
  for (const k in s.cats) cats[k] = copyCategory(s.cats[k] as CategoryStats);
  return {
    ...s,
    actions: copyMap(s.actions),
    recentActions: copyMap(s.recentActions),
    cats,
    paths: copyMap(s.paths),
    pathT: copyMap(s.pathT),
    pathFirst: copyMap(s.pathFirst),
    buckets: s.buckets.slice(),
    tiers: copyMap(s.tiers),
    recentTiers: copyMap(s.recentTiers),
    hours: s.hours.slice(),
    recentHours: s.recentHours.slice(),
    devices: copyMap(s.devices),
    recentDevices: copyMap(s.recentDevices),
    brands: copyMap(s.brands),
    intents: copyMap(s.intents),
    funnel: s.funnel.slice(),
    notable: copyMap(s.notable),
    dropped: copyMap(s.dropped),
    lastWindows: s.lastWindows.slice(),
    signals: { ...s.signals },
    signalWindows: { ...s.signalWindows },
    interests: { ...s.interests },
    recentInterests: { ...s.recentInterests },
    unmapped: s.unmapped ?? 0,
    ...(s.items ? { items: { ...s.items } } : {}),
  };
}

/**
 * Folds one window into the statistics (mutates and returns `s`). Windows may arrive late: a window
 * older than `refMs` is added with its decay weight instead of decaying everything else, so the
 * result does not depend on arrival order (up to the bounded maps).
 */
export function updateStats(s: FeatureStats, w: SemantizedWindow): FeatureStats {
  const t = w.startMs || w.endMs;
  if (s.windows === 0) {
    s.originMs = t;
    s.firstMs = t;
    s.lastMs = w.endMs || t;
    s.refMs = t;
  }
  const H = s.halfLifeDays;
  // Weight of this window on the recent horizon, after moving the reference forward if it is newer.
  let rw = 1;
  if (t > s.refMs) {
    const f = 2 ** (-(t - s.refMs) / DAY_MS / H);
    s.recentWindows *= f;
    s.recentEvents *= f;
    s.recentSpend *= f;
    scaleMap(s.recentActions, f);
    scaleMap(s.recentTiers, f);
    scaleMap(s.recentDevices, f);
    for (let h = 0; h < 24; h++) s.recentHours[h] = (s.recentHours[h] ?? 0) * f;
    for (const k in s.cats) (s.cats[k] as CategoryStats).r *= f;
    if (s.recentInterests) scaleMap(s.recentInterests, f);
    s.refMs = t;
  } else if (t < s.refMs) {
    rw = 2 ** (-(s.refMs - t) / DAY_MS / H);
  }
  s.firstMs = Math.min(s.firstMs, t);
  s.lastMs = Math.max(s.lastMs, w.endMs || t);

  const day = (t - s.originMs) / DAY_MS;
  s.windows += 1;
  s.events += w.eventCount;
  s.recentWindows += rw;
  s.recentEvents += rw * w.eventCount;
  s.wT += day;
  s.wT2 += day * day;

  // Actions by category.
  const touched = new Map<string, number>();
  let newPath = false;
  for (const a of w.actions) {
    const n = a.count;
    if (n <= 0) continue;
    add(s.actions, a.action, n);
    add(s.recentActions, a.action, rw * n);
    if (!a.category) continue;
    const top = topCategory(a.category);
    if (!top) continue;
    touched.set(top, (touched.get(top) ?? 0) + n);
    let c = s.cats[top];
    if (!c) {
      c = { n: 0, r: 0, p: 0, w: 0, t: 0, t2: 0, first: t, last: t, burst: t, ids: [] };
      s.cats[top] = c;
    }
    if (a.action === 'purchase') c.p += n;
    if (a.category !== top) {
      if (addKey(s.paths, a.category, n)) newPath = true;
      add(s.pathT, a.category, n * day);
      const pf = s.pathFirst[a.category];
      if (pf === undefined || day < pf) s.pathFirst[a.category] = day;
    }
  }
  for (const [top, n] of touched) {
    const c = s.cats[top] as CategoryStats;
    // A burst starts at the first window after the category was dormant on the recent horizon.
    if (c.r < DORMANT && t >= c.last) c.burst = t;
    else if (t < c.burst && t >= c.first) c.burst = Math.min(c.burst, t);
    c.n += n;
    c.r += rw * n;
    c.w += 1;
    c.t += n * day;
    c.t2 += n * day * day;
    c.first = Math.min(c.first, t);
    c.last = Math.max(c.last, t);
    if (t >= c.last || c.ids.length < CAT_IDS) pushBounded(c.ids, w.windowId, CAT_IDS);
  }
  // Bounded maps are capped after every window, so only a new key can make one outgrow its bound.
  if (newPath && cap(s.paths, MAX_PATHS)) {
    for (const k of Object.keys(s.pathT)) {
      if (s.paths[k] === undefined) {
        delete s.pathT[k];
        delete s.pathFirst[k];
      }
    }
  }
  addToBucket(s, Math.max(0, day));

  for (const tier in w.priceTiers) {
    const n = w.priceTiers[tier] as number;
    add(s.tiers, tier, n);
    add(s.recentTiers, tier, rw * n);
  }
  for (let h = 0; h < 24; h++) {
    const n = w.hourHistogram[h] ?? 0;
    if (n === 0) continue;
    s.hours[h] = (s.hours[h] ?? 0) + n;
    s.recentHours[h] = (s.recentHours[h] ?? 0) + rw * n;
  }
  for (const d in w.devices) {
    const n = w.devices[d] as number;
    add(s.devices, d, n);
    add(s.recentDevices, d, rw * n);
  }
  let newBrand = false;
  for (const b of w.brands) {
    if (!b) continue;
    s.brandMentions += 1;
    if ((s.brands[b] ?? 0) > 0) s.brandRepeats += 1;
    if (addKey(s.brands, b, 1)) newBrand = true;
  }
  if (newBrand) cap(s.brands, MAX_BRANDS);
  let newIntent = false;
  for (const i of w.intents) if (i && addKey(s.intents, i, 1)) newIntent = true;
  if (newIntent) cap(s.intents, MAX_INTENTS);
  s.spend += w.spend;
  s.recentSpend += rw * w.spend;
  s.dwellMs += w.dwellMs;
  const depth = Math.min(4, Math.max(0, w.funnelDepth));
  s.funnel[depth] = (s.funnel[depth] ?? 0) + 1;
  for (const nt of w.notable) add(s.notable, nt.kind, 1);
  for (const reason in w.dropped) add(s.dropped, reason, w.dropped[reason] as number);
  for (const name in w.signals) {
    const n = w.signals[name] as number;
    if (n <= 0) continue;
    if (!s.signals) s.signals = {};
    if (!s.signalWindows) s.signalWindows = {};
    add(s.signals, name, n);
    add(s.signalWindows, name, 1);
  }
  for (const name in w.interests) {
    const n = w.interests[name] as number;
    if (n <= 0 || !INTEREST_SET.has(name)) continue;
    if (!s.interests) s.interests = {};
    if (!s.recentInterests) s.recentInterests = {};
    add(s.interests, name, n);
    add(s.recentInterests, name, rw * n);
  }
  if (w.unmapped > 0) s.unmapped = (s.unmapped ?? 0) + w.unmapped;
  if (w.items.length > 0) addItems(s, w.items);
  if (t >= s.refMs || s.lastWindows.length < LAST_WINDOWS) pushBounded(s.lastWindows, w.windowId, LAST_WINDOWS);
  return s;
}

/** Counts the window's item codes (each once per window), keeping the `MAX_ITEMS` most frequent. */
function addItems(s: FeatureStats, codes: readonly number[]): void {
  if (!s.items) s.items = {};
  let added = false;
  for (const c of codes) if (addKey(s.items, itemCodeText(c), 1)) added = true;
  if (added) cap(s.items, MAX_ITEMS);
}

/** Days between the first and last event (at least 1). */
export function spanDays(s: FeatureStats): number {
  return Math.max(1, (s.lastMs - s.firstMs) / DAY_MS);
}

/**
 * Onset estimate of a category's activity, epoch ms: for activity spread evenly from `s` to the end,
 * the time mean and variance give `s = mean - sqrt(3·var)`; clamped to the category's burst start
 * and first time.
 */
export function categoryOnsetMs(s: FeatureStats, c: CategoryStats): number {
  if (c.n <= 0) return c.first;
  const mean = c.t / c.n;
  const variance = Math.max(0, c.t2 / c.n - mean * mean);
  const est = s.originMs + (mean - Math.sqrt(3 * variance)) * DAY_MS;
  return Math.max(c.first, Math.min(est, c.last));
}
