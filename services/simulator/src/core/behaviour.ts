import { EventType } from '@personastream/contracts';
import { type Catalogue, catalogueFor, ITEM_FACTORS, type Leaf, LISTING_SHARPNESS } from './catalogue.js';
import type { SimulatorConfig } from './config.js';
import { Cdf, hashString, mix32, Rng, Stream } from './rng.js';
import type { Season } from './taxonomy.js';
import {
  type ActivityPattern,
  AGE_BANDS,
  type Device,
  type Gender,
  type LifeEventKind,
  type Occupation,
  type Persona,
  type ShoppingStyle,
} from './types.js';

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Kind of noise an event is (hidden; never written to the payload). */
export const Noise = { none: 0, duplicate: 1, bot: 2, accidental: 3 } as const;
export const NOISE_NAMES = ['none', 'duplicate', 'bot_burst', 'accidental_click'] as const;

/** Why a session happened (hidden). */
export type SessionKind = 'own' | 'gift' | 'shared' | 'bot' | 'accidental';

/** One session of a user: device, ids and the pre-rendered canonical JSON of its context. */
export interface SimSession {
  index: number;
  id: string;
  kind: SessionKind;
  device: Device;
  channel: string;
  userAgent: string;
  locale: string;
  /** `{"device":…,"sessionId":…,"channel":…,"userAgent":…,"locale":…}` */
  ctxJson: string;
  startMs: number;
}

/**
 * A generated event in the simulator's compact form. Serialized either to a `BehaviorEvent` message
 * or straight to its canonical JSON line (`event-json.ts`); both agree byte for byte.
 */
export interface SimEvent {
  /** Per-user sequence in event-time order; the event id is `${runId}-${userId}-${seq}`. */
  seq: number;
  type: EventType;
  timeMs: number;
  receivedMs: number;
  /** Catalogue item index, −1 for none. */
  item: number;
  /** Price shown (sale price when discounted). */
  price: number;
  query: string;
  session: SimSession;
  /** Properties as a JSON object text (string values only), or null. */
  props: string | null;
  dwellMs: number;
  rating: number;
  quantity: number;
  /** Hidden: `Noise.*`. */
  noise: number;
  /** Hidden: delivered late. */
  late: boolean;
}

/** A malformed record to emit (not a valid BehaviorEvent): a corrupted copy of `source`. */
export interface SimMalformed {
  source: SimEvent;
  /** Which corruption (see `corrupt`). */
  variant: number;
  /** Index in the emission order before which it is emitted. */
  at: number;
}

export interface UserBehaviour {
  /** Events in emission (receipt) order; may be out of event-time order. */
  events: SimEvent[];
  malformed: SimMalformed[];
  sessions: SimSession[];
}

// ---------------------------------------------------------------------------------------------
// Run context: lookups shared by every user of a run.

interface LeafPick {
  leaves: number[];
  cdf: Cdf;
}

export interface RunContext {
  config: SimulatorConfig;
  catalogue: Catalogue;
  tenantJson: string;
  runJson: string;
  /** Leaf pickers per `${top}|${ageIndex}|${gender}` for interest sessions. */
  interestPickers: Map<string, LeafPick>;
  occupation: Map<Occupation, Record<Gender, LeafPick>>;
  lifeEvent: Map<LifeEventKind, Record<Gender, LeafPick>>;
  season: Map<Season, Record<Gender, LeafPick>>;
  /** Own-gender clothing and personal care, per age index. */
  gendered: Record<Gender, LeafPick[]>;
  /** General needs (groceries, household, office), per age index. */
  general: LeafPick[];
  gift: Record<Gender, LeafPick>;
  baby: LeafPick;
  kids: LeafPick;
  /** Sibling leaves (same top and mid category, gender-compatible) per leaf and gender. */
  siblings: Record<Gender, number[][]>;
  hours: Cdf[];
  genericHours: Cdf;
  allLeaves: Cdf;
  /** Leaves typical of an age (strong age affinity), per age index. */
  ageTypical: LeafPick[];
  /** Season, sales and weekday factor of each day of the horizon. */
  days: Array<{ di: DayInfo; weekday: number }>;
  /** Discounts per (week × 2 + sale day). */
  discountCache: Map<number, Uint8Array>;
  /**
   * Listing weight of each item: popularity ** (LISTING_SHARPNESS + TASTE_SHARPNESS × itemTaste) —
   * the catalogue's own array when item taste is off.
   */
  listingWeight: Float64Array;
  runHash: number;
  /** JSON-escaped user agents. */
  uaJson: Map<string, string>;
}

const HOUR_CURVES: Record<ActivityPattern, number[]> = {
  early_bird: [
    0.3, 0.2, 0.2, 0.3, 1.2, 3.5, 6, 6.5, 5, 3.5, 2.5, 2.2, 2.4, 2, 1.8, 1.6, 1.6, 1.7, 1.8, 1.5, 1, 0.6, 0.4, 0.3,
  ],
  daytime: [
    0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.8, 1.5, 3, 4.5, 5.2, 5.3, 5.5, 5.2, 4.9, 4.6, 4, 3, 2.2, 1.8, 1.4, 1, 0.6, 0.3,
  ],
  evening: [
    0.6, 0.3, 0.2, 0.1, 0.1, 0.2, 0.5, 1, 1.2, 1.3, 1.4, 1.5, 1.8, 1.5, 1.4, 1.5, 1.8, 2.8, 4.5, 6, 6.5, 5.6, 3.6, 1.6,
  ],
  night_owl: [
    5.5, 5, 4, 2.6, 1.4, 0.6, 0.3, 0.3, 0.4, 0.6, 0.8, 1, 1.2, 1.2, 1.2, 1.3, 1.5, 1.8, 2.2, 2.8, 3.5, 4.5, 5.5, 6,
  ],
};
const GENERIC_HOURS = [
  0.5, 0.3, 0.2, 0.2, 0.3, 0.6, 1.2, 2, 2.5, 2.8, 3, 3.2, 3.5, 3.2, 3, 3, 3.2, 3.6, 4.2, 4.8, 5, 4.4, 3, 1.5,
];
const PATTERN_INDEX: Record<ActivityPattern, number> = { early_bird: 0, daytime: 1, evening: 2, night_owl: 3 };

function pick(c: Catalogue, filter: (l: Leaf) => boolean, ageIndex = 2): LeafPick {
  const leaves = c.leaves.filter(filter).map((l) => l.index);
  if (leaves.length === 0) throw new Error('simulator: empty leaf group');
  return { leaves, cdf: new Cdf(leaves.map((i) => leafWeight(c.leaves[i] as Leaf, ageIndex))) };
}

/** Age affinity of leaves: weight × exp(AGE_LEAF × age affinity × age position in [−1, 1]). */
const AGE_LEAF = 1.8;
/** Age affinity of brands, same form. */
const AGE_BRAND = 1.5;

function leafWeight(l: Leaf, ageIndex: number): number {
  return l.weight * Math.exp(AGE_LEAF * l.age * ((ageIndex - 2) / 2));
}

