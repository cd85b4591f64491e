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
 * Last change: windows carry `items` (field 30, item codes; render version 3 with the `#` section).
 * With `maxItems: 0` and `renderVersion` set back to 2, every window is byte-identical to before (the
 * previous hash 74dcdca0… was reproduced that way).
 * The simulated hash also follows the simulator's item-level taste (`itemTaste`, default 0.75): the
 * simulator's own golden test (services/simulator/src/core/run.test.ts) pins its events.
 * Before: `interests` and `unmapped` (fields 28, 29; the open taxonomy mapper).
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
    expect(windowsHash(events, 'cl100k_base')).toBe('fd9ef7b6642997641b6ef7b4f79b2291f475c87e729bb178407d71989c785b28');
    expect(windowsHash(events, 'none')).toBe('65a6e866bfb28c8213221b387dc69a6547999a00a0bb7b4cd262227569558c4d');
  });

  it('simulated users (10 users, seed 1), with token counts', { timeout: 30_000 }, () => {
    expect(windowsHash(simulated(10, 1), 'cl100k_base')).toBe(
      'f0bb0cb2ce046ebcdf0a8472e664fd90e13be6a752fb0ee2d432b4139ed7726c',
    );
  });
});
