/**
 * mulberry32: a tiny seeded pseudo-random number generator (uniform in [0, 1)). Shared by the test
 * fixtures and synthetic data of every package, so the same seed gives the same data everywhere.
 * Not for the simulator's benchmark data (it derives independent sfc32 streams per purpose).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