function perAge(c: Catalogue, filter: (l: Leaf) => boolean): LeafPick[] {
  return AGE_BANDS.map((_, a) => pick(c, filter, a));
}

function byGender(c: Catalogue, filter: (l: Leaf) => boolean): Record<Gender, LeafPick> {
  return {
    female: pick(c, (l) => filter(l) && l.gender !== 'male'),
    male: pick(c, (l) => filter(l) && l.gender !== 'female'),
  };
}

const GENERAL_SET = new Set(['Groceries', 'Household', 'Office', 'Clothing']);

const contexts = new Map<string, RunContext>();

/** The shared lookups of a run (cached by the config's identity fields). */
export function runContext(config: SimulatorConfig): RunContext {
  const key = `${config.seed}|${config.catalogueSeed}|${config.catalogueSize}|${config.itemTaste}|${config.tenant}|${config.runId}`;
  const cached = contexts.get(key);
  if (cached && cached.config === config) return cached;
  const c = catalogueFor(config.catalogueSeed, config.catalogueSize);
  const interestPickers = new Map<string, LeafPick>();
  for (const top of c.tops) {
    for (let a = 0; a < AGE_BANDS.length; a++) {
      for (const g of ['female', 'male'] as const) {
        const leaves = c.byTop.get(top) ?? [];
        const weights = leaves.map((li) => {
          const l = c.leaves[li] as Leaf;
          let w = leafWeight(l, a);
          if (l.gender && l.gender !== g) w *= 0.05;
          if (l.occupations) w *= 0.12;
          if (l.lifeEvents?.includes('wedding') && l.path[1] === 'Formalwear') w *= 0.15;
          return w;
        });
        interestPickers.set(`${top}|${a}|${g}`, { leaves, cdf: new Cdf(weights) });
      }
    }
  }
  const occupation = new Map<Occupation, Record<Gender, LeafPick>>();
  for (const o of ['student', 'tech', 'healthcare', 'education', 'trades', 'creative', 'business'] as Occupation[])
    occupation.set(
      o,
      byGender(c, (l) => l.occupations?.includes(o) ?? false),
    );
  const lifeEvent = new Map<LifeEventKind, Record<Gender, LeafPick>>();
  for (const e of ['moved_home', 'new_baby', 'new_job', 'started_fitness', 'wedding', 'retirement', 'new_pet'] as const)
    lifeEvent.set(
      e,
      byGender(c, (l) => l.lifeEvents?.includes(e) ?? false),
    );
  const season = new Map<Season, Record<Gender, LeafPick>>();
  for (const s of ['new_year', 'valentine', 'spring', 'summer', 'back_to_school', 'holiday'] as const)
    season.set(
      s,
      byGender(c, (l) => l.season === s),
    );
  const siblings: Record<Gender, number[][]> = { female: [], male: [] };
  for (const g of ['female', 'male'] as const) {
    for (const l of c.leaves) {
      siblings[g].push(
        c.leaves
          .filter(
            (o) =>
              o.index !== l.index &&
              o.path[0] === l.path[0] &&
              o.path[1] === l.path[1] &&
              (!o.gender || o.gender === g) &&
              !o.occupations,
          )
          .map((o) => o.index),
      );
    }
  }
  const hours: Cdf[] = [];
  for (const p of ['early_bird', 'daytime', 'evening', 'night_owl'] as const) {
    for (const shift of [-1, 0, 1]) {
      const curve = HOUR_CURVES[p];
      hours.push(new Cdf(curve.map((_, h) => curve[(h - shift + 24) % 24] as number)));
    }
  }
  const ctx: RunContext = {
    config,
    catalogue: c,
    tenantJson: JSON.stringify(config.tenant),
    runJson: JSON.stringify(config.runId),
    interestPickers,
    occupation,
    lifeEvent,
    season,
    gendered: {
      female: perAge(c, (l) => l.gender === 'female' && !l.occupations && GENERAL_SET.has(l.top)),
      male: perAge(c, (l) => l.gender === 'male' && !l.occupations && GENERAL_SET.has(l.top)),
    },
    general: perAge(c, (l) => GENERAL_SET.has(l.top) && !l.gender && !l.occupations && !l.lifeEvents),
    gift: byGender(c, (l) => l.gift === true),
    baby: pick(c, (l) => l.top === 'Baby'),
    kids: pick(c, (l) => l.top === 'Parenting'),
    siblings,
    hours,
    genericHours: new Cdf(GENERIC_HOURS),
    allLeaves: new Cdf(c.leaves.map((l) => l.weight)),
    discountCache: new Map(),
    listingWeight:
      config.itemTaste > 0
        ? c.itemPopularity.map((p) => p ** (LISTING_SHARPNESS + TASTE_SHARPNESS * config.itemTaste))
        : c.itemListingWeight,
    days: Array.from({ length: config.horizonDays }, (_, d) => {
      const dayStart = config.startTimeMs + d * DAY_MS;
      const dow = new Date(dayStart).getUTCDay();
      return {
        di: dayInfo(dayOfYear(dayStart), config.noise.seasonality),
        weekday: dow === 0 || dow === 6 ? 1.25 : 0.92,
      };
    }),
    runHash: hashString(config.runId),
    uaJson: new Map(),
    ageTypical: AGE_BANDS.map((_, a) => {
      const z = (a - 2) / 2;
      const leaves = c.leaves
        .filter((l) => Math.abs(l.age) >= 0.5 && !l.gender && !l.occupations && GENERAL_SET.has(l.top))
        .map((l) => l.index);
      return {
        leaves,
        cdf: new Cdf(
          leaves.map((i) => {
            const l = c.leaves[i] as Leaf;
            // Middle ages lean on both ends a little; the extremes strongly on their own end.
            return z === 0 ? 0.3 + 0.7 * (1 - Math.abs(l.age)) : Math.exp(3 * l.age * z);
          }),
        ),
      };
    }),
  };
  if (contexts.size >= 4) contexts.delete(contexts.keys().next().value as string);
  contexts.set(key, ctx);
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// Behaviour parameters per shopping style, price sensitivity and income (documented in the README).

interface StyleParams {
  /** Median item views per session. */
  views: number;
  /** Probability a session starts with a search. */
  search: number;
  /** Probability of a refining search before a view. */
  refine: number;
  /** Median dwell on an item, ms. */
  dwell: number;
  /** Probability a view leads to add-to-cart. */
  cart: number;
  /** Probability a cart item is bought at checkout. */
  buy: number;
  /** Multiplier on the odds of each price tier [low, mid, high]. */
  tier: [number, number, number];
}

const STYLE: Record<ShoppingStyle, StyleParams> = {
  bargain_hunter: { views: 5, search: 0.6, refine: 0.12, dwell: 28_000, cart: 0.075, buy: 0.42, tier: [2.2, 1, 0.35] },
  brand_loyal: { views: 3.5, search: 0.45, refine: 0.06, dwell: 24_000, cart: 0.1, buy: 0.48, tier: [1, 1, 1] },
  impulse_buyer: { views: 3, search: 0.3, refine: 0.04, dwell: 11_000, cart: 0.16, buy: 0.62, tier: [1, 1, 1.1] },
  researcher: { views: 7, search: 0.78, refine: 0.22, dwell: 65_000, cart: 0.045, buy: 0.45, tier: [1, 1.1, 1] },
  premium_seeker: { views: 4, search: 0.45, refine: 0.08, dwell: 34_000, cart: 0.085, buy: 0.5, tier: [0.3, 1, 2.6] },
};

const INCOME_TIER: Record<string, [number, number, number]> = {
  low: [0.62, 0.3, 0.08],
  mid: [0.27, 0.5, 0.23],
  high: [0.1, 0.35, 0.55],
};

const SENSITIVITY = {
  high: { saleBoost: 4, coupon: 0.45, sortByPrice: 0.45, email: 0.14, deals: 0.3 },
  medium: { saleBoost: 1.7, coupon: 0.14, sortByPrice: 0.12, email: 0.06, deals: 0.1 },
  low: { saleBoost: 1, coupon: 0.03, sortByPrice: 0.02, email: 0.02, deals: 0.03 },
} as const;

/**
 * Item popularity. Items have a global Zipf(1) popularity (catalogue.ts). Views come from three
 * sources: a category's bestseller list and the site-wide trending list (drawn by popularity), and
 * listings of the focus category, where attention concentrates on top results (popularity raised to
 * LISTING_SHARPNESS) and the user's price-tier preference weighs in (raised to TIER_POWER). Tuned so the
 * observed rank/views curve has a Zipf exponent ≈ 0.95 (band 0.8–1.3).
 */
export const BESTSELLER_SHARE = 0.1;
export const TRENDING_SHARE = 0.03;
export const TIER_POWER = 2.5;

const ENGAGEMENT_VIEWS = { casual: 0.85, regular: 1, power_user: 1.25 } as const;

/**
 * Item-level taste. A user's coordinates meet the catalogue's item factors (`ITEM_FACTOR_NAMES`):
 * age = 1.5 × age position in [−1, 1] (18-24 −1.5 … 55+ +1.5), middle age = 1 − 2 |age position|
 * (35-44 +1, 25-34 and 45-54 0, 18-24 and 55+ −1), gender = +1 female / −1 male, money = the mean of
 * income (low −1, mid 0, high +1) and price insensitivity (high −1, medium 0, low +1), taste = a
 * hidden standard normal (`Stream.taste`). A listing weighs an item by
 * exp(itemTaste × item factors · user coordinates).
 */
const MONEY_INCOME = { low: -1, mid: 0, high: 1 } as const;
const MONEY_SENSITIVITY = { high: -1, medium: 0, low: 1 } as const;
/**
 * Taste spreads each user's attention over the items that suit them, which flattens the aggregate
 * popularity curve (1,000 users, seed 1, listing sharpness unchanged: Zipf exponent 0.93 → 0.84 at
 * itemTaste 0.75, 0.78 at 1, below the 0.8 band); listings sharpen by this much per unit of taste,
 * which gives back about a third of it (0.89 at 0.75). At itemTaste 0 nothing changes.
 */
export const TASTE_SHARPNESS = 0.5;

/** A user's taste coordinates (see above), in `ITEM_FACTOR_NAMES` order. */
export function userTasteVector(seed: number, p: Persona): Float64Array {
  const ageZ = (AGE_BANDS.indexOf(p.ageBand) - 2) / 2;
  return Float64Array.of(
    1.5 * ageZ,
    1 - 2 * Math.abs(ageZ),
    p.gender === 'female' ? 1 : -1,
    (MONEY_INCOME[p.incomeTier] + MONEY_SENSITIVITY[p.priceSensitivity]) / 2,
    Rng.of(seed, Stream.taste, p.userIndex).normal(),
  );
}

// ---------------------------------------------------------------------------------------------
// Seasons and platform-wide sales (by day of year, UTC).

function dayOfYear(ms: number): number {
  const d = new Date(ms);
  return Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / DAY_MS) + 1;
}

