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
    expect(windowsHash(events, 'cl100k_base')).toBe('f47e4f1447419e24e8bafd10878ae38f436a530a8edcc033752b619cae787055');
    expect(windowsHash(events, 'none')).toBe('59b4e0835a7d888600534d22ed4caeea5d45aa7c5b5d030ec29789456e7992f3');
  });

  it('simulated users (10 users, seed 1), with token counts', { timeout: 30_000 }, () => {
    expect(windowsHash(simulated(10, 1), 'cl100k_base')).toBe(
      '63ac544d1c8640d357721bf338300a0d7efc2b9419bdf27e7ede8172305eead6',
    );
  });
});
