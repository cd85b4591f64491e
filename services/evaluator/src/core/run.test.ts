import { create } from '@bufbuild/protobuf';
import {
  EndOfRunSchema,
  GroundTruthSchema,
  KeyFactSchema,
  PersonaSchema,
  PersonaUpdateSchema,
  type Tag,
  TagSchema,
  TagSetSchema,
} from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { seededRandom, syntheticRun } from './fixtures.js';
import { RunAccumulator, reportContract } from './run.js';

const t = (dimension: string, value: string, confidence = 1): Tag =>
  create(TagSchema, { dimension, value, confidence });
const marker = (partition: number, total = 2) =>
  create(EndOfRunSchema, { runId: 'r1', partition, totalPartitions: total, tenant: 'acme', producedTimeMs: 10_000 });

function truth(userId: string, split: string, tags: Tag[]) {
  return create(GroundTruthSchema, {
    tenant: 'acme',
    userId,
    runId: 'r1',
    split,
    tags,
    keyFacts: tags.map((x) => create(KeyFactSchema, { dimension: x.dimension, value: x.value })),
  });
}

function update(
  userId: string,
  version: number,
  tags: Tag[],
  extra: Partial<{ summary: string; samples: Tag[][] }> = {},
) {
  return create(PersonaUpdateSchema, {
    runId: 'r1',
    windowId: `${userId}-w${version}`,
    persona: create(PersonaSchema, {
      tenant: 'acme',
      userId,
      version,
      tags,
      summary: extra.summary ?? '',
      windowsSeen: version,
      eventsSeen: version * 10,
      updatedMs: 1000 * version + 100 * version,
      model: 'builtin/test',
    }),
    samples: (extra.samples ?? []).map((s) => create(TagSetSchema, { tags: s })),
    rawBytes: 1000,
    semantizedBytes: 25,
    rawTokens: 300,
    semantizedTokens: 9,
    ingestTimeMs: 1000 * version,
  });
}

// Only two scored dimensions keep the hand computation readable.
const options = { labeledDimensions: ['age_band', 'interests'] };

