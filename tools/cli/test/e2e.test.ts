import { randomUUID } from 'node:crypto';
import type { BehaviorEvent } from '@personastream/contracts';
import { ClickHouseClient, type RunReport, sql } from '@personastream/evaluator';
import { createPersonaClient } from '@personastream/persona';
import { semantizeEvents } from '@personastream/semantizer';
import { type SimulatorConfig, simulateUsers, simulatorConfig } from '@personastream/simulator';
import { describe, expect, it } from 'vitest';
import { runEmbeddedPipeline } from '../src/pipeline/embedded.js';
import { LOCAL_PORTS, runLocalPipeline } from '../src/pipeline/local.js';

const USERS = 50;
const TEN_MINUTES_MS = 10 * 60_000;

/**
 * Pipeline latency of a fresh run: update wall time − wall time at which the window's newest event
 * entered the pipeline (its record timestamp), so milliseconds to seconds — never the months between
 * a simulated event's receipt time and now.
 */
function expectPlausibleLatency(report: RunReport): void {
  expect(report.latency.count).toBe(report.updates);
  expect(report.latency.p50_ms).toBeGreaterThan(0);
  expect(report.latency.p50_ms).toBeLessThan(TEN_MINUTES_MS);
  expect(report.latency.max_ms).toBeLessThan(TEN_MINUTES_MS);
  for (const u of report.update_rows) expect(u.latency_ms ?? -1).toBeGreaterThanOrEqual(0);
}

/** Windows each user must get: the semantizer core over the same simulated events, run in-process. */
function expectedVersions(sim: SimulatorConfig): Map<string, number> {
  const events: BehaviorEvent[] = [];
  for (const u of simulateUsers(sim)) for (const r of u.records) if (r.kind === 'event') events.push(r.event);
  const versions = new Map<string, number>();
  for (const w of semantizeEvents(events).windows) versions.set(w.userId, (versions.get(w.userId) ?? 0) + 1);
  return versions;
}

describe('end to end', () => {
  it('embedded: 50 simulated users through the in-memory pipeline', async () => {
    const sim = simulatorConfig({ users: USERS, seed: 7, runId: `e2e-emb-${randomUUID()}`, tenant: 'e2e' });
    const expected = expectedVersions(sim);
    const { report, store } = await runEmbeddedPipeline({ sim, scoreAllUsers: true, quiet: true });
    expect(report.users).toBe(USERS);
    expect(report.updates).toBe([...expected.values()].reduce((a, b) => a + b, 0));
    expect(expected.size).toBe(USERS);
    for (const [userId, windows] of expected) {
      const persona = await store.get(sim.tenant, userId);
      expect(persona?.version, userId).toBe(windows);
    }
    expect(report.tag_avg_at_k).toBeGreaterThan(0);
    expect(report.compression_bytes).toBeGreaterThan(0.9);
    // the raw-events reference learner beside the prior; retention is ours ÷ its; the ECE is reported
    const items = report.baselines.raw_items;
    expect(Object.keys(items?.per_dimension ?? {})).toEqual(Object.keys(report.tag_per_dimension));
    expect(report.retention).toBeCloseTo(report.tag_avg_at_k / (items?.tag_avg_at_k as number), 12);
    expect(report.ece).toBe(report.calibration_ece);
    expect(report.ece).toBeGreaterThan(0);
    expectPlausibleLatency(report);
  }, 120_000);

  it('local stack: Kafka → semantizer → persona (Redis, gRPC) → evaluator (ClickHouse), services as processes', async () => {
    const clickhouseUrl = process.env.CLICKHOUSE_URL;
    if (!clickhouseUrl)
      throw new Error('CLICKHOUSE_URL is not set: run "npx personastream infra up" and source .infra/env');
    const sim = simulatorConfig({
      users: USERS,
      seed: 11,
      runId: `e2e-local-${randomUUID()}`,
      tenant: `e2e-${randomUUID().slice(0, 8)}`,
    });
    const expected = expectedVersions(sim);
    // Give up (and stop the services it started) before the test's own 120 s timeout, so a stalled run
    // does not leave service processes behind.
    const local = await runLocalPipeline({
      sim,
      scoreAllUsers: true,
      keepRunning: true,
      quiet: true,
      timeoutMs: 90_000,
    });
    const client = createPersonaClient(`127.0.0.1:${LOCAL_PORTS.personaGrpc}`, local.token);
    try {
      // every user's persona, through a real gRPC client, with one version per window
      expect(expected.size).toBe(USERS);
      for (const [userId, windows] of expected) {
        const { persona } = await client.getPersona({ tenant: sim.tenant, userId }, { timeoutMs: 5000 });
        expect(persona?.userId).toBe(userId);
        expect(persona?.version, userId).toBe(windows);
      }
      // the run's rows in ClickHouse equal what the evaluator computed
      const ch = new ClickHouseClient({ url: clickhouseUrl, database: 'personastream' });
      const [run] = await ch.query<Record<string, unknown>>(
        sql`SELECT users, tag_avg_at_k, acc_ex, compression_bytes FROM runs FINAL WHERE run_id = ${sim.runId}`,
      );
      expect(run).toBeDefined();
      expect(Number(run?.users)).toBe(local.report.users);
      expect(Number(run?.tag_avg_at_k)).toBeCloseTo(local.report.tag_avg_at_k, 9);
      expect(Number(run?.acc_ex)).toBeCloseTo(local.report.acc_ex, 9);
      // event entry (Kafka record timestamp) → persona update, per update and in the run row
      expectPlausibleLatency(local.report);
      const [lat] = await ch.query<Record<string, unknown>>(
        sql`SELECT count() AS n, max(latency_ms) AS max_ms FROM latency FINAL WHERE run_id = ${sim.runId}`,
      );
      expect(Number(lat?.n)).toBe(local.report.updates);
      expect(Number(lat?.max_ms)).toBeLessThan(TEN_MINUTES_MS);
      const users = await ch.query<Record<string, unknown>>(
        sql`SELECT user_id, tag_score FROM user_scores FINAL WHERE run_id = ${sim.runId} ORDER BY user_id`,
      );
      expect(users).toHaveLength(USERS);
      const byUser = new Map(local.report.user_rows.map((u) => [u.user_id, u]));
      for (const u of users) {
        const row = byUser.get(String(u.user_id));
        expect(row, String(u.user_id)).toBeDefined();
        expect(Number(u.tag_score)).toBeCloseTo(Number(row?.tag_score), 9);
      }
      // embedded and local compute the same personas from the same seed
      const embedded = await runEmbeddedPipeline({
        sim: { ...sim, runId: `${sim.runId}-emb` },
        scoreAllUsers: true,
        quiet: true,
      });
      expect(embedded.report.tag_avg_at_k).toBeCloseTo(local.report.tag_avg_at_k, 9);
    } finally {
      client.close();
      await local.stop();
    }
  });
});
