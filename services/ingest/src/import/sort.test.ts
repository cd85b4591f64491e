import { describe, expect, it } from 'vitest';
import { ExternalSorter } from './sort.js';

describe('ExternalSorter', () => {
  it('sorts by time then id, in memory and through spilled runs with multi-pass merges', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({
      t: (i * 7919) % 97,
      id: `id-${(i * 31) % 1000}`,
      userId: `u\t${i % 5}`,
      json: `{"i":${i},"s":"tab\\tquote\\""}`,
    }));
    const expected = [...items].sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : 1));
    for (const [chunk, fanIn] of [
      [5000, 64],
      [37, 4],
    ] as const) {
      const s = new ExternalSorter(chunk, fanIn);
      for (const it of items) await s.add(it);
      const out = [];
      for await (const it of s.sorted()) out.push(it);
      expect(out).toEqual(expected);
    }
  });
});
