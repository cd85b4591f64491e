import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BehaviorEvent, mulberry32, splitOf } from '@personastream/contracts';
import { readDatasetEvents, readDatasetManifest, readDatasetTruth } from '@personastream/dataset';
import { ClickHouseClient, sql } from '@personastream/evaluator';
import { MOVIELENS_GENRES } from '@personastream/ingest';
import { semantizeEvents } from '@personastream/semantizer';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { benchDatasetLocal } from '../src/commands/bench-dataset.js';
import { runImport } from '../src/commands/import.js';
import { runTrain } from '../src/commands/train.js';
import type { LocalPorts } from '../src/pipeline/local.js';

// A MovieLens 100K folder written here → `import --format movielens` → `train --dataset` →
// `bench --dataset DIR --stack local`: the labels to the truth topic, the events replayed through the
// ingest HTTP API (or straight to Kafka) into semantizer → persona (the trained model) → evaluator
// as processes on the real Kafka / Redis / ClickHouse, in this test's own topics, groups and ports.

const USERS = 150;
const MOVIES = 40;
const AGES = [19, 29, 39, 49, 61]; // one per age band
// one MovieLens occupation per occupation group
const OCCUPATIONS = [
  'student',
  'programmer',
  'doctor',
  'educator',
  'technician',
  'writer',
  'lawyer',
  'retired',
  'homemaker',
];

const rng = mulberry32;

/**
 * Writes `u.item` (latin-1, 19 genre flags), `u.user` and `u.data` (tab-separated, unsorted). Test
 * users get the labels round-robin, so the test split holds every age band, both genders and every
 * occupation group; tastes follow the labels (genre = f(age, gender, occupation)) so there is signal.
 */
