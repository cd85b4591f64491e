import { readFileSync } from 'node:fs';
import { create } from '@bufbuild/protobuf';
import { PersonaSchema, PersonaUpdateSchema, TagSchema, TENANT_ID_PATTERN } from '@personastream/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseScoreSink } from '../src/adapters/sink.js';
import { sqlString } from '../src/adapters/sql.js';
import { seededRandom, syntheticRun } from '../src/core/fixtures.js';
import { liveUpdateRow } from '../src/core/live.js';
import { labelsFromTags, scoringDimensions } from '../src/core/metrics/labels.js';
import { RunAccumulator } from '../src/core/run.js';
import { testDatabase } from './helpers.js';

interface Panel {
  id: number;
  title: string;
  type: string;
  targets: Array<{ rawSql: string; datasource: { type: string } }>;
}
const dashboard = JSON.parse(
  readFileSync(new URL('../../../deploy/grafana/personastream.json', import.meta.url), 'utf8'),
) as {
  panels: Panel[];
  templating: { list: Array<{ name: string; query: string; type: string }> };
};

let db: Awaited<ReturnType<typeof testDatabase>>;
let sink: ClickHouseScoreSink;
const tenant = 'acme';
const runId = "grafana-run-1'x";
const now = Date.now();
const minute = Math.floor(now / 60_000) * 60_000;
const range = { from: minute - 30 * 60_000, to: minute + 60_000 };

/** Grafana's `singlequote` format: quotes, escapes ' as \' — and leaves \ as it is (issue 20). */
const grafanaSingleQuote = (v: string) => `'${v.replaceAll("'", "\\'")}'`;

/**
 * A panel query as Grafana (ClickHouse datasource 4.x) would send it: the tenant and dimension
 * variables with Grafana's own `singlequote` rules (their values are restricted to characters that
 * need no more), the run id through the project's escaper (issue 20: Grafana's would not escape a
 * backslash), `$__timeFilter(col)` as the datasource expands it (seconds).
 */
function render(q: string, dimension = 'age_band'): string {
  return q
    .replaceAll(`$${'{'}tenant:singlequote}`, grafanaSingleQuote(tenant))
    .replaceAll(`$${'{'}dimension:singlequote}`, grafanaSingleQuote(dimension))
    .replaceAll(`$${'{'}run_id:singlequote}`, sqlString(runId))
    .replace(
      /\$__timeFilter\((\w+)\)/g,
      (_m, col: string) =>
        `${col} >= toDateTime(${Math.floor(range.from / 1000)}) AND ${col} <= toDateTime(${Math.floor(range.to / 1000)})`,
    );
}

beforeAll(async () => {
  db = await testDatabase('it_grafana');
  sink = new ClickHouseScoreSink(db.client);
  const run = syntheticRun({ runId, users: 40, seed: 4, samples: 2, tenant });
  const acc = new RunAccumulator(runId);
  for (const u of run.updates) acc.addUpdate(u.value);
  for (const t of run.truths) acc.addTruth(t.value);
  await sink.writeRun(acc.report({ baselines: { raw_frequency: { tag_avg_at_k: 0.4, acc_ex: 0.3 } } }));
  // a run of an id that is no valid tenant id (written before tenants were checked): never offered
  const legacy = syntheticRun({ runId: 'old', users: 2, seed: 5, tenant: "bad'ten\\ant" });
  const legacyAcc = new RunAccumulator('old');
  for (const u of legacy.updates) legacyAcc.addUpdate(u.value);
  await sink.writeRun(legacyAcc.report());
  // live updates of the tenant over the last 20 minutes, some of labelled users
  const rnd = seededRandom(9);
  const dims = scoringDimensions({ labeled: ['age_band', 'interests'] });
  const truth = labelsFromTags([create(TagSchema, { dimension: 'age_band', value: '25-34' })]);
  const rows = Array.from({ length: 120 }, (_, i) => {
    const at = minute - Math.floor(rnd() * 20) * 60_000 + Math.floor(rnd() * 60_000);
    const tags = [
      create(TagSchema, { dimension: 'age_band', value: rnd() < 0.6 ? '25-34' : '35-44', confidence: rnd() }),
      create(TagSchema, { dimension: 'interests', value: rnd() < 0.5 ? 'tech' : 'art', confidence: rnd() }),
    ];
    const user = `u${i % 30}`;
    const update = create(PersonaUpdateSchema, {
      runId: 'live',
      windowId: `w${i}`,
      persona: create(PersonaSchema, { tenant, userId: user, version: 1 + Math.floor(i / 30), tags, updatedMs: at }),
      early: rnd() < 0.3,
      flipped: rnd() < 0.2 ? 1 : 0,
      firstEntryMs: rnd() < 0.9 ? at - Math.floor(rnd() * 20_000) : 0,
    });
    return liveUpdateRow(update, i % 30 < 5 ? truth : undefined, dims);
  });
  await sink.writeLiveUpdates(rows);
});
afterAll(async () => {
  await db?.drop();
});

