import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  GroundTruthSchema,
  PersonaSchema,
  PersonaUpdateRecordSchema,
  PersonaUpdateSchema,
  TagSchema,
  TruthRecordSchema,
} from '@personastream/contracts';
import { createRegistry, type Registry, silentLogger } from '@personastream/runtime';
import { MemoryBroker } from '@personastream/stream';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardServer, startDashboardServer } from '../src/adapters/dashboard/server.js';
import { ClickHouseScoreSink } from '../src/adapters/sink.js';
import { AccessTokens } from '../src/core/access.js';
import { seededRandom, syntheticRun } from '../src/core/fixtures.js';
import { RunAccumulator, type RunReport } from '../src/core/run.js';
import { createEvaluatorService } from '../src/service.js';
import { testDatabase } from './helpers.js';

const ARTIFACTS = fileURLToPath(new URL('../../../artifacts/', import.meta.url));
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let db: Awaited<ReturnType<typeof testDatabase>>;
let server: DashboardServer;
let browser: Browser;
let latest: RunReport;
let older: RunReport;

/** Tokens made at run time: the admin's and the live tenant acme-live's. */
const ADMIN_TOKEN = `adm_${randomBytes(16).toString('hex')}`;
const ACME_LIVE_TOKEN = `acm_${randomBytes(16).toString('hex')}`;
const withToken = (token: string) => ({ authorization: `Bearer ${token}` });

function scoredRun(runId: string, seed: number, users: number, completedOffsetMs: number): RunReport {
  const run = syntheticRun({
    runId,
    users,
    seed,
    samples: 3,
    missingPersona: 0.03,
    startMs: 1_760_000_000_000 + completedOffsetMs,
  });
  const acc = new RunAccumulator(runId);
  for (const u of run.updates) acc.addUpdate(u.value);
  for (const t of run.truths) acc.addTruth(t.value);
  for (const m of run.updateMarkers) acc.addMarker('updates', m);
  for (const m of run.truthMarkers) acc.addMarker('truth', m);
  return acc.report({
    info: { seed, stack: 'local' },
    baselines: { raw_frequency: { tag_avg_at_k: 0.41, acc_ex: 0.33 } },
  });
}

const LIVE_VALUES: Record<string, string[]> = {
  age_band: ['18-24', '25-34', '35-44', '45-54'],
  interests: ['tech', 'sports', 'fashion', 'travel'],
  device: ['mobile', 'desktop'],
};

/**
 * A live clickstream of one tenant, as the persona service publishes it (run `live`): users updated
 * over the last 50 minutes, some early, some flipping; the first `labelled` users have ground truth.
 */
function liveStream(tenant: string, seed: number, users: number, labelled: number) {
  const rnd = seededRandom(seed);
  const now = Date.now();
  const pick = (d: string) =>
    (LIVE_VALUES[d] as string[])[Math.floor(rnd() * (LIVE_VALUES[d] as string[]).length)] as string;
  const tagsOf = () =>
    Object.keys(LIVE_VALUES).map((d) =>
      create(TagSchema, { dimension: d, value: pick(d), confidence: 0.3 + rnd() * 0.6 }),
    );
  const updates: Array<{ key: string; value: Uint8Array }> = [];
  const truths: Array<{ key: string; value: Uint8Array }> = [];
  for (let i = 0; i < users; i++) {
    const userId = `lu${i}`;
    const key = `${tenant}/${userId}`;
    const truthTags = tagsOf();
    if (i < labelled) {
      const truth = create(GroundTruthSchema, { tenant, userId, runId: 'live', tags: truthTags, split: 'test' });
      truths.push({
        key,
        value: toBinary(TruthRecordSchema, create(TruthRecordSchema, { kind: { case: 'truth', value: truth } })),
      });
    }
    const n = 1 + Math.floor(rnd() * 4);
    let at = now - (5 + Math.floor(rnd() * 45)) * 60_000;
    for (let v = 1; v <= n; v++) {
      at += Math.floor(rnd() * 4) * 60_000;
      if (at > now) at = now;
      const tags = rnd() < 0.5 ? truthTags : tagsOf();
      const update = create(PersonaUpdateSchema, {
        runId: 'live',
        windowId: `${userId}-w${v}`,
        persona: create(PersonaSchema, {
          tenant,
          userId,
          version: v,
          tags,
          updatedMs: at,
          model: 'builtin/test',
          early: v < n,
        }),
        early: v < n,
        firstEntryMs: rnd() < 0.9 ? at - Math.floor(500 + rnd() * 40_000) : 0,
        flipped: v > 1 ? Math.floor(rnd() * 3) : 0,
      });
      updates.push({
        key,
        value: toBinary(
          PersonaUpdateRecordSchema,
          create(PersonaUpdateRecordSchema, { kind: { case: 'update', value: update } }),
        ),
      });
    }
  }
  return { updates, truths };
}