interface DayInfo {
  season: Season | null;
  seasonProb: number;
  giftBoost: number;
  sale: boolean;
  rate: number;
}

function dayInfo(doy: number, seasonality: number): DayInfo {
  let season: Season | null = null;
  let seasonProb = 0;
  let giftBoost = 1;
  if (doy <= 21) {
    season = 'new_year';
    seasonProb = 0.06;
  } else if (doy >= 32 && doy <= 45) {
    season = 'valentine';
    giftBoost = 3.5;
  } else if (doy >= 69 && doy <= 135) {
    season = 'spring';
    seasonProb = 0.035;
  } else if (doy >= 152 && doy <= 227) {
    season = 'summer';
    seasonProb = 0.05;
  } else if (doy >= 222 && doy <= 253) {
    season = 'back_to_school';
    seasonProb = 0.05;
  } else if (doy >= 324 && doy <= 358) {
    season = 'holiday';
    seasonProb = 0.03;
    giftBoost = 4;
  }
  const sale =
    (doy >= 2 && doy <= 4) || (doy >= 79 && doy <= 81) || (doy >= 191 && doy <= 193) || (doy >= 331 && doy <= 334);
  return {
    season,
    seasonProb: seasonProb * seasonality,
    giftBoost: 1 + (giftBoost - 1) * seasonality,
    sale: sale && seasonality > 0,
    rate: sale ? 1 + 0.4 * seasonality : 1,
  };
}

/** Discount percent of every item in a week (sale days: more items), cached per run context. */
function discounts(ctx: RunContext, week: number, saleDay: boolean): Uint8Array {
  const key = week * 2 + (saleDay ? 1 : 0);
  let d = ctx.discountCache.get(key);
  if (!d) {
    d = new Uint8Array(ctx.catalogue.size);
    for (let i = 0; i < d.length; i++) d[i] = discountOf(ctx.catalogue.seed, i, week, saleDay);
    ctx.discountCache.set(key, d);
  }
  return d;
}

/** Discount percent of an item at a time (0 when not on sale): ~16 % of items weekly, 40 % on sale days. */
function discountOf(catalogueSeed: number, item: number, week: number, saleDay: boolean): number {
  let h = Math.imul(item + 1, 0x9e3779b1) ^ Math.imul(week + 7, 0x85ebca6b) ^ Math.imul(catalogueSeed + 3, 0xc2b2ae35);
  h = mix32(h);
  const u = h / 4294967296;
  const p = saleDay ? 0.4 : 0.16;
  if (u >= p) return 0;
  return [10, 15, 20, 25, 30, 40][Math.floor((u / p) * 6)] as number;
}

// ---------------------------------------------------------------------------------------------
// Devices, user agents, queries.

const UA: Record<Device, string[]> = {
  mobile: [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 ShopApp/7.4',
    'Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36 ShopApp/7.4',
    'Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36 ShopApp/7.3',
  ],
  desktop: [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
    'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  ],
  tablet: [
    'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 ShopApp/7.4',
    'Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 ShopApp/7.3',
  ],
};
const BOT_UA = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0 Safari/537.36',
  'python-requests/2.32.3',
  'Mozilla/5.0 (compatible; PriceWatchBot/2.1)',
];
const DEVICES: Device[] = ['mobile', 'desktop', 'tablet'];

