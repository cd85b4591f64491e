import { readFileSync } from 'node:fs';
import { create } from '@bufbuild/protobuf';
import { PersonaSchema, PersonaUpdateSchema, TagSchema, TENANT_ID_PATTERN } from '@personastream/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '../src/adapters/clickhouse.js';
import { ClickHouseScoreSink } from '../src/adapters/sink.js';
import { seededRandom, syntheticRun } from '../src/core/fixtures.js';
import { type LiveUpdateRow, liveUpdateRow } from '../src/core/live.js';
import { labelsFromTags, scoringDimensions } from '../src/core/metrics/labels.js';
import { RunAccumulator } from '../src/core/run.js';
import { testDatabase } from './helpers.js';

interface Panel {
  id: number;
  title: string;
  type: string;
  targets: Array<{ rawSql: string; datasource: { type: string } }>;
}
interface Variable {
  name: string;
  query: string;
  type: string;
  regex?: string;
}
const dashboard = JSON.parse(
  readFileSync(new URL('../../../deploy/grafana/personastream.json', import.meta.url), 'utf8'),
) as { panels: Panel[]; templating: { list: Variable[] } };

// ---- Grafana's interpolation, re-implemented from its source -------------------------------------

/**
 * Grafana's variable reference syntax: `$var`, `[[var]]` / `[[var:fmt]]`, `${var}` / `${var:fmt}`
 * (`variableRegex` in grafana/grafana `public/app/features/variables/utils.ts`).
 */
const VARIABLE_REFERENCE = /\$(\w+)|\[\[([\s\S]+?)(?::(\w+))?\]\]|\${(\w+)(?:\.([^:^}]+))?(?::([^}]+))?}/g;

/** `encodeURIComponentStrict` of Grafana's format registry: encodeURIComponent, then `!'()*` as %XX. */
const encodeURIComponentStrict = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Grafana's formats of a single-valued variable, as written in its format registry
 * (grafana/grafana `public/app/features/templating/formatRegistry.ts` and, for Grafana ≥ 10,
 * grafana/scenes `packages/scenes/src/variables/interpolation/formatRegistry.ts`):
 * - `singlequote`: `'${replace(value, /'/g, "\\'")}'` — escapes `'` with a backslash and leaves a
 *   backslash as it is, so `\'` in a value becomes `\\'`: an escaped backslash, then a quote that
 *   ends the string on ClickHouse (issue 20);
 * - `sqlstring`: `'` doubled (and, in scenes, `"` as `\"`) — a backslash is left as it is too;
 * - `percentencode`: `encodeURIComponentStrict(value)` — only `A-Z a-z 0-9 - _ . ~ %` come out.
 */
const GRAFANA_FORMATS: Record<string, (value: string) => string> = {
  singlequote: (v) => `'${v.replace(/'/g, "\\'")}'`,
  sqlstring: (v) => `'${v.replace(/'|"/g, (m) => (m === "'" ? "''" : '\\"'))}'`,
  percentencode: (v) => encodeURIComponentStrict(v),
};

/**
 * A query as Grafana sends it to the ClickHouse datasource: each variable reference replaced by the
 * variable's value in the reference's format (unknown variables, such as the datasource's
 * `$__timeFilter` macro, left as they are), then `$__timeFilter(col)` expanded as the datasource does.
 */
function grafanaInterpolate(query: string, values: Record<string, string>, range: { from: number; to: number }) {
  const interpolated = query.replace(
    VARIABLE_REFERENCE,
    (whole, v1?: string, v2?: string, f2?: string, v3?: string, _path?: string, f3?: string) => {
      const name = (v1 ?? v2 ?? v3) as string;
      const value = values[name];
      if (value === undefined) return whole;
      const format = f2 ?? f3;
      if (format === undefined) throw new Error(`$${name} without a format: the datasource's default would apply`);
      const formatter = GRAFANA_FORMATS[format];
      if (!formatter) throw new Error(`format ${format} of $${name} is not re-implemented here`);
      return formatter(value);
    },
  );
  return interpolated.replace(
    /\$__timeFilter\((\w+)\)/g,
    (_m, col: string) =>
      `${col} >= toDateTime(${Math.floor(range.from / 1000)}) AND ${col} <= toDateTime(${Math.floor(range.to / 1000)})`,
  );
}

