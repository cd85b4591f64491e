import { INTERESTS } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { buildCatalogue, catalogueFor, ITEM_FACTORS, itemFactors } from './catalogue.js';
import { GENERAL_TOPS, topOfInterest } from './taxonomy.js';

describe('catalogue', () => {
  const c = buildCatalogue(1, 5000);

  it('is deterministic from (seed, size) and differs across seeds', () => {
    const again = buildCatalogue(1, 5000);
    expect(again.itemTitle).toEqual(c.itemTitle);
    expect(Array.from(again.itemPrice)).toEqual(Array.from(c.itemPrice));
    expect(buildCatalogue(2, 5000).itemTitle).not.toEqual(c.itemTitle);
    expect(catalogueFor(1, 5000)).toBe(catalogueFor(1, 5000));
  });

  it('has exactly `size` items with unique ids, prices and titles', () => {
    expect(c.itemId).toHaveLength(5000);
    expect(new Set(c.itemId).size).toBe(5000);
    for (let i = 0; i < c.size; i++) {
      expect(c.itemPrice[i]).toBeGreaterThan(0);
      expect(c.itemTitle[i]).toMatch(/\S+ \S+/);
    }
    expect(buildCatalogue(3, 777).itemId).toHaveLength(777);
  });

  it('covers every interest and the general categories with three-level paths', () => {
    for (const i of INTERESTS) expect(c.tops).toContain(topOfInterest(i));
    for (const g of GENERAL_TOPS) expect(c.tops).toContain(g);
    expect(c.leaves.some((l) => l.path.join(' > ') === 'Sports > Running > Running Shoes')).toBe(true);
    for (const l of c.leaves) {
      expect(l.path).toHaveLength(3);
      expect(l.items.length).toBeGreaterThan(0);
    }
  });

  it('prices brands by tier: premium items cost more than budget ones in the same leaf', () => {
    let higher = 0;
    let leaves = 0;
    for (const l of c.leaves) {
      const mean = (t: 0 | 1 | 2) => {
        const xs = Array.from(l.byTier[t], (i) => c.itemPrice[i] as number);
        return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
      };
      const lo = mean(0);
      const hi = mean(2);
      if (Number.isNaN(lo) || Number.isNaN(hi)) continue;
      leaves++;
      if (hi > lo) higher++;
    }
    expect(higher / leaves).toBeGreaterThan(0.95);
  });

  it('has a Zipf(1) popularity over a random permutation of ranks', () => {
    const pops = Array.from(c.itemPopularity).sort((a, b) => b - a);
    expect(pops[0]).toBe(1);
    expect(pops[9]).toBeCloseTo(1 / 10);
    expect(pops[999]).toBeCloseTo(1 / 1000);
  });

  it('gives every item latent factors: standard normals hashed from (seed, item), unrelated to tier and leaf', () => {
    expect(c.itemFactors).toHaveLength(5000 * ITEM_FACTORS);
    expect(Array.from(itemFactors(1, 5000))).toEqual(Array.from(c.itemFactors));
    expect(Array.from(itemFactors(2, 5000))).not.toEqual(Array.from(c.itemFactors));
    // The first items' factors do not depend on the catalogue size (a hash of the index, no Rng draws).
    expect(Array.from(itemFactors(1, 777))).toEqual(Array.from(c.itemFactors.subarray(0, 777 * ITEM_FACTORS)));
    for (let d = 0; d < ITEM_FACTORS; d++) {
      const xs = Array.from({ length: c.size }, (_, i) => c.itemFactors[i * ITEM_FACTORS + d] as number);
      const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
      const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / xs.length);
      expect(Math.abs(mean)).toBeLessThan(0.05);
      expect(sd).toBeGreaterThan(0.95);
      expect(sd).toBeLessThan(1.05);
      // Weakly related to the price tier and the leaf: per-tier means and the spread of leaf means
      // are what independent draws give.
      for (const t of [0, 1, 2]) {
        const ts = xs.filter((_, i) => c.itemTier[i] === t);
        expect(Math.abs(ts.reduce((a, x) => a + x, 0) / ts.length)).toBeLessThan(0.08);
      }
      let chi = 0;
      for (const l of c.leaves) {
        const m = Array.from(l.items, (i) => xs[i] as number).reduce((a, x) => a + x, 0) / l.items.length;
        chi += m * m * l.items.length;
      }
      // Σ n·mean² over leaves ~ χ²(leaves): its mean is the number of leaves.
      expect(chi / c.leaves.length).toBeLessThan(1.3);
    }
  });
});
