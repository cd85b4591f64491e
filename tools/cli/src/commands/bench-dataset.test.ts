import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importDataset, writeMovielensFixture, writeMovielensTasteFixture } from '@personastream/ingest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { benchDataset } from './bench-dataset.js';

describe('bench --dataset on imported real-data formats', () => {
  afterEach(() => vi.restoreAllMocks());

  it('MovieLens files → import → bench: per-dimension scores for the labelled dimensions only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ps-ml-'));
    await writeMovielensFixture(join(dir, 'ml'), 60, 4);
    await importDataset({ format: 'movielens', path: join(dir, 'ml'), out: join(dir, 'ds') });
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: string) => lines.push(s));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await benchDataset({ dir: join(dir, 'ds'), json: true, samples: 1 })).toBe(0);
    const report = JSON.parse(lines.at(-1) as string);
    expect(Object.keys(report.tag_per_dimension).sort()).toEqual(['age_band', 'gender', 'occupation_group']);
    expect(report.test_users).toBeGreaterThan(0);
    expect(report.users).toBe(60);
    for (const v of Object.values(report.tag_per_dimension)) expect(v).toBeGreaterThanOrEqual(0);
    expect(report.baselines.prior.tag_avg_at_k).toBeGreaterThan(0);
    // the prior per dimension averages to the prior's tag score
    const prior = Object.values(report.prior_per_dimension) as number[];
    expect(Object.keys(report.prior_per_dimension).sort()).toEqual(['age_band', 'gender', 'occupation_group']);
    expect(prior.reduce((a, b) => a + b, 0) / prior.length).toBeCloseTo(report.baselines.prior.tag_avg_at_k, 9);
    // raw_items, per dimension, and the ECE are in every report
    expect(Object.keys(report.baselines.raw_items.per_dimension).sort()).toEqual([
      'age_band',
      'gender',
      'occupation_group',
    ]);
    expect(report).toHaveProperty('ece');
    expect(report).toHaveProperty('retention_vs_unfiltered', null);
  });

  it('item-level taste: raw_items learns what only item ids carry; retention = ours ÷ raw_items; ECE of the persona confidences', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ps-ml-taste-'));
    // age band shows in which movies a user rates (a latent audience per movie), not in their genres
    await writeMovielensTasteFixture(join(dir, 'ml'), { users: 400, movies: 180, seed: 5, itemTaste: 0.8 });
    await importDataset({ format: 'movielens', path: join(dir, 'ml'), out: join(dir, 'ds') });
    const lines: string[] = [];
    const err: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((s: string) => lines.push(s));
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      err.push(String(s));
      return true;
    });
    expect(await benchDataset({ dir: join(dir, 'ds'), json: true, samples: 1 })).toBe(0);
    const report = JSON.parse(lines.at(-1) as string);
    const items = report.baselines.raw_items;
    expect(items.per_dimension.age_band).toBeGreaterThan(report.prior_per_dimension.age_band + 0.3);
    expect(items.tag_avg_at_k).toBeCloseTo(
      (items.per_dimension.age_band + items.per_dimension.gender + items.per_dimension.occupation_group) / 3,
      9,
    );
    expect(report.retention).toBeCloseTo(report.tag_avg_at_k / items.tag_avg_at_k, 12);
    // the windows' item codes reach the model: it learns the latent audience too
    expect(report.tag_per_dimension.age_band).toBeGreaterThan(report.prior_per_dimension.age_band + 0.3);
    // cross-domain row: the shipped model (simulated users) on these users as it is — its item features
    // do not apply to this tenant — far below the dataset's own model on what only item ids show
    const cross = report.cross_domain;
    expect(cross.trained_on).toMatch(/^simulator/);
    expect(Object.keys(cross.per_dimension).sort()).toEqual(['age_band', 'gender', 'occupation_group']);
    expect(cross.per_dimension.age_band).toBeLessThan(report.tag_per_dimension.age_band - 0.2);
    expect(cross.ece).toBeGreaterThan(0);
    expect(cross.ece).toBeLessThan(1);
    expect(report.ece).toBeGreaterThan(0);
    expect(report.ece).toBeLessThan(1);
    expect(Object.keys(report.ece_per_dimension).sort()).toEqual(['age_band', 'gender', 'occupation_group']);
    // printed: raw_items beside the prior, retention and ECE
    const printed = err.join('');
    expect(printed).toMatch(/raw_items 0\.\d{4}/);
    expect(printed).toMatch(/retention \(÷ raw_items\) \d\.\d{4} {3}ECE 0\.\d{4}/);
    expect(printed).toMatch(/cross-domain: .+ as it is: tag 0\.\d{4} {3}ECE 0\.\d{4}/);
  });
});
