import { enabledDimensions } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { DeterministicFactExtractor } from '../facts.js';
import {
  baselineOverSeeds,
  baselineSummary,
  categoryToInterest,
  computeBaselines,
  fitPrior,
  medianCount,
  priorPrediction,
  rawFrequencyPrediction,
  scoreBaseline,
} from './baselines.js';
import { labelsFromTags, scoringDimensions } from './labels.js';

const dims = [
  { name: 'age_band', multiValued: false },
  { name: 'interests', multiValued: true },
];
const t = (age: string, ...interests: string[]) =>
  labelsFromTags([
    { dimension: 'age_band', value: age },
    ...interests.map((value) => ({ dimension: 'interests', value })),
  ]);

describe('prior baseline', () => {
  const train = [
    t('25-34', 'tech', 'music'),
    t('25-34', 'tech'),
    t('35-44', 'art', 'music', 'tech'),
    t('18-24', 'books'),
  ];

  it('predicts the most frequent single value and the top interests, as many as the median count', () => {
    expect(medianCount([2, 1, 3, 1])).toBe(2); // (1 + 2) / 2 = 1.5 → 2
    expect(medianCount([])).toBe(0);
    const prior = fitPrior(train, dims);
    expect(prior).toEqual({ single: { age_band: '25-34' }, multi: { interests: ['music', 'tech'] } });
    expect(priorPrediction(prior)).toEqual({ single: { age_band: '25-34' }, multi: { interests: ['music', 'tech'] } });
  });

  it('breaks ties by schema order', () => {
    const prior = fitPrior([t('35-44', 'travel'), t('18-24', 'sports')], dims);
    expect(prior.single.age_band).toBe('18-24');
    expect(prior.multi.interests).toEqual(['sports']);
  });

  it('scores Avg@k and Acc_Ex through the summary writer (hand-computed)', () => {
    const prior = fitPrior(train, dims);
    const test = [
      {
        truth: t('25-34', 'tech'),
        keyFacts: [
          { dimension: 'age_band', value: '25-34' },
          { dimension: 'interests', value: 'tech' },
        ],
      },
      {
        truth: t('45-54', 'music', 'art'),
        keyFacts: [
          { dimension: 'age_band', value: '45-54' },
          { dimension: 'interests', value: 'music' },
          { dimension: 'interests', value: 'art' },
        ],
      },
    ];
    const score = scoreBaseline(
      test.map((u) => ({ ...u, prediction: priorPrediction(prior) })),
      dims,
      new DeterministicFactExtractor(),
    );
    // user1: age 1, J({music,tech},{tech}) = .5 → .75 ; user2: 0, J({music,tech},{music,art}) = 1/3 → 1/6
    expect(score.tag_avg_at_k).toBeCloseTo((0.75 + 1 / 6) / 2, 12);
    // Acc_Ex: user1 2/2, user2 1/3
    expect(score.acc_ex).toBeCloseTo((1 + 1 / 3) / 2, 12);
  });
});

describe('raw_frequency baseline', () => {
  it('maps categories to interests', () => {
    expect(categoryToInterest(['Sports', 'Running', 'Shoes'])).toBe('sports');
    expect(categoryToInterest('Home & Kitchen')).toBe('home');
    expect(categoryToInterest(['Video Games', 'Consoles'])).toBe('gaming');
    expect(categoryToInterest('Pet Supplies')).toBe('pets');
    expect(categoryToInterest('Misc')).toBeUndefined();
  });

  it('takes the most-viewed mapped categories as interests, the prior for the rest', () => {
    const prior = { single: { age_band: '25-34' }, multi: { interests: ['music', 'tech'] } };
    const p = rawFrequencyPrediction(prior, [
      { category: ['Books', 'Fiction'], count: 3 },
      { category: ['Sports'], count: 2 },
      { category: ['Books', 'Cooking'], count: 4 },
      { category: ['Misc'], count: 50 },
      { category: ['Pets'], count: 1 },
    ]);
    expect(p).toEqual({ single: { age_band: '25-34' }, multi: { interests: ['books', 'sports'] } });
    expect(rawFrequencyPrediction(prior, [{ category: 'Misc', count: 1 }]).multi.interests).toEqual(['music', 'tech']);
    expect(
      rawFrequencyPrediction(prior, [{ category: 'x', count: 1 }], { mapCategory: () => 'art', interests: 3 }).multi
        .interests,
    ).toEqual(['art']);
  });
});

describe('baseline summary and seeds', () => {
  it('round-trips every value of every enabled dimension through the extractor', () => {
    const all = scoringDimensions();
    const ex = new DeterministicFactExtractor();
    for (const d of enabledDimensions(false)) {
      for (const v of d.values) {
        const labels = d.multiValued
          ? { single: {}, multi: { [d.name]: [v] } }
          : { single: { [d.name]: v }, multi: {} };
        expect(ex.extract(baselineSummary(labels, all)), `${d.name}=${v}`).toEqual([{ dimension: d.name, value: v }]);
      }
    }
  });

  it('aggregates over seeds', () => {
    const agg = baselineOverSeeds([
      { tag_avg_at_k: 0.4, acc_ex: 0.2 },
      { tag_avg_at_k: 0.6, acc_ex: 0.2 },
    ]);
    expect(agg.tag_avg_at_k.mean).toBeCloseTo(0.5, 12);
    expect(agg.tag_avg_at_k.std).toBeCloseTo(Math.SQRT2 / 10, 12);
    expect(agg.acc_ex).toEqual({ mean: 0.2, std: 0, n: 2 });
  });
});

describe('computeBaselines', () => {
  it('fits the prior on train, scores both baselines on test (hand-computed)', () => {
    const tags = (age: string, ...interests: string[]) => [
      { dimension: 'age_band', value: age },
      ...interests.map((value) => ({ dimension: 'interests', value })),
    ];
    const facts = (age: string, ...interests: string[]) => tags(age, ...interests).map((t) => ({ ...t }));
    const truths = [
      { userId: 'a', split: 'train', tags: tags('25-34', 'tech'), keyFacts: facts('25-34', 'tech') },
      { userId: 'b', split: 'train', tags: tags('25-34', 'tech'), keyFacts: facts('25-34', 'tech') },
      { userId: 'c', split: 'test', tags: tags('25-34', 'books'), keyFacts: facts('25-34', 'books') },
    ];
    const b = computeBaselines({
      truths,
      categories: new Map([['c', [{ category: ['Books'], count: 5 }]]]),
      dims,
      extractor: new DeterministicFactExtractor(),
    });
    // prior: 25-34 ✓, {tech} vs {books} 0 → 0.5 ; Acc_Ex 1/2
    expect(b.prior).toEqual({ tag_avg_at_k: 0.5, acc_ex: 0.5, per_dimension: { age_band: 1, interests: 0 } });
    // raw frequency: 25-34 ✓, {books} ✓ → 1 ; Acc_Ex 2/2
    expect(b.raw_frequency).toEqual({ tag_avg_at_k: 1, acc_ex: 1, per_dimension: { age_band: 1, interests: 1 } });
    expect(b.raw_items).toBeUndefined(); // no raw event tokens given
    expect(computeBaselines({ truths: truths.slice(2), dims, extractor: new DeterministicFactExtractor() })).toEqual(
      {},
    );
  });
});
