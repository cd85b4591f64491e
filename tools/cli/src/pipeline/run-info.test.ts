import { type DimensionSpec, dimensionSpec, splitOf } from '@personastream/contracts';
import { simulateUsers, simulatorConfig } from '@personastream/simulator';
import { describe, expect, it } from 'vitest';
import { baselineInputs, datasetBaselines, runBaselines } from './run-info.js';

describe('baselines of a simulated run', () => {
  const sim = simulatorConfig({ users: 120, seed: 3, runId: 'ri', tenant: 't' });
  const inputs = baselineInputs(sim);

  it('collects every raw event of every user as raw_items tokens', () => {
    let events = 0;
    for (const u of simulateUsers(sim)) {
      const own = u.records.filter((r) => r.kind === 'event').length;
      events += own;
      // each event counts one action token
      const actions = [...inputs.rawItems.get(u.userId).entries()]
        .filter(([t]) => t.startsWith('a:'))
        .reduce((a, [, c]) => a + c, 0);
      expect(actions, u.userId).toBe(own);
    }
    expect(inputs.events).toBe(events);
  });

  it('prior, raw_frequency and raw_items, each per dimension, scored on the test split', () => {
    const b = runBaselines(inputs, { includeSensitive: true, scoreAllUsers: false });
    const dims = Object.keys(b.prior?.per_dimension ?? {});
    expect(dims).toContain('age_band');
    expect(dims).toContain('interests');
    for (const name of ['prior', 'raw_frequency', 'raw_items'] as const) {
      const s = b[name];
      expect(Object.keys(s?.per_dimension ?? {}), name).toEqual(dims);
      const perDim = Object.values(s?.per_dimension ?? {});
      expect(perDim.reduce((a, x) => a + x, 0) / perDim.length, name).toBeCloseTo(s?.tag_avg_at_k as number, 9);
    }
    // the raw events carry signal the prior cannot use
    expect(b.raw_items?.tag_avg_at_k).toBeGreaterThan((b.prior?.tag_avg_at_k as number) + 0.1);
    expect(b.raw_items?.ece).toBeGreaterThan(0);
    // deterministic: the same instance gives the same figures
    expect(runBaselines(baselineInputs(sim), { includeSensitive: true, scoreAllUsers: false })).toEqual(b);
  });

  it('datasetBaselines: the dimensions a dataset labels, prior and raw_items', () => {
    const events = [];
    const truths = [];
    for (const u of simulateUsers(sim))
      for (const r of u.records) {
        if (r.kind === 'event') events.push(r.event);
        else if (r.kind === 'truth') truths.push(r.truth);
      }
    const dimensions = ['age_band', 'interests'].map((d) => dimensionSpec(d) as DimensionSpec);
    const b = datasetBaselines({ events, truths, dimensions });
    expect(Object.keys(b.raw_items?.per_dimension ?? {})).toEqual(['age_band', 'interests']);
    expect(b.raw_frequency).toBeUndefined();
    expect(truths.every((t) => t.split === splitOf(t.userId))).toBe(true);
  });
});
