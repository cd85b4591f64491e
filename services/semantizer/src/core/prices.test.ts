import { describe, expect, it } from 'vitest';
import { DAY_MS, PriceBook } from './prices.js';

/** A deterministic shuffle (LCG) so failures reproduce. */
function shuffled<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/**
 * n, mean, sd over the samples of days before `day`: each day's bucket summed in arrival order, the
 * buckets in day order (what the book promises).
 */
function naive(samples: [number, number][], day: number): { n: number; mean: number; sd: number } | undefined {
  const byDay = new Map<number, [number, number, number]>();
  for (const [d, p] of samples) {
    const b = byDay.get(d) ?? [0, 0, 0];
    const x = Math.log(p);
    b[0] += 1;
    b[1] += x;
    b[2] += x * x;
    byDay.set(d, b);
  }
  let n = 0;
  let s1 = 0;
  let s2 = 0;
  for (const d of [...byDay.keys()].sort((a, b) => a - b)) {
    if (d >= day) break;
    const b = byDay.get(d) as [number, number, number];
    n += b[0];
    s1 += b[1];
    s2 += b[2];
  }
  if (n < 8) return undefined;
  const v = (s2 - (s1 * s1) / n) / (n - 1);
  return { n, mean: s1 / n, sd: v > 0 ? Math.sqrt(v) : 0 };
}

describe('PriceBook buckets', () => {
  // 40 days (more than the initial capacity of a key's bucket array), prices arriving with days out
  // of order, as events of one user after another do; queries interleaved with the additions.
  const samples: [number, number][] = [];
  for (let d = 0; d < 40; d++) for (let k = 0; k < 3; k++) samples.push([d, 5 + ((d * 7 + k * 13) % 50)]);
  const order = shuffled(samples, 7);

  it('gives the day-ordered sums of the earlier days, whatever order the days arrived in', () => {
    const book = new PriceBook();
    const seen: [number, number][] = [];
    for (const [i, [d, p]] of order.entries()) {
      book.add(['A', 'B'], p, d * DAY_MS + 1000);
      seen.push([d, p]);
      if (i % 9 === 0) {
        const q = (i * 11) % 41;
        expect(book.stat(['A', 'B'], q * DAY_MS)).toEqual(naive(seen, q));
      }
    }
    for (let q = 0; q <= 41; q++) expect(book.stat(['A', 'B'], q * DAY_MS)).toEqual(naive(order, q));
  });

  it('reports every changed bucket once per delta, with its current sums, and restores from them', () => {
    const book = new PriceBook();
    const copy = new PriceBook();
    const applied: Record<string, string> = {};
    const take = () => {
      const pairs: string[] = [];
      book.takeDirty(pairs, '');
      for (let i = 0; i < pairs.length; i += 2) applied[pairs[i] as string] = pairs[i + 1] as string;
      return pairs;
    };
    for (const [i, [d, p]] of order.entries()) {
      book.add(['A', 'B'], p, d * DAY_MS);
      if (i % 25 === 24) take();
    }
    take();
    // levels '', 'A', 'A>B' × 40 days
    expect(Object.keys(applied)).toHaveLength(3 * 40);
    for (const [f, v] of book.all()) expect(JSON.parse(applied[f] as string)).toEqual(v);
    for (const [f, json] of Object.entries(applied)) copy.set(f, JSON.parse(json));
    for (let q = 0; q <= 41; q++) expect(copy.stat(['A', 'B'], q * DAY_MS)).toEqual(book.stat(['A', 'B'], q * DAY_MS));
    expect(take()).toEqual([]);
  });
});

describe('PriceBook.foldBefore (the live run: days folded, statistics kept)', () => {
  it('keeps every later statistic bit for bit, hands out the folded days for deletion, and restores to the same', () => {
    const paths = [
      ['Electronics', 'Audio', 'Headphones'],
      ['Electronics', 'Audio', 'Speakers'],
      ['Home', 'Kitchen'],
    ];
    const samples: [string[], number, number][] = [];
    for (let day = 0; day < 200; day++) {
      for (let k = 0; k < 3; k++)
        samples.push([paths[(day + k) % 3] as string[], day, 20 + ((day * 7 + k * 13) % 300)]);
    }
    const book = new PriceBook();
    for (const [path, day, price] of samples) book.add(path, price, day * DAY_MS + 1000);
    const before = (day: number) => paths.map((p) => book.stat(p, day * DAY_MS));
    const expected = [120, 150, 199, 200].map(before);
    book.takeDirty([], 'P\u0000');
    const bucketsBefore = book.all().size;

    book.foldBefore(120);
    expect([120, 150, 199, 200].map(before)).toEqual(expected);
    const removed: string[] = [];
    book.takeRemoved(removed, 'P\u0000');
    const set: string[] = [];
    book.takeDirty(set, 'P\u0000');
    // every key of every level lost its days before 119 but one: the fold
    expect(book.all().size).toBe(bucketsBefore - removed.length);
    expect(removed.length).toBeGreaterThan(0);
    for (const f of removed) expect(Number(f.slice(f.lastIndexOf('\u0000') + 1))).toBeLessThan(119);
    // the folds are written (at the newest folded day), nothing of a removed day is
    for (let i = 0; i < set.length; i += 2) expect(removed).not.toContain(set[i]);
    // a book restored from what the checkpoint holds answers the same
    const restored = new PriceBook();
    for (const [f, b] of book.all()) restored.set(f, b);
    expect([120, 150, 199, 200].map((d) => paths.map((p) => restored.stat(p, d * DAY_MS)))).toEqual(expected);
    // folding again changes nothing
    book.foldBefore(120);
    const again: string[] = [];
    book.takeRemoved(again, 'P\u0000');
    expect(again).toEqual([]);
  });
});
