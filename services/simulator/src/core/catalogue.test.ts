import { INTERESTS } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { buildCatalogue, catalogueFor } from './catalogue.js';
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
});
