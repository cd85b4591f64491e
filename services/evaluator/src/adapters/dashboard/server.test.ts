import { createRegistry } from '@personastream/runtime';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { AccessTokens } from '../../core/access.js';
import { syntheticRun } from '../../core/fixtures.js';
import type { LiveUpdateRow } from '../../core/live.js';
import { RunAccumulator } from '../../core/run.js';
import { RunFactsStore } from '../run-info.js';
import { MemoryScoreSink, type ScoreSink } from '../sink.js';
import { DASHBOARD_JS } from './page.js';
import { buildDashboardApp } from './server.js';

const TOKENS = {
  acme: 'acme-token-0123456789',
  globex: 'globex-token-0123456789',
  admin: 'admin-token-0123456789',
};
const access = AccessTokens.parse({
  tenantTokens: `acme:${TOKENS.acme},globex:${TOKENS.globex}`,
  adminToken: TOKENS.admin,
}).tokens as AccessTokens;

/** A request with the bearer token of `who` (default: acme's). */
function as(app: FastifyInstance, request: string | InjectOptions, who: keyof typeof TOKENS = 'acme') {
  const opts: InjectOptions = typeof request === 'string' ? { url: request } : request;
  return app.inject({ ...opts, headers: { ...opts.headers, authorization: `Bearer ${TOKENS[who]}` } });
}

async function sinkWithRun() {
  const sink = new MemoryScoreSink();
  const run = syntheticRun({ runId: 'r<script>', users: 12, seed: 2 });
  const acc = new RunAccumulator('r<script>');
  for (const u of run.updates) acc.addUpdate(u.value);
  for (const t of run.truths) acc.addTruth(t.value);
  await sink.writeRun(acc.report());
  return sink;
}

describe('dashboard app', () => {
  it('serves the page, its assets and the JSON API', async () => {
    const app = buildDashboardApp({
      sink: await sinkWithRun(),
      port: 0,
      access,
      health: () => true,
      registry: createRegistry('t', false),
    });
    const page = await app.inject('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('<script src="/dashboard.js"></script>');
    expect((await app.inject('/dashboard.js')).body).toBe(DASHBOARD_JS);
    expect((await app.inject('/dashboard.css')).statusCode).toBe(200);
    const runs = (await as(app, '/api/runs')).json();
    expect(runs.runs).toHaveLength(1);
    expect(runs.runs[0].run_id).toBe('r<script>');
    expect(runs.runs[0].user_rows).toBeUndefined();
    const run = await as(app, `/api/tenants/acme/runs/${encodeURIComponent('r<script>')}`);
    expect(run.statusCode).toBe(200);
    expect(run.json().update_rows).toEqual([]);
    expect(run.json().dimensions).toHaveLength(12);
    expect((await as(app, '/api/tenants/acme/runs/nope')).statusCode).toBe(404);
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await app.inject('/metrics')).statusCode).toBe(200);
    expect((await app.inject('/elsewhere')).statusCode).toBe(404);
    await app.close();
  });

  it('answers 503 with the store error when the sink fails', async () => {
    const broken = {
      listRuns: async () => {
        throw new Error('ClickHouse at http://x is unreachable');
      },
      getRun: async () => {
        throw new Error('boom');
      },
    } as unknown as ScoreSink;
    const app = buildDashboardApp({ sink: broken, port: 0, access });
    const res = await as(app, '/api/runs');
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toMatch(/unreachable/);
    expect((await as(app, '/api/tenants/acme/runs/x')).statusCode).toBe(503);
    await app.close();
  });

  it('ships a script that parses', () => {
    expect(() => new Function(DASHBOARD_JS)).not.toThrow();
  });
});