async function liveWritten(registry: Registry): Promise<number> {
  const values = (await registry.getSingleMetric('evaluator_live_updates_total')?.get())?.values ?? [];
  return values.reduce((sum, v) => sum + v.value, 0);
}

/** Writes live streams through the evaluator service (MemoryBroker in, the real ClickHouse sink out). */
async function writeLiveThroughEvaluator(sink: ClickHouseScoreSink, streams: ReturnType<typeof liveStream>[]) {
  const topics = { updates: 'dash.updates', truth: 'dash.truth' };
  const broker = new MemoryBroker(4, 50);
  broker.createTopic(topics.updates, 4);
  broker.createTopic(topics.truth, 4);
  const registry = createRegistry('dash-live', false);
  const evaluator = createEvaluatorService(
    { groupId: 'dash-live', topics },
    { stream: broker, sink, logger: silentLogger(), registry },
  );
  await evaluator.start();
  for (const st of streams) await broker.producer().send(topics.truth, st.truths);
  await broker.drained();
  for (const st of streams) await broker.producer().send(topics.updates, st.updates);
  await broker.drained();
  const expected = streams.reduce((n, st) => n + st.updates.length, 0);
  if ((await liveWritten(registry)) !== expected) throw new Error('the evaluator did not write every live update');
  await evaluator.stop();
}

beforeAll(async () => {
  db = await testDatabase('it_dash');
  const sink = new ClickHouseScoreSink(db.client);
  older = scoredRun('bench-seed-1', 1, 60, 0);
  latest = scoredRun('bench-seed-2', 2, 120, 86_400_000);
  await sink.writeRun(older);
  await sink.writeRun(latest);
  await writeLiveThroughEvaluator(sink, [liveStream('acme-live', 51, 60, 12), liveStream('globex-live', 52, 25, 0)]);
  const access = AccessTokens.parse({ tenantTokens: `acme-live:${ACME_LIVE_TOKEN}`, adminToken: ADMIN_TOKEN }).tokens;
  if (!access) throw new Error('test tokens refused');
  server = await startDashboardServer({ sink, port: 0, access });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.drop();
});

