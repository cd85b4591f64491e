import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importDataset, writeMovielensFixture } from '@personastream/ingest';
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
  });
});