const TENANT_VAR = `$${'{'}tenant:singlequote}`;
const panel = (id: number) => dashboard.panels.find((p) => p.id === id) as Panel;

describe('Grafana dashboard (deploy/grafana/personastream.json)', () => {
  it('uses the ClickHouse datasource and has the dashboard panels', () => {
    const types = dashboard.panels.map((p) => p.type);
    for (const t of ['stat', 'barchart', 'xychart', 'histogram', 'bargauge', 'table', 'timeseries']) {
      expect(types).toContain(t);
    }
    for (const p of dashboard.panels) expect(p.targets[0]?.datasource.type).toBe('grafana-clickhouse-datasource');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['tenant', 'run_id', 'dimension']);
    // every run panel names the tenant beside the run id; every live panel reads the tenant's rows
    for (const p of dashboard.panels) {
      for (const t of p.targets) {
        if (t.rawSql.includes('run_id = ')) expect(t.rawSql, p.title).toContain(`tenant = ${TENANT_VAR}`);
        if (t.rawSql.includes('live_updates')) {
          expect(t.rawSql, p.title).toContain(`tenant = ${TENANT_VAR} AND $__timeFilter(minute)`);
          expect(t.rawSql, p.title).toContain('live_updates FINAL');
        }
      }
    }
  });

  it('every panel query and the variables run on this ClickHouse and return rows', async () => {
    const variable = (name: string) => dashboard.templating.list.find((v) => v.name === name);
    const tenants = (await db.client.query<{ tenant: string }>(render(variable('tenant')?.query ?? ''))).map(
      (r) => r.tenant,
    );
    expect(tenants).toEqual(['acme']); // "bad'ten\ant" is not offered
    for (const t of tenants) expect(t).toMatch(TENANT_ID_PATTERN);
    expect((await db.client.query(render(variable('run_id')?.query ?? ''))).length).toBe(1);
    expect(variable('dimension')?.query.split(',')).toContain('interests');
    for (const p of dashboard.panels) {
      for (const t of p.targets) {
        const rows = await db.client.query(render(t.rawSql));
        expect(rows.length, p.title).toBeGreaterThan(0);
      }
    }
  });

  it("live panels show the evaluator's live figures", async () => {
    const minutes = await sink.liveMinutes(tenant, range.from, range.to);
    expect(minutes.length).toBeGreaterThan(10);
    const counts = await db.client.query<{ updates: number; users: number }>(render(panel(15).targets[0]!.rawSql));
    expect(counts.map((r) => [r.updates, r.users])).toEqual(minutes.map((m) => [m.updates, m.users]));
    const fresh = await db.client.query<{ p50: number; p99: number }>(render(panel(16).targets[0]!.rawSql));
    expect(fresh.map((r) => [r.p50, r.p99])).toEqual(
      minutes.filter((m) => m.freshness_count > 0).map((m) => [m.freshness_p50_ms, m.freshness_p99_ms]),
    );
    const shares = await db.client.query<{ early_share: number; flip_rate: number }>(
      render(panel(17).targets[0]!.rawSql),
    );
    expect(shares.map((r) => [r.early_share, r.flip_rate])).toEqual(minutes.map((m) => [m.early_share, m.flip_rate]));
    const scores = await db.client.query<{ avg_tag_score: number | null; scored_updates: number }>(
      render(panel(18).targets[0]!.rawSql),
    );
    expect(scores.map((r) => [r.avg_tag_score, r.scored_updates])).toEqual(
      minutes.map((m) => [m.tag_score, m.scored_updates]),
    );
    expect(minutes.some((m) => m.scored_updates > 0)).toBe(true);
    const perMinute = await db.client.query<{ value: string; users: number }>(
      render(panel(19).targets[0]!.rawSql, 'interests'),
    );
    const expected = (await sink.liveTags(tenant, range.from, range.to, true)).filter(
      (t) => t.dimension === 'interests',
    );
    expect(perMinute.map((r) => [r.value, r.users])).toEqual(
      expected
        .sort((a, b) => (a.minute_ms ?? 0) - (b.minute_ms ?? 0) || (a.value < b.value ? -1 : 1))
        .map((t) => [t.value, t.users]),
    );
    const dist = await db.client.query<{ dimension: string; value: string; users: number; share: number }>(
      render(panel(20).targets[0]!.rawSql),
    );
    const tags = await sink.liveTags(tenant, range.from, range.to);
    expect(dist.map((r) => [r.dimension, r.value, r.users])).toEqual(tags.map((t) => [t.dimension, t.value, t.users]));
    for (const [i, r] of dist.entries()) expect(r.share).toBeCloseTo(tags[i]?.share ?? -1, 4);
  });
});