describe('dashboard app: tenants and the live view API', () => {
  const T0 = 1_759_999_980_000; // a whole minute
  const row = (tenant: string, user: string, minute: number, extra: Partial<LiveUpdateRow> = {}): LiveUpdateRow => ({
    tenant,
    user_id: user,
    persona_version: 1,
    window_id: `${user}-w1`,
    time_ms: minute + 5000,
    minute_ms: minute,
    early: false,
    freshness_ms: 800,
    flipped: 0,
    mean_confidence: 0.6,
    tag_dimension: ['age_band'],
    tag_value: ['25-34'],
    tag_confidence: [0.6],
    tag_score: null,
    model: 'm',
    ...extra,
  });

  it('serves a tenant’s per-minute live metrics and tag distribution for the last N minutes', async () => {
    const sink = new MemoryScoreSink();
    await sink.writeLiveUpdates([
      row('acme', 'a', T0 - 120 * 60_000), // outside the default 60 minutes
      row('acme', 'a', T0 - 2 * 60_000, { persona_version: 2, window_id: 'a-w2' }),
      row('acme', 'b', T0 - 2 * 60_000, { early: true, tag_value: ['35-44'] }),
      row('acme', 'c', T0, { flipped: 1, tag_score: 0.5 }),
      row('globex', 'a', T0),
    ]);
    const app = buildDashboardApp({ sink, port: 0, access, now: () => T0 + 30_000 });
    const res = await as(app, '/api/tenants/acme/live');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ tenant: 'acme', from_ms: T0 + 60_000 - 60 * 60_000, to_ms: T0 + 60_000 });
    expect(body.minutes.map((m: { minute_ms: number; updates: number }) => [m.minute_ms, m.updates])).toEqual([
      [T0 - 2 * 60_000, 2],
      [T0, 1],
    ]);
    expect(body.minutes[0]).toMatchObject({ users: 2, early_share: 0.5, freshness_p50_ms: 800, tag_score: null });
    expect(body.minutes[1]).toMatchObject({ flip_rate: 1, scored_updates: 1, tag_score: 0.5 });
    expect(body.tags).toEqual([
      { dimension: 'age_band', value: '25-34', users: 2, share: 2 / 3 },
      { dimension: 'age_band', value: '35-44', users: 1, share: 1 / 3 },
    ]);
    const longer = (await as(app, '/api/tenants/acme/live?minutes=180')).json();
    expect(longer.minutes).toHaveLength(3);
    // a tenant's token lists its own tenant only; the admin token every tenant
    expect((await as(app, '/api/live')).json()).toEqual({ tenants: [{ tenant: 'acme', last_ms: T0 + 5000 }] });
    expect((await as(app, '/api/live', 'admin')).json()).toEqual({
      tenants: [
        { tenant: 'acme', last_ms: T0 + 5000 },
        { tenant: 'globex', last_ms: T0 + 5000 },
      ],
    });
    await app.close();
  });

  it('refuses invalid tenant ids, names the tenant in run paths, and has no report for the live run', async () => {
    const app = buildDashboardApp({ sink: await sinkWithRun(), port: 0, access, facts: new RunFactsStore() });
    for (const path of ['/api/tenants/a%2Fb/live', '/api/tenants/-x/runs', "/api/runs?tenant=a'b"]) {
      const res = await as(app, path, 'admin');
      expect(res.statusCode, path).toBe(400);
      expect(res.json().error, path).toMatch(/tenant id/);
    }
    expect((await as(app, '/api/tenants/globex/runs/r%3Cscript%3E', 'globex')).statusCode).toBe(404);
    expect((await as(app, '/api/tenants/acme/runs')).json().runs).toHaveLength(1);
    expect((await as(app, '/api/tenants/globex/runs', 'globex')).json().runs).toHaveLength(0);
    expect((await as(app, '/api/runs?tenant=globex', 'admin')).json().runs).toHaveLength(0);
    const live = await as(app, '/api/tenants/acme/runs/live');
    expect(live.statusCode).toBe(400);
    expect(live.json().error).toMatch(/api\/tenants\/acme\/live/);
    const old = await as(app, '/api/runs/r1');
    expect(old.statusCode).toBe(404);
    expect(old.json().error).toMatch(/runs are per tenant/);
    const put = await as(app, {
      method: 'PUT',
      url: '/api/tenants/acme/runs/r2/facts',
      payload: { info: { seed: 3 } },
    });
    expect(put.statusCode).toBe(204);
    await app.close();
  });
});

