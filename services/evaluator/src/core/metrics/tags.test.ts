import { describe, expect, it } from 'vitest';
import { labelsFromTags, scoringDimensions } from './labels.js';
import { avgAtK, dimensionScore, jaccard, tagScore, userAvgAtK } from './tags.js';

const dims = [
  { name: 'age_band', multiValued: false },
  { name: 'income_tier', multiValued: false },
  { name: 'interests', multiValued: true },
  { name: 'life_events', multiValued: true },
];
const truth = labelsFromTags([
  { dimension: 'age_band', value: '25-34' },
  { dimension: 'income_tier', value: 'mid' },
  { dimension: 'interests', value: 'sports' },
  { dimension: 'interests', value: 'tech' },
  { dimension: 'interests', value: 'music' },
]);

describe('jaccard', () => {
  it('is |A∩B| / |A∪B|, with two empty sets identical', () => {
    expect(jaccard(['a', 'b'], ['b', 'c'])).toBeCloseTo(1 / 3);
    expect(jaccard(['a'], ['a'])).toBe(1);
    expect(jaccard([], ['a'])).toBe(0);
    expect(jaccard([], [])).toBe(1);
    expect(jaccard(['a', 'a', 'b'], ['b'])).toBe(0.5);
  });
});

describe('tag score', () => {
  it('averages exact matches and Jaccards over dimensions (hand-computed)', () => {
    const pred = labelsFromTags([
      { dimension: 'age_band', value: '25-34' }, // 1
      { dimension: 'income_tier', value: 'high' }, // 0
      { dimension: 'interests', value: 'sports' }, // {sports,tech} vs {sports,tech,music}: 2/3
      { dimension: 'interests', value: 'tech' },
      { dimension: 'life_events', value: 'wedding' }, // {wedding} vs {}: 0
    ]);
    expect(tagScore(pred, truth, dims)).toBeCloseTo((1 + 0 + 2 / 3 + 0) / 4, 12);
  });

  it('skips single-valued dimensions the truth does not label, never multi-valued ones', () => {
    const partial = labelsFromTags([{ dimension: 'age_band', value: '18-24' }]);
    const pred = labelsFromTags([{ dimension: 'age_band', value: '18-24' }]);
    expect(dimensionScore(pred, partial, { name: 'income_tier', multiValued: false })).toBeUndefined();
    // age 1, interests J({}, {}) = 1, life events 1 → 1
    expect(tagScore(pred, partial, dims)).toBe(1);
  });

  it('Avg@k is the mean over users of the mean over samples; no samples scores 0', () => {
    const right = labelsFromTags([
      { dimension: 'age_band', value: '25-34' },
      { dimension: 'income_tier', value: 'mid' },
      { dimension: 'interests', value: 'sports' },
      { dimension: 'interests', value: 'tech' },
      { dimension: 'interests', value: 'music' },
    ]);
    const wrong = labelsFromTags([{ dimension: 'interests', value: 'books' }]);
    // wrong: age 0, income 0, interests 0, life events J({}, {}) = 1 → 0.25
    expect(tagScore(wrong, truth, dims)).toBe(0.25);
    expect(userAvgAtK([right, wrong, wrong, right], truth, dims)).toBeCloseTo((1 + 0.25 + 0.25 + 1) / 4, 12);
    expect(userAvgAtK([], truth, dims)).toBe(0);
    expect(
      avgAtK(
        [
          { samples: [right], truth },
          { samples: [right, wrong], truth },
          { samples: [], truth },
        ],
        dims,
      ),
    ).toBeCloseTo((1 + 0.625 + 0) / 3, 12);
  });
});

describe('labels', () => {
  it('keeps the most confident single value, de-duplicates multi values, ignores unknown dimensions', () => {
    const l = labelsFromTags([
      { dimension: 'age_band', value: '18-24', confidence: 0.3 },
      { dimension: 'age_band', value: '25-34', confidence: 0.6 },
      { dimension: 'interests', value: 'tech', confidence: 0.9 },
      { dimension: 'interests', value: 'art', confidence: 0.4 },
      { dimension: 'interests', value: 'tech', confidence: 0.5 },
      { dimension: 'shoe_size', value: '42' },
    ]);
    expect(l).toEqual({
      single: { age_band: '25-34' },
      multi: { interests: ['art', 'tech'] },
      confidence: { 'age_band=18-24': 0.3, 'age_band=25-34': 0.6, 'interests=tech': 0.9, 'interests=art': 0.4 },
    });
  });

  it('scores enabled dimensions only: sensitive off by default, optionally restricted to labelled ones', () => {
    const names = scoringDimensions().map((d) => d.name);
    expect(names).not.toContain('gender');
    expect(names).toHaveLength(12);
    expect(scoringDimensions({ includeSensitive: true }).map((d) => d.name)).toContain('gender');
    expect(scoringDimensions({ labeled: ['gender', 'interests'] })).toEqual([{ name: 'interests', multiValued: true }]);
  });
});
