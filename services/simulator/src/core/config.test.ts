import { describe, expect, it } from 'vitest';
import {
  DEFAULT_START_TIME_MS,
  defaultSimulatorConfig,
  ITEM_TASTE_DEFAULT,
  simulatorConfig,
  userIdOf,
} from './config.js';
import { DEFAULT_PRIORS } from './priors.js';

describe('simulator config', () => {
  it('has documented defaults and derives the run id', () => {
    expect(defaultSimulatorConfig).toMatchObject({ version: 1, tenant: 'demo', horizonDays: 90, seed: 1 });
    expect(defaultSimulatorConfig.startTimeMs).toBe(DEFAULT_START_TIME_MS);
    expect(new Date(DEFAULT_START_TIME_MS).toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(simulatorConfig({ users: 50, seed: 7 }).runId).toBe('sim-s7-u50');
    expect(simulatorConfig({ users: 50, seed: 7, runId: 'mine' }).runId).toBe('mine');
    expect(simulatorConfig({}).runId).toBe('sim-s1-u200');
    // The catalogue does not follow the run seed: a shop keeps its catalogue across benchmark seeds.
    expect(simulatorConfig({ seed: 7 })).toMatchObject({ catalogueSeed: 1, itemTaste: ITEM_TASTE_DEFAULT });
    expect(ITEM_TASTE_DEFAULT).toBeGreaterThan(0);
  });

  it('merges noise and priors field by field', () => {
    const c = simulatorConfig({ noise: { duplicateRate: 0 }, priors: { female: 0.9 } });
    expect(c.noise.duplicateRate).toBe(0);
    expect(c.noise.lateRate).toBe(defaultSimulatorConfig.noise.lateRate);
    expect(c.priors.female).toBe(0.9);
    expect(c.priors.lifeStage).toEqual(DEFAULT_PRIORS.lifeStage);
  });

  it('rejects bad values with an error naming the field', () => {
    expect(() => simulatorConfig({ users: 0 })).toThrow(/users must be an integer/);
    expect(() => simulatorConfig({ seed: -1 })).toThrow(/seed/);
    expect(() => simulatorConfig({ tenant: 'a b' })).toThrow(/tenant/);
    expect(() => simulatorConfig({ noise: { lateRate: 2 } })).toThrow(/noise\.lateRate/);
    expect(() => simulatorConfig({ priors: { lifeStage: { ...DEFAULT_PRIORS.lifeStage, student: -1 } } })).toThrow(
      /priors\.lifeStage\.student/,
    );
    expect(() => simulatorConfig({ itemTaste: -0.1 })).toThrow(/itemTaste must be a number in \[0, 5\] \(got -0.1\)/);
    expect(() => simulatorConfig({ itemTaste: Number.NaN })).toThrow(/itemTaste/);
    expect(() => simulatorConfig({ catalogueSeed: 1.5 })).toThrow(/catalogueSeed must be an integer/);
    expect(() => simulatorConfig({ catalogueSeed: -1 })).toThrow(/catalogueSeed/);
    expect(() => simulatorConfig({ bogus: 1 } as never)).toThrow(/bogus is not a simulator config field/);
    expect(() => simulatorConfig({ noise: { bogus: 1 } as never })).toThrow(/noise\.bogus/);
    try {
      simulatorConfig({ itemTaste: 9 });
    } catch (e) {
      expect((e as { field?: string }).field).toBe('itemTaste');
    }
    try {
      simulatorConfig({ horizonDays: 1 });
    } catch (e) {
      expect((e as { field?: string }).field).toBe('horizonDays');
    }
  });

  it('names users u000001…', () => {
    expect(userIdOf(0)).toBe('u000001');
    expect(userIdOf(41)).toBe('u000042');
  });
});
