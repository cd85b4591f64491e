import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseClient, ClickHouseError } from '../src/adapters/clickhouse.js';
import { applyMigrations, loadMigrations } from '../src/adapters/migrations.js';
import { ClickHouseScoreSink } from '../src/adapters/sink.js';
import { sql } from '../src/adapters/sql.js';
import { syntheticRun } from '../src/core/fixtures.js';
import { RunAccumulator } from '../src/core/run.js';
import { expectReportsEqual, requireEnv, testDatabase } from './helpers.js';

let db: Awaited<ReturnType<typeof testDatabase>>;

beforeAll(async () => {
  db = await testDatabase();
});
afterAll(async () => {
  await db?.drop();
});

function report(runId: string, users = 30) {
  const run = syntheticRun({ runId, users, seed: 11, samples: 2, missingPersona: 0.1 });
  const acc = new RunAccumulator(runId);
  for (const u of run.updates) acc.addUpdate(u.value);
  for (const t of run.truths) acc.addTruth(t.value);
  return acc.report({
    info: { seed: 11, stack: 'local' },
    baselines: { raw_frequency: { tag_avg_at_k: 0.31, acc_ex: 0.2 } },
  });
}

describe('ClickHouse client and SQL escaping (real server)', () => {
  it('round-trips hostile strings through sql`…` unchanged', async () => {
    const values = [
      "O'Brien",
      'back\\slash\\',
      "\\'; DROP TABLE runs; --",
      "x' OR '1'='1",
      'line\nbreak\r\ttab',
      'nul\0byte',
      'bell\u0007 esc\u001b del\u007f',
      'café 😀 日本語 ✓',
      '{name:String} $1 ? %s',
      '',
    ];
    for (const v of values) {
      const [row] = await db.client.query<{ s: string; n: number }>(sql`SELECT ${v} AS s, length(${v}) AS n`);
      expect(row?.s, JSON.stringify(v)).toBe(v);
      expect(row?.n).toBe(Buffer.byteLength(v));
    }
    const [arr] = await db.client.query<{ a: string[]; x: number }>(
      sql`SELECT ${["a'b", 'c\\d']} AS a, ${-1.5e-7} AS x`,
    );
    expect(arr).toEqual({ a: ["a'b", 'c\\d'], x: -1.5e-7 });
  });

  it("reports the server's message, and unreachable servers clearly", async () => {
    const err = await db.client.query('SELECT no_such_column FROM runs').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClickHouseError);
    expect((err as ClickHouseError).message).toMatch(/no_such_column/);
    expect((err as ClickHouseError).serverCode).toBe(47);
    const down = new ClickHouseClient({ url: 'http://127.0.0.1:1', timeoutMs: 2000 });
    await expect(down.query('SELECT 1')).rejects.toThrow(/unreachable/);
    expect(await down.ping()).toBe(false);
    expect(await db.client.ping()).toBe(true);
  });

  it('applies migrations once, idempotently, and refuses an edited applied migration', async () => {
    expect(db.migrations.applied).toEqual(['001_scores', '002_evaluator_inbox']);
    const again = await applyMigrations(db.client);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toEqual(['001_scores', '002_evaluator_inbox']);
    const tables = (
      await db.client.query<{ name: string }>(
        sql`SELECT name FROM system.tables WHERE database = ${db.database} ORDER BY name`,
      )
    ).map((t) => t.name);
    expect(tables).toEqual([
      'convergence',
      'dimension_scores',
      'evaluator_inbox',
      'latency',
      'runs',
      'schema_migrations',
      'user_scores',
    ]);
    const edited = (await loadMigrations()).map((m) => (m.version === 1 ? { ...m, checksum: 'x' } : m));
    await expect(applyMigrations(db.client, { migrations: edited })).rejects.toThrow(/001_scores was changed/);
  });
});

describe('ClickHouseScoreSink', () => {
  it('stores a report and rebuilds it from the tables', async () => {
    const sink = new ClickHouseScoreSink(db.client);
    const r = report('sink-run-1');
    await sink.writeRun(r);
    expectReportsEqual(await sink.getRun('sink-run-1'), r);
    const light = await sink.getRun('sink-run-1', { updates: false });
    expect(light?.update_rows).toEqual([]);
    expect(await sink.getRun('missing')).toBeUndefined();
    const [listed] = await sink.listRuns();
    expect(listed?.run_id).toBe('sink-run-1');
    expect(listed?.baselines.raw_frequency).toEqual({ tag_avg_at_k: 0.31, acc_ex: 0.2 });
  });

  it('never double counts a run written twice', async () => {
    const sink = new ClickHouseScoreSink(db.client);
    const r = report('sink-run-2', 20);
    await sink.writeRun(r);
    await sink.writeRun(r);
    const count = async (table: string) =>
      (await db.client.query<{ n: number }>(`SELECT count() AS n FROM ${table} FINAL WHERE run_id = 'sink-run-2'`))[0]
        ?.n;
    expect(await count('runs')).toBe(1);
    expect(await count('user_scores')).toBe(20);
    expect(await count('dimension_scores')).toBe(12);
    expect(await count('convergence')).toBe(r.update_rows.length);
    expect(await count('latency')).toBe(r.update_rows.length);
    // the argMax form (no FINAL) gives the same
    const [argmax] = await db.client.query<{ n: number; s: number }>(
      `SELECT count() AS n, sum(t) AS s FROM (SELECT user_id, argMax(tag_score, written_ms) AS t FROM user_scores WHERE run_id = 'sink-run-2' GROUP BY tenant, user_id)`,
    );
    expect(argmax?.n).toBe(20);
    expect(argmax?.s).toBeCloseTo(
      r.user_rows.reduce((s, u) => s + u.tag_score, 0),
      9,
    );
    expect((await sink.listRuns()).filter((x) => x.run_id === 'sink-run-2')).toHaveLength(1);
  });

  it('checkpoints records idempotently', async () => {
    const sink = new ClickHouseScoreSink(db.client);
    const rec = (id: string, bytes: number[]) => ({
      runId: 'cp-1',
      recordId: id,
      role: 'updates' as const,
      payload: new Uint8Array(bytes),
    });
    await sink.checkpoint([rec('a', [0, 1, 2, 255]), rec('b', [])]);
    await sink.checkpoint([rec('a', [0, 1, 2, 255])]);
    const back = (await sink.loadCheckpoint('cp-1')).sort((x, y) => (x.recordId < y.recordId ? -1 : 1));
    expect(back.map((r) => [r.recordId, [...r.payload]])).toEqual([
      ['a', [0, 1, 2, 255]],
      ['b', []],
    ]);
    expect(await sink.loadCheckpoint('cp-2')).toEqual([]);
  });
});

describe('environment', () => {
  it('has CLICKHOUSE_URL', () => {
    expect(requireEnv('CLICKHOUSE_URL')).toMatch(/^http/);
  });
});
