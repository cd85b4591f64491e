import { DIMENSIONS, INTERESTS, LIFE_EVENTS } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { priorBaseline } from './baseline.js';
import { simulatorConfig } from './config.js';
import { samplePersona } from './persona-sampler.js';
import { singleValues } from './truth.js';
import type { Persona } from './types.js';

const config = simulatorConfig({ users: 1000 });
const personas: Persona[] = Array.from({ length: 1000 }, (_, i) => samplePersona(config, i));

function share(pred: (p: Persona) => boolean, among: Persona[] = personas): number {
  return among.filter(pred).length / Math.max(1, among.length);
}

describe('persona sampler', () => {
  it('is deterministic per (seed, user) and differs across seeds', () => {
    expect(samplePersona(config, 17)).toEqual(samplePersona(config, 17));
    const other = simulatorConfig({ users: 1000, seed: 2 });
    const diff = personas.slice(0, 50).filter((p, i) => JSON.stringify(p) !== JSON.stringify(samplePersona(other, i)));
    expect(diff.length).toBeGreaterThan(45);
  });

  it('uses only the schema vocabulary', () => {
    for (const p of personas) {
      for (const [dim, value] of singleValues(p)) {
        const spec = DIMENSIONS.find((d) => d.name === dim);
        expect(spec?.values).toContain(value);
      }
      expect(p.interests.length).toBeGreaterThanOrEqual(1);
      expect(p.interests.length).toBeLessThanOrEqual(5);
      expect(new Set(p.interests).size).toBe(p.interests.length);
      for (const i of p.interests) expect(INTERESTS).toContain(i);
      expect(p.lifeEvents.length).toBeLessThanOrEqual(2);
      for (const e of p.lifeEvents) expect(LIFE_EVENTS).toContain(e.kind);
    }
  });

  it('samples dimensions jointly: life stage, age, occupation, income, prices, devices', () => {
    const students = personas.filter((p) => p.lifeStage === 'student');
    const retirees = personas.filter((p) => p.lifeStage === 'retiree');
    expect(share((p) => p.ageBand === '18-24', students)).toBeGreaterThan(0.75);
    expect(share((p) => p.ageBand === '55+', retirees)).toBeGreaterThan(0.85);
    expect(share((p) => p.occupation === 'student', students)).toBeGreaterThan(0.85);
    expect(share((p) => p.occupation === 'retired', retirees)).toBe(1);
    expect(
      share(
        (p) => p.occupation === 'retired' || p.occupation === 'student',
        personas.filter((p) => p.lifeStage === 'young_professional'),
      ),
    ).toBe(0);
    const high = (occ: string) =>
      share(
        (p) => p.incomeTier === 'high',
        personas.filter((p) => p.occupation === occ),
      );
    expect(high('tech')).toBeGreaterThan(high('student') + 0.25);
    const sens = (inc: string) =>
      share(
        (p) => p.priceSensitivity === 'high',
        personas.filter((p) => p.incomeTier === inc),
      );
    expect(sens('low')).toBeGreaterThan(sens('high') + 0.4);
    const bargain = (ps: string) =>
      share(
        (p) => p.shoppingStyle === 'bargain_hunter',
        personas.filter((p) => p.priceSensitivity === ps),
      );
    expect(bargain('high')).toBeGreaterThan(bargain('low') + 0.3);
    const mobile = (age: string) =>
      share(
        (p) => p.primaryDevice === 'mobile',
        personas.filter((p) => p.ageBand === age),
      );
    expect(mobile('18-24')).toBeGreaterThan(mobile('55+') + 0.3);
    const parenting = (ls: string[]) =>
      share(
        (p) => p.interests.includes('parenting'),
        personas.filter((p) => ls.includes(p.lifeStage)),
      );
    expect(parenting(['new_parent', 'family_with_kids'])).toBeGreaterThan(
      parenting(['student', 'young_professional']) + 0.3,
    );
    const beauty = (g: string) =>
      share(
        (p) => p.interests.includes('beauty'),
        personas.filter((p) => p.gender === g),
      );
    expect(beauty('female')).toBeGreaterThan(beauty('male') * 3);
  });

  it('keeps life events consistent with the persona and inside the history', () => {
    const end = config.startTimeMs + config.horizonDays * 86_400_000;
    for (const p of personas) {
      const kinds = p.lifeEvents.map((e) => e.kind);
      if (kinds.includes('new_baby')) expect(p.lifeStage).toBe('new_parent');
      if (kinds.includes('retirement')) {
        expect(p.lifeStage).toBe('retiree');
        expect(p.previousOccupation).not.toBe('retired');
      }
      if (kinds.includes('started_fitness')) expect(p.interests).toContain('fitness');
      if (kinds.includes('new_pet')) expect(p.interests).toContain('pets');
      for (const e of p.lifeEvents) {
        expect(e.timeMs).toBeGreaterThan(config.startTimeMs);
        expect(e.timeMs).toBeLessThan(end);
        if (p.trajectory === 'new')
          expect(e.timeMs).toBeGreaterThan(config.startTimeMs + p.hidden.joinAt * config.horizonDays * 86_400_000);
      }
      expect([...p.lifeEvents].sort((a, b) => a.timeMs - b.timeMs)).toEqual(p.lifeEvents);
    }
    expect(share((p) => p.lifeEvents.length > 0)).toBeGreaterThan(0.4);
    expect(share((p) => p.lifeEvents.length > 0)).toBeLessThan(0.6);
    const newParents = personas.filter((p) => p.lifeStage === 'new_parent');
    expect(share((p) => p.lifeEvents.some((e) => e.kind === 'new_baby'), newParents)).toBeGreaterThan(0.2);
  });

  it('has engagement heavy-tailed across users', () => {
    const spw = personas.map((p) => p.hidden.sessionsPerWeek).sort((a, b) => a - b);
    const total = spw.reduce((s, x) => s + x, 0);
    const top10 = spw.slice(-100).reduce((s, x) => s + x, 0);
    expect(top10 / total).toBeGreaterThan(0.25);
  });

  it('makes a non-trivial benchmark: the prior baseline scores ≤ 0.45 (80/20 split by splitOf)', () => {
    const prior = priorBaseline(personas);
    expect(prior.trainUsers + prior.testUsers).toBe(1000);
    expect(prior.testUsers).toBeGreaterThan(150);
    expect(prior.score).toBeLessThanOrEqual(0.45);
    // No single dimension is dominated by one value.
    for (const [dim, s] of Object.entries(prior.perDimension))
      if (dim !== 'life_events') expect(s, dim).toBeLessThan(0.6);
    // Without the sensitive dimension too.
    expect(priorBaseline(personas, false).score).toBeLessThanOrEqual(0.45);
  });
});
