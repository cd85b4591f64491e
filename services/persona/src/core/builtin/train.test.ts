import { type DimensionSpec, dimensionSpec } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { emptyStats, updateStats } from '../stats.js';
import { SYNTHETIC_DIMENSIONS, syntheticUsers } from '../synthetic.js';
import { BuiltinBackend } from './backend.js';
import {
  calibrateSummaryThresholds,
  chooseSummaryThresholds,
  evaluateBuiltin,
  NEVER_STATED,
  type SummaryFact,
  trainBuiltinModel,
} from './train.js';

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

describe('calibrateSummaryThresholds', () => {
  it('re-chooses per-dimension thresholds on users the model was not fitted on, within the budget', () => {
    const copy = JSON.parse(JSON.stringify(weights)) as typeof weights;
    const r = calibrateSummaryThresholds(copy, test, dims, 0.05);
    expect(r.users).toBe(test.length);
    expect(r.hallucination).toBeLessThanOrEqual(0.05);
    expect(r.accEx).toBeGreaterThan(0);
    expect(copy.meta.calibrationSummary).toEqual(r);
    expect(Object.keys(copy.summaryThresholds ?? {}).sort()).toEqual(dims.map((d) => d.name).sort());
  });
});

describe('chooseSummaryThresholds', () => {
  // A dimension whose confidences are honest, one that is over-confident, one that is always right.
  const facts: SummaryFact[] = [];
  for (let i = 0; i < 200; i++) {
    const conf = 0.5 + (i % 50) / 100;
    facts.push({ dim: 'honest', conf, ok: (i * 37) % 100 < conf * 100 });
    facts.push({ dim: 'overconfident', conf, ok: (i * 37) % 100 < (conf - 0.3) * 100 });
    facts.push({ dim: 'easy', conf: 0.6, ok: true });
  }

  it('states the most correct facts within the hallucination budget, per dimension', () => {
    const r = chooseSummaryThresholds(facts, 0.05);
    expect(r.wrong / r.stated).toBeLessThanOrEqual(0.05);
    // Always-right facts are stated even at a low confidence; the over-confident dimension needs more.
    expect(r.thresholds.easy).toBe(0.6);
    expect(r.thresholds.overconfident as number).toBeGreaterThan(r.thresholds.honest as number);
    // Better than any single threshold over all dimensions.
    for (const tau of [0.6, 0.7, 0.8, 0.9, 0.95]) {
      const stated = facts.filter((f) => f.conf >= tau);
      const wrong = stated.filter((f) => !f.ok).length;
      if (wrong / stated.length <= 0.05) expect(r.correct).toBeGreaterThan(stated.length - wrong);
    }
  });

  it('never states a dimension that is mostly wrong', () => {
    const bad: SummaryFact[] = Array.from({ length: 50 }, (_, i) => ({ dim: 'bad', conf: 0.9, ok: i % 2 === 0 }));
    const r = chooseSummaryThresholds([...facts, ...bad], 0.05);
    expect(r.thresholds.bad).toBe(NEVER_STATED);
  });
});
