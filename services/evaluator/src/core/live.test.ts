import { create, toBinary } from '@bufbuild/protobuf';
import {
  GroundTruthSchema,
  PersonaSchema,
  PersonaUpdateSchema,
  type Tag,
  TagSchema,
  TagSetSchema,
  TruthRecordSchema,
} from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import {
  LiveTruths,
  type LiveUpdateRow,
  liveMinutes,
  liveTagDistribution,
  liveUpdateRow,
  MINUTE_MS,
  minuteOf,
  quantileExact,
} from './live.js';
import { labelsFromTags, scoringDimensions } from './metrics/labels.js';
import { RunAccumulator } from './run.js';

const t = (dimension: string, value: string, confidence = 1): Tag =>
  create(TagSchema, { dimension, value, confidence });
const T0 = 1_759_999_980_000; // a whole minute

function liveUpdate(
  userId: string,
  version: number,
  tags: Tag[],
  extra: Partial<{ updatedMs: number; firstEntryMs: number; early: boolean; flipped: number; samples: Tag[][] }> = {},
) {
  return create(PersonaUpdateSchema, {
    runId: 'live',
    windowId: `${userId}-w${version}`,
    persona: create(PersonaSchema, {
      tenant: 'acme',
      userId,
      version,
      tags,
      updatedMs: extra.updatedMs ?? T0 + version * 1000,
      model: 'builtin/test',
    }),
    samples: (extra.samples ?? []).map((s) => create(TagSetSchema, { tags: s })),
    early: extra.early ?? false,
    firstEntryMs: extra.firstEntryMs ?? 0,
    flipped: extra.flipped ?? 0,
  });
}

function liveTruth(userId: string, tags: Tag[], tenant = 'acme') {
  return create(GroundTruthSchema, { tenant, userId, runId: 'live', tags, split: 'train' });
}

const bytesOf = (g: ReturnType<typeof liveTruth>) =>
  toBinary(TruthRecordSchema, create(TruthRecordSchema, { kind: { case: 'truth', value: g } }));

const dims = scoringDimensions({ labeled: ['age_band', 'interests'] });

describe('liveUpdateRow', () => {
  it('carries the update’s minute, freshness, flips, confidence and tags', () => {
    const u = liveUpdate(
      'a',
      3,
      [t('age_band', '25-34', 0.8), t('interests', 'tech', 0.6), t('interests', 'art', 0.4)],
      {
        updatedMs: T0 + 61_500,
        firstEntryMs: T0 + 60_000,
        early: true,
        flipped: 2,
      },
    );
    const row = liveUpdateRow(u);
    expect(row).toEqual({
      tenant: 'acme',
      user_id: 'a',
      persona_version: 3,
      window_id: 'a-w3',
      time_ms: T0 + 61_500,
      minute_ms: T0 + MINUTE_MS,
      early: true,
      freshness_ms: 1500,
      flipped: 2,
      mean_confidence: expect.closeTo(0.6, 12),
      tag_dimension: ['age_band', 'interests', 'interests'],
      tag_value: ['25-34', 'tech', 'art'],
      tag_confidence: [0.8, 0.6, 0.4],
      tag_score: null,
      model: 'builtin/test',
    });
    expect(liveUpdateRow(liveUpdate('a', 1, [])).mean_confidence).toBeNull();
    expect(liveUpdateRow(liveUpdate('a', 1, [], { firstEntryMs: 0 })).freshness_ms).toBeNull();
  });

  it('scores a labelled user’s update with the same code as a run’s update (mean over samples)', () => {
    const truthTags = [t('age_band', '25-34'), t('interests', 'tech'), t('interests', 'music')];
    const s1 = [t('age_band', '25-34'), t('interests', 'tech'), t('interests', 'art')];
    const s2 = [t('age_band', '35-44'), t('interests', 'tech')];
    const u = liveUpdate('a', 1, s1, { samples: [s1, s2] });
    const row = liveUpdateRow(u, labelsFromTags(truthTags), dims);
    // s1: age 1, J({tech,art},{tech,music}) 1/3 → 2/3 ; s2: 0, 1/2 → 1/4
    expect(row.tag_score).toBeCloseTo((2 / 3 + 1 / 4) / 2, 12);
    // the run accumulator gives this update the same score
    const acc = new RunAccumulator('r', { labeledDimensions: ['age_band', 'interests'], scoreAllUsers: true });
    const asRun = liveUpdate('a', 1, s1, { samples: [s1, s2] });
    asRun.runId = 'r';
    acc.addUpdate(asRun);
    const g = liveTruth('a', truthTags);
    g.runId = 'r';
    acc.addTruth(g);
    expect(acc.report().update_rows[0]?.tag_score).toBe(row.tag_score);
  });
});

describe('LiveTruths', () => {
  it('keeps one truth per labelled user (the latest), recognises a re-delivery, and counts its bound', () => {
    const kept = new LiveTruths();
    expect(kept.has('acme')).toBe(false);
    const g1 = liveTruth('a', [t('age_band', '25-34')]);
    expect(kept.set(g1, bytesOf(g1))).toBe(true);
    expect(kept.holds(g1, bytesOf(g1))).toBe(true);
    expect(kept.set(g1, bytesOf(g1))).toBe(false); // re-delivered
    const corrected = liveTruth('a', [t('age_band', '35-44')]);
    expect(kept.holds(corrected, bytesOf(corrected))).toBe(false);
    expect(kept.set(corrected, bytesOf(corrected))).toBe(true);
    expect(kept.labels('acme', 'a')?.single.age_band).toBe('35-44');
    const other = liveTruth('a', [t('age_band', '55+')], 'globex');
    kept.set(other, bytesOf(other));
    expect(kept.labels('globex', 'a')?.single.age_band).toBe('55+');
    expect(kept.labels('acme', 'a')?.single.age_band).toBe('35-44');
    expect(kept.labels('acme', 'nobody')).toBeUndefined();
    expect(kept.size).toBe(2);
    expect(kept.has('acme')).toBe(true);
  });
});

