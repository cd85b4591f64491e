/**
 * The live soak's events: Segment `track` / `page` messages (the `/v1/batch` shape) of a shopping
 * session, no run id (so ingest files them under the tenant's live run), event time = now. Which
 * event a (user, k) is comes from a hash, so a run is repeatable apart from its times.
 */

const CATEGORIES = [
  'Sports > Running > Running Shoes',
  'Electronics > Audio > Headphones',
  'Home > Kitchen > Coffee',
  'Fashion > Women > Dresses',
  'Books > Fiction',
  'Toys > Building Sets',
];
const BRANDS = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli'];
const QUERIES = ['running shoes', 'wireless headphones', 'espresso machine', 'summer dress', 'fantasy novel', 'lego'];

function hash(a: number, b: number): number {
  let h = 0x811c9dc5 ^ a;
  h = Math.imul(h, 0x01000193) ^ b;
  h = Math.imul(h, 0x01000193);
  return (h ^ (h >>> 15)) >>> 0;
}

/** A Segment message of user `u`'s event `k` (ids unique per run through `runTag`). */
export function soakMessage(runTag: string, u: number, k: number, nowMs: number): Record<string, unknown> {
  const h = hash(u, k);
  const interest = hash(u, 0xffff) % CATEGORIES.length;
  const category = CATEGORIES[(h % 5 === 0 ? h >>> 8 : interest) % CATEGORIES.length] as string;
  const product = {
    product_id: `sku-${interest}-${(h >>> 4) % 200}`,
    category,
    brand: BRANDS[(h >>> 12) % BRANDS.length],
    price: 5 + ((h >>> 16) % 300),
    currency: 'EUR',
    // how long the product page was looked at: a shopper's, not an accidental click's
    dwell_ms: 5_000 + ((h >>> 3) % 55_000),
  };
  const base = {
    userId: `soak-${runTag}-u${u}`,
    messageId: `soak-${runTag}-u${u}-e${k}`,
    timestamp: new Date(nowMs).toISOString(),
    context: { device: { type: u % 3 === 0 ? 'desktop' : 'mobile' }, sessionId: `s-${runTag}-${u}` },
  };
  if (k === 0) {
    return { ...base, type: 'track', event: 'Products Searched', properties: { query: QUERIES[interest] } };
  }
  const roll = h % 20;
  if (roll < 2) return { ...base, type: 'page', name: 'Category', properties: { category } };
  if (roll < 4) return { ...base, type: 'track', event: 'Product Added', properties: { ...product, quantity: 1 } };
  if (roll < 5) return { ...base, type: 'track', event: 'Products Searched', properties: { query: QUERIES[h % 6] } };
  return { ...base, type: 'track', event: 'Product Viewed', properties: product };
}
