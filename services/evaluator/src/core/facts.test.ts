import { DIMENSIONS, type DimensionSpec, enabledDimensions, factPhrases } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { DeterministicFactExtractor, extractFacts, type FactRef, normalizeText } from './facts.js';

const ex = new DeterministicFactExtractor();
const has = (facts: FactRef[], dimension: string, value: string) =>
  facts.some((f) => f.dimension === dimension && f.value === value);

describe('normalizeText', () => {
  it('lowercases, straightens quotes, unhyphenates words, keeps number ranges', () => {
    expect(normalizeText('She ISN\u2019T  Price-Sensitive, aged 25\u201334')).toBe(
      "she isn't price sensitive, aged 25-34",
    );
    expect(normalizeText('a student \u2014 not anymore')).toBe('a student, not anymore');
  });
});

describe('DeterministicFactExtractor', () => {
  it('finds the canonical phrase of every value of every enabled dimension', () => {
    for (const dim of enabledDimensions(false)) {
      for (const value of dim.values) {
        const phrase = factPhrases(dim.name, value)[0] as string;
        const facts = ex.extract(dim.name === 'life_events' ? `Recently ${phrase}.` : `The user is ${phrase}.`);
        expect(has(facts, dim.name, value), `${dim.name}=${value} via "${phrase}"`).toBe(true);
      }
    }
  });

  it('reads a typical summary', () => {
    const summary =
      'A young professional aged 25-34 who works in tech and has a high income. Mostly on mobile and a night owl, ' +
      'interested in gaming, music and travel. Recently moved home and started a new job.';
    const facts = ex.extract(summary);
    expect(facts).toEqual(
      expect.arrayContaining([
        { dimension: 'life_stage', value: 'young_professional' },
        { dimension: 'age_band', value: '25-34' },
        { dimension: 'occupation_group', value: 'tech' },
        { dimension: 'income_tier', value: 'high' },
        { dimension: 'primary_device', value: 'mobile' },
        { dimension: 'activity_pattern', value: 'night_owl' },
        { dimension: 'interests', value: 'gaming' },
        { dimension: 'interests', value: 'music' },
        { dimension: 'interests', value: 'travel' },
        { dimension: 'life_events', value: 'moved_home' },
        { dimension: 'life_events', value: 'new_job' },
      ]),
    );
    // `works in tech` is the occupation, not the interest; `moved home` is not the interest `home`
    expect(has(facts, 'interests', 'tech')).toBe(false);
    expect(has(facts, 'interests', 'home')).toBe(false);
    expect(facts).toHaveLength(11);
  });

  it.each([
    'She is no longer a student.',
    'He is not a student.',
    'Not a student any more.',
    'They are neither a student nor a retiree.',
    'She stopped being a student last year.',
    'Formerly a student, now unknown.',
    'He used to be a student.',
    'A young professional rather than a student.',
  ])('does not count a negated fact: %s', (summary) => {
    expect(has(ex.extract(summary), 'life_stage', 'student')).toBe(false);
  });

  it("handles contractions: isn't, doesn't, wasn't", () => {
    expect(has(ex.extract("She isn't a night owl."), 'activity_pattern', 'night_owl')).toBe(false);
    expect(has(ex.extract("He doesn't seem to be a bargain hunter."), 'shopping_style', 'bargain_hunter')).toBe(false);
    expect(has(ex.extract('She isn\u2019t a night owl.'), 'activity_pattern', 'night_owl')).toBe(false);
  });

  it('scopes negation to the clause and the sentence', () => {
    const a = ex.extract('Not a student, but a young professional. A night owl.');
    expect(has(a, 'life_stage', 'student')).toBe(false);
    expect(has(a, 'life_stage', 'young_professional')).toBe(true);
    expect(has(a, 'activity_pattern', 'night_owl')).toBe(true);
    const b = ex.extract("She isn't a casual user and is a night owl.");
    expect(has(b, 'engagement_level', 'casual')).toBe(false);
    expect(has(b, 'activity_pattern', 'night_owl')).toBe(true);
    const c = ex.extract('He does not shop much. He is a student.');
    expect(has(c, 'life_stage', 'student')).toBe(true);
  });

  it('limits the negation window to a few words', () => {
    const facts = ex.extract('Nothing in the logs suggests she would ever not enjoy being, overall, a student.');
    expect(has(facts, 'life_stage', 'student')).toBe(true); // the comma closes the clause
    const far = ex.extract('No doubt at all about this one for sure, really she is a student.');
    expect(has(far, 'life_stage', 'student')).toBe(true);
  });

  it('propagates negation along a list of one dimension', () => {
    const facts = ex.extract('Not interested in sports, fitness or gaming; interested in cooking and books.');
    for (const v of ['sports', 'fitness', 'gaming']) expect(has(facts, 'interests', v)).toBe(false);
    for (const v of ['cooking', 'books']) expect(has(facts, 'interests', v)).toBe(true);
    const pos = ex.extract('Interested in sports, fitness and gaming.');
    for (const v of ['sports', 'fitness', 'gaming']) expect(has(pos, 'interests', v)).toBe(true);
  });

  it('never treats words inside a matched phrase as cues', () => {
    const facts = ex.extract('She is not price sensitive and brand loyal. No longer working.');
    expect(has(facts, 'price_sensitivity', 'low')).toBe(true);
    expect(has(facts, 'price_sensitivity', 'high')).toBe(false);
    expect(has(facts, 'shopping_style', 'brand_loyal')).toBe(true);
    expect(has(facts, 'occupation_group', 'retired')).toBe(true);
    expect(has(ex.extract("She isn't price-sensitive."), 'price_sensitivity', 'high')).toBe(false);
  });

  it('keeps life events stated in the past but negates current states with past markers', () => {
    expect(has(ex.extract('She previously moved home.'), 'life_events', 'moved_home')).toBe(true);
    expect(has(ex.extract('She was previously a night owl.'), 'activity_pattern', 'night_owl')).toBe(false);
    expect(has(ex.extract('She never moved home.'), 'life_events', 'moved_home')).toBe(false);
  });

  it('matches at word boundaries only', () => {
    expect(has(ex.extract('Enjoys startups and smart homes.'), 'interests', 'art')).toBe(false);
    expect(has(ex.extract('Enjoys startups and smart homes.'), 'interests', 'home')).toBe(false);
    expect(has(ex.extract('Works in healthcare.'), 'interests', 'health')).toBe(false);
    expect(has(ex.extract('Works in healthcare.'), 'occupation_group', 'healthcare')).toBe(true);
    expect(has(ex.extract('Likes art.'), 'interests', 'art')).toBe(true);
  });

  it('prefers the longest phrase among overlaps', () => {
    const facts = ex.extract('Took up fitness this spring.');
    expect(has(facts, 'life_events', 'started_fitness')).toBe(true);
    expect(has(facts, 'interests', 'fitness')).toBe(false);
    expect(has(ex.extract('Mostly on mobile.'), 'primary_device', 'mobile')).toBe(true);
  });

  it('excludes sensitive dimensions unless enabled', () => {
    expect(has(ex.extract('A woman aged 35-44.'), 'gender', 'female')).toBe(false);
    const withSensitive = new DeterministicFactExtractor({ includeSensitive: true });
    const facts = withSensitive.extract('A woman aged 35-44.');
    expect(has(facts, 'gender', 'female')).toBe(true);
    expect(has(facts, 'gender', 'male')).toBe(false); // "man" inside "woman" is no match
  });

  it('accepts caller synonyms and a restricted dimension set', () => {
    const dims = DIMENSIONS.filter((d) => d.name === 'interests') as unknown as DimensionSpec[];
    const custom = new DeterministicFactExtractor({
      dimensions: dims,
      extraSynonyms: { interests: { pets: ['dog lover'] } },
    });
    expect(custom.extract('A dog lover and a student.')).toEqual([{ dimension: 'interests', value: 'pets' }]);
  });

  it('de-duplicates facts and reports match positions', () => {
    expect(ex.extract('A night owl. Really a night owl, active late at night.')).toEqual([
      { dimension: 'activity_pattern', value: 'night_owl' },
    ]);
    const [m] = ex.matches('Is a night owl');
    expect(m).toMatchObject({ phrase: 'a night owl', start: 3, end: 14, negated: false });
  });

  it('has a default instance', () => {
    expect(extractFacts('An early bird.')).toEqual([{ dimension: 'activity_pattern', value: 'early_bird' }]);
    expect(extractFacts('')).toEqual([]);
  });
});
