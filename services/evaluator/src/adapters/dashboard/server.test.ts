import { createRegistry } from '@personastream/runtime';
import { describe, expect, it } from 'vitest';
import { syntheticRun } from '../../core/fixtures.js';
import { RunAccumulator } from '../../core/run.js';
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
    const run = await app.inject(`/api/runs/${encodeURIComponent('r<script>')}`);
    expect(run.statusCode).toBe(200);
    expect(run.json().update_rows).toEqual([]);
    expect(run.json().dimensions).toHaveLength(12);
    expect((await app.inject('/api/runs/nope')).statusCode).toBe(404);
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
    expect((await app.inject('/api/runs/x')).statusCode).toBe(503);
    await app.close();
  });

  it('ships a script that parses', () => {
    expect(() => new Function(DASHBOARD_JS)).not.toThrow();
  });
});
