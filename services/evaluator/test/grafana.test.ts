import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseScoreSink } from '../src/adapters/sink.js';
import { sqlString } from '../src/adapters/sql.js';
import { syntheticRun } from '../src/core/fixtures.js';
import { RunAccumulator } from '../src/core/run.js';
import { testDatabase } from './helpers.js';

interface Panel {
  title: string;
  type: string;
  targets: Array<{ rawSql: string; datasource: { type: string } }>;
}
const dashboard = JSON.parse(
  readFileSync(new URL('../../../deploy/grafana/personastream.json', import.meta.url), 'utf8'),
) as {
  panels: Panel[];
  templating: { list: Array<{ name: string; query: string }> };
};

let db: Awaited<ReturnType<typeof testDatabase>>;
const runId = "grafana-run-1'x";

beforeAll(async () => {
  db = await testDatabase('it_grafana');
  const run = syntheticRun({ runId, users: 40, seed: 4, samples: 2 });
  const acc = new RunAccumulator(runId);
  for (const u of run.updates) acc.addUpdate(u.value);
  for (const t of run.truths) acc.addTruth(t.value);
  await new ClickHouseScoreSink(db.client).writeRun(
    acc.report({ baselines: { raw_frequency: { tag_avg_at_k: 0.4, acc_ex: 0.3 } } }),
  );
});
afterAll(async () => {
  await db?.drop();
});

describe('Grafana dashboard (deploy/grafana/personastream.json)', () => {
  it('uses the ClickHouse datasource and has the dashboard panels', () => {
    const types = dashboard.panels.map((p) => p.type);
    for (const t of ['stat', 'barchart', 'xychart', 'histogram', 'bargauge', 'table']) expect(types).toContain(t);
    for (const p of dashboard.panels) expect(p.targets[0]?.datasource.type).toBe('grafana-clickhouse-datasource');
  });

  it('every panel query and the run variable run on this ClickHouse and return rows', async () => {
    // Grafana's ${run_id:singlequote} renders a quoted, escaped literal: the same as sqlString
    const render = (q: string) => q.replaceAll(`$${'{'}run_id:singlequote}`, sqlString(runId));
    const variable = dashboard.templating.list.find((v) => v.name === 'run_id');
    expect((await db.client.query(render(variable?.query ?? ''))).length).toBe(1);
    for (const p of dashboard.panels) {
      for (const t of p.targets) {
        const rows = await db.client.query(render(t.rawSql));
        expect(rows.length, p.title).toBeGreaterThan(0);
      }
    }
  });
});