describe('live metrics per minute', () => {
  const row = (over: Partial<LiveUpdateRow>): LiveUpdateRow => ({
    tenant: 'acme',
    user_id: 'a',
    persona_version: 1,
    window_id: 'w',
    time_ms: T0,
    minute_ms: T0,
    early: false,
    freshness_ms: null,
    flipped: 0,
    mean_confidence: null,
    tag_dimension: [],
    tag_value: [],
    tag_confidence: [],
    tag_score: null,
    model: 'm',
    ...over,
  });
  const rows: LiveUpdateRow[] = [
    row({ user_id: 'a', persona_version: 1, early: true, freshness_ms: 100, mean_confidence: 0.5, flipped: 0 }),
    row({ user_id: 'a', persona_version: 2, freshness_ms: 300, mean_confidence: 0.7, flipped: 1, tag_score: 0.5 }),
    row({ user_id: 'b', persona_version: 1, freshness_ms: 200, flipped: 0, tag_score: 1 }),
    row({ user_id: 'c', persona_version: 1, freshness_ms: 900, early: true, flipped: 3 }),
    row({ user_id: 'a', persona_version: 3, minute_ms: T0 + MINUTE_MS, time_ms: T0 + MINUTE_MS }),
    row({ tenant: 'globex', user_id: 'a' }),
    row({ user_id: 'z', minute_ms: T0 + 5 * MINUTE_MS }),
  ];

  it('computes each minute’s figures (hand-checked)', () => {
    expect(liveMinutes(rows, 'acme', T0, T0 + 2 * MINUTE_MS)).toEqual([
      {
        minute_ms: T0,
        updates: 4,
        users: 3,
        early_share: 0.5,
        flip_rate: 0.5,
        mean_confidence: expect.closeTo(0.6, 12),
        freshness_count: 4,
        // sorted 100, 200, 300, 900: quantileExact(0.5) = index 2, (0.99) = index 3
        freshness_p50_ms: 300,
        freshness_p99_ms: 900,
        scored_updates: 2,
        tag_score: 0.75,
      },
      {
        minute_ms: T0 + MINUTE_MS,
        updates: 1,
        users: 1,
        early_share: 0,
        flip_rate: 0,
        mean_confidence: null,
        freshness_count: 0,
        freshness_p50_ms: null,
        freshness_p99_ms: null,
        scored_updates: 0,
        tag_score: null,
      },
    ]);
    expect(liveMinutes(rows, 'nobody', T0, T0 + 10 * MINUTE_MS)).toEqual([]);
  });

  it('quantileExact is ClickHouse’s: sorted[floor(level · n)]', () => {
    expect(quantileExact([4, 1, 3, 2], 0.5)).toBe(3);
    expect(quantileExact([4, 1, 3, 2], 0.99)).toBe(4);
    expect(quantileExact([7], 0.99)).toBe(7);
    expect(quantileExact([], 0.5)).toBeNull();
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantileExact(hundred, 0.5)).toBe(51);
    expect(quantileExact(hundred, 0.99)).toBe(100);
  });

  it('distributes tag values over users, each counted once with their latest update of the period', () => {
    const tagged = (user: string, version: number, minute: number, tags: Array<[string, string]>) =>
      row({
        user_id: user,
        persona_version: version,
        minute_ms: minute,
        tag_dimension: tags.map((x) => x[0]),
        tag_value: tags.map((x) => x[1]),
        tag_confidence: tags.map(() => 1),
      });
    const m1 = T0 + MINUTE_MS;
    const tr = [
      tagged('a', 1, T0, [['age_band', '18-24']]), // superseded by a's version 2 over the range
      tagged('a', 2, m1, [
        ['age_band', '25-34'],
        ['interests', 'tech'],
        ['interests', 'art'],
      ]),
      tagged('b', 1, T0, [
        ['age_band', '25-34'],
        ['interests', 'tech'],
      ]),
      tagged('c', 1, m1, [['age_band', '35-44']]),
    ];
    expect(liveTagDistribution(tr, 'acme', T0, T0 + 2 * MINUTE_MS)).toEqual([
      { dimension: 'age_band', value: '25-34', users: 2, share: 2 / 3 },
      { dimension: 'age_band', value: '35-44', users: 1, share: 1 / 3 },
      { dimension: 'interests', value: 'tech', users: 2, share: 1 },
      { dimension: 'interests', value: 'art', users: 1, share: 0.5 },
    ]);
    expect(liveTagDistribution(tr, 'acme', T0, T0 + 2 * MINUTE_MS, true)).toEqual([
      { minute_ms: T0, dimension: 'age_band', value: '18-24', users: 1, share: 0.5 },
      { minute_ms: T0, dimension: 'age_band', value: '25-34', users: 1, share: 0.5 },
      { minute_ms: T0, dimension: 'interests', value: 'tech', users: 1, share: 1 },
      { minute_ms: m1, dimension: 'age_band', value: '25-34', users: 1, share: 0.5 },
      { minute_ms: m1, dimension: 'age_band', value: '35-44', users: 1, share: 0.5 },
      { minute_ms: m1, dimension: 'interests', value: 'art', users: 1, share: 1 },
      { minute_ms: m1, dimension: 'interests', value: 'tech', users: 1, share: 1 },
    ]);
  });

  it('minuteOf floors to the minute', () => {
    expect(minuteOf(T0 + 59_999)).toBe(T0);
    expect(minuteOf(T0 + 60_000)).toBe(T0 + MINUTE_MS);
  });
});
