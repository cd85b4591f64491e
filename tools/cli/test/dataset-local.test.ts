import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BehaviorEvent } from '@personastream/contracts';
import { readDatasetEvents, readDatasetManifest, readDatasetTruth } from '@personastream/dataset';
import { ClickHouseClient, ident, sql } from '@personastream/evaluator';
import { writeMovielensTasteFixture } from '@personastream/ingest';
import { semantizeEvents } from '@personastream/semantizer';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { benchDataset, benchDatasetLocal } from '../src/commands/bench-dataset.js';
import { runImport } from '../src/commands/import.js';
import { runTrain } from '../src/commands/train.js';
import type { LocalPorts } from '../src/pipeline/local.js';

// A MovieLens 100K folder written here → `import --format movielens` → `train --dataset` →
// `bench --dataset DIR --stack local`: the labels to the truth topic, the events replayed through the
// ingest HTTP API (or straight to Kafka) into semantizer → persona (the trained model) → evaluator
// as processes on the real Kafka / Redis / ClickHouse, in this test's own topics, groups, ports and
// ClickHouse database.

const USERS = 150;
const MOVIES = 40;

/** The MovieLens folder: tastes follow the labels (genre = f(age, gender, occupation)) so there is signal. */
const writeMovielens = (dir: string) => writeMovielensTasteFixture(dir, { users: USERS, movies: MOVIES, seed: 42 });

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

/**
 * The stack's ports: OS-assigned free ports, or (`DATASET_LOCAL_PORT_BASE=N`) N … N+5, for machines
 * where each tester keeps to a port range; each test case takes its own six.
 */
let portCase = 0;
async function freePorts(): Promise<LocalPorts> {
  const base = Number(process.env.DATASET_LOCAL_PORT_BASE ?? '');
  if (Number.isInteger(base) && base > 0) {
    const b = base + 6 * portCase++;
    return {
      semantizerOps: b,
      personaGrpc: b + 1,
      personaOps: b + 2,
      evaluatorHttp: b + 3,
      ingestHttp: b + 4,
      ingestOps: b + 5,
    };
  }
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
  let inProcess: { baselines: { raw_items: { tag_avg_at_k: number } } };
  const database = `it_dsl_${randomBytes(4).toString('hex')}`;

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
    inProcess = (await cli(() => benchDataset({ dir: ds, json: true, samples: 1 }))) as typeof inProcess;
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
    if (clickhouseUrl)
      await new ClickHouseClient({ url: clickhouseUrl }).exec(sql`DROP DATABASE IF EXISTS ${ident(database)}`);
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
        env: { CLICKHOUSE_DATABASE: database },
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
    // the raw-events reference learner (computed by the CLI, a run fact), per dimension, stored and read
    // back through ClickHouse; retention is ours ÷ its; ECE of the persona confidences
    const rawItems = (out.baselines as { raw_items?: { tag_avg_at_k: number; per_dimension: Record<string, number> } })
      .raw_items;
    expect(Object.keys(rawItems?.per_dimension ?? {}).sort()).toEqual(['age_band', 'gender', 'occupation_group']);
    const itemDims = Object.values(rawItems?.per_dimension ?? {});
    expect(itemDims.reduce((a, b) => a + b, 0) / 3).toBeCloseTo(rawItems?.tag_avg_at_k as number, 9);
    expect(rawItems?.tag_avg_at_k).toEqual(inProcess.baselines.raw_items.tag_avg_at_k);
    expect(out.retention).toBeCloseTo((out.tag_avg_at_k as number) / (rawItems?.tag_avg_at_k as number), 9);
    expect(out.retention_vs_unfiltered).toBeNull();
    expect(out.ece).toBeGreaterThan(0);
    expect(out.ece).toBeLessThan(1);
    expect(Object.keys(out.ece_per_dimension as object).sort()).toEqual(['age_band', 'gender', 'occupation_group']);

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
    const ch = new ClickHouseClient({ url: clickhouseUrl as string, database });
    const [run] = await ch.query<Record<string, unknown>>(
      sql`SELECT retention, raw_items_tag_avg_at_k, calibration_ece FROM runs FINAL WHERE run_id = ${String(out.run_id)}`,
    );
    expect(run?.raw_items_tag_avg_at_k).toBeCloseTo(rawItems?.tag_avg_at_k as number, 9);
    expect(run?.calibration_ece).toBeCloseTo(out.ece as number, 9);
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
