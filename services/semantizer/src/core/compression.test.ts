import type { BehaviorEvent } from '@personastream/contracts';
import { defaultSimulatorConfig, simulateUsers } from '@personastream/simulator';
import { describe, expect, it } from 'vitest';
import { semantizeEvents } from './semantizer.js';

/** Events of a simulated run, in the simulator's emission order (user after user). */
function simulated(users: number, seed: number): BehaviorEvent[] {
  const events: BehaviorEvent[] = [];
  for (const u of simulateUsers({ ...defaultSimulatorConfig, users, seed, runId: `sim-s${seed}-u${users}` })) {
    for (const r of u.records) if (r.kind === 'event') events.push(r.event);
  }
  return events;
}

describe('compression on simulated behaviour (the HPR-Bench source)', () => {
  it('semantized text is ≤ 2.1 % of the raw canonical JSON (compression_bytes ≥ 0.979)', { timeout: 60_000 }, () => {
    const events = simulated(40, 1);
    const { windows, stats } = semantizeEvents(events, { tokenizer: 'none' });
    expect(stats.late).toBeLessThan(events.length * 0.05); // user-by-user emission is not "late"
    expect(windows.length).toBeGreaterThan(500);
    expect(stats.compressionBytes).toBeGreaterThanOrEqual(0.979);
    // Noise is removed: crawler sessions, re-deliveries and accidental clicks.
    expect(stats.dropped.crawler ?? 0).toBeGreaterThan(0);
    expect(stats.dropped.duplicate_event_id ?? 0).toBeGreaterThan(0);
    expect(stats.dropped.accidental_click ?? 0).toBeGreaterThan(0);
  });
});
