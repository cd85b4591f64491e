import { EventType, mulberry32 } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { DeterministicFactExtractor } from '../facts.js';
import { computeBaselines, type TruthInput } from './baselines.js';
import type { LabelSet, ScoringDimension } from './labels.js';
import {
  addEventTokens,
  fitRawItems,
  RawItemCounts,
  type RawItemsExample,
  rawItemsPrediction,
  rawItemsProbabilities,
} from './raw-items.js';

const AGE: ScoringDimension = { name: 'age_band', multiValued: false };
const INTERESTS: ScoringDimension = { name: 'interests', multiValued: true };
const LIFE: ScoringDimension = { name: 'life_events', multiValued: true };
const AGES = ['18-24', '25-34', '35-44'];
const TOPICS = ['books', 'music', 'tech', 'travel'];

/**
 * Users whose age band shows only in which items they view (one item family per band, in a shared
 * category) and whose interests show only in the category paths of their purchases; every user has
 * the same actions and noise items, so nothing else separates them.
 */
function population(n: number, seed: number) {
  const random = mulberry32(seed);
  const users: Array<{ id: string; counts: Map<string, number>; labels: LabelSet }> = [];
  for (let u = 0; u < n; u++) {
    const age = AGES[u % AGES.length] as string;
    const interests = TOPICS.filter((_, t) => ((u >> 1) + t) % 3 === 0).sort();
    const counts = new Map<string, number>();
    for (let e = 0; e < 30; e++) {
      const own = random() < 0.6;
      const family = own ? AGES.indexOf(age) : Math.floor(random() * AGES.length);
      addEventTokens(counts, {
        type: EventType.ITEM_VIEW,
        item: { id: `f${family}-${Math.floor(random() * 8)}`, categoryPath: ['Catalog', 'All'] },
      });
      addEventTokens(counts, { type: EventType.PAGE_VIEW });
      addEventTokens(counts, {
        type: EventType.ITEM_VIEW,
        item: { id: `noise-${Math.floor(random() * 50)}`, categoryPath: ['Catalog'] },
      });
    }
    for (const t of interests) {
      for (let k = 0; k < 3; k++) {
        addEventTokens(counts, {
          type: EventType.PURCHASE,
          item: { id: `${t}-${k}`, categoryPath: ['Shop', t, 'Item'] },
        });
      }
    }
    users.push({
      id: `u${String(u).padStart(3, '0')}`,
      counts,
      labels: { single: { age_band: age }, multi: { interests, life_events: [] } },
    });
  }
  return users;
}

describe('raw_items tokens', () => {
  it('an event gives its action, its item id and every level of its category path', () => {
    const c = new Map<string, number>();
    addEventTokens(c, {
      type: EventType.PURCHASE,
      item: { id: 'sku-1', categoryPath: ['Electronics', 'Audio', 'Headphones'] },
    });
    addEventTokens(c, { type: EventType.SEARCH });
    addEventTokens(c, { type: EventType.PURCHASE, item: { id: '', categoryPath: ['Electronics'] } });
    expect(Object.fromEntries(c)).toEqual({
      [`a:${EventType.PURCHASE}`]: 2,
      [`a:${EventType.SEARCH}`]: 1,
      'i:sku-1': 1,
      'c1:Electronics': 2,
      'c2:Electronics>Audio': 1,
      'c3:Electronics>Audio>Headphones': 1,
    });
    const perUser = new RawItemCounts();
    perUser.add('a', { type: EventType.SEARCH });
    perUser.add('a', { type: EventType.SEARCH });
    expect(perUser.get('a').get(`a:${EventType.SEARCH}`)).toBe(2);
    expect(perUser.get('nobody').size).toBe(0);
  });
});