describe('dashboard app: tenant tokens', () => {
  /** acme's run `r<script>` (sinkWithRun) and globex's run `g1`; live rows of both. */
  async function twoTenants() {
    const sink = await sinkWithRun();
    const run = syntheticRun({ runId: 'g1', users: 4, seed: 3, tenant: 'globex' });
    const acc = new RunAccumulator('g1');
    for (const u of run.updates) acc.addUpdate(u.value);
    await sink.writeRun(acc.report());
    const facts = new RunFactsStore();
    return { app: buildDashboardApp({ sink, port: 0, access, facts }), facts };
  }

  it('answers 401 with a JSON error to a request without a token or with an unknown one', async () => {
    const { app } = await twoTenants();
    const paths = [
      '/api/runs',
      '/api/live',
      '/api/tenants/acme/runs',
      '/api/tenants/acme/runs/r1',
      '/api/tenants/acme/live',
    ];
    for (const url of paths) {
      const none = await app.inject(url);
      expect(none.statusCode, url).toBe(401);
      expect(none.headers['www-authenticate'], url).toMatch(/^Bearer/);
      expect(none.json(), url).toEqual({
        error: 'a bearer token is required (Authorization: Bearer <token>)',
        code: 'unauthenticated',
      });
      for (const authorization of ['Bearer not-a-known-token-at-all', `Basic ${TOKENS.acme}`, TOKENS.acme, 'Bearer ']) {
        const wrong = await app.inject({ url, headers: { authorization } });
        expect(wrong.statusCode, `${url} ${authorization}`).toBe(401);
        expect(wrong.json().code).toBe('unauthenticated');
      }
    }
    const put = await app.inject({ method: 'PUT', url: '/api/tenants/acme/runs/r2/facts', payload: { info: {} } });
    expect(put.statusCode).toBe(401);
    // the page, its assets and the ops endpoints need no token (they hold no tenant's data)
    for (const url of ['/', '/dashboard.js', '/dashboard.css'])
      expect((await app.inject(url)).statusCode, url).toBe(200);
    await app.close();
  });

  it("shows a tenant its own runs, reports and live figures only; another tenant's answer 403", async () => {
    const { app } = await twoTenants();
    const mine = (await as(app, '/api/runs')).json().runs as Array<{ tenant: string; run_id: string }>;
    expect(mine.map((r) => [r.tenant, r.run_id])).toEqual([['acme', 'r<script>']]);
    expect((await as(app, '/api/runs', 'globex')).json().runs.map((r: { run_id: string }) => r.run_id)).toEqual(['g1']);
    expect((await as(app, '/api/runs', 'admin')).json().runs).toHaveLength(2);
    for (const url of [
      '/api/runs?tenant=globex',
      '/api/tenants/globex/runs',
      '/api/tenants/globex/runs/g1',
      '/api/tenants/globex/runs/unknown-run',
      '/api/tenants/globex/live',
    ]) {
      const res = await as(app, url);
      expect(res.statusCode, url).toBe(403);
      expect(res.json(), url).toEqual({
        error: 'this token belongs to another tenant than "globex"',
        code: 'permission_denied',
      });
    }
    expect((await as(app, '/api/tenants/globex/runs/g1', 'globex')).statusCode).toBe(200);
    expect((await as(app, '/api/tenants/globex/runs/g1', 'admin')).statusCode).toBe(200);
    expect((await as(app, '/api/runs?tenant=acme')).json().runs).toHaveLength(1);
    await app.close();
  });

  it("writes run facts for the run's tenant or the admin token only", async () => {
    const { app, facts } = await twoTenants();
    const put = (url: string, who: keyof typeof TOKENS) =>
      as(app, { method: 'PUT', url, payload: { info: { seed: 7, labeled_dimensions: ['age_band'] } } }, who);
    const refused = await put('/api/tenants/globex/runs/g2/facts', 'acme');
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('permission_denied');
    expect(await facts.info('globex', 'g2')).toEqual({});
    expect((await put('/api/tenants/globex/runs/g2/facts', 'globex')).statusCode).toBe(204);
    expect(await facts.info('globex', 'g2')).toMatchObject({ seed: 7 });
    expect((await put('/api/tenants/acme/runs/a2/facts', 'admin')).statusCode).toBe(204);
    expect(await facts.info('acme', 'a2')).toMatchObject({ seed: 7 });
    await app.close();
  });
});
