import { describe, expect, it } from 'vitest';
import { DeterministicFactExtractor } from '../facts.js';
import { labelsFromTags } from './labels.js';
import { accEx, countHallucinations, hallucinationRate } from './summary.js';

const dims = [
  { name: 'life_stage', multiValued: false },
  { name: 'age_band', multiValued: false },
  { name: 'interests', multiValued: true },
  { name: 'life_events', multiValued: true },
];

describe('Acc_Ex', () => {
  it('is true key facts stated / true key facts (hand-computed through the extractor)', () => {
    const ex = new DeterministicFactExtractor();
    const keyFacts = [
      { dimension: 'life_stage', value: 'student' },
      { dimension: 'age_band', value: '18-24' },
      { dimension: 'interests', value: 'gaming' },
      { dimension: 'life_events', value: 'moved_home' },
    ];
    const stated = ex.extract('No longer a student. Aged 18-24 and interested in gaming and music.');
    expect(accEx(keyFacts, stated)).toBe(0.5);
    expect(accEx([], stated)).toBeNull();
    expect(accEx(keyFacts, [])).toBe(0);
  });
});

describe('hallucinations', () => {
  const truth = labelsFromTags([
    { dimension: 'life_stage', value: 'student' },
    { dimension: 'interests', value: 'gaming' },
  ]);

  it('counts stated facts that contradict the truth (hand-computed)', () => {
    const stated = [
      { dimension: 'life_stage', value: 'retiree' }, // contradicts
      { dimension: 'life_stage', value: 'retiree' }, // duplicate, ignored
      { dimension: 'interests', value: 'gaming' }, // ok
      { dimension: 'interests', value: 'music' }, // contradicts
      { dimension: 'life_events', value: 'wedding' }, // truth has none: contradicts
      { dimension: 'age_band', value: '55+' }, // truth does not label age: not counted
      { dimension: 'gender', value: 'male' }, // not a scored dimension: not counted
    ];
    expect(countHallucinations(stated, truth, dims)).toEqual({ stated: 4, contradicting: 3 });
  });

  it('pools counts over summaries', () => {
    expect(
      hallucinationRate([
        { stated: 4, contradicting: 3 },
        { stated: 6, contradicting: 0 },
      ]),
    ).toBe(0.3);
    expect(hallucinationRate([{ stated: 0, contradicting: 0 }])).toBe(0);
  });
});