const KEYBOARD_NEIGHBOURS: Record<string, string> = {
  a: 'sq',
  b: 'vn',
  c: 'xv',
  d: 'sf',
  e: 'wr',
  f: 'dg',
  g: 'fh',
  h: 'gj',
  i: 'uo',
  j: 'hk',
  k: 'jl',
  l: 'k',
  m: 'n',
  n: 'bm',
  o: 'ip',
  p: 'o',
  q: 'w',
  r: 'et',
  s: 'ad',
  t: 'ry',
  u: 'yi',
  v: 'cb',
  w: 'qe',
  x: 'zc',
  y: 'tu',
  z: 'x',
};

/**
 * Properties as JSON object text from key/value pairs. Keys and values are the simulator's own
 * vocabulary (no quotes, backslashes or control characters), so no escaping is needed; the
 * canonical-JSON equality test guards this.
 */
function P(...kv: Array<string | number>): string {
  let s = '{';
  for (let i = 0; i < kv.length; i += 2) s += `${i === 0 ? '' : ','}"${kv[i]}":"${kv[i + 1]}"`;
  return `${s}}`;
}

/** Applies one typing error: swap, drop, double or a neighbouring key. */
export function typo(rng: Rng, q: string): string {
  const positions: number[] = [];
  for (let i = 0; i < q.length; i++) if (/[a-z]/.test(q[i] as string)) positions.push(i);
  if (positions.length < 4) return q;
  const i = positions[1 + rng.int(positions.length - 2)] as number;
  const ch = q[i] as string;
  switch (rng.int(4)) {
    case 0:
      return q.slice(0, i) + (q[i + 1] ?? '') + ch + q.slice(i + 2);
    case 1:
      return q.slice(0, i) + q.slice(i + 1);
    case 2:
      return q.slice(0, i) + ch + q.slice(i);
    default: {
      const n = KEYBOARD_NEIGHBOURS[ch] ?? ch;
      return q.slice(0, i) + (n[rng.int(n.length)] ?? ch) + q.slice(i + 1);
    }
  }
}

const CHEAP_WORDS = ['cheap', 'deals', 'discount', 'on sale', 'budget', 'best price', 'clearance'];
const PREMIUM_WORDS = ['best', 'luxury', 'high end', 'top rated', 'designer'];
const RESEARCH_WORDS = ['review', 'best', 'comparison', 'vs', 'guide', 'top 10', 'reliable'];
const REVIEW_TEXT = [
  'Great quality, would buy again',
  'Works as described',
  'Arrived quickly and well packed',
  'Good value for the money',
  'Not what I expected',
  'Stopped working after a week',
  'Exactly what I needed',
  'Decent but a bit overpriced',
  'Love it, highly recommend',
  'Sizing runs small',
];

// ---------------------------------------------------------------------------------------------
// Per-user generation.

interface Component {
  /** Probability of this focus at a time. */
  prob: (t: number) => number;
  pick: LeafPick;
}

function trajectoryRate(p: Persona, u: number): number {
  switch (p.trajectory) {
    case 'stable':
      return 1;
    case 'growing':
      return 0.15 + 1.7 * u;
    case 'declining':
      return Math.max(0.12, 1.9 - 1.8 * u);
    case 'new': {
      const j = p.hidden.joinAt;
      if (u < j) return 0;
      return u - j < 0.08 ? 2 : 1.15;
    }
  }
}

