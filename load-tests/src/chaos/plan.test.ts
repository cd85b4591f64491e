import { describe, expect, it } from 'vitest';
import { countByKind, FAULT_KINDS, faultPlan, SERVICE_KILLS, targetOf } from './plan.js';

describe('chaos fault plan', () => {
  const plan = faultPlan({ seed: 7, count: 12, firstS: 2, lastS: 62 });

  it('has every kind at least once, the rest service kills, in time order within the span', () => {
    expect(plan).toHaveLength(12);
    for (const k of FAULT_KINDS) expect(plan.some((f) => f.kind === k)).toBe(true);
    const extra = plan.length - FAULT_KINDS.length;
    const kills = plan.filter((f) => (SERVICE_KILLS as readonly string[]).includes(f.kind)).length;
    expect(kills).toBe(SERVICE_KILLS.length + extra);
    const times = plan.map((f) => f.atS);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBeGreaterThanOrEqual(2);
    expect(times.at(-1)).toBeLessThanOrEqual(62);
    // one per slice of the span: strictly increasing
    for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThan(0);
  });

  it('is the same for the same seed, different for another, and pauses last 2 s to the maximum', () => {
    expect(faultPlan({ seed: 7, count: 12, firstS: 2, lastS: 62 })).toEqual(plan);
    expect(faultPlan({ seed: 8, count: 12, firstS: 2, lastS: 62 })).not.toEqual(plan);
    for (const f of plan) {
      if (f.kind.startsWith('pause_')) {
        expect(f.pauseS).toBeGreaterThanOrEqual(2);
        expect(f.pauseS).toBeLessThanOrEqual(6);
      } else {
        expect(f.pauseS).toBeUndefined();
      }
    }
  });

  it('refuses fewer faults than kinds and an empty span', () => {
    expect(() => faultPlan({ seed: 1, count: 5, firstS: 0, lastS: 10 })).toThrow(/--faults must be a whole number ≥ 9/);
    expect(() => faultPlan({ seed: 1, count: 12, firstS: 10, lastS: 10 })).toThrow(/fault span/);
  });

  it('names the target of each kind and counts by kind', () => {
    expect(targetOf('kill_persona')).toEqual({ service: 'persona' });
    expect(targetOf('restart_clickhouse')).toEqual({ infra: 'clickhouse' });
    expect(targetOf('pause_kafka')).toEqual({ infra: 'kafka' });
    const counts = countByKind(['kill_persona', 'kill_persona', 'pause_redis']);
    expect(counts.kill_persona).toBe(2);
    expect(counts.pause_redis).toBe(1);
    expect(counts.restart_kafka).toBe(0);
    expect(Object.keys(counts)).toEqual([...FAULT_KINDS]);
  });
});
