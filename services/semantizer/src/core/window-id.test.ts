import { describe, expect, it } from 'vitest';
import { windowId, windowIdOf } from './window-id.js';

/** A small deterministic generator (no test depends on Math.random). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('windowId', () => {
  it('equals the plain computation (string built, hashed with both seeds)', () => {
    const r = rng(7);
    const word = (max: number) => {
      const n = Math.floor(r() * max);
      let s = '';
      for (let i = 0; i < n; i++)
        s += String.fromCharCode(r() < 0.1 ? 0x80 + Math.floor(r() * 0x2000) : 97 + Math.floor(r() * 26));
      return s;
    };
    const users = Array.from({ length: 20 }, () => [word(6), word(12), word(9)] as const);
    for (let i = 0; i < 5000; i++) {
      // Runs of windows of one user (the saved prefix is reused), then another user.
      const [tenant, user, run] = users[Math.floor(r() * users.length)] as readonly [string, string, string];
      const startMs =
        r() < 0.9
          ? Math.floor(r() * 2e12)
          : ([0, 1, 9, 10, 99, 2 ** 53 - 1, -5, 1.5, Number.NaN, 1e21][i % 10] as number);
      const lateSeq = r() < 0.2 ? Math.floor(r() * 200) : undefined;
      expect(windowId(tenant, user, run, startMs, lateSeq)).toBe(windowIdOf(tenant, user, run, startMs, lateSeq));
    }
  });

  it('is 16 lower-case hex digits', () => {
    expect(windowId('demo', 'u1', 'run-1', 1_772_000_000_000)).toMatch(/^[0-9a-f]{16}$/);
  });
});