describe('RunAccumulator', () => {
  it('completes only with markers for every partition of both topics', () => {
    const acc = new RunAccumulator('r1', options);
    expect(acc.isComplete()).toBe(false);
    acc.addMarker('updates', marker(0));
    acc.addMarker('updates', marker(1));
    acc.addMarker('truth', marker(1));
    expect(acc.addMarker('truth', marker(1))).toBe(false); // duplicate partition
    expect(acc.isComplete()).toBe(false);
    expect(acc.progress().markers).toEqual({
      updates: { received: [0, 1], total: 2 },
      truth: { received: [1], total: 2 },
    });
    acc.addMarker('truth', marker(0));
    expect(acc.isComplete()).toBe(true);
  });

  it('computes a hand-checked report', () => {
    const acc = new RunAccumulator('r1', options);
    // test user a: truth 25-34, {tech, music}
    acc.addTruth(truth('a', 'test', [t('age_band', '25-34'), t('interests', 'tech'), t('interests', 'music')]));
    // test user b: truth 35-44, {art}; no persona → scores 0
    acc.addTruth(truth('b', 'test', [t('age_band', '35-44'), t('interests', 'art')]));
    // train user c: used by the prior only
    acc.addTruth(truth('c', 'train', [t('age_band', '25-34'), t('interests', 'tech')]));
    // a: v1 wrong age, {tech}; v2 right age, {tech, art} with two samples
    acc.addUpdate(update('a', 1, [t('age_band', '18-24', 0.4), t('interests', 'tech', 0.9)]));
    const v2 = [t('age_band', '25-34', 0.8), t('interests', 'tech', 0.9), t('interests', 'art', 0.3)];
    const v2b = [t('age_band', '35-44', 0.8), t('interests', 'tech', 0.9)];
    acc.addUpdate(
      update('a', 2, v2, {
        summary: 'Aged 25-34, not interested in music but interested in tech and art. Aged 55+.',
        samples: [v2, v2b],
      }),
    );
    expect(acc.addUpdate(update('a', 2, v2))).toBe(false); // re-delivered
    acc.addUpdate(update('c', 1, [t('age_band', '25-34'), t('interests', 'tech')], { summary: 'Aged 25-34.' }));
    for (const p of [0, 1]) {
      acc.addMarker('updates', marker(p));
      acc.addMarker('truth', marker(p));
    }
    const r = acc.report({
      info: { seed: 7, stack: 'embedded', raw_tag_avg_at_k: 0.5 },
      baselines: { raw_items: { tag_avg_at_k: 0.25, acc_ex: 0.5 } },
    });

    // a: sample1 age 1, J({tech,art},{tech,music}) = 1/3 → 2/3 ; sample2 age 0, J({tech},{tech,music}) = 1/2 → 1/4
    const aScore = (2 / 3 + 1 / 4) / 2;
    expect(r.users).toBe(3);
    expect(r.test_users).toBe(2);
    expect(r.samples).toBe(2);
    expect(r.tag_avg_at_k).toBeCloseTo(aScore / 2, 12);
    expect(r.tag_per_dimension.age_band).toBeCloseTo(0.5 / 2, 12);
    expect(r.tag_per_dimension.interests).toBeCloseTo((1 / 3 + 1 / 2) / 2 / 2, 12);
    // a states 25-34 ✓, tech ✓, art ✗ (not in truth), 55+ ✗ ; music negated. key facts 3 → 2/3; b: 0
    expect(r.acc_ex).toBeCloseTo((2 / 3 + 0) / 2, 12);
    expect(r.hallucination_rate).toBeCloseTo(2 / 4, 12);
    const a = r.user_rows.find((u) => u.user_id === 'a');
    expect(a).toMatchObject({ key_facts: 3, key_facts_stated: 2, stated_facts: 4, hallucinated_facts: 2, updates: 2 });
    expect(r.user_rows.find((u) => u.user_id === 'b')).toMatchObject({
      has_persona: false,
      tag_score: 0,
      acc_ex: 0,
      scored: true,
    });
    expect(r.user_rows.find((u) => u.user_id === 'c')).toMatchObject({ scored: false, split: 'train' });
    // compression over every update of every user: 3 updates × (1000 raw, 25 semantized)
    expect(r.compression_bytes).toBeCloseTo(1 - 75 / 3000, 12);
    expect(r.compression_tokens).toBeCloseTo(1 - 27 / 900, 12);
    // retention: ours ÷ the raw_items reference learner; the old figure (÷ less-filtered input) beside it
    expect(r.retention).toBeCloseTo(aScore / 2 / 0.25, 12);
    expect(r.retention_vs_unfiltered).toBeCloseTo(aScore / 2 / 0.5, 12);
    // ECE over a's two samples (weight ½ each): bin 0.3 {art ✗} w ½ |0 − .3|; bin 0.8 {25-34 ✓, 35-44 ✗}
    // w 1 |.5 − .8|; bin 0.9 {tech ✓ ×2} w 1 |1 − .9| → (.15 + .3 + .1) / 2.5
    expect(r.ece).toBeCloseTo(0.22, 12);
    expect(r.calibration_ece).toBe(r.ece);
    expect(reportContract(r)).toMatchObject({
      retention: r.retention,
      retention_vs_unfiltered: r.retention_vs_unfiltered,
      ece: r.ece,
    });
    // convergence (scored users only): a v1 → bucket 0.5: age 0, J({tech},{tech,music}) = .5 → .25 ; v2 → bucket 1
    expect(r.convergence).toEqual([
      { bucket: 0.5, tag_score: 0.25, points: 1, users: 1 },
      { bucket: 1, tag_score: expect.closeTo(aScore, 12), points: 1, users: 1 },
    ]);
    // latency: updated − ingest = 100 · version → 100, 200, 100
    expect(r.latency).toMatchObject({ count: 3, p50_ms: 100, max_ms: 200 });
    // prior from the train user c: 25-34, {tech} → a: age 1 + J({tech},{tech,music}) .5 → .75 ; b: 0 + 0 → 0
    expect(r.baselines.prior?.tag_avg_at_k).toBeCloseTo(0.375, 12);
    // prior Acc_Ex: a states 25-34 ✓ tech ✓ of 3 → 2/3 ; b 0/2
    expect(r.baselines.prior?.acc_ex).toBeCloseTo(1 / 3, 12);
    expect(r).toMatchObject({ seed: 7, stack: 'embedded', backend: 'builtin/test', events: 30, scored_split: 'test' });
    expect(r.wall_s).toBeCloseTo((10_000 - 1000) / 1000, 12);
    expect(r.events_per_s).toBeCloseTo(30 / 9, 12);
    expect(Object.keys(reportContract(r))).toEqual(
      expect.arrayContaining(['users', 'test_users', 'events', 'seed', 'backend', 'stack', 'samples', 'tag_avg_at_k']),
    );
  });

  it('scores every user on demand and treats an erased persona as missing', () => {
    const acc = new RunAccumulator('r1', { ...options, scoreAllUsers: true });
    acc.addTruth(truth('a', 'train', [t('age_band', '25-34'), t('interests', 'tech')]));
    acc.addUpdate(update('a', 1, [t('age_band', '25-34'), t('interests', 'tech')]));
    expect(acc.report().tag_avg_at_k).toBe(1);
    const tomb = create(PersonaUpdateSchema, {
      runId: 'r1',
      tombstone: true,
      persona: create(PersonaSchema, { tenant: 'acme', userId: 'a', version: 1 }),
    });
    acc.addUpdate(tomb);
    const r = acc.report();
    expect(r.tag_avg_at_k).toBe(0);
    expect(r.user_rows[0]).toMatchObject({ tombstoned: true, has_persona: false });
    expect(r.scored_split).toBe('all');
  });

  it('scores only the dimensions the run facts say the truth labels', () => {
    const acc = new RunAccumulator('r1', { scoreAllUsers: true });
    acc.addTruth(truth('a', 'train', [t('age_band', '25-34')]));
    acc.addTruth(truth('b', 'test', [t('age_band', '35-44')]));
    acc.addUpdate(update('a', 1, [t('age_band', '25-34'), t('interests', 'tech')]));
    acc.addUpdate(update('b', 1, [t('age_band', '25-34')]));
    // every enabled dimension: the unlabelled ones drag the score down
    expect(Object.keys(acc.report().tag_per_dimension).length).toBeGreaterThan(5);
    const r = acc.report({ info: { labeled_dimensions: ['age_band'] } });
    expect(Object.keys(r.tag_per_dimension)).toEqual(['age_band']);
    expect(r.tag_per_dimension.age_band).toBe(0.5);
    expect(r.tag_avg_at_k).toBe(0.5);
    expect(r.baselines.prior?.tag_avg_at_k).toBe(0.5); // the train value 25-34 for both users
  });

  it('is a pure function of the distinct records: order and re-delivery do not matter', () => {
    const run = syntheticRun({ runId: 'r1', users: 40, seed: 3, samples: 3, missingPersona: 0.1 });
    const feed = (acc: RunAccumulator, shuffle: number | undefined, twice: boolean) => {
      const items: Array<() => void> = [
        ...run.updates.map((u) => () => void acc.addUpdate(u.value)),
        ...run.truths.map((x) => () => void acc.addTruth(x.value)),
        ...run.updateMarkers.map((m) => () => void acc.addMarker('updates', m)),
        ...run.truthMarkers.map((m) => () => void acc.addMarker('truth', m)),
      ];
      const all = twice ? [...items, ...items] : items;
      if (shuffle !== undefined) {
        const rnd = seededRandom(shuffle);
        for (let i = all.length - 1; i > 0; i--) {
          const j = Math.floor(rnd() * (i + 1));
          [all[i], all[j]] = [all[j] as () => void, all[i] as () => void];
        }
      }
      for (const f of all) f();
      return acc;
    };
    const a = feed(new RunAccumulator('r1'), undefined, false);
    const b = feed(new RunAccumulator('r1'), 99, true);
    expect(a.isComplete()).toBe(true);
    expect(b.report()).toEqual(a.report());
    const r = a.report();
    expect(r.users).toBe(40);
    expect(r.test_users).toBe(r.user_rows.filter((u) => u.split === 'test').length);
    expect(r.tag_avg_at_k).toBeGreaterThan(0.2);
    expect(r.tag_avg_at_k).toBeLessThan(0.95);
    expect(r.dimensions).toHaveLength(12);
    expect(r.tag_per_dimension.gender).toBeUndefined();
    const meanDims = r.dimensions.reduce((s, d) => s + d.accuracy, 0) / r.dimensions.length;
    expect(meanDims).toBeCloseTo(r.tag_avg_at_k, 12);
    // convergence improves with history in the synthetic run
    expect(r.convergence.at(-1)!.tag_score).toBeGreaterThan(r.convergence[0]!.tag_score);
  });
});