/** The variable references of a query: `name:format` (format `-` when none). */
function references(query: string): string[] {
  return [...query.matchAll(VARIABLE_REFERENCE)]
    .map((m) => `${m[1] ?? m[2] ?? m[4]}:${m[3] ?? m[6] ?? '-'}`)
    .filter((r) => !r.startsWith('__'));
}

// ---- data ----------------------------------------------------------------------------------------

/**
 * Values a caller can give a variable (a crafted run id, or any value in the dashboard URL's
 * `var-…`): quotes, backslashes, both, a trailing backslash, comments, line breaks, percent signs,
 * non-Latin text.
 */
const HOSTILE = [
  "'",
  '\\',
  "\\'",
  "x\\' OR 1=1 --",
  "x\\' OR 1 = 1 OR run_id = \\'",
  'ends with a backslash\\',
  "' OR 1=1 --",
  'two\nlines\r\tand a tab',
  '%27%5C%00 percent',
  '/* comment */ Grüße 😀',
];

let db: Awaited<ReturnType<typeof testDatabase>>;
let sink: ClickHouseScoreSink;
const TENANT = 'acme';
const RUNS_TENANT = 'acme-runs';
const TWIN_RUN = 'twin-run';
const now = Date.now();
const minute = Math.floor(now / 60_000) * 60_000;
const range = { from: minute - 30 * 60_000, to: minute + 60_000 };

/** The same scored run (seed 4) under any tenant and run id. */
async function writeRun(tenant: string, runId: string, seed = 4) {
  const run = syntheticRun({ runId, users: 16, seed, samples: 2, tenant });
  const acc = new RunAccumulator(runId);
  for (const u of run.updates) acc.addUpdate(u.value);
  for (const t of run.truths) acc.addTruth(t.value);
  await sink.writeRun(acc.report({ baselines: { raw_frequency: { tag_avg_at_k: 0.4, acc_ex: 0.3 } } }));
}

/** Live updates of a tenant over the last 20 minutes, some of labelled users. */
function liveRows(tenant: string, seed: number): LiveUpdateRow[] {
  const rnd = seededRandom(seed);
  const dims = scoringDimensions({ labeled: ['age_band', 'interests'] });
  const truth = labelsFromTags([create(TagSchema, { dimension: 'age_band', value: '25-34' })]);
  return Array.from({ length: 120 }, (_, i) => {
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
}

beforeAll(async () => {
  db = await testDatabase('it_grafana');
  sink = new ClickHouseScoreSink(db.client);
  // the dashboard's tenant; a tenant whose rows must never show elsewhere (other data, other seed)
  await writeRun(TENANT, TWIN_RUN);
  await writeRun('victim', TWIN_RUN, 11);
  await writeRun('victim', 'victim-run', 12);
  await sink.writeLiveUpdates([...liveRows(TENANT, 9), ...liveRows('victim', 10)]);
  // the same run under hostile run ids (beside its twin), and the same rows under hostile tenants
  await writeRun(RUNS_TENANT, TWIN_RUN);
  for (const h of HOSTILE) {
    await writeRun(RUNS_TENANT, h);
    await writeRun(h, TWIN_RUN);
    await sink.writeLiveUpdates(liveRows(h, 9));
  }
}, 120_000);
afterAll(async () => {
  await db?.drop();
});

const variable = (name: string) => dashboard.templating.list.find((v) => v.name === name) as Variable;
const panel = (id: number) => dashboard.panels.find((p) => p.id === id) as Panel;
const BENIGN = { tenant: TENANT, run_id: TWIN_RUN, dimension: 'age_band' };
const run = (client: ClickHouseClient, query: string, values: Record<string, string> = BENIGN) =>
  client.query<Record<string, unknown>>(grafanaInterpolate(query, { ...BENIGN, ...values }, range));

/** Every SQL text of the dashboard that Grafana interpolates: variable queries, then panel targets. */
function dashboardQueries(): Array<{ name: string; sql: string }> {
  return [
    ...dashboard.templating.list.filter((v) => v.type === 'query').map((v) => ({ name: `$${v.name}`, sql: v.query })),
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ name: p.title, sql: t.rawSql }))),
  ];
}

