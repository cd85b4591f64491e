import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardServer, startDashboardServer } from '../src/adapters/dashboard/server.js';
import { ClickHouseScoreSink } from '../src/adapters/sink.js';
import { syntheticRun } from '../src/core/fixtures.js';
import { RunAccumulator, type RunReport } from '../src/core/run.js';
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

beforeAll(async () => {
  db = await testDatabase('it_dash');
  const sink = new ClickHouseScoreSink(db.client);
  older = scoredRun('bench-seed-1', 1, 60, 0);
  latest = scoredRun('bench-seed-2', 2, 120, 86_400_000);
  await sink.writeRun(older);
  await sink.writeRun(latest);
  server = await startDashboardServer({ sink, port: 0 });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await db?.drop();
});

describe('dashboard in headless Chromium', () => {
  it('loads, draws every chart from ClickHouse data, logs no error, and is screenshotted', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));

    await page.goto(server.url, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="1"]', { timeout: 20_000 });

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

  it('shows a clear message for an unknown run', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/#run=does-not-exist`);
    await page.waitForSelector('body[data-ready="1"]');
    expect(await page.locator('#detail .error').textContent()).toContain('run does-not-exist not found');
    await page.close();
  });
});
