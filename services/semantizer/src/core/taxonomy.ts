import { EventType, INTERESTS } from '@personastream/contracts';
import { splitWords } from './intents.js';
import { VOCAB } from './taxonomy-vocab.js';

/**
 * The open taxonomy mapper: any category path, product title or search query → the HPR-Bench
 * interests it signals, through a curated vocabulary (`taxonomy-vocab.ts`) plus per-tenant extra
 * terms (`SEMANTIZER_TAXONOMY_FILE`). Pure and deterministic; results are cached per distinct path
 * (by the interned array) and per distinct text.
 *
 * - **Words.** `'s` and apostrophes dropped, then the search terms' tokenizer (`splitWords`:
 *   lower-cased, accents removed, split on anything but letters and digits of any script), stop words ("and", "for", "with", …) removed, and each word reduced to a singular form
 *   by a few suffix rules (`singular`). Vocabulary terms go through the same function, so "Headphones",
 *   "headphone" and "HEADPHONES" are one term.
 * - **Terms in a text.** Greedy longest match from the left over phrases of up to `MAX_PHRASE` words:
 *   "noise cancelling headphones" matches "noise cancelling" and "headphone". A text's weights are the
 *   sums of its terms' weights; general terms (vocabulary entries with `-`) add to a `none` weight.
 * - **Paths, most specific level first.** Each level is a text. The levels that match anything, from
 *   the leaf up, get the weights 1, ½, ¼, …; each level's weights are divided by its largest, then
 *   summed. The path's interests are those whose sum reaches `KEEP` (0.6) of the largest sum (the
 *   `none` weight included, so "Clothing > Men > Socks" maps to no interest while "Electronics >
 *   Audio > Headphones" maps to tech and music). A path none of whose levels matches is *unmapped*.
 * - **Titles and queries**: one text, the same rule.
 *
 * The simulator's own top-level categories ("Sports", "Tech", …) are ordinary vocabulary words.
 */

/** Interest names in schema order; bit i of a mask is `INTEREST_NAMES[i]`. */
export const INTEREST_NAMES: readonly string[] = INTERESTS;
const INTEREST_COUNT = INTERESTS.length;
/** Mask bit: the text or path matched at least one vocabulary term (possibly a general one). */
export const RECOGNIZED = 1 << INTEREST_COUNT;
/** Mask bit (events only): the event carries a category path or a product title. */
export const HAS_CATEGORY = 1 << (INTEREST_COUNT + 1);
/** Only the interest bits. */
export const INTEREST_BITS = (1 << INTEREST_COUNT) - 1;

/** Index of the `none` weight (general terms) in a weight vector. */
const NONE = INTEREST_COUNT;
/** An interest is kept when its weight reaches this share of the largest weight. */
export const KEEP = 0.6;
/** Weight of each matching level relative to the more specific matching level below it. */
export const LEVEL_DECAY = 0.5;
/** Longest vocabulary phrase, in words. */
const MAX_PHRASE = 4;

/** Extra terms of one tenant: term → interests (a list: weight 1 each; an object: weights; [] = general). */
export type TermSpec = readonly string[] | Readonly<Record<string, number>>;
export type TenantTerms = Readonly<Record<string, TermSpec>>;
/** Per-tenant extra terms (`SEMANTIZER_TAXONOMY_FILE`'s `tenants`). */
export type TaxonomyExtras = Readonly<Record<string, TenantTerms>>;

const STOP = new Set([
  'and',
  'or',
  'the',
  'a',
  'an',
  'for',
  'with',
  'of',
  'in',
  'on',
  'to',
  'by',
  'from',
  'at',
  'your',
  'my',
  'our',
  'its',
]);

