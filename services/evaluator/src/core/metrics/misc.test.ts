import { describe, expect, it } from 'vitest';
import { compression, retention } from './compression.js';
import { convergenceCurve, historyBucket } from './convergence.js';
import { latencyPercentiles, mean, meanStd, percentile } from './stats.js';

describe('compression and retention', () => {
  it('compression = 1 − Σ semantized / Σ raw', () => {
    expect(
      compression([
        { raw: 1000, semantized: 20 },
        { raw: 3000, semantized: 60 },
      ]),
    ).toBeCloseTo(0.98, 12);
    expect(compression([])).toBeNull();
    expect(compression([{ raw: 0, semantized: 5 }])).toBeNull();
  });

  it('retention = semantized score / raw score, null when unavailable', () => {
    expect(retention(0.6, 0.75)).toBeCloseTo(0.8, 12);
    expect(retention(0.6, null)).toBeNull();
    expect(retention(0.6, 0)).toBeNull();
  });
});

describe('convergence', () => {
  it('buckets updates by the fraction of the user history seen', () => {
    expect(historyBucket(1, 10)).toBe(0.1);
    expect(historyBucket(3, 10)).toBe(0.3);
    expect(historyBucket(1, 3)).toBe(0.4); // 0.333 → 4th decile
    expect(historyBucket(3, 3)).toBe(1);
    expect(historyBucket(0, 5)).toBe(0.1);
    expect(historyBucket(2, 0)).toBe(1);
  });

  it('averages tag score per bucket', () => {
    expect(
      convergenceCurve([
        { userId: 'a', bucket: 1, tagScore: 0.8 },
        { userId: 'a', bucket: 0.5, tagScore: 0.4 },
        { userId: 'b', bucket: 0.5, tagScore: 0.6 },
        { userId: 'b', bucket: 1, tagScore: 1 },
        { userId: 'b', bucket: 1, tagScore: 0.6 },
      ]),
    ).toEqual([
      { bucket: 0.5, tag_score: 0.5, points: 2, users: 2 },
      { bucket: 1, tag_score: expect.closeTo(0.8, 12), points: 3, users: 2 },
    ]);
  });
});

describe('stats', () => {
  it('mean ± sample std over seeds', () => {
    expect(mean([])).toBe(0);
    const ms = meanStd([0.7, 0.8, 0.9]);
    expect(ms.mean).toBeCloseTo(0.8, 12);
    expect(ms.std).toBeCloseTo(0.1, 12);
    expect(ms.n).toBe(3);
    expect(meanStd([0.5])).toEqual({ mean: 0.5, std: 0, n: 1 });
  });

  it('nearest-rank percentiles', () => {
    const v = [15, 20, 35, 40, 50];
    expect(percentile(v, 30)).toBe(20);
    expect(percentile(v, 40)).toBe(20);
    expect(percentile(v, 50)).toBe(35);
    expect(percentile(v, 100)).toBe(50);
    expect(percentile([], 50)).toBe(0);
    const l = latencyPercentiles(Array.from({ length: 100 }, (_, i) => 100 - i));
    expect(l).toEqual({ count: 100, mean_ms: 50.5, p50_ms: 50, p90_ms: 90, p99_ms: 99, max_ms: 100 });
  });
});