/** Console errors and warnings, page errors and failed requests of a page. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  return problems;
}

describe('dashboard in headless Chromium', () => {
  it('loads, draws every chart from ClickHouse data, logs no error, and is screenshotted', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = watch(page);

    await page.goto(`${server.url}/#token=${ADMIN_TOKEN}`, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="1"]', { timeout: 20_000 });
    // the token left the address (history, bookmarks, screenshots) and stays in the tab's session
    expect(await page.evaluate('location.href')).toBe(`${server.url}/`);

    // runs list: both runs, the most recent selected
    expect(await page.locator('tr.run').count()).toBe(2);
    expect(await page.locator('tr.run.selected').getAttribute('data-run')).toBe('bench-seed-2');
    expect(await page.locator('#detail h2').first().textContent()).toBe('Run bench-seed-2');
    const kpis = await page.locator('.kpi').allTextContents();
    expect(kpis.join(' ')).toContain(latest.tag_avg_at_k.toFixed(3));
    expect(kpis.join(' ')).toContain('0.7325');
    expect(kpis.join(' ')).toContain('0.7528');

    // every chart has data
    const count = (chart: string, selector: string) => page.locator(`[data-chart="${chart}"] svg ${selector}`).count();
    expect(await count('headline', 'rect.bar')).toBe(10); // ours 3 + paper 3 + prior 2 + raw 2
    expect(await count('dimensions', 'rect.bar')).toBe(latest.dimensions.length * 2);
    expect(await count('convergence', 'path.line')).toBe(1);
    expect(await count('convergence', 'circle.point')).toBe(latest.convergence.length);
    expect(latest.convergence.length).toBeGreaterThan(5);
    expect(await count('compression', 'rect.bar')).toBeGreaterThan(0);
    expect(await count('latency', 'rect.bar')).toBe(5);
    expect(await page.locator('[data-table="worst-users"] tbody tr').count()).toBe(8);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });

    // selecting the other run shows it
    await page.locator('tr.run[data-run="bench-seed-1"]').click();
    await page.locator('#detail h2', { hasText: 'Run bench-seed-1' }).waitFor();
    await page.waitForSelector('body[data-ready="1"]');
    expect(await count('dimensions', 'rect.bar')).toBe(older.dimensions.length * 2);

    expect(problems).toEqual([]);
    await page.close();
  });

  it('draws the Live view of a tenant from the live rows the evaluator wrote, and switches tenants', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = watch(page);
    await page.goto(`${server.url}/#live=acme-live&token=${ADMIN_TOKEN}`, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="1"]', { timeout: 20_000 });
    expect(await page.locator('#live-view').isVisible()).toBe(true);
    expect(await page.locator('#runs-view').isVisible()).toBe(false);
    expect(await page.locator('#nav-live').getAttribute('class')).toContain('active');
    expect(await page.locator('#live-tenant option').allTextContents()).toEqual(['acme-live', 'globex-live']);

    // what the page drew is what the API serves (ClickHouse SQL over the rows)
    expect(await page.evaluate('location.hash')).toBe('#live=acme-live');
    const api = (await (
      await fetch(`${server.url}/api/tenants/acme-live/live?minutes=60`, { headers: withToken(ADMIN_TOKEN) })
    ).json()) as {
      minutes: Array<{ minute_ms: number; updates: number; scored_updates: number; freshness_p50_ms: number | null }>;
      tags: Array<{ dimension: string; value: string; users: number }>;
    };
    const active = api.minutes.length;
    expect(active).toBeGreaterThan(10);
    expect(api.minutes.reduce((n, m) => n + m.updates, 0)).toBeGreaterThan(60);
    const count = (chart: string, selector: string) => page.locator(`[data-chart="${chart}"] svg ${selector}`).count();
    expect(await count('live-updates', 'rect.bar')).toBe(active);
    expect(await count('live-users', 'circle.point')).toBe(active);
    expect(await count('live-freshness', 'path.line')).toBe(2);
    const withFreshness = api.minutes.filter((m) => m.freshness_p50_ms !== null).length;
    expect(await count('live-freshness', 'circle.point[data-series="freshness_p50_ms"]')).toBe(withFreshness);
    expect(await count('live-early', 'path.line')).toBe(2);
    expect(await count('live-confidence', 'circle.point')).toBe(active);
    const scoredMinutes = api.minutes.filter((m) => m.scored_updates > 0).length;
    expect(scoredMinutes).toBeGreaterThan(0);
    expect(await count('live-score', 'circle.point')).toBe(scoredMinutes);
    expect(await count('live-tags', 'g.dimension')).toBe(3);
    expect(await count('live-tags', 'rect.bar')).toBe(api.tags.length);
    const first = api.minutes[0] as { minute_ms: number; updates: number };
    expect(await page.locator('[data-chart="live-updates"] svg rect.bar title').first().textContent()).toBe(
      `${new Date(first.minute_ms).toISOString().slice(11, 16)} updates: ${first.updates}`,
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard-live.png`, fullPage: true });

    // the other tenant: its own rows, no labelled users so no rolling score
    await page.locator('#live-tenant').selectOption('globex-live');
    await page.waitForFunction('location.hash === "#live=globex-live"');
    await page.waitForSelector('body[data-ready="1"]');
    await page.locator('#live-updated', { hasText: 'tenant globex-live' }).waitFor();
    const globex = (await (
      await fetch(`${server.url}/api/tenants/globex-live/live`, { headers: withToken(ADMIN_TOKEN) })
    ).json()) as { minutes: unknown[] };
    expect(await count('live-updates', 'rect.bar')).toBe(globex.minutes.length);
    expect(await page.locator('[data-chart="live-score"]').count()).toBe(0);

    // back to the runs
    await page.locator('#nav-runs').click();
    await page.waitForSelector('body[data-ready="1"]');
    await page.locator('#detail h2', { hasText: 'Run bench-seed-2' }).waitFor();
    expect(await page.locator('#live-view').isVisible()).toBe(false);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows a clear message for an unknown run', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/#tenant=acme&run=does-not-exist&token=${ADMIN_TOKEN}`);
    await page.waitForSelector('body[data-ready="1"]');
    expect(await page.locator('#detail .error').textContent()).toContain('run does-not-exist of tenant acme not found');
    await page.close();
  });

  it('without a token shows what it needs and asks for one; a refused token says so', async () => {
    const page = await browser.newPage();
    const problems = watch(page);
    await page.goto(server.url, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="1"]', { timeout: 20_000 });
    const auth = page.locator('#auth[data-auth="missing"]');
    expect(await auth.isVisible()).toBe(true);
    expect(await auth.locator('.message').textContent()).toBe(
      'This dashboard needs an access token: your tenant’s token (EVALUATOR_TENANT_TOKENS) or the admin token (EVALUATOR_ADMIN_TOKEN). Enter it below, or open the dashboard with #token=… at the end of its address.',
    );
    expect(await page.locator('#runs-view').isVisible()).toBe(false);
    expect(await page.locator('tr.run').count()).toBe(0);

    await page.locator('#auth-token').fill('not-a-token-of-this-evaluator');
    await page.locator('#auth-form button').click();
    await page.locator('#auth[data-auth="refused"]').waitFor();
    expect(await page.locator('#auth .message').textContent()).toMatch(
      /^The evaluator refused this token \(invalid bearer token\)/,
    );
    expect(problems.filter((p) => !p.includes('401'))).toEqual([]);
    await page.close();
  });

  it("with a tenant's token shows that tenant only and refuses another tenant's view", async () => {
    const page = await browser.newPage();
    const problems = watch(page);
    await page.goto(server.url, { waitUntil: 'load' });
    await page.locator('#auth[data-auth="missing"]').waitFor();
    await page.locator('#auth-token').fill(ACME_LIVE_TOKEN);
    await page.locator('#auth-form button').click();
    await page.waitForSelector('#runs-view:not([hidden])');
    await page.waitForSelector('body[data-ready="1"]');
    // the runs belong to tenant acme: none is acme-live's
    expect(await page.locator('tr.run').count()).toBe(0);
    expect(await page.locator('#runs').textContent()).toContain('No run scored yet');

    await page.evaluate('location.hash = "#live=acme-live"');
    await page.locator('#live-updated', { hasText: 'tenant acme-live' }).waitFor();
    expect(await page.locator('#live-tenant option').allTextContents()).toEqual(['acme-live']);
    expect(await page.locator('[data-chart="live-updates"] svg rect.bar').count()).toBeGreaterThan(10);

    await page.evaluate('location.hash = "#live=globex-live"');
    await page.locator('#live-detail .error').waitFor();
    expect(await page.locator('#live-detail .error').textContent()).toBe(
      'Could not load the live metrics of globex-live: this token belongs to another tenant than "globex-live"',
    );
    expect(problems.filter((p) => !p.includes('403'))).toEqual([]);
    await page.close();
  });
});