async function writeMovielens(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const random = rng(42);
  const items: string[] = [];
  const genreOf: number[] = [];
  for (let m = 1; m <= MOVIES; m++) {
    const g = 1 + (m % 18);
    genreOf[m] = g;
    const flags = MOVIELENS_GENRES.map((_, i) => (i === g || i === 1 + ((m * 7) % 18) ? '1' : '0')).join('|');
    const title = m % 5 === 0 ? `Amélie ${m} (2001)` : `Film ${m} (199${m % 10})`;
    items.push(`${m}|${title}|01-Jan-199${m % 10}||http://us.imdb.com/M/title-exact?${m}|${flags}`);
  }
  await writeFile(join(dir, 'u.item'), `${items.join('\n')}\n`, 'latin1');
  const users: string[] = [];
  const ratings: string[] = [];
  let testIndex = 0;
  let trainIndex = 0;
  for (let u = 1; u <= USERS; u++) {
    const i = splitOf(String(u)) === 'test' ? testIndex++ : trainIndex++;
    const age = AGES[i % AGES.length] as number;
    const female = Math.floor(i / AGES.length) % 2 === 1;
    const occupation = OCCUPATIONS[i % OCCUPATIONS.length] as string;
    users.push(`${u}|${age}|${female ? 'F' : 'M'}|${occupation}|0${u}`);
    // 2–3 sessions days apart, 5–9 ratings each, movies whose genre matches the labels more often
    const seen = new Set<number>();
    const sessions = 2 + (u % 2);
    for (let s = 0; s < sessions; s++) {
      const start = 880_000_000 + u * 3_600 + s * 5 * 86_400;
      const n = 5 + Math.floor(random() * 5);
      for (let r = 0; r < n; r++) {
        const liked = random() < 0.7;
        const wanted = liked
          ? 1 + ((AGES.indexOf(age) * 3 + (female ? 1 : 0) + OCCUPATIONS.indexOf(occupation)) % 18)
          : 0;
        let movie = 1 + Math.floor(random() * MOVIES);
        if (wanted > 0) {
          const candidates = genreOf.flatMap((g, m) => (g === wanted && !seen.has(m) ? [m] : []));
          if (candidates.length > 0) movie = candidates[Math.floor(random() * candidates.length)] as number;
        }
        if (seen.has(movie)) continue; // one rating per user and movie, as in u.data
        seen.add(movie);
        ratings.push(`${u}\t${movie}\t${1 + Math.floor(random() * 5)}\t${start + r * 90}`);
      }
    }
  }
  await writeFile(join(dir, 'u.user'), `${users.join('\n')}\n`, 'latin1');
  ratings.reverse(); // not in time order, like the real file
  await writeFile(join(dir, 'u.data'), `${ratings.join('\n')}\n`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function freePorts(): Promise<LocalPorts> {
  return {
    semantizerOps: await freePort(),
    personaGrpc: await freePort(),
    personaOps: await freePort(),
    evaluatorHttp: await freePort(),
    ingestHttp: await freePort(),
    ingestOps: await freePort(),
  };
}

/** Runs a CLI command function, returning the JSON object of its last stdout line. */
async function cli(run: () => Promise<number>): Promise<Record<string, unknown>> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((s: string) => lines.push(String(s)));
  try {
    expect(await run()).toBe(0);
  } finally {
    log.mockRestore();
  }
  return JSON.parse(lines.at(-1) as string) as Record<string, unknown>;
}

describe('a MovieLens dataset through the real pipeline', () => {
  const clickhouseUrl = process.env.CLICKHOUSE_URL;
  let tmp: string;
  let ds: string;
  let model: string;
  let events: BehaviorEvent[];
  let testUsers: number;

  beforeAll(async () => {
    if (!process.env.KAFKA_BROKERS || !clickhouseUrl)
      throw new Error(
        'KAFKA_BROKERS / CLICKHOUSE_URL are not set: run "npx personastream infra up" and source .infra/env',
      );
    tmp = await mkdtemp(join(tmpdir(), 'ps-ml-local-'));
    await writeMovielens(join(tmp, 'ml-100k'));
    ds = join(tmp, 'ds');
    const imported = await cli(() =>
      runImport(['--format', 'movielens', '--path', join(tmp, 'ml-100k'), '--out', ds, '--json']),
    );
    expect(imported.truths).toBe(USERS);
    model = join(tmp, 'model.json');
    const trained = await cli(() => runTrain(['--dataset', ds, '--out', model, '--json']));
    expect(Object.keys((trained.per_dimension as { test: object }).test).sort()).toEqual([
      'age_band',
      'gender',
      'occupation_group',
    ]);
    events = [];
    for await (const e of readDatasetEvents(ds)) events.push(e);
    testUsers = 0;
    const testLabels: Record<string, Set<string>> = {};
    for await (const t of readDatasetTruth(ds)) {
      if (t.split !== 'test') continue;
      testUsers++;
      for (const tag of t.tags) {
        testLabels[tag.dimension] ??= new Set();
        testLabels[tag.dimension]?.add(tag.value);
      }
    }
    // the split has test users with each label
    expect(testLabels.age_band?.size).toBe(5);
    expect(testLabels.gender?.size).toBe(2);
    expect(testLabels.occupation_group?.size).toBe(9);
  });

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it.each([
    'http',
    'kafka',
  ] as const)('import → train → replay (%s) → semantizer → persona → evaluator: scored on age_band, gender, occupation_group', async (target) => {
    const manifest = await readDatasetManifest(ds);
    const ports = await freePorts();
    const out = await cli(() =>
      benchDatasetLocal({
        dir: ds,
        json: true,
        target,
        modelPath: model,
        ports,
        isolate: `it-${randomBytes(4).toString('hex')}`,
        logSuffix: '-it-dataset',
        timeoutMs: 400_000, // below the test's limit, so a stuck run fails with the evaluator's progress
      }),
    );
    // replay: every event of the dataset accepted, none rejected or seen twice; every label published
    const replay = out.replay as { events: number; accepted: number; duplicates: number; rejected: object };
    expect(replay.events).toBe(manifest.counts.events);
    expect(replay.accepted).toBe(manifest.counts.events);
    expect(replay.duplicates).toBe(0);
    expect(replay.rejected).toEqual({});
    expect(out.truths).toBe(USERS);

    // the evaluator's report: the three labelled dimensions, on exactly the test split, beside the prior
    const perDim = out.tag_per_dimension as Record<string, number>;
    expect(Object.keys(perDim).sort()).toEqual(['age_band', 'gender', 'occupation_group']);
    for (const v of Object.values(perDim)) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    expect(out.test_users).toBe(testUsers);
    expect(out.users).toBe(USERS);
    expect(out.stack).toBe('local');
    const prior = (out.baselines as { prior?: { tag_avg_at_k: number } }).prior;
    expect(prior?.tag_avg_at_k).toBeGreaterThan(0);
    // the evaluator's prior (fitted on the truths it consumed) = the CLI's per-dimension prior, averaged
    const priorPerDim = out.prior_per_dimension as Record<string, number>;
    expect(Object.keys(priorPerDim).sort()).toEqual(['age_band', 'gender', 'occupation_group']);
    const priors = Object.values(priorPerDim);
    expect(priors.reduce((a, b) => a + b, 0) / priors.length).toBeCloseTo(prior?.tag_avg_at_k as number, 9);
    expect(out.tag_avg_at_k).toBeCloseTo(
      (perDim.age_band as number) / 3 + (perDim.gender as number) / 3 + (perDim.occupation_group as number) / 3,
      9,
    );

    // every replayed event reached the pipeline: persona versions and events seen per user, read
    // from ClickHouse, equal the semantizer core run in-process over the same events
    const tenant = String(out.tenant);
    const expected = new Map<string, { windows: number; events: number }>();
    const rewritten = events.map((e) => ({ ...e, tenant, runId: String(out.run_id) }));
    for (const w of semantizeEvents(rewritten, { tokenizer: 'none' }).windows) {
      const x = expected.get(w.userId) ?? { windows: 0, events: 0 };
      x.windows++;
      x.events += w.eventCount;
      expected.set(w.userId, x);
    }
    expect(expected.size).toBe(USERS);
    const ch = new ClickHouseClient({ url: clickhouseUrl as string, database: 'personastream' });
    const rows = await ch.query<Record<string, unknown>>(
      sql`SELECT user_id, persona_version, events_seen, scored FROM user_scores FINAL WHERE run_id = ${String(out.run_id)}`,
    );
    expect(rows).toHaveLength(USERS);
    for (const r of rows) {
      const x = expected.get(String(r.user_id));
      expect(Number(r.persona_version), String(r.user_id)).toBe(x?.windows);
      expect(Number(r.events_seen), String(r.user_id)).toBe(x?.events);
    }
    expect(rows.filter((r) => Number(r.scored) === 1)).toHaveLength(testUsers);
  }, 600_000);
});
