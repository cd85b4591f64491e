import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseClient, ClickHouseError } from '../src/adapters/clickhouse.js';
import { applyMigrations, loadMigrations } from '../src/adapters/migrations.js';
import { RunFactsStore } from '../src/adapters/run-info.js';
import { ClickHouseScoreSink } from '../src/adapters/sink.js';
import { sql } from '../src/adapters/sql.js';
import { seededRandom, syntheticRun } from '../src/core/fixtures.js';
import { type LiveUpdateRow, liveMinutes, liveTagDistribution } from '../src/core/live.js';
import { RunAccumulator } from '../src/core/run.js';
import { expectReportsEqual, requireEnv, testDatabase } from './helpers.js';

let db: Awaited<ReturnType<typeof testDatabase>>;

beforeAll(async () => {
  db = await testDatabase();
});
afterAll(async () => {
  await db?.drop();
});

function report(runId: string, users = 30, tenant = 'acme', seed = 11) {
  const run = syntheticRun({ runId, users, seed, samples: 2, missingPersona: 0.1, tenant });
  const acc = new RunAccumulator(runId);
  for (const u of run.updates) acc.addUpdate(u.value);
  for (const t of run.truths) acc.addTruth(t.value);
  return acc.report({
    info: { seed: 11, stack: 'local', raw_tag_avg_at_k: 0.5 },
    baselines: {
      raw_frequency: { tag_avg_at_k: 0.31, acc_ex: 0.2 },
      raw_items: {
        tag_avg_at_k: 0.44,
        acc_ex: 0.25,
        ece: 0.125,
        per_dimension: { age_band: 0.375, interests: 0.5, life_events: 0.625 },
      },
    },
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
    const all = [
      '001_scores',
      '002_evaluator_inbox',
      '003_tenant_runs',
      '004_live_updates',
      '005_raw_items_retention',
      '006_erasures',
      '007_run_facts',
    ];
    expect(db.migrations.applied).toEqual(all);
    const again = await applyMigrations(db.client);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toEqual(all);
    const tables = (
      await db.client.query<{ name: string }>(
        sql`SELECT name FROM system.tables WHERE database = ${db.database} ORDER BY name`,
      )
    ).map((t) => t.name);
    expect(tables).toEqual([
      'convergence',
      'dimension_scores',
      'dimension_scores_before_tenants',
      'erasures',
      'evaluator_inbox',
      'latency',
      'live_updates',
      'run_facts',
      'runs',
      'runs_before_tenants',
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
    expectReportsEqual(await sink.getRun('acme', 'sink-run-1'), r);
    const light = await sink.getRun('acme', 'sink-run-1', { updates: false });
    expect(light?.update_rows).toEqual([]);
    expect(await sink.getRun('acme', 'missing')).toBeUndefined();
    expect(await sink.getRun('globex', 'sink-run-1')).toBeUndefined();
    const [listed] = await sink.listRuns();
    expect(listed?.run_id).toBe('sink-run-1');
    expect(listed?.baselines.raw_frequency).toEqual({ tag_avg_at_k: 0.31, acc_ex: 0.2 });
    // retention against raw_items, the old figure beside it, ECE, and each baseline's per-dimension scores
    expect(listed?.baselines.raw_items).toEqual({ tag_avg_at_k: 0.44, acc_ex: 0.25, ece: 0.125 });
    expect(listed?.retention).toBeCloseTo(r.tag_avg_at_k / 0.44, 9);
    expect(listed?.retention_vs_unfiltered).toBeCloseTo(r.tag_avg_at_k / 0.5, 9);
    expect(listed?.ece).toBeCloseTo(r.calibration_ece as number, 9);
    const full = await sink.getRun('acme', 'sink-run-1');
    expect(full?.baselines.raw_items?.per_dimension).toEqual({ age_band: 0.375, interests: 0.5, life_events: 0.625 });
    expect(Object.keys(full?.baselines.prior?.per_dimension ?? {})).toEqual(r.dimensions.map((d) => d.dimension));
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
      tenant: 'acme',
      runId: 'cp-1',
      recordId: id,
      role: 'updates' as const,
      payload: new Uint8Array(bytes),
    });
    await sink.checkpoint([rec('a', [0, 1, 2, 255]), rec('b', [])]);
    await sink.checkpoint([rec('a', [0, 1, 2, 255])]);
    const back = (await sink.loadCheckpoint('acme', 'cp-1')).sort((x, y) => (x.recordId < y.recordId ? -1 : 1));
    expect(back.map((r) => [r.recordId, [...r.payload]])).toEqual([
      ['a', [0, 1, 2, 255]],
      ['b', []],
    ]);
    expect(await sink.loadCheckpoint('acme', 'cp-2')).toEqual([]);
    expect(await sink.loadCheckpoint('globex', 'cp-1')).toEqual([]);
  });
});

