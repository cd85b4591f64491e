import { describe, expect, it } from 'vitest';
import { defineLazy } from './lazy.js';

describe('defineLazy', () => {
  it('computes on first read only, and a write replaces the value', () => {
    let calls = 0;
    const o = defineLazy({ a: 0 } as { a: number }, 'a', () => {
      calls++;
      return 42;
    });
    expect(calls).toBe(0);
    expect(o.a).toBe(42);
    expect(o.a).toBe(42);
    expect(calls).toBe(1);
    o.a = 7;
    expect(o.a).toBe(7);
    expect(Object.keys(o)).toEqual(['a']);
  });
});