describe('RunAccumulator: runs are (tenant, run id)', () => {
  const markerOf = (tenant: string, partition: number) =>
    create(EndOfRunSchema, { runId: 'r1', partition, totalPartitions: 2, tenant, producedTimeMs: 10_000 });

  it("never lets another tenant's markers, updates or truths complete or change the run", () => {
    const a = new RunAccumulator('r1', { ...options, tenant: 'acme' });
    a.addTruth(truth('a', 'test', [t('age_band', '25-34'), t('interests', 'tech')]));
    a.addUpdate(update('a', 1, [t('age_band', '25-34'), t('interests', 'tech')]));
    const before = a.report();
    // globex sends the same run id: every marker of both topics, a truth and an update of "its" user a
    for (const p of [0, 1]) {
      expect(a.addMarker('updates', markerOf('globex', p))).toBe(false);
      expect(a.addMarker('truth', markerOf('globex', p))).toBe(false);
    }
    const foreignTruth = truth('a', 'test', [t('age_band', '55+')]);
    foreignTruth.tenant = 'globex';
    expect(a.addTruth(foreignTruth)).toBe(false);
    const foreign = update('a', 2, [t('age_band', '55+')]);
    (foreign.persona as NonNullable<typeof foreign.persona>).tenant = 'globex';
    expect(a.addUpdate(foreign)).toBe(false);
    expect(a.isComplete()).toBe(false);
    expect(a.report()).toEqual(before);
    expect(a.report().tenant).toBe('acme');
    // its own markers complete it
    for (const p of [0, 1]) {
      a.addMarker('updates', markerOf('acme', p));
      a.addMarker('truth', markerOf('acme', p));
    }
    expect(a.isComplete()).toBe(true);
  });

  it('binds to the first record’s tenant when none is given', () => {
    const a = new RunAccumulator('r1', options);
    expect(a.addMarker('updates', markerOf('acme', 0))).toBe(true);
    expect(a.addMarker('updates', markerOf('globex', 1))).toBe(false);
    expect(a.progress().markers.updates.received).toEqual([0]);
  });
});