/** Plurals the suffix rules get wrong, and words ending in "s" that are singular. */
const IRREGULAR: Readonly<Record<string, string>> = {
  lenses: 'lens',
  lens: 'lens',
  canvases: 'canvas',
  canvas: 'canvas',
  atlases: 'atlas',
  atlas: 'atlas',
  christmas: 'christmas',
  gas: 'gas',
  news: 'news',
  series: 'series',
  species: 'species',
  knives: 'knife',
  shelves: 'shelf',
  scarves: 'scarf',
  leaves: 'leaf',
  wolves: 'wolf',
  halves: 'half',
  loaves: 'loaf',
  calves: 'calf',
  wives: 'wife',
  lives: 'life',
  bus: 'bus',
  buses: 'bus',
  plus: 'plus',
  gps: 'gps',
  ios: 'ios',
  mas: 'mas',
  pajamas: 'pajama',
  pyjamas: 'pajama',
  dvds: 'dvd',
  cds: 'cd',
  lps: 'lp',
  pcs: 'pc',
  tvs: 'tv',
};

/** Words whose plural ends in "ies" but whose singular ends in "ie". */
const IE_WORDS = new Set([
  'movie',
  'cookie',
  'hoodie',
  'onesie',
  'beanie',
  'smoothie',
  'goodie',
  'calorie',
  'zombie',
  'selfie',
  'brownie',
  'veggie',
  'rookie',
  'goalie',
  'collie',
  'bootie',
  'birdie',
  'pixie',
  'auntie',
  'sweetie',
  'lingerie',
  'prairie',
  'necktie',
  'bowtie',
]);

/** Singular form of a lower-case word (suffix rules plus exceptions); short words are kept. */
export function singular(w: string): string {
  const irregular = IRREGULAR[w];
  if (irregular !== undefined) return irregular;
  const n = w.length;
  if (n < 4 || w.charCodeAt(n - 1) !== 115 /* s */) return w;
  if (w.endsWith('ies')) {
    if (n > 4) {
      const ie = w.slice(0, -1);
      return IE_WORDS.has(ie) ? ie : `${w.slice(0, -3)}y`;
    }
    return w.slice(0, -1);
  }
  if (w.endsWith('sses') || w.endsWith('shes') || w.endsWith('ches') || w.endsWith('xes') || w.endsWith('zzes')) {
    return w.slice(0, -2);
  }
  if (w.endsWith('ss') || w.endsWith('us') || w.endsWith('is')) return w;
  return w.slice(0, -1);
}

