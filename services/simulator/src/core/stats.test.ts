import { describe, expect, it } from 'vitest';
import { simulatorConfig } from './config.js';
import { BANDS, checkBands, simulationStats, zipfFit } from './stats.js';

describe('realism report', () => {
  // A modest run (a couple of seconds); the CLI reports the same on 1,000 users.
  const stats = simulationStats(simulatorConfig({ users: 300, seed: 1 }));

  it('puts every property inside its documented band', () => {
    const checks = checkBands(stats);
    expect(checks.length).toBeGreaterThan(Object.keys(BANDS).length);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('reports the headline properties', () => {
    expect(stats.funnel.viewToPurchase).toBeGreaterThanOrEqual(0.01);
    expect(stats.funnel.viewToPurchase).toBeLessThanOrEqual(0.06);
    expect(stats.top10UserShare).toBeGreaterThanOrEqual(0.35);
    expect(stats.zipfExponent).toBeGreaterThanOrEqual(0.8);
    expect(stats.zipfExponent).toBeLessThanOrEqual(1.3);
    expect(stats.eventsPerUser.p10).toBeLessThan(stats.eventsPerUser.p50);
    expect(stats.eventsPerUser.p90).toBeLessThan(stats.eventsPerUser.p99);
    for (const curve of Object.values(stats.hourOfDay)) {
      expect(curve).toHaveLength(24);
      expect(curve.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
    }
    const le = Object.values(stats.lifeEvents);
    expect(le.length).toBeGreaterThanOrEqual(5);
    for (const e of le) expect(e.shareAfter).toBeGreaterThan(e.shareBefore);
  });

  it('fits Zipf exponents', () => {
    const exact = Array.from({ length: 2000 }, (_, i) => 1e6 / (i + 1));
    expect(zipfFit(exact)).toBeCloseTo(1, 5);
    expect(zipfFit(exact.map((x) => x ** 1.2))).toBeCloseTo(1.2, 5);
  });
});