describe('RunAccumulator: freshness', () => {
  it('reports nearest-rank p50/p99 of updated_ms − first_entry_ms over updates that know it', () => {
    const acc = new RunAccumulator('r1', options);
    // updated_ms of version v is 1100·v; first_entry_ms 0 (unknown) on version 3
    const firstEntry = [0, 1000, 1700, 0, 4000];
    for (let v = 1; v <= 4; v++) {
      const u = update('a', v, [t('age_band', '25-34')]);
      u.firstEntryMs = firstEntry[v] as number;
      acc.addUpdate(u);
    }
    // freshness: v1 1100−1000 = 100, v2 2200−1700 = 500, v3 unknown, v4 4400−4000 = 400 → sorted 100, 400, 500
    const r = acc.report();
    expect(r.freshness_p50_ms).toBe(400);
    expect(r.freshness_p99_ms).toBe(500);
    expect(reportContract(r)).toMatchObject({ freshness_p50_ms: 400, freshness_p99_ms: 500 });
    // the latency fields are unchanged by it
    expect(r.latency.count).toBe(4);
  });

  it('is null when no update knows its first entry time', () => {
    const acc = new RunAccumulator('r1', options);
    acc.addUpdate(update('a', 1, [t('age_band', '25-34')]));
    expect(acc.report()).toMatchObject({ freshness_p50_ms: null, freshness_p99_ms: null });
    expect(new RunAccumulator('r1').report()).toMatchObject({ freshness_p50_ms: null, freshness_p99_ms: null });
  });
});