const POSSESSIVE = /['’]s\b/gi;
const APOSTROPHE = /['’]/g;

/** Singular forms of words seen (words repeat across paths, titles and queries); cleared when full. */
const singularCache = new Map<string, string>();

/** The normalized words of a text (see the module comment). */
export function normalizeWords(text: string): string[] {
  const s = text.includes("'") || text.includes('’') ? text.replace(POSSESSIVE, '').replace(APOSTROPHE, '') : text;
  const out: string[] = [];
  for (const w of splitWords(s)) {
    if (STOP.has(w)) continue;
    let one = singularCache.get(w);
    if (one === undefined) {
      one = singular(w);
      if (singularCache.size >= CACHE_MAX) singularCache.clear();
      singularCache.set(w, one);
    }
    out.push(one);
  }
  return out;
}

/** Parses a vocabulary spec ("music tech:0.5", "-") into a weight vector (`none` last). */
function parseSpec(spec: string): Float64Array {
  const v = new Float64Array(INTEREST_COUNT + 1);
  if (spec.trim() === '-') {
    v[NONE] = 1;
    return v;
  }
  for (const part of spec.trim().split(/\s+/)) {
    const [name, weight] = part.split(':') as [string, string | undefined];
    const i = INTEREST_NAMES.indexOf(name);
    if (i < 0) throw new Error(`taxonomy vocabulary: unknown interest "${name}" in "${spec}"`);
    const x = weight === undefined ? 1 : Number(weight);
    if (!(x > 0 && x <= 1)) throw new Error(`taxonomy vocabulary: weight of "${name}" must be in (0, 1] in "${spec}"`);
    v[i] = x;
  }
  return v;
}

/** A term spec of the configuration file as a weight vector. */
function vectorOf(spec: TermSpec): Float64Array {
  const v = new Float64Array(INTEREST_COUNT + 1);
  if (Array.isArray(spec)) {
    if (spec.length === 0) v[NONE] = 1;
    for (const name of spec as readonly string[]) v[INTEREST_NAMES.indexOf(name)] = 1;
    return v;
  }
  let any = false;
  for (const [name, w] of Object.entries(spec as Record<string, number>)) {
    v[INTEREST_NAMES.indexOf(name)] = w;
    any = true;
  }
  if (!any) v[NONE] = 1;
  return v;
}

/** A compiled vocabulary: normalized phrase → weights. */
export class TermTable {
  readonly terms = new Map<string, Float64Array>();
  /** Longest phrase (in words) starting with each word that starts a multi-word phrase. */
  private readonly longest = new Map<string, number>();

  /** A copy (the base vocabulary under a tenant's terms). */
  clone(): TermTable {
    const t = new TermTable();
    for (const [k, v] of this.terms) t.terms.set(k, v);
    for (const [k, n] of this.longest) t.longest.set(k, n);
    return t;
  }

  /** Adds a term; a phrase already present keeps, per interest, the larger weight (base entries merge). */
  add(term: string, v: Float64Array, replace = false): void {
    const key = normalizeWords(term).join(' ');
    if (key === '') return;
    if (key.split(' ').length > MAX_PHRASE)
      throw new Error(`taxonomy: term "${term}" has more than ${MAX_PHRASE} words`);
    const words = key.split(' ');
    if (words.length > 1) {
      const first = words[0] as string;
      this.longest.set(first, Math.max(this.longest.get(first) ?? 1, words.length));
    }
    const old = this.terms.get(key);
    if (old === undefined || replace) {
      this.terms.set(key, v);
      return;
    }
    const merged = old.slice();
    for (let i = 0; i < merged.length; i++) merged[i] = Math.max(merged[i] as number, v[i] as number);
    this.terms.set(key, merged);
  }

  /** Summed weights of the terms found in `words` (greedy longest match), or undefined when none matched. */
  match(words: readonly string[]): Float64Array | undefined {
    let sum: Float64Array | undefined;
    let i = 0;
    while (i < words.length) {
      // Phrases growing from word i; the longest one in the table wins.
      const w = words[i] as string;
      let hit = this.terms.get(w);
      let n = hit === undefined ? 0 : 1;
      const longest = Math.min(this.longest.get(w) ?? 1, words.length - i);
      let key = w;
      for (let k = 2; k <= longest; k++) {
        key += ` ${words[i + k - 1] as string}`;
        const h = this.terms.get(key);
        if (h !== undefined) {
          hit = h;
          n = k;
        }
      }
      if (hit === undefined) {
        i++;
        continue;
      }
      sum ??= new Float64Array(INTEREST_COUNT + 1);
      for (let k = 0; k <= INTEREST_COUNT; k++) sum[k] = (sum[k] as number) + (hit[k] as number);
      i += n;
    }
    // General words beside interest words say nothing more ("Women's Running Shoes"): only a text of
    // general words alone keeps its `none` weight.
    if (sum !== undefined && sum[NONE] !== 0) {
      for (let k = 0; k < INTEREST_COUNT; k++) {
        if ((sum[k] as number) > 0) {
          sum[NONE] = 0;
          break;
        }
      }
    }
    return sum;
  }
}

let baseTable: TermTable | undefined;

/** The built-in vocabulary, compiled once. */
export function baseTerms(): TermTable {
  if (baseTable === undefined) {
    const t = new TermTable();
    for (const [spec, terms] of VOCAB) {
      const v = parseSpec(spec);
      for (const term of terms) t.add(term, v);
    }
    baseTable = t;
  }
  return baseTable;
}

/** Interest mask of summed weights: interests reaching `KEEP` of the largest weight (`none` included), plus `RECOGNIZED`. */
function maskOf(w: Float64Array | undefined): number {
  if (w === undefined) return 0;
  let max = 0;
  for (let k = 0; k <= INTEREST_COUNT; k++) if ((w[k] as number) > max) max = w[k] as number;
  if (max <= 0) return RECOGNIZED;
  const cut = KEEP * max - 1e-9;
  let mask = RECOGNIZED;
  for (let k = 0; k < INTEREST_COUNT; k++) if ((w[k] as number) >= cut && (w[k] as number) > 0) mask |= 1 << k;
  return mask;
}

/** Interests of a mask, in schema order. */
export function interestsOf(mask: number): string[] {
  const out: string[] = [];
  for (let k = 0; k < INTEREST_COUNT; k++) if ((mask & (1 << k)) !== 0) out.push(INTEREST_NAMES[k] as string);
  return out;
}

/** Caches are cleared when they reach this many entries. */
const CACHE_MAX = 50_000;

/** One tenant's mapper: the base vocabulary plus the tenant's extra terms; caches per path and text. */
export class TenantMapper {
  private readonly byPath = new Map<readonly string[], number>();
  private readonly byText = new Map<string, number>();

  constructor(private readonly table: TermTable) {}

  /** Mask of a text (title, query, one level). */
  text(text: string): number {
    let m = this.byText.get(text);
    if (m === undefined) {
      m = maskOf(this.table.match(normalizeWords(text)));
      if (this.byText.size >= CACHE_MAX) this.byText.clear();
      this.byText.set(text, m);
    }
    return m;
  }

  /** Mask of a category path, most specific level first (cached by the array: engines intern paths). */
  path(path: readonly string[]): number {
    let m = this.byPath.get(path);
    if (m === undefined) {
      m = maskOf(this.pathWeights(path));
      if (this.byPath.size >= CACHE_MAX) this.byPath.clear();
      this.byPath.set(path, m);
    }
    return m;
  }

  /** The summed, rank-weighted level weights of a path (undefined: no level matched). */
  pathWeights(path: readonly string[]): Float64Array | undefined {
    let sum: Float64Array | undefined;
    let f = 1;
    for (let l = path.length - 1; l >= 0; l--) {
      const w = this.table.match(normalizeWords(path[l] as string));
      if (w === undefined) continue;
      let max = 0;
      for (let k = 0; k <= INTEREST_COUNT; k++) if ((w[k] as number) > max) max = w[k] as number;
      if (max <= 0) continue;
      sum ??= new Float64Array(INTEREST_COUNT + 1);
      for (let k = 0; k <= INTEREST_COUNT; k++) sum[k] = (sum[k] as number) + (f * (w[k] as number)) / max;
      f *= LEVEL_DECAY;
    }
    return sum;
  }

  /**
   * The mask of one event: engaged-type events (and any other with an item) by their category path,
   * else their product title, with `HAS_CATEGORY` when they carry either; searches by their query
   * (without `HAS_CATEGORY`: a query is not a category). 0 for events with nothing to map.
   */
  event(type: number, path: readonly string[], title: string, query: string): number {
    if (type === EventType.SEARCH) return query === '' ? 0 : this.text(query);
    if (path.length > 0) {
      const m = this.path(path);
      if ((m & RECOGNIZED) !== 0 || title === '') return m | HAS_CATEGORY;
      return this.text(title) | HAS_CATEGORY;
    }
    return title === '' ? 0 : this.text(title) | HAS_CATEGORY;
  }
}

/**
 * Mappers by tenant: tenants with extra terms get their own table (the base vocabulary, then their
 * terms, which replace base entries of the same phrase); every other tenant shares the base one.
 */
export class TaxonomyMapper {
  private readonly base: TenantMapper;
  private readonly tenants = new Map<string, TenantMapper>();
  private lastTenant = '';
  private last: TenantMapper;

  constructor(extras: TaxonomyExtras = {}) {
    this.base = new TenantMapper(baseTerms());
    this.last = this.base;
    for (const [tenant, terms] of Object.entries(extras)) {
      const table = baseTerms().clone();
      for (const [term, spec] of Object.entries(terms)) table.add(term, vectorOf(spec), true);
      this.tenants.set(tenant, new TenantMapper(table));
    }
  }

  /** The mapper of a tenant (the previous call's is checked first). */
  of(tenant: string): TenantMapper {
    if (tenant === this.lastTenant) return this.last;
    const m = this.tenants.get(tenant) ?? this.base;
    this.lastTenant = tenant;
    this.last = m;
    return m;
  }
}
