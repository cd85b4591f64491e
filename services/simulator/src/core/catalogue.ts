import { Cdf, deriveSeed, Rng, Stream } from './rng.js';
import { GENERAL_TOPS, LEAVES, type LeafSpec } from './taxonomy.js';

/** Price tier of a brand or item. */
export const TIERS = ['low', 'mid', 'high'] as const;
export type Tier = 0 | 1 | 2;

export interface Brand {
  name: string;
  tier: Tier;
  /** Age affinity in [-1, 1] (−1: popular with young shoppers). */
  age: number;
}

export interface Leaf extends LeafSpec {
  index: number;
  top: string;
  /** Index of the leaf's top category in `Catalogue.tops`. */
  topIndex: number;
  /** Lower-case leaf name, the basis of search queries. */
  term: string;
  /** Items of the leaf: indices into the item arrays, most popular first. */
  items: Int32Array;
  /** Popularity CDF over `items` (Zipf over the global rank). */
  popularity: Cdf;
  /** Items of the leaf per price tier (low, mid, high), most popular first. */
  byTier: [Int32Array, Int32Array, Int32Array];
}

/**
 * A generated catalogue: deterministic from (seed, size). Items are stored column-wise for speed;
 * `itemJson*` hold the pre-rendered canonical JSON fragments of each item.
 */
export interface Catalogue {
  seed: number;
  size: number;
  currency: string;
  tops: string[];
  /** Brands per top category index. */
  brands: Brand[][];
  leaves: Leaf[];
  itemId: string[];
  itemLeaf: Int32Array;
  itemBrand: Int32Array;
  itemTier: Uint8Array;
  itemPrice: Float64Array;
  itemTitle: string[];
  /** Global popularity weight (1 / rank^exponent). */
  itemPopularity: Float64Array;
  /** itemPopularity ** LISTING_SHARPNESS (precomputed for listing choices). */
  itemListingWeight: Float64Array;
  /** `{"id":…,"categoryPath":[…],"brand":…,"price":` — the price follows. */
  itemJsonHead: string[];
  /** `,"currency":"USD","title":…}` — closes the item after the price. */
  itemJsonTail: string[];
  /** `,"item":{…}` at the list price (the common case), fully rendered. */
  itemJson: string[];
  /** Leaf indices grouped by purpose. */
  byTop: Map<string, number[]>;
  /** Items of each top category (by index in `tops`), with a popularity CDF ("bestsellers"). */
  topItems: Int32Array[];
  topPopularity: Cdf[];
  /** Popularity CDF over all items (site-wide trending). */
  globalPopularity: Cdf;
  /**
   * Latent taste factors, `ITEM_FACTORS` per item (item i at `i * ITEM_FACTORS`): age (young ↔ old),
   * middle age, gender, money and a free taste factor (`ITEM_FACTOR_NAMES`), independent standard
   * normals hashed from (seed, item index). Independent of category, brand and tier: only the item
   * id carries them.
   */
  itemFactors: Float64Array;
}

/** Latent item factors (and the user coordinates they meet in `behaviour.ts`). */
export const ITEM_FACTOR_NAMES = ['age', 'middle_age', 'gender', 'money', 'taste'] as const;
export const ITEM_FACTORS = ITEM_FACTOR_NAMES.length;
/** Hash domain of item factors (keeps them apart from every Rng stream). */
const ITEM_FACTOR_DOMAIN = 0x17e3f;

/**
 * Item factors of a catalogue: a deterministic hash of (seed, item, factor), turned into standard
 * normals (Box–Muller on two hashed uniforms). No draws on the catalogue's Rng stream, so every other
 * property of the catalogue is what it was before item factors existed.
 */
