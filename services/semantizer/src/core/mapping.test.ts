import { describe, expect, it } from 'vitest';
import { categoryKey, ENGAGED, ENGAGED_TYPE, PathCache, PRICED, PRICED_TYPE } from './mapping.js';

describe('event type tables', () => {
  it('answer as the sets do, for every type number and for numbers outside the table', () => {
    const ys = [-1, 0.5, 1.5, 63, 64, 65, 1000, Number.NaN];
    for (let y = 0; y < 100; y++) ys.push(y);
    for (const y of ys) {
      expect(PRICED_TYPE[y] === 1, `PRICED ${y}`).toBe(PRICED.has(y));
      expect(ENGAGED_TYPE[y] === 1, `ENGAGED ${y}`).toBe(ENGAGED.has(y));
    }
  });
});

describe('PathCache', () => {
  it('gives the category key of the path, for the same array, copies and other depths', () => {
    const cache = new PathCache();
    const paths = [['Sports', 'Running', 'Shoes'], ['Sports'], ['Home', 'Kitchen'], [], ['Sports', 'Running', 'Socks']];
    let s = 3;
    for (let i = 0; i < 600; i++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      const p = paths[s % paths.length] as string[];
      const path = s % 3 === 0 ? [...p] : p;
      const depth = i < 300 ? 2 : 1 + (s % 3);
      expect(cache.category(path, depth)).toBe(categoryKey(path, depth));
    }
  });
});