describe('run facts', () => {
  it('outlive the evaluator: a restarted one (a new store on the same database) still has them', async () => {
    await applyMigrations(db.client);
    const before = new RunFactsStore(1000, db.client);
    await before.set('acme', 'r-facts', {
      info: { seed: 7, stack: 'local' },
      baselines: { raw_items: { tag_avg_at_k: 0.4, acc_ex: 0.2 } },
    });
    await before.set('globex', 'r-facts', { info: { seed: 8 } });
    await before.set('acme', 'r-facts', { info: { seed: 9, stack: 'local' } }); // put again: the last one counts
    const after = new RunFactsStore(1000, db.client);
    expect(await after.info('acme', 'r-facts')).toEqual({ seed: 9, stack: 'local' });
    expect(await after.baselines('acme', 'r-facts')).toEqual({});
    expect(await after.info('globex', 'r-facts')).toEqual({ seed: 8 });
    expect(await after.info('acme', 'other-run')).toEqual({});
  });
});

describe('runs are (tenant, run id) in ClickHouse', () => {
  it("stores two tenants' runs of one run id apart", async () => {
    const sink = new ClickHouseScoreSink(db.client);
    const a = report('shared-run', 12, 'acme', 12);
    const b = report('shared-run', 7, 'globex', 13);
    await sink.writeRun(a);
    await sink.writeRun(b);
    expectReportsEqual(await sink.getRun('acme', 'shared-run'), a);
    expectReportsEqual(await sink.getRun('globex', 'shared-run'), b);
    const [n] = await db.client.query<{ runs: number; dims: number }>(
      sql`SELECT (SELECT count() FROM runs FINAL WHERE run_id = 'shared-run') AS runs,
                 (SELECT count() FROM dimension_scores FINAL WHERE run_id = 'shared-run') AS dims`,
    );
    expect(n).toEqual({ runs: 2, dims: 24 });
    expect((await sink.listRuns(200, 'globex')).map((r) => r.run_id)).toEqual(['shared-run']);
    expect((await sink.listRuns()).filter((r) => r.run_id === 'shared-run')).toHaveLength(2);
  });
});

