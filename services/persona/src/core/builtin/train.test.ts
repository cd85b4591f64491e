import { type DimensionSpec, dimensionSpec } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { emptyStats, updateStats } from '../stats.js';
import { SYNTHETIC_DIMENSIONS, syntheticUsers } from '../synthetic.js';
import { BuiltinBackend } from './backend.js';
import { evaluateBuiltin, trainBuiltinModel } from './train.js';

const dims = SYNTHETIC_DIMENSIONS.map((d) => dimensionSpec(d) as DimensionSpec);
const users = syntheticUsers({ users: 140, seed: 7 });
const examples = users.map((u) => ({ id: u.userId, windows: u.windows, truth: u.truth }));
const train = examples.slice(0, 100);
const test = examples.slice(100);
const weights = trainBuiltinModel(train, { dimensions: dims, iterations: 100, lambdas: [0.1, 0.01] });

describe('trainBuiltinModel', () => {
  it('learns the synthetic signals and generalizes', () => {
    const r = evaluateBuiltin(weights, test, dims);
    expect(r.score).toBeGreaterThan(0.85);
    expect(r.perDimension.primary_device).toBeGreaterThan(0.9);
    expect(r.perDimension.activity_pattern).toBeGreaterThan(0.9);
    expect(weights.meta.trainScore).toBeGreaterThan(0.85);
  });

  it('is deterministic', () => {
    const again = trainBuiltinModel(train, { dimensions: dims, iterations: 100, lambdas: [0.1, 0.01] });
    expect(JSON.stringify(again)).toBe(JSON.stringify(weights));
  });

  it('dates life events near their true onset and calibrates confidences into [0,1]', () => {
    const backend = new BuiltinBackend(weights);
    let checked = 0;
    for (const u of users.slice(100)) {
      const truth = u.truth.tags.find((t) => t.dimension === 'life_events');
      const s = emptyStats();
      for (const w of u.windows) updateStats(s, w);
      const tags = backend.predictTags(s, dims);
      for (const t of tags) {
        expect(t.confidence).toBeGreaterThanOrEqual(0);
        expect(t.confidence).toBeLessThanOrEqual(1);
        expect(t.evidence.length).toBeGreaterThan(0);
      }
      const pred = tags.find((t) => t.dimension === 'life_events' && t.value === truth?.value);
      if (truth && pred) {
        expect(Math.abs(pred.sinceMs - truth.sinceMs)).toBeLessThan(12 * 86_400_000);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(3);
  });
});
