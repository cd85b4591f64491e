import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The chaos run's short form (issue 20): `loadtest chaos` through the built CLI (`npm run build`
 * first) — 200 users on a private Kafka, Redis and ClickHouse of its own (ports 29090–29096, services
 * 29100–29105), a fault-free reference run, then the same seed with ≥ 10 faults of every kind:
 * SIGKILL of ingest, semantizer, persona and evaluator (restarted by the harness's supervisor),
 * SIGKILL + restart of the broker, Redis and ClickHouse, SIGSTOP pauses of Redis and the broker.
 * Nothing may be lost, applied twice or differ from the reference. ≈ 3–5 minutes on 2 cores.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'tools', 'cli', 'dist', 'main.js');

describe('loadtest chaos (short form)', () => {
  it('ends with the fault-free run’s personas, updates, windows and ClickHouse rows after ≥ 10 faults of ≥ 5 kinds', async () => {
    if (!existsSync(join(ROOT, 'load-tests', 'dist', 'chaos.js'))) {
      throw new Error('load-tests/dist/chaos.js is missing: run "npm run build" first');
    }
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(
        process.execPath,
        [CLI, 'loadtest', 'chaos', '--users', '200', '--seed', '1', '--json'],
        { cwd: ROOT, timeout: 900_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LOG_LEVEL: 'info' } },
        (err, out, errOut) =>
          done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: out, stderr: errOut }),
      );
    });
    expect(code, stderr.slice(-4000)).toBe(0);
    const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      faults_injected: Record<string, number>;
      faults_total: number;
      fault_kinds: number;
      faults_failed: string[];
      service_kills_mid_batch: number;
      lost: number;
      duplicated: number;
      diverged: number;
      parts: Record<string, { keys: number; examples: unknown }>;
      reference_inconsistent: number;
      restarts: Record<string, number>;
      wall_s: number;
    };
    const detail = JSON.stringify({ parts: r.parts, failed: r.faults_failed });
    expect(r.faults_failed, detail).toEqual([]);
    expect(r.faults_total).toBeGreaterThanOrEqual(10);
    expect(r.fault_kinds).toBeGreaterThanOrEqual(5);
    // every service killed (and restarted by the supervisor), every infrastructure fault
    for (const kind of [
      'kill_ingest',
      'kill_semantizer',
      'kill_persona',
      'kill_evaluator',
      'restart_kafka',
      'restart_redis',
      'restart_clickhouse',
      'pause_redis',
      'pause_kafka',
    ]) {
      expect(r.faults_injected[kind], kind).toBeGreaterThanOrEqual(1);
    }
    for (const s of ['ingest', 'semantizer', 'persona', 'evaluator'])
      expect(r.restarts[s], s).toBeGreaterThanOrEqual(1);
    expect(r.service_kills_mid_batch).toBeGreaterThanOrEqual(1);
    // the comparison compared something: 200 personas, thousands of updates, windows and rows
    expect(r.parts.personas?.keys).toBe(200);
    for (const p of ['updates', 'windows', 'rows']) expect(r.parts[p]?.keys, p).toBeGreaterThan(1000);
    expect(r.reference_inconsistent).toBe(0);
    expect({ lost: r.lost, duplicated: r.duplicated, diverged: r.diverged }, detail).toEqual({
      lost: 0,
      duplicated: 0,
      diverged: 0,
    });
  }, 960_000);
});
