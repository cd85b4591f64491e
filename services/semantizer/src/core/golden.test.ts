import { createHash } from 'node:crypto';
import { toBinary } from '@bufbuild/protobuf';
import { type BehaviorEvent, SemantizedWindowSchema } from '@personastream/contracts';
import { defaultSimulatorConfig, simulateUsers } from '@personastream/simulator';
import { describe, expect, it } from 'vitest';
import { generateEvents } from '../testing/generator.js';
import { semantizeEvents } from './semantizer.js';

/**
 * Golden hashes: sha256 over the binary encodings of every window (in output order) of small
 * deterministic inputs. Performance work must not change a single byte of the windows. When a
 * change is *meant* to change windows (a new field, a new rule), re-run this test, check the diff
 * comes from that change only, and update the hashes in the same commit, saying why.
 *
 * Last change: windows carry `interests` and `unmapped` (fields 28, 29; the open taxonomy mapper).
 * With those two fields cleared, every window is byte-identical to before (the previous hashes
 * f47e4f14…, 59b4e083…, 63ac544d… were reproduced that way).
 *
 * Simulated input changed since: the simulator's item-level taste (default `itemTaste` 0.75) picks
 * other items in listings (7c3e4f34… → 655a5560…); with `itemTaste: 0` the simulated hash is still
 * 7c3e4f34… (the semantizer did not change).
 */
function windowsHash(events: Iterable<BehaviorEvent>, tokenizer: 'cl100k_base' | 'none'): string {
  const h = createHash('sha256');
  for (const w of semantizeEvents(events, { tokenizer }).windows) h.update(toBinary(SemantizedWindowSchema, w));
  return h.digest('hex');
}

function simulated(users: number, seed: number): BehaviorEvent[] {
  const events: BehaviorEvent[] = [];
  for (const u of simulateUsers({ ...defaultSimulatorConfig, users, seed, runId: `sim-s${seed}-u${users}` })) {
    for (const r of u.records) if (r.kind === 'event') events.push(r.event);
  }
  return events;
}

describe('golden window hashes', () => {
  it('generated events (12 users × 8 days, seed 3), with and without token counts', { timeout: 30_000 }, () => {
    const events = generateEvents({ users: 12, days: 8, seed: 3 });
    expect(windowsHash(events, 'cl100k_base')).toBe('74dcdca0dedff0f5bb3864d988e3b59a84283e49993638e20793b6b55683e1c5');
    expect(windowsHash(events, 'none')).toBe('4615089f3d4928c4f5acbd49eb58ba87e5ce6265273253ef14eb37203583d238');
  });

  it('simulated users (10 users, seed 1), with token counts', { timeout: 30_000 }, () => {
    expect(windowsHash(simulated(10, 1), 'cl100k_base')).toBe(
      '655a55607be6c16859d27fe41d35117d9dfab365bbabae663c90d3f974230cee',
    );
  });
});