describe('migration 003 (runs keyed by tenant) on a database written before it', () => {
  async function legacyDatabase() {
    const legacy = await testDatabase('it_eval_legacy', { upTo: 2 });
    await legacy.client.insert('runs', [
      { run_id: 'old-run', tenant: 'acme', written_ms: 1, users: 3, tag_avg_at_k: 0.4 },
    ]);
    await legacy.client.insert('dimension_scores', [
      { run_id: 'old-run', dimension: 'age_band', written_ms: 1, accuracy: 0.5 },
      { run_id: 'orphan-run', dimension: 'age_band', written_ms: 1, accuracy: 0.25 },
    ]);
    await legacy.client.insert('evaluator_inbox', [
      { run_id: 'open-run', record_id: 'm|updates|0', written_ms: 1, role: 'updates', payload: 'AAE=' },
    ]);
    return legacy;
  }

  async function expectUpgraded(legacy: Awaited<ReturnType<typeof testDatabase>>) {
    const q = (text: string) => legacy.client.query(text);
    expect(await q('SELECT tenant, run_id, users, tag_avg_at_k, freshness_p50_ms FROM runs FINAL')).toEqual([
      { tenant: 'acme', run_id: 'old-run', users: 3, tag_avg_at_k: 0.4, freshness_p50_ms: null },
    ]);
    expect(await q('SELECT tenant, run_id, dimension, accuracy FROM dimension_scores FINAL ORDER BY run_id')).toEqual([
      { tenant: 'acme', run_id: 'old-run', dimension: 'age_band', accuracy: 0.5 },
      { tenant: '', run_id: 'orphan-run', dimension: 'age_band', accuracy: 0.25 },
    ]);
    expect(await q('SELECT count() AS n FROM runs_before_tenants')).toEqual([{ n: 1 }]);
    const tables = (
      await legacy.client.query<{ name: string }>(
        sql`SELECT name FROM system.tables WHERE database = ${legacy.database} AND name LIKE '%by_tenant'`,
      )
    ).map((t) => t.name);
    expect(tables).toEqual([]);
    // the legacy checkpoint row is still read (tenant ''), and a second tenant's run of an old id is its own
    const sink = new ClickHouseScoreSink(legacy.client);
    expect((await sink.loadCheckpoint('acme', 'open-run')).map((r) => [r.tenant, r.recordId])).toEqual([
      ['', 'm|updates|0'],
    ]);
    await sink.writeRun(report('old-run', 5, 'globex', 14));
    expect(await q("SELECT tenant, users FROM runs FINAL WHERE run_id = 'old-run' ORDER BY tenant")).toEqual([
      { tenant: 'acme', users: 3 },
      { tenant: 'globex', users: 5 },
    ]);
  }

  it('copies runs and dimension scores (with the run’s tenant) into the tenant-keyed tables', async () => {
    const legacy = await legacyDatabase();
    try {
      const result = await applyMigrations(legacy.client);
      expect(result.applied).toEqual([
        '003_tenant_runs',
        '004_live_updates',
        '005_raw_items_retention',
        '006_erasures',
        '007_run_facts',
      ]);
      await expectUpgraded(legacy);
    } finally {
      await legacy.drop();
    }
  });

  it('finishes the upgrade when a previous start stopped after any of its statements', async () => {
    const m3 = (await loadMigrations()).find((m) => m.version === 3);
    if (!m3) throw new Error('migration 003 missing');
    for (let done = 1; done <= m3.statements.length; done++) {
      const legacy = await legacyDatabase();
      try {
        for (const statement of m3.statements.slice(0, done)) await legacy.client.exec(statement.sql); // then "crashed"
        await applyMigrations(legacy.client);
        await expectUpgraded(legacy);
      } finally {
        await legacy.drop();
      }
    }
  });
});

describe('migration 005 (raw_items, retention_vs_unfiltered) on a database written before it', () => {
  it('keeps old rows (their retention is the old figure, the new columns NULL) and stores new reports whole', async () => {
    const old = await testDatabase('it_eval_v4', { upTo: 4 });
    try {
      await old.client.insert('runs', [
        { run_id: 'v4-run', tenant: 'acme', written_ms: 1, users: 3, tag_avg_at_k: 0.4, retention: 1.07 },
      ]);
      await old.client.insert('dimension_scores', [
        { tenant: 'acme', run_id: 'v4-run', dimension: 'age_band', written_ms: 1, accuracy: 0.5 },
      ]);
      expect((await applyMigrations(old.client)).applied).toEqual([
        '005_raw_items_retention',
        '006_erasures',
        '007_run_facts',
      ]);
      // re-running the file is harmless ("column already exists" counts as done)
      const m5 = (await loadMigrations()).find((m) => m.version === 5);
      await applyMigrations(old.client, { migrations: [{ ...(m5 as NonNullable<typeof m5>), version: 99 }] });
      const sink = new ClickHouseScoreSink(old.client);
      const before = await sink.getRun('acme', 'v4-run');
      expect(before?.retention).toBe(1.07);
      expect(before?.retention_vs_unfiltered).toBeNull();
      expect(before?.baselines.raw_items).toBeUndefined();
      const r = report('v5-run');
      await sink.writeRun(r);
      expectReportsEqual(await sink.getRun('acme', 'v5-run'), r);
    } finally {
      await old.drop();
    }
  });
});