/**
 * Rows as a sorted list of JSON texts (some panels, UNION ALL without ORDER BY, have no fixed row
 * order), every string equal to `from` replaced by `to` (a tenant's rows named as its twin's).
 */
function rowSet(rows: Array<Record<string, unknown>> | Error, from?: string, to?: string) {
  if (rows instanceof Error) return rows;
  return rows
    .map((r) => JSON.stringify(Object.entries(r).map(([k, v]) => [k, from !== undefined && v === from ? to : v])))
    .sort();
}

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
  });

  it('never quotes a variable: each reaches SQL percent-encoded and is decoded by ClickHouse', () => {
    const safe = (name: string) => `decodeURLComponent('$${'{'}${name}:percentencode}')`;
    for (const { name, sql } of dashboardQueries()) {
      for (const ref of references(sql)) expect(ref, name).toMatch(/^(tenant|run_id|dimension):percentencode$/);
      // each reference sits inside decodeURLComponent('…'), nothing else around it
      const bare = sql.replace(/decodeURLComponent\('\$\{(tenant|run_id|dimension):percentencode\}'\)/g, '');
      expect(references(bare), name).toEqual([]);
      if (sql.includes('run_id = ')) expect(sql, name).toContain(`run_id = ${safe('run_id')}`);
    }
    // what percentencode lets through can neither end nor escape a '…' literal
    for (const h of HOSTILE) expect(GRAFANA_FORMATS.percentencode?.(h)).toMatch(/^[A-Za-z0-9._~%-]*$/);
    // every run panel names the tenant beside the run id; every live panel reads the tenant's rows
    for (const p of dashboard.panels) {
      for (const t of p.targets) {
        if (t.rawSql.includes('run_id = ')) expect(t.rawSql, p.title).toContain(`tenant = ${safe('tenant')}`);
        if (t.rawSql.includes('live_updates')) {
          expect(t.rawSql, p.title).toContain(`tenant = ${safe('tenant')} AND $__timeFilter(minute)`);
          expect(t.rawSql, p.title).toContain('live_updates FINAL');
        }
      }
    }
  });

  it('every panel query and the variables run on this ClickHouse and return rows', async () => {
    const tenants = (await run(db.client, variable('tenant').query)).map((r) => r.tenant as string);
    // hostile tenant names are stored but never offered
    expect(tenants).toEqual([TENANT, RUNS_TENANT, 'victim']);
    for (const t of tenants) expect(t).toMatch(TENANT_ID_PATTERN);
    expect((await run(db.client, variable('run_id').query)).map((r) => r.run_id)).toEqual([TWIN_RUN]);
    expect(variable('dimension').query.split(',')).toContain('interests');
    for (const p of dashboard.panels) {
      for (const t of p.targets) expect((await run(db.client, t.rawSql)).length, p.title).toBeGreaterThan(0);
    }
  });

  it("live panels show the evaluator's live figures", async () => {
    const minutes = await sink.liveMinutes(TENANT, range.from, range.to);
    expect(minutes.length).toBeGreaterThan(10);
    const q = (id: number, values?: Record<string, string>) =>
      run(db.client, panel(id).targets[0]?.rawSql ?? '', values) as Promise<Array<Record<string, number>>>;
    expect((await q(15)).map((r) => [r.updates, r.users])).toEqual(minutes.map((m) => [m.updates, m.users]));
    expect((await q(16)).map((r) => [r.p50, r.p99])).toEqual(
      minutes.filter((m) => m.freshness_count > 0).map((m) => [m.freshness_p50_ms, m.freshness_p99_ms]),
    );
    expect((await q(17)).map((r) => [r.early_share, r.flip_rate])).toEqual(
      minutes.map((m) => [m.early_share, m.flip_rate]),
    );
    expect((await q(18)).map((r) => [r.avg_tag_score, r.scored_updates])).toEqual(
      minutes.map((m) => [m.tag_score, m.scored_updates]),
    );
    expect(minutes.some((m) => m.scored_updates > 0)).toBe(true);
    const perMinute = (await q(19, { dimension: 'interests' })) as unknown as Array<{ value: string; users: number }>;
    const expected = (await sink.liveTags(TENANT, range.from, range.to, true)).filter(
      (t) => t.dimension === 'interests',
    );
    expect(perMinute.map((r) => [r.value, r.users])).toEqual(
      expected
        .sort((a, b) => (a.minute_ms ?? 0) - (b.minute_ms ?? 0) || (a.value < b.value ? -1 : 1))
        .map((t) => [t.value, t.users]),
    );
    const dist = (await q(20)) as unknown as Array<{ dimension: string; value: string; users: number; share: number }>;
    const tags = await sink.liveTags(TENANT, range.from, range.to);
    expect(dist.map((r) => [r.dimension, r.value, r.users])).toEqual(tags.map((t) => [t.dimension, t.value, t.users]));
    for (const [i, r] of dist.entries()) expect(r.share).toBeCloseTo(tags[i]?.share ?? -1, 4);
  });

  /**
   * A hostile value must mean exactly that string: a run stored under the hostile run id shows the
   * same figures as its twin under a plain id, a tenant named by a hostile string the same rows as
   * its twin, and an unknown hostile dimension nothing — never an error, never another tenant's or
   * run's rows.
   */
  describe.each(HOSTILE)('with Grafana applying its formats to the hostile value %j', (h) => {
    it('as the run id: the run of exactly that id', async () => {
      for (const { name, sql } of dashboardQueries()) {
        if (!references(sql).some((r) => r.startsWith('run_id:'))) continue;
        const twin = await run(db.client, sql, { tenant: RUNS_TENANT, run_id: TWIN_RUN });
        expect(twin.length, name).toBeGreaterThan(0);
        const got = await run(db.client, sql, { tenant: RUNS_TENANT, run_id: h }).catch((e: Error) => e);
        expect(got, `${name}: ${String(got)}`).not.toBeInstanceOf(Error);
        expect(rowSet(got), name).toEqual(rowSet(twin));
      }
    });

    it("as the tenant: exactly that tenant's rows", async () => {
      for (const { name, sql } of dashboardQueries()) {
        if (!references(sql).some((r) => r.startsWith('tenant:'))) continue;
        const twin = await run(db.client, sql, { tenant: TENANT });
        const got = await run(db.client, sql, { tenant: h }).catch((e: Error) => e);
        expect(got, `${name}: ${String(got)}`).not.toBeInstanceOf(Error);
        expect(rowSet(got, h, TENANT), name).toEqual(rowSet(twin));
      }
    });

    it('as the live dimension: nothing (no such dimension)', async () => {
      for (const { name, sql } of dashboardQueries()) {
        if (!references(sql).some((r) => r.startsWith('dimension:'))) continue;
        const got = await run(db.client, sql, { dimension: h }).catch((e: Error) => e);
        expect(got, `${name}: ${String(got)}`).not.toBeInstanceOf(Error);
        expect(got, name).toEqual([]);
      }
    });
  });
});