/** Generates one user's behaviour. Pure: depends only on (context, persona). */
export function generateBehaviour(ctx: RunContext, p: Persona): UserBehaviour {
  const cfg = ctx.config;
  const cat = ctx.catalogue;
  const noise = cfg.noise;
  const rng = Rng.of(cfg.seed, Stream.behaviour, p.userIndex);
  const nrng = Rng.of(cfg.seed, Stream.noise, p.userIndex);
  const hrng = Rng.of(cfg.seed, Stream.household, p.userIndex);
  const g = p.gender;
  const other: Gender = g === 'female' ? 'male' : 'female';
  const ageIndex = AGE_BANDS.indexOf(p.ageBand);
  const ageZ = (ageIndex - 2) / 2;
  const style = STYLE[p.shoppingStyle];
  const sens = SENSITIVITY[p.priceSensitivity];
  const incomeTier = INCOME_TIER[p.incomeTier] as [number, number, number];
  const tierPref = [0, 1, 2].map((t) => (incomeTier[t] as number) * (style.tier[t] as number));
  const horizonMs = cfg.horizonDays * DAY_MS;
  const start = cfg.startTimeMs;
  const eventTime = (k: LifeEventKind) => p.lifeEvents.find((e) => e.kind === k)?.timeMs;
  const retiredAt = eventTime('retirement');
  const babyAt = eventTime('new_baby');

  // Interests active over time (interests brought by a life event start with it).
  const interestSince = p.hidden.interestSince;
  const interestPickers = p.interests.map(
    (i) => ctx.interestPickers.get(`${i.charAt(0).toUpperCase()}${i.slice(1)}|${ageIndex}|${g}`) as LeafPick,
  );

  // Focus components besides interests.
  const comps: Component[] = [];
  const occAt = (t: number): Occupation =>
    retiredAt !== undefined && t < retiredAt ? p.previousOccupation : p.occupation;
  const occPick = (o: Occupation) => ctx.occupation.get(o)?.[g];
  if (p.lifeStage === 'new_parent')
    comps.push({
      prob: (t) => (babyAt === undefined ? 0.18 : t < babyAt ? 0.03 : 0.28),
      pick: ctx.baby,
    });
  if (p.lifeStage === 'family_with_kids') comps.push({ prob: () => 0.12, pick: ctx.kids });
  for (const o of new Set([p.occupation, p.previousOccupation])) {
    const pk = occPick(o);
    if (pk) comps.push({ prob: (t) => (occAt(t) === o ? 0.15 : 0), pick: pk });
  }
  comps.push({ prob: () => 0.08, pick: ctx.gendered[g][ageIndex] as LeafPick });
  comps.push({ prob: () => 0.08, pick: ctx.general[ageIndex] as LeafPick });
  comps.push({ prob: () => 0.07, pick: ctx.ageTypical[ageIndex] as LeafPick });
  const petTop = hashString(p.userId) % 2 === 0 ? 'Dogs' : 'Cats';
  for (const e of p.lifeEvents) {
    const base = ctx.lifeEvent.get(e.kind)?.[g] as LeafPick;
    let lp = base;
    if (e.kind === 'new_pet') {
      const leaves = base.leaves.filter((li) => (cat.leaves[li] as Leaf).path[1] === petTop);
      lp = { leaves, cdf: new Cdf(leaves.map((li) => (cat.leaves[li] as Leaf).weight)) };
    }
    if (e.kind === 'new_baby') continue; // the baby component above handles it
    const t0 = e.timeMs;
    const decaying = e.kind === 'moved_home' || e.kind === 'wedding' || e.kind === 'new_job';
    const strength = {
      moved_home: 0.45,
      wedding: 0.4,
      new_job: 0.35,
      started_fitness: 0.2,
      new_pet: 0.18,
      retirement: 0.22,
    }[e.kind] as number;
    const tau = 25 * DAY_MS;
    comps.push({
      prob: (t) => (t < t0 ? 0 : decaying ? strength * Math.exp(-(t - t0) / tau) : strength),
      pick: lp,
    });
  }
  // Household member for shared-device sessions.
  const household = {
    gender: hrng.chance(0.7) ? other : g,
    tops: [cat.tops[hrng.int(20)] as string, cat.tops[hrng.int(20)] as string],
    age: hrng.int(5),
  };

  const hourCdf = ctx.hours[PATTERN_INDEX[p.activityPattern] * 3 + p.hidden.hourShift + 1] as Cdf;
  const uaOf: Record<Device, string> = {
    mobile: UA.mobile[hrng.int(UA.mobile.length)] as string,
    desktop: UA.desktop[hrng.int(UA.desktop.length)] as string,
    tablet: UA.tablet[hrng.int(UA.tablet.length)] as string,
  };
  const otherDevices = DEVICES.filter((d) => d !== p.primaryDevice);

  // Brand affinity per top category: age-skewed, plus favourites for brand-loyal users.
  const brandFactor: Float64Array[] = cat.brands.map(
    (bs) => new Float64Array(bs.map((b) => Math.exp(AGE_BRAND * b.age * ageZ))),
  );
  const favourite = new Int32Array(cat.tops.length).fill(-1);
  const loyal = p.shoppingStyle === 'brand_loyal';

  const sessions: SimSession[] = [];
  const events: SimEvent[] = [];
  let orderNo = 0;
  const accountActions = new Set<string>();
  const pending: Array<{ item: number; due: number; review: boolean }> = [];

  const newSession = (kind: SessionKind, device: Device, channel: string, startMs: number, ua?: string): SimSession => {
    const index = sessions.length;
    const id = `s${(mix32(ctx.runHash ^ Math.imul(p.userIndex + 1, 0x9e3779b1) ^ Math.imul(index, 0x85ebca6b)) >>> 0).toString(16).padStart(8, '0')}${index.toString(36)}`;
    const userAgent = ua ?? uaOf[device];
    let uaJson = ctx.uaJson.get(userAgent);
    if (uaJson === undefined) {
      uaJson = JSON.stringify(userAgent);
      ctx.uaJson.set(userAgent, uaJson);
    }
    const locale = p.hidden.locale;
    const s: SimSession = {
      index,
      id,
      kind,
      device,
      channel,
      userAgent,
      locale,
      ctxJson: `{"device":"${device}","sessionId":"${id}","channel":"${channel}","userAgent":${uaJson},"locale":"${locale}"}`,
      startMs,
    };
    sessions.push(s);
    return s;
  };

  const push = (
    s: SimSession,
    type: EventType,
    t: number,
    item: number,
    price: number,
    query: string,
    props: string | null,
    dwellMs: number,
    rating = 0,
    quantity = 0,
    noiseKind = 0,
  ): SimEvent => {
    const e: SimEvent = {
      seq: 0,
      type,
      timeMs: Math.round(t),
      receivedMs: 0,
      item,
      price,
      query,
      session: s,
      props,
      dwellMs: Math.round(dwellMs),
      rating,
      quantity,
      noise: noiseKind,
      late: false,
    };
    events.push(e);
    return e;
  };

  /**
   * Picks an item of a leaf: first a price tier (income and style), then an item of that tier by
   * popularity × brand affinity × favourite brand × sale boost (× cheapness when sorting by price)
   * × item taste.
   */
  // Cumulative item weights per (leaf, week, sale day, cheapest-first): a user browses the same
  // listings repeatedly, so they are computed once. Cleared when a favourite brand is adopted.
  const itemCdfCache = new Map<number, Float64Array>();
  // Item-taste weight of each item of a leaf (leaf order), computed when a listing first needs it.
  const itemTaste = cfg.itemTaste;
  const userTaste = itemTaste > 0 ? userTasteVector(cfg.seed, p) : null;
  const leafTaste: Array<Float64Array | undefined> = [];
  const tasteOfLeaf = (leaf: Leaf): Float64Array => {
    let w = leafTaste[leaf.index];
    if (w === undefined) {
      const u = userTaste as Float64Array;
      const f = cat.itemFactors;
      const items = leaf.items;
      w = new Float64Array(items.length);
      for (let k = 0; k < items.length; k++) {
        const o = (items[k] as number) * ITEM_FACTORS;
        let dot = 0;
        for (let d = 0; d < ITEM_FACTORS; d++) dot += (f[o + d] as number) * (u[d] as number);
        w[k] = Math.exp(itemTaste * dot);
      }
      leafTaste[leaf.index] = w;
    }
    return w;
  };
  const chooseItem = (leafIndex: number, week: number, saleDay: boolean, cheapest: boolean, r: Rng): number => {
    const leaf = cat.leaves[leafIndex] as Leaf;
    const items = leaf.items;
    const n = items.length;
    const key = ((leafIndex * 1024 + week) * 2 + (saleDay ? 1 : 0)) * 2 + (cheapest ? 1 : 0);
    let cum = itemCdfCache.get(key);
    if (cum === undefined) {
      const tp0 = (tierPref[0] as number) * (cheapest ? 3 : 1);
      const tp1 = tierPref[1] as number;
      const tp2 = (tierPref[2] as number) * (cheapest ? 0.3 : 1);
      const tw = [tp0 ** TIER_POWER, tp1 ** TIER_POWER, tp2 ** TIER_POWER];
      const bf = brandFactor[leaf.topIndex] as Float64Array;
      const fav = favourite[leaf.topIndex] as number;
      const disc = sens.saleBoost > 1 ? discounts(ctx, week, saleDay) : null;
      const taste = userTaste !== null ? tasteOfLeaf(leaf) : null;
      const listingWeight = ctx.listingWeight;
      cum = new Float64Array(n);
      let total = 0;
      for (let k = 0; k < n; k++) {
        const it = items[k] as number;
        const b = cat.itemBrand[it] as number;
        let x = (listingWeight[it] as number) * (bf[b] as number) * (tw[cat.itemTier[it] as number] as number);
        if (loyal && b === fav) x *= 40;
        if (disc !== null && (disc[it] as number) > 0) x *= sens.saleBoost;
        if (cheapest) x /= (cat.itemPrice[it] as number) ** 1.5;
        if (taste !== null) x *= taste[k] as number;
        total += x;
        cum[k] = total;
      }
      itemCdfCache.set(key, cum);
    }
    const u = r.next() * (cum[n - 1] as number);
    for (let k = 0; k < n; k++) if ((cum[k] as number) > u) return items[k] as number;
    return items[n - 1] as number;
  };

  const focusLeaf = (t: number, kind: SessionKind, di: DayInfo): number => {
    if (kind === 'gift') {
      if (di.season && di.giftBoost > 1 && rng.chance(0.7)) {
        const sp = ctx.season.get(di.season)?.[rng.chance(0.7) ? other : g] as LeafPick;
        return sp.leaves[sp.cdf.draw(rng)] as number;
      }
      // Grandchildren for empty nesters and retirees; otherwise typical gifts, often for the other gender.
      const gp =
        (p.lifeStage === 'empty_nester' || p.lifeStage === 'retiree') && rng.chance(0.45)
          ? ctx.kids
          : ctx.gift[rng.chance(0.55) ? other : g];
      return gp.leaves[gp.cdf.draw(rng)] as number;
    }
    if (kind === 'shared') {
      const top = rng.chance(0.5) ? household.tops[0] : household.tops[1];
      const lp = ctx.interestPickers.get(`${top}|${household.age}|${household.gender}`) as LeafPick;
      return lp.leaves[lp.cdf.draw(rng)] as number;
    }
    let r = rng.next();
    if (di.season && di.seasonProb > 0) {
      if (r < di.seasonProb) {
        const sp = ctx.season.get(di.season)?.[g] as LeafPick;
        return sp.leaves[sp.cdf.draw(rng)] as number;
      }
      r -= di.seasonProb;
    }
    for (const c of comps) {
      const q = c.prob(t);
      if (r < q) return c.pick.leaves[c.pick.cdf.draw(rng)] as number;
      r -= q;
    }
    // Interests active at t.
    let total = 0;
    for (let k = 0; k < p.interests.length; k++)
      if ((interestSince[k] as number) <= t) total += p.hidden.interestWeights[k] as number;
    if (total === 0) {
      const gp = ctx.general[ageIndex] as LeafPick;
      return gp.leaves[gp.cdf.draw(rng)] as number;
    }
    let u = rng.next() * total;
    for (let k = 0; k < p.interests.length; k++) {
      if ((interestSince[k] as number) > t) continue;
      u -= p.hidden.interestWeights[k] as number;
      if (u < 0) {
        const lp = interestPickers[k] as LeafPick;
        return lp.leaves[lp.cdf.draw(rng)] as number;
      }
    }
    const lp = interestPickers[0] as LeafPick;
    return lp.leaves[lp.cdf.draw(rng)] as number;
  };

  const queryFor = (leafIndex: number, kind: SessionKind, cheap: boolean): string => {
    const leaf = cat.leaves[leafIndex] as Leaf;
    let q: string;
    const r = rng.next();
    if (r < 0.15) q = leaf.path[1].toLowerCase();
    else q = leaf.term;
    if (loyal && favourite[leaf.topIndex] !== -1 && rng.chance(0.5)) {
      const b = (cat.brands[leaf.topIndex] ?? [])[favourite[leaf.topIndex] as number];
      if (b) q = `${b.name.toLowerCase()} ${q}`;
    }
    if (kind === 'gift' && rng.chance(0.4)) q = `${q} gift`;
    else if (cheap && rng.chance(0.55))
      q = rng.chance(0.5) ? `${rng.pick(CHEAP_WORDS)} ${q}` : `${q} ${rng.pick(CHEAP_WORDS)}`;
    else if (p.shoppingStyle === 'premium_seeker' && rng.chance(0.4)) q = `${rng.pick(PREMIUM_WORDS)} ${q}`;
    else if (p.shoppingStyle === 'researcher' && rng.chance(0.45))
      q = rng.chance(0.5) ? `${q} ${rng.pick(RESEARCH_WORDS)}` : `${rng.pick(RESEARCH_WORDS)} ${q}`;
    return q;
  };

  /** Emits a search (with occasional typos: zero results, then a corrected search) and returns the time after. */
  const search = (s: SimSession, t: number, leafIndex: number, cheap: boolean, first: boolean): number => {
    const q = queryFor(leafIndex, s.kind, cheap);
    const sort = cheap ? 'price_asc' : !first && rng.chance(0.2) ? 'rating' : 'relevance';
    if (rng.chance(0.07)) {
      const bad = typo(rng, q);
      if (bad !== q) {
        const zero = rng.chance(0.5);
        push(s, EventType.SEARCH, t, -1, 0, bad, P('results', zero ? '0' : String(1 + rng.int(15)), 'sort', sort), 0);
        t += rng.logNormal(5_000, 0.6);
        if (!zero) return t;
      }
    } else if (rng.chance(0.1)) {
      // Results not good enough: reformulate.
      push(s, EventType.SEARCH, t, -1, 0, q, P('results', String(2 + rng.int(80)), 'sort', sort), 0);
      t += rng.logNormal(8_000, 0.6);
      const q2 = queryFor(leafIndex, s.kind, cheap);
      push(
        s,
        EventType.SEARCH,
        t,
        -1,
        0,
        q2 === q ? `${q} ${rng.pick(['new', 'sale', '2026', 'set', 'pack'])}` : q2,
        P('results', String(2 + rng.int(80)), 'sort', sort),
        0,
      );
      return t + rng.logNormal(6_000, 0.8);
    }
    push(s, EventType.SEARCH, t, -1, 0, q, P('results', String(3 + rng.int(120)), 'sort', sort), 0);
    return t + rng.logNormal(6_000, 0.8);
  };

  const runSession = (s: SimSession, focus: number, di: DayInfo, week: number) => {
    let t = s.startMs;
    const gap = () => rng.logNormal(6_000, 0.8);
    // Ratings and reviews of earlier purchases come first.
    for (let k = 0; k < pending.length; ) {
      const pr = pending[k] as (typeof pending)[number];
      if (pr.due <= t && s.kind === 'own') {
        const stars = [5, 5, 5, 5, 4, 4, 4, 3, 2, 1][rng.int(10)] as number;
        const price = cat.itemPrice[pr.item] as number;
        push(s, EventType.RATE, t, pr.item, price, '', null, rng.logNormal(8_000, 0.5), stars);
        t += gap();
        if (pr.review) {
          push(
            s,
            EventType.REVIEW,
            t,
            pr.item,
            price,
            '',
            P('text', rng.pick(REVIEW_TEXT), 'verified_purchase', 'true'),
            rng.logNormal(60_000, 0.5),
            stars,
          );
          t += gap();
        }
        pending.splice(k, 1);
      } else k++;
    }
    const own = s.kind === 'own';
    // Account actions around life events: a new shipping address after a move, gift registries around a
    // wedding or a birth (implicit platform traces, not labels).
    for (const e of p.lifeEvents) {
      if (!own || t < e.timeMs - 10 * DAY_MS || t > e.timeMs + 21 * DAY_MS) continue;
      if (e.kind === 'moved_home' && t >= e.timeMs && !accountActions.has('address') && rng.chance(0.35)) {
        accountActions.add('address');
        push(
          s,
          EventType.PAGE_VIEW,
          t,
          -1,
          0,
          '',
          P('page', 'account', 'action', 'update_address'),
          rng.logNormal(40_000, 0.4),
        );
        t += gap();
      } else if ((e.kind === 'wedding' || e.kind === 'new_baby') && rng.chance(0.15)) {
        push(s, EventType.PAGE_VIEW, t, -1, 0, '', P('page', 'registry'), rng.logNormal(30_000, 0.5));
        t += gap();
      }
    }
    if (s.channel === 'email') {
      push(
        s,
        EventType.PAGE_VIEW,
        t,
        -1,
        0,
        '',
        P('page', 'deals', 'campaign', 'weekly_deals'),
        rng.logNormal(12_000, 0.5),
      );
      t += gap();
    } else if (rng.chance(0.4)) {
      const page = own && rng.chance(sens.deals) ? 'deals' : rng.chance(0.6) ? 'home' : 'category';
      const leaf = cat.leaves[focus] as Leaf;
      push(
        s,
        EventType.PAGE_VIEW,
        t,
        -1,
        0,
        '',
        page === 'category' ? P('page', 'category', 'category', `${leaf.path[0]} > ${leaf.path[1]}`) : P('page', page),
        rng.logNormal(9_000, 0.6),
      );
      t += gap();
    }
    const cheap = own && rng.chance(sens.sortByPrice);
    const searchProb = own ? style.search : 0.45;
    let source = 'browse';
    if (rng.chance(searchProb)) {
      t = search(s, t, focus, cheap, true);
      source = 'search';
    }
    const engagementViews = ENGAGEMENT_VIEWS[p.engagementLevel];
    const nViews = Math.max(1, Math.round(rng.logNormal((own ? style.views : 3) * engagementViews, 0.55)));
    const cart: Array<{ item: number; price: number; qty: number }> = [];
    const dwellMedian = own ? style.dwell : 25_000;
    let leafIndex = focus;
    for (let v = 0; v < nViews; v++) {
      if (v > 0 && rng.chance(own ? style.refine : 0.08)) {
        t = search(s, t, leafIndex, cheap, false);
        source = 'search';
      }
      if (v > 0 && rng.chance(0.12)) {
        const sib = ctx.siblings[s.kind === 'shared' ? household.gender : g][focus] as number[];
        if (sib.length > 0) leafIndex = sib[rng.int(sib.length)] as number;
      }
      let item: number;
      const rp = rng.next();
      if (rp < TRENDING_SHARE) {
        item = cat.globalPopularity.draw(rng);
        source = 'trending';
      } else if (rp < TRENDING_SHARE + BESTSELLER_SHARE) {
        // Bestseller / trending widget of the focus category: global popularity drives the choice.
        const ti = (cat.leaves[leafIndex] as Leaf).topIndex;
        item = (cat.topItems[ti] as Int32Array)[(cat.topPopularity[ti] as Cdf).draw(rng)] as number;
        source = 'bestsellers';
      } else item = chooseItem(leafIndex, week, di.sale, cheap, rng);
      const disc = discounts(ctx, week, di.sale)[item] as number;
      const list = cat.itemPrice[item] as number;
      const price = disc > 0 ? Math.round(list * (100 - disc)) / 100 : list;
      const dwell = rng.logNormal(dwellMedian, 0.6);
      const props =
        disc > 0
          ? `{"source":"${source}","position":"${1 + rng.int(24)}","list_price":"${list}","discount_pct":"${disc}"}`
          : `{"source":"${source}","position":"${1 + rng.int(24)}"}`;
      push(s, EventType.ITEM_VIEW, t, item, price, '', props, dwell);
      t += dwell + gap() * 0.5;
      source = 'browse';
      if (loyal && own && rng.chance(0.08)) {
        push(s, EventType.FAVORITE, t, item, price, '', null, 0);
        t += gap() * 0.3;
      } else if (rng.chance(0.015)) {
        push(s, EventType.FAVORITE, t, item, price, '', null, 0);
        t += gap() * 0.3;
      }
      if (rng.chance(0.012)) {
        push(
          s,
          EventType.SHARE,
          t,
          item,
          price,
          '',
          P('channel', rng.pick(['whatsapp', 'email', 'copy_link', 'messenger'])),
          0,
        );
        t += gap() * 0.5;
      }
      if (p.shoppingStyle === 'researcher' && own && rng.chance(0.22)) {
        push(s, EventType.PAGE_VIEW, t, item, price, '', P('page', 'reviews'), rng.logNormal(45_000, 0.5));
        t += gap();
      }
      if (rng.chance(0.05)) {
        push(
          s,
          EventType.CLICK,
          t,
          -1,
          0,
          '',
          P('target', rng.pick(['recommendation', 'banner', 'filter', 'size_guide'])),
          0,
        );
        t += gap() * 0.5;
        source = 'recommendation';
      }
      let cartP = own ? style.cart : s.kind === 'gift' ? 0.14 : 0.06;
      if (disc > 0) cartP *= p.priceSensitivity === 'high' ? 1.8 : p.priceSensitivity === 'medium' ? 1.2 : 1;
      if (rng.chance(cartP)) {
        const leaf = cat.leaves[leafIndex] as Leaf;
        const qty = leaf.top === 'Groceries' || leaf.top === 'Household' ? 1 + rng.int(4) : 1;
        push(s, EventType.ADD_TO_CART, t, item, price, '', null, 0, 0, qty);
        t += gap() * 0.5;
        cart.push({ item, price, qty });
        if (loyal && favourite[leaf.topIndex] === -1) {
          favourite[leaf.topIndex] = cat.itemBrand[item] as number;
          itemCdfCache.clear();
        }
      }
    }
    // Checkout.
    const buyP = own ? style.buy : s.kind === 'gift' ? 0.65 : 0.3;
    const bought = cart.filter(() => rng.chance(buyP));
    if (bought.length > 0) {
      orderNo++;
      const orderId = `o${(mix32(hashString(p.userId) ^ orderNo) >>> 0).toString(36)}${orderNo}`;
      const payment =
        p.incomeTier === 'low' && rng.chance(0.35)
          ? 'buy_now_pay_later'
          : rng.pick(['card', 'card', 'card', 'paypal', 'apple_pay', 'gift_card']);
      const express =
        p.shoppingStyle === 'impulse_buyer' || p.shoppingStyle === 'premium_seeker' || p.incomeTier === 'high'
          ? rng.chance(0.55)
          : rng.chance(0.12);
      for (const c of bought) {
        let props = `{"order_id":"${orderId}","payment":"${payment}","shipping":"${express ? 'express' : 'standard'}"`;
        if (own && rng.chance(sens.coupon))
          props += `,"coupon":"${rng.pick(['SAVE10', 'WELCOME15', 'FLASH20', 'FREESHIP'])}"`;
        if (s.kind === 'gift' && rng.chance(0.5)) props += ',"gift_wrap":"true"';
        if (p.shoppingStyle === 'impulse_buyer' && own) props += ',"checkout":"one_click"';
        push(s, EventType.PURCHASE, t, c.item, c.price, '', `${props}}`, 0, 0, c.qty);
        t += 1_000 + rng.int(4_000);
        if (own && rng.chance(0.3)) {
          pending.push({
            item: c.item,
            due: t + (2 + rng.int(12)) * DAY_MS,
            review: rng.chance(p.shoppingStyle === 'researcher' ? 0.45 : 0.2),
          });
        }
      }
    }
    for (const c of cart) {
      if (!bought.includes(c) && rng.chance(0.25)) {
        push(s, EventType.REMOVE_FROM_CART, t, c.item, c.price, '', null, 0, 0, c.qty);
        t += gap() * 0.5;
      }
    }
  };

  // Sessions day by day.
  const perDay = p.hidden.sessionsPerWeek / 7;
  let identified = false;
  for (let d = 0; d < cfg.horizonDays; d++) {
    const dayStart = start + d * DAY_MS;
    const u = (d + 0.5) / cfg.horizonDays;
    const traj = trajectoryRate(p, u);
    if (traj === 0) continue;
    const { di, weekday } = ctx.days[d] as { di: DayInfo; weekday: number };
    const retired = retiredAt !== undefined && dayStart >= retiredAt ? 1.2 : 1;
    const saleLift = di.sale && p.priceSensitivity === 'high' ? 1.25 : 1;
    const n = rng.poisson(perDay * traj * weekday * di.rate * retired * saleLift);
    if (n === 0) continue;
    const starts: number[] = [];
    for (let k = 0; k < n; k++) {
      const hour = rng.chance(0.85) ? hourCdf.draw(rng) : ctx.genericHours.draw(rng);
      starts.push(dayStart + hour * HOUR_MS + rng.int(HOUR_MS));
    }
    starts.sort((a, b) => a - b);
    const week = Math.floor((dayStart - start) / (7 * DAY_MS));
    for (const st of starts) {
      let kind: SessionKind = 'own';
      if (p.hidden.sharedDevice && rng.chance(noise.sharedSessionRate)) kind = 'shared';
      else if (rng.chance(noise.giftRate * di.giftBoost)) kind = 'gift';
      let device: Device;
      if (kind === 'shared') device = p.hidden.sharedDevice as Device;
      else if (rng.chance(p.hidden.primaryDeviceShare)) device = p.primaryDevice;
      else device = otherDevices[rng.int(2)] as Device;
      const email = kind === 'own' && rng.chance(sens.email);
      const channel = email ? 'email' : device === 'desktop' ? 'web' : rng.chance(0.85) ? 'app' : 'web';
      const s = newSession(kind, device, channel, st);
      if (!identified) {
        identified = true;
        if (p.trajectory === 'new' && rng.chance(0.6)) {
          push(s, EventType.IDENTIFY, st, -1, 0, '', P('method', 'signup'), 0);
          push(
            s,
            EventType.CONSENT,
            st + 2_000,
            -1,
            0,
            '',
            P('analytics', 'granted', 'marketing', rng.chance(0.5) ? 'granted' : 'denied'),
            0,
          );
          s.startMs = st + 5_000;
        }
      } else if (rng.chance(0.004)) {
        push(s, EventType.CONSENT, st, -1, 0, '', P('analytics', 'granted'), 0);
      }
      runSession(s, focusLeaf(st, kind, di), di, week);
    }
  }

  // Noise that happens on the client: accidental clicks and bot bursts (own sessions, hidden kind).
  const realSessions = sessions.length;
  for (let k = 0; k < realSessions; k++) {
    if (!nrng.chance(noise.accidentalClickRate)) continue;
    const base = sessions[k] as SimSession;
    const t = base.startMs + nrng.int(12 * HOUR_MS);
    if (t >= start + horizonMs) continue;
    const s = newSession('accidental', base.device, base.channel, t);
    const leaf = ctx.allLeaves.draw(nrng);
    const item = (cat.leaves[leaf] as Leaf).items[nrng.int(4)] as number;
    push(
      s,
      EventType.ITEM_VIEW,
      t,
      item,
      cat.itemPrice[item] as number,
      '',
      P('source', 'banner', 'position', '1'),
      200 + nrng.int(1_300),
      0,
      0,
      Noise.accidental,
    );
  }
  const bursts = nrng.poisson(noise.botBurstsPerUser);
  for (let b = 0; b < bursts; b++) {
    let t = start + nrng.int(horizonMs - HOUR_MS);
    const s = newSession('bot', 'desktop', 'web', t, BOT_UA[nrng.int(BOT_UA.length)]);
    const n = 30 + nrng.int(60);
    for (let k = 0; k < n; k++) {
      const item = nrng.int(cat.size);
      push(s, EventType.ITEM_VIEW, t, item, cat.itemPrice[item] as number, '', null, nrng.int(150), 0, 0, Noise.bot);
      t += 40 + nrng.int(400);
    }
  }

  // Sequence numbers in event-time order, then delivery: jitter, late arrivals, duplicates.
  events.sort((a, b) => a.timeMs - b.timeMs || a.session.index - b.session.index);
  const out: SimEvent[] = [];
  for (let k = 0; k < events.length; k++) {
    const e = events[k] as SimEvent;
    e.seq = k;
    if (nrng.chance(noise.lateRate)) {
      e.late = true;
      e.receivedMs = e.timeMs + 60_000 + nrng.int(noise.maxLatenessMs - 60_000);
    } else {
      e.receivedMs = e.timeMs + 20 + Math.min(noise.jitterMs, Math.round(nrng.exp(noise.jitterMs / 5)));
    }
    out.push(e);
    if (nrng.chance(noise.duplicateRate)) {
      out.push({ ...e, receivedMs: e.receivedMs + 500 + nrng.int(60_000), noise: Noise.duplicate });
    }
  }
  out.sort((a, b) => a.receivedMs - b.receivedMs || a.seq - b.seq);

  // Malformed records (extra, not valid events).
  const malformed: SimMalformed[] = [];
  const m = cfg.malformedRate > 0 ? nrng.poisson(out.length * cfg.malformedRate) : 0;
  for (let k = 0; k < m && out.length > 0; k++) {
    malformed.push({
      source: out[nrng.int(out.length)] as SimEvent,
      variant: nrng.int(1000),
      at: nrng.int(out.length + 1),
    });
  }
  malformed.sort((a, b) => a.at - b.at);
  return { events: out, malformed, sessions };
}

export const MALFORMED_REASONS = [
  'missing_user_id',
  'missing_event_id',
  'bad_timestamp',
  'unknown_event_type',
  'truncated_json',
] as const;

/** Corrupts a valid event's canonical JSON into a malformed record, deterministically. */
export function corrupt(json: string, r: number): { json: string; reason: string } {
  const reason = MALFORMED_REASONS[r % MALFORMED_REASONS.length] as string;
  switch (reason) {
    case 'missing_user_id':
      return { json: json.replace(/"userId":"[^"]*",/, ''), reason };
    case 'missing_event_id':
      return { json: json.replace(/"eventId":"[^"]*",/, ''), reason };
    case 'bad_timestamp':
      return { json: json.replace(/"eventTimeMs":\d+/, '"eventTimeMs":"yesterday at 25:61"'), reason };
    case 'unknown_event_type':
      return { json: json.replace(/"type":"[A-Z_]+"/, '"type":"EVENT_TYPE_TELEPORT"'), reason };
    default:
      return { json: json.slice(0, Math.max(10, Math.floor(json.length * (0.3 + (r % 5) / 10)))), reason };
  }
}
