import { createRegistry } from '@personastream/runtime';
import { describe, expect, it } from 'vitest';
import { syntheticRun } from '../../core/fixtures.js';
import type { LiveUpdateRow } from '../../core/live.js';
import { RunAccumulator } from '../../core/run.js';
import { RunFactsStore } from '../run-info.js';
import { MemoryScoreSink, type ScoreSink } from '../sink.js';
import { DASHBOARD_JS } from './page.js';
import { buildDashboardApp } from './server.js';

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
    const runs = (await app.inject('/api/runs')).json();
    expect(runs.runs).toHaveLength(1);
    expect(runs.runs[0].run_id).toBe('r<script>');
    expect(runs.runs[0].user_rows).toBeUndefined();
    const run = await app.inject(`/api/tenants/acme/runs/${encodeURIComponent('r<script>')}`);
    expect(run.statusCode).toBe(200);
    expect(run.json().update_rows).toEqual([]);
    expect(run.json().dimensions).toHaveLength(12);
    expect((await app.inject('/api/tenants/acme/runs/nope')).statusCode).toBe(404);
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
    const app = buildDashboardApp({ sink: broken, port: 0 });
    const res = await app.inject('/api/runs');
    expect(res.statusCode).toBe(503);
    expect(res.json().error).toMatch(/unreachable/);
    expect((await app.inject('/api/tenants/acme/runs/x')).statusCode).toBe(503);
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
    const app = buildDashboardApp({ sink, port: 0, now: () => T0 + 30_000 });
    const res = await app.inject('/api/tenants/acme/live');
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
    const longer = (await app.inject('/api/tenants/acme/live?minutes=180')).json();
    expect(longer.minutes).toHaveLength(3);
    expect((await app.inject('/api/live')).json()).toEqual({
      tenants: [
        { tenant: 'acme', last_ms: T0 + 5000 },
        { tenant: 'globex', last_ms: T0 + 5000 },
      ],
    });
    await app.close();
  });

  it('refuses invalid tenant ids, names the tenant in run paths, and has no report for the live run', async () => {
    const app = buildDashboardApp({ sink: await sinkWithRun(), port: 0, facts: new RunFactsStore() });
    for (const path of ['/api/tenants/a%2Fb/live', '/api/tenants/-x/runs', "/api/runs?tenant=a'b"]) {
      const res = await app.inject(path);
      expect(res.statusCode, path).toBe(400);
      expect(res.json().error, path).toMatch(/tenant id/);
    }
    expect((await app.inject('/api/tenants/globex/runs/r%3Cscript%3E')).statusCode).toBe(404);
    expect((await app.inject('/api/tenants/acme/runs')).json().runs).toHaveLength(1);
    expect((await app.inject('/api/tenants/globex/runs')).json().runs).toHaveLength(0);
    expect((await app.inject('/api/runs?tenant=globex')).json().runs).toHaveLength(0);
    const live = await app.inject('/api/tenants/acme/runs/live');
    expect(live.statusCode).toBe(400);
    expect(live.json().error).toMatch(/api\/tenants\/acme\/live/);
    const old = await app.inject('/api/runs/r1');
    expect(old.statusCode).toBe(404);
    expect(old.json().error).toMatch(/runs are per tenant/);
    const put = await app.inject({
      method: 'PUT',
      url: '/api/tenants/acme/runs/r2/facts',
      payload: { info: { seed: 3 } },
    });
    expect(put.statusCode).toBe(204);
    await app.close();
  });
});