describe('raw_items learner', () => {
  const users = population(240, 7);
  const train: RawItemsExample[] = users.slice(0, 180).map((u) => ({ counts: u.counts, labels: u.labels }));
  const test = users.slice(180);

  it('learns signal that only the raw item ids and category paths carry', () => {
    const model = fitRawItems(train, [AGE, INTERESTS, LIFE]);
    let age = 0;
    let interests = 0;
    for (const u of test) {
      const p = rawItemsPrediction(model, u.counts);
      if (p.single.age_band === u.labels.single.age_band) age++;
      if (JSON.stringify(p.multi.interests) === JSON.stringify(u.labels.multi.interests)) interests++;
      // no train user has a life event: none is modelled, none predicted (min 0)
      expect(p.multi.life_events).toEqual([]);
    }
    // the prior would get 1/3 of the age bands; the item families give them away
    expect(age / test.length).toBeGreaterThan(0.9);
    expect(interests / test.length).toBeGreaterThan(0.9);
  });

  it('is deterministic and converged at its fixed iteration count', () => {
    const a = fitRawItems(train, [AGE, INTERESTS]);
    const b = fitRawItems(train, [AGE, INTERESTS]);
    const long = fitRawItems(train, [AGE, INTERESTS], { iterations: 400 });
    for (const u of test) {
      const pa = rawItemsProbabilities(a, u.counts);
      expect(rawItemsProbabilities(b, u.counts)).toEqual(pa);
      const pl = rawItemsProbabilities(long, u.counts);
      for (const [dim, probs] of pa) {
        probs.forEach((x, k) => {
          expect(Math.abs(x.p - (pl.get(dim)?.[k]?.p as number))).toBeLessThan(2e-3);
        });
      }
      const [pl1, pa1] = [rawItemsPrediction(long, u.counts), rawItemsPrediction(a, u.counts)];
      expect([pl1.single, pl1.multi]).toEqual([pa1.single, pa1.multi]);
    }
  });

  it('multi-valued outputs follow the schema: at least minValues, at most maxValues, most probable first', () => {
    // interests: min 1, max 5. Users labelled with all 4 topics, or none but one: the learner must
    // still name one interest for a user with no signal, and never more than 5.
    const everything = population(60, 3).map((u) => ({
      counts: u.counts,
      labels: { single: {}, multi: { interests: ['books', 'music', 'tech', 'travel', 'art', 'cooking'] } },
    }));
    const always = fitRawItems(everything, [INTERESTS]);
    const many = rawItemsPrediction(always, new Map());
    expect(many.multi.interests).toHaveLength(5);
    const rare = fitRawItems(
      population(60, 3).map((u, i) => ({
        counts: u.counts,
        labels: {
          single: {},
          multi: { interests: i === 0 ? ['pets'] : ['books'], life_events: i < 5 ? ['moved'] : [] },
        },
      })),
      [INTERESTS, LIFE],
    );
    const p = rawItemsPrediction(rare, new Map([['i:unknown', 3]]));
    expect(p.multi.interests).toEqual(['books']);
    expect(p.multi.life_events).toEqual([]); // min 0: 5 of 60 users is below 0.5
    expect(p.confidence?.['interests=books']).toBeGreaterThan(0.5);
    expect(p.confidence?.['interests=pets']).toBeUndefined();
  });

  it('single-valued confidence is the top probability normalized over the dimension', () => {
    const model = fitRawItems(train, [AGE]);
    const probs = rawItemsProbabilities(model, test[0]?.counts as Map<string, number>).get('age_band') ?? [];
    const top = [...probs].sort((a, b) => b.p - a.p)[0] as { value: string; p: number };
    const p = rawItemsPrediction(model, test[0]?.counts as Map<string, number>);
    expect(p.single.age_band).toBe(top.value);
    expect(p.confidence?.[`age_band=${top.value}`]).toBeCloseTo(top.p / probs.reduce((a, x) => a + x.p, 0), 12);
  });

  it('computeBaselines: raw_items trained on the train split, scored on the test split, per dimension and ECE', () => {
    const truths: TruthInput[] = users.map((u, i) => ({
      userId: u.id,
      split: i < 180 ? 'train' : 'test',
      tags: [
        { dimension: 'age_band', value: u.labels.single.age_band as string },
        ...(u.labels.multi.interests ?? []).map((value) => ({ dimension: 'interests', value })),
      ],
      keyFacts: [{ dimension: 'age_band', value: u.labels.single.age_band as string }],
    }));
    const b = computeBaselines({
      truths,
      rawItems: new Map(users.map((u) => [u.id, u.counts])),
      dims: [AGE, INTERESTS],
      extractor: new DeterministicFactExtractor(),
    });
    const r = b.raw_items;
    expect(r?.per_dimension?.age_band).toBeGreaterThan(0.9);
    expect(r?.per_dimension?.interests).toBeGreaterThan(0.9);
    expect(r?.tag_avg_at_k).toBeCloseTo(
      ((r?.per_dimension?.age_band as number) + (r?.per_dimension?.interests as number)) / 2,
      12,
    );
    expect(r?.tag_avg_at_k).toBeGreaterThan((b.prior?.tag_avg_at_k as number) + 0.3);
    expect(r?.acc_ex).toBeGreaterThan(0.9); // its summary states the age band it predicted
    expect(r?.ece).toBeGreaterThanOrEqual(0);
    expect(r?.ece).toBeLessThan(0.5);
    expect(b.prior?.ece).toBeUndefined(); // the prior reports no confidence
  });
});
