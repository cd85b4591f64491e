import { describe, expect, it } from 'vitest';
import {
  expectedCalibrationError,
  macroF1Multi,
  macroF1Single,
  overallCalibrationError,
  perDimensionScores,
} from './classification.js';
import { labelsFromTags } from './labels.js';
import { avgAtK } from './tags.js';

describe('macro-F1', () => {
  it('single-valued (hand-computed)', () => {
    // truth a,a,b,c ; pred a,b,b,- → a: tp1 fn1 → 2/3; b: tp1 fp1 → 2/3; c: fn1 → 0
    const f1 = macroF1Single([
      { truth: 'a', predicted: 'a' },
      { truth: 'a', predicted: 'b' },
      { truth: 'b', predicted: 'b' },
      { truth: 'c', predicted: undefined },
    ]);
    expect(f1).toBeCloseTo((2 / 3 + 2 / 3 + 0) / 3, 12);
    expect(macroF1Single([])).toBe(0);
  });

  it('multi-valued: per-value binary F1 averaged (hand-computed)', () => {
    // x: tp 1, fp 1 → 2/3; y: tp 1, fn 1 → 2/3; z: fp 1 → 0
    const f1 = macroF1Multi([
      { truth: ['x', 'y'], predicted: ['x', 'y', 'z'] },
      { truth: ['y'], predicted: ['x'] },
    ]);
    expect(f1).toBeCloseTo((2 / 3 + 2 / 3 + 0) / 3, 12);
  });

  it('weights instances', () => {
    const weighted = macroF1Single([
      { truth: 'a', predicted: 'a', weight: 0.5 },
      { truth: 'a', predicted: 'b', weight: 0.5 },
    ]);
    // a: tp .5 fn .5 → 1/1.5 ; b: fp .5 → 0
    expect(weighted).toBeCloseTo(2 / 3 / 2, 12);
  });
});

describe('expected calibration error', () => {
  it('hand-computed over 10 bins', () => {
    // bin 9 (0.9, 0.95): conf .925, acc .5 → |.425| · 2/4 ; bin 2 (0.2, 0.2): conf .2, acc 0 → .2 · 2/4
    const ece = expectedCalibrationError([
      { confidence: 0.9, correct: true },
      { confidence: 0.95, correct: false },
      { confidence: 0.2, correct: false },
      { confidence: 0.2, correct: false },
    ]);
    expect(ece).toBeCloseTo(0.5 * 0.425 + 0.5 * 0.2, 12);
  });

  it('is 0 for perfect calibration, null without items, and puts confidence 1 in the last bin', () => {
    expect(expectedCalibrationError([{ confidence: 1, correct: true }])).toBe(0);
    expect(
      expectedCalibrationError([
        { confidence: 0.5, correct: true },
        { confidence: 0.5, correct: false },
      ]),
    ).toBeCloseTo(0, 12);
    expect(expectedCalibrationError([])).toBeNull();
  });
});

describe('perDimensionScores', () => {
  const dims = [
    { name: 'age_band', multiValued: false },
    { name: 'interests', multiValued: true },
  ];
  const t1 = labelsFromTags([
    { dimension: 'age_band', value: '25-34' },
    { dimension: 'interests', value: 'tech' },
  ]);
  const t2 = labelsFromTags([
    { dimension: 'age_band', value: '35-44' },
    { dimension: 'interests', value: 'art' },
    { dimension: 'interests', value: 'books' },
  ]);
  const p1a = labelsFromTags([
    { dimension: 'age_band', value: '25-34', confidence: 0.8 },
    { dimension: 'interests', value: 'tech', confidence: 0.6 },
  ]);
  const p1b = labelsFromTags([
    { dimension: 'age_band', value: '35-44', confidence: 0.8 },
    { dimension: 'interests', value: 'tech', confidence: 0.6 },
  ]);
  const users = [
    { truth: t1, samples: [p1a, p1b] },
    { truth: t2, samples: [] }, // no persona: scores 0
  ];

  it('accuracy per dimension averages samples per user then users; mean over dims = Avg@k', () => {
    const rows = perDimensionScores(users, dims);
    expect(rows.map((r) => [r.dimension, r.accuracy, r.support])).toEqual([
      ['age_band', 0.25, 2], // user1 (1 + 0)/2 = .5, user2 0
      ['interests', 0.5, 2], // user1 1, user2 0
    ]);
    const mean = (rows[0]!.accuracy + rows[1]!.accuracy) / 2;
    expect(mean).toBeCloseTo(avgAtK(users, dims), 12);
  });

  it('macro-F1 and ECE with 1/k sample weights', () => {
    const [age, interests] = perDimensionScores(users, dims);
    // age: 25-34: tp .5 fn .5 → 2/3 ; 35-44: fp .5, fn 1 → 0 → mean 1/3
    expect(age!.macro_f1).toBeCloseTo(1 / 3, 12);
    // age calibration: bin 8, conf .8, acc .5 → .3
    expect(age!.ece).toBeCloseTo(0.3, 12);
    // interests: tech tp 1 → 1 ; art fn 1 → 0 ; books fn 1 → 0
    expect(interests!.macro_f1).toBeCloseTo(1 / 3, 12);
    expect(interests!.ece).toBeCloseTo(0.4, 12);
    // pooled: weights .5 each: age items (.8,T),(.8,F) bin 8; interests (.6,T)x2 bin 6
    expect(overallCalibrationError(users, dims)).toBeCloseTo(0.5 * 0.3 + 0.5 * 0.4, 12);
  });
});