export function itemFactors(seed: number, size: number): Float64Array {
  const f = new Float64Array(size * ITEM_FACTORS);
  for (let i = 0; i < size; i++) {
    for (let d = 0; d < ITEM_FACTORS; d++) {
      const u1 = (deriveSeed(seed, ITEM_FACTOR_DOMAIN, i, d, 0) + 0.5) / 4294967296;
      const u2 = (deriveSeed(seed, ITEM_FACTOR_DOMAIN, i, d, 1) + 0.5) / 4294967296;
      f[i * ITEM_FACTORS + d] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
  }
  return f;
}

export const ZIPF_EXPONENT = 1;
/** Choice within a listing weighs popularity by this power (attention concentrates on top results). */
export const LISTING_SHARPNESS = 2.4;

const TIER_PRICE = [0.55, 1, 2.1];
const TIER_SHARE = [0.38, 0.42, 0.2];
const TIER_WORDS = [
  ['Basic', 'Value', 'Everyday', 'Essential', 'Simple'],
  ['Classic', 'Plus', 'Comfort', 'Smart', 'Active', 'Original'],
  ['Pro', 'Elite', 'Signature', 'Luxe', 'Reserve'],
];
const EXTRA_WORDS = ['Lite', 'Max', 'Air', 'One', 'Go', 'X', 'Studio', 'Flex', 'Prime', 'Nova', '2', '3', 'S', 'Edge'];

const SYL_A = ['Al', 'Bel', 'Cor', 'Dar', 'El', 'Fen', 'Gal', 'Hol', 'Ir', 'Jun', 'Kel', 'Lun', 'Mar', 'Nor', 'Or'];
const SYL_B = ['va', 'ro', 'ti', 'ne', 'ka', 'lo', 'mi', 'sa', 'de', 'ri', 'to', 'na', 'vi', 'lu', 'ze'];
const SYL_C = ['x', 'n', 'ra', 'lis', 'tek', 'on', 'ia', 'co', 'vo', 'ly', 'ta', 'm', 'rd', 'sen', 'ex'];

function brandName(rng: Rng, used: Set<string>): string {
  for (;;) {
    const name = rng.pick(SYL_A) + rng.pick(SYL_B) + (rng.chance(0.6) ? rng.pick(SYL_C) : '');
    if (!used.has(name)) {
      used.add(name);
      return name;
    }
  }
}

/** A price ending in .99 (or .49 below 10). */
function shelfPrice(p: number): number {
  if (p < 10) return Math.max(0.99, Math.floor(p * 2) / 2 + 0.49);
  return Math.floor(p) + 0.99;
}

const cache = new Map<string, Catalogue>();

/** The catalogue of (seed, size); cached, since every user of a run shares it. */
export function catalogueFor(seed: number, size: number): Catalogue {
  const key = `${seed}:${size}`;
  let c = cache.get(key);
  if (!c) {
    c = buildCatalogue(seed, size);
    if (cache.size >= 4) cache.delete(cache.keys().next().value as string);
    cache.set(key, c);
  }
  return c;
}

/** Builds a catalogue of `size` items deterministically from `seed`. */
export function buildCatalogue(seed: number, size: number): Catalogue {
  const rng = Rng.of(seed, Stream.catalogue, size);
  const tops: string[] = [];
  for (const l of LEAVES) if (!tops.includes(l.path[0])) tops.push(l.path[0]);
  const used = new Set<string>();
  const brands: Brand[][] = tops.map((top) => {
    const n = GENERAL_TOPS.includes(top as (typeof GENERAL_TOPS)[number]) ? 8 : 10;
    return Array.from({ length: n }, (_, i) => ({
      name: brandName(rng, used),
      tier: (i < Math.round(n * 0.35) ? 0 : i < Math.round(n * 0.78) ? 1 : 2) as Tier,
      age: Math.max(-1, Math.min(1, rng.normal() * 0.6)),
    }));
  });

  // Items per leaf, proportional to leaf weight (at least 6 each).
  const totalWeight = LEAVES.reduce((s, l) => s + l.weight, 0);
  const counts = LEAVES.map((l) => Math.max(6, Math.floor((size * l.weight) / totalWeight)));
  let assigned = counts.reduce((s, n) => s + n, 0);
  for (let i = 0; assigned < size; i = (i + 1) % counts.length, assigned++) counts[i] = (counts[i] as number) + 1;
  while (assigned > size) {
    const i = counts.indexOf(Math.max(...counts));
    counts[i] = (counts[i] as number) - 1;
    assigned--;
  }

  const itemId: string[] = [];
  const itemLeaf = new Int32Array(size);
  const itemBrand = new Int32Array(size);
  const itemTier = new Uint8Array(size);
  const itemPrice = new Float64Array(size);
  const itemTitle: string[] = [];
  const itemJsonHead: string[] = [];
  const itemJsonTail: string[] = [];

  // Global Zipf popularity over a random permutation of ranks.
  const ranks = rng.shuffle(Array.from({ length: size }, (_, i) => i));
  const itemPopularity = new Float64Array(size);
  for (let i = 0; i < size; i++) itemPopularity[i] = 1 / ((ranks[i] as number) + 1) ** ZIPF_EXPONENT;

  const leaves: Leaf[] = [];
  const byTop = new Map<string, number[]>();
  let next = 0;
  LEAVES.forEach((spec, li) => {
    const topIndex = tops.indexOf(spec.path[0]);
    const topBrands = brands[topIndex] as Brand[];
    const n = counts[li] as number;
    const ids: number[] = [];
    const pathJson = JSON.stringify(spec.path);
    const noun = spec.path[2];
    for (let k = 0; k < n; k++) {
      const i = next++;
      const tier = rng.weighted(TIER_SHARE) as Tier;
      const candidates = topBrands.filter((b) => b.tier === tier);
      const b = rng.int(candidates.length);
      const brand = candidates[b] as Brand;
      const brandIndex = topBrands.indexOf(brand);
      const price = shelfPrice(spec.price * (TIER_PRICE[tier] as number) * Math.exp(0.22 * rng.normal()));
      const words = TIER_WORDS[tier] as string[];
      const title = `${brand.name} ${rng.pick(words)}${rng.chance(0.5) ? ` ${rng.pick(EXTRA_WORDS)}` : ''} ${noun}`;
      const id = `i${String(i + 1).padStart(6, '0')}`;
      itemId.push(id);
      itemLeaf[i] = li;
      itemBrand[i] = brandIndex;
      itemTier[i] = tier;
      itemPrice[i] = price;
      itemTitle.push(title);
      itemJsonHead.push(`{"id":"${id}","categoryPath":${pathJson},"brand":${JSON.stringify(brand.name)},"price":`);
      itemJsonTail.push(`,"currency":"USD","title":${JSON.stringify(title)}}`);
      ids.push(i);
    }
    ids.sort((a, b) => (itemPopularity[b] as number) - (itemPopularity[a] as number));
    const items = Int32Array.from(ids);
    const leaf: Leaf = {
      ...spec,
      index: li,
      top: spec.path[0],
      topIndex,
      term: noun.toLowerCase(),
      items,
      popularity: new Cdf(Array.from(items, (i) => itemPopularity[i] as number)),
      byTier: [0, 1, 2].map((t) => items.filter((i) => itemTier[i] === t)) as [Int32Array, Int32Array, Int32Array],
    };
    leaves.push(leaf);
    const list = byTop.get(leaf.top) ?? [];
    list.push(li);
    byTop.set(leaf.top, list);
  });

  const topItems = tops.map((_, t) => {
    const ids: number[] = [];
    for (const l of leaves) if (l.topIndex === t) ids.push(...l.items);
    return Int32Array.from(ids);
  });
  const topPopularity = topItems.map((ids) => new Cdf(Array.from(ids, (i) => itemPopularity[i] as number)));
  const itemListingWeight = itemPopularity.map((p) => p ** LISTING_SHARPNESS);
  const itemJson = itemJsonHead.map((h, i) => `,"item":${h}${itemPrice[i]}${itemJsonTail[i]}`);
  return {
    itemJson,
    itemListingWeight,
    itemFactors: itemFactors(seed, size),
    globalPopularity: new Cdf(itemPopularity),
    topItems,
    topPopularity,
    seed,
    size,
    currency: 'USD',
    tops,
    brands,
    leaves,
    itemId,
    itemLeaf,
    itemBrand,
    itemTier,
    itemPrice,
    itemTitle,
    itemPopularity,
    itemJsonHead,
    itemJsonTail,
    byTop,
  };
}

/** The brand of an item. */
export function brandOf(c: Catalogue, item: number): Brand {
  const leaf = c.leaves[c.itemLeaf[item] as number] as Leaf;
  return (c.brands[leaf.topIndex] as Brand[])[c.itemBrand[item] as number] as Brand;
}