describe('live_updates', () => {
  const T0 = 1_759_999_980_000; // a whole minute
  function liveRows(seed: number): LiveUpdateRow[] {
    const rnd = seededRandom(seed);
    const rows: LiveUpdateRow[] = [];
    const versions = new Map<string, number>();
    const values = ['18-24', '25-34', '35-44', "it's \\ odd"];
    for (let i = 0; i < 400; i++) {
      const tenant = rnd() < 0.7 ? 'acme' : 'globex';
      const user = `u${Math.floor(rnd() * 40)}`;
      const v = (versions.get(`${tenant}/${user}`) ?? 0) + 1;
      versions.set(`${tenant}/${user}`, v);
      const minute = T0 + Math.floor(rnd() * 6) * 60_000;
      const tags = [
        ['age_band', values[Math.floor(rnd() * values.length)] as string],
        ...(rnd() < 0.6 ? [['interests', 'tech']] : []),
        ...(rnd() < 0.3 ? [['interests', 'art']] : []),
      ];
      const conf = tags.map(() => Math.round(rnd() * 100) / 100);
      rows.push({
        tenant,
        user_id: user,
        persona_version: v,
        window_id: `${user}-w${v}`,
        time_ms: minute + Math.floor(rnd() * 60_000),
        minute_ms: minute,
        early: rnd() < 0.4,
        freshness_ms: rnd() < 0.8 ? Math.floor(rnd() * 90_000) : null,
        flipped: rnd() < 0.3 ? 1 + Math.floor(rnd() * 3) : 0,
        mean_confidence: tags.length > 0 ? conf.reduce((a, b) => a + b, 0) / conf.length : null,
        tag_dimension: tags.map((t) => t[0] as string),
        tag_value: tags.map((t) => t[1] as string),
        tag_confidence: conf,
        tag_score: rnd() < 0.25 ? Math.round(rnd() * 8) / 8 : null,
        model: 'synthetic/v1',
      });
    }
    return rows;
  }
  const round = (v: unknown): unknown =>
    JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'number' ? Math.round(x * 1e9) / 1e9 : x)));

  it('keeps one row per update under re-delivery, and its SQL gives the TypeScript definitions’ figures', async () => {
    let clock = 1000;
    const sink = new ClickHouseScoreSink(db.client, () => clock++);
    const rows = liveRows(5);
    await sink.writeLiveUpdates(rows);
    await sink.writeLiveUpdates(rows.slice(0, 150)); // re-delivered
    // a re-delivery after the user's truth arrived: the later, scored row wins
    const rescored = rows.slice(150, 170).map((r) => ({ ...r, tag_score: 0.125 }));
    await sink.writeLiveUpdates(rescored);
    const final = [...rescored, ...rows.slice(0, 150), ...rows.slice(170)];
    const [n] = await db.client.query<{ all: number; final: number }>(
      'SELECT (SELECT count() FROM live_updates) AS all, (SELECT count() FROM live_updates FINAL) AS final',
    );
    expect(n).toEqual({ all: 570, final: 400 });
    const to = T0 + 6 * 60_000;
    for (const tenant of ['acme', 'globex']) {
      const minutes = await sink.liveMinutes(tenant, T0, to);
      expect(minutes).toHaveLength(6);
      expect(round(minutes)).toEqual(round(liveMinutes(final, tenant, T0, to)));
      expect(round(await sink.liveTags(tenant, T0, to))).toEqual(round(liveTagDistribution(final, tenant, T0, to)));
      expect(round(await sink.liveTags(tenant, T0, to, true))).toEqual(
        round(liveTagDistribution(final, tenant, T0, to, true)),
      );
      // a narrower range selects whole minutes
      expect((await sink.liveMinutes(tenant, T0 + 60_000, T0 + 180_000)).map((m) => m.minute_ms)).toEqual([
        T0 + 60_000,
        T0 + 120_000,
      ]);
    }
    expect(await sink.liveTenants(T0)).toEqual([
      { tenant: 'acme', last_ms: Math.max(...final.filter((r) => r.tenant === 'acme').map((r) => r.time_ms)) },
      { tenant: 'globex', last_ms: Math.max(...final.filter((r) => r.tenant === 'globex').map((r) => r.time_ms)) },
    ]);
    expect(await sink.liveTenants(T0 + 60 * 60_000)).toEqual([]);
  });
});

describe('environment', () => {
  it('has CLICKHOUSE_URL', () => {
    expect(requireEnv('CLICKHOUSE_URL')).toMatch(/^http/);
  });
});
