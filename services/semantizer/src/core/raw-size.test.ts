import { type BehaviorEvent, canonicalEventJson } from '@personastream/contracts';
import { defaultSimulatorConfig, simulateUsers } from '@personastream/simulator';
import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { edgeCaseEvents } from '../testing/edge-events.js';
import { generateEvents } from '../testing/generator.js';
import { RawSizer } from './raw-size.js';
import { TokenCounter } from './tokens.js';

function simulated(users: number): BehaviorEvent[] {
  const events: BehaviorEvent[] = [];
  for (const u of simulateUsers({ ...defaultSimulatorConfig, users, seed: 2, runId: 'raw-size' })) {
    for (const rec of u.records) if (rec.kind === 'event') events.push(rec.event);
  }
  return events;
}

describe('RawSizer', () => {
  const inputs: [string, BehaviorEvent[]][] = [
    ['generated', generateEvents({ users: 4, days: 3, seed: 13 })],
    ['simulated', simulated(2)],
    ['random edge cases', edgeCaseEvents(17, 3000)],
  ];
  for (const [tokenizer, reference] of [
    ['cl100k_base', cl100k],
    ['o200k_base', o200k],
  ] as const) {
    it(`equals bytes and ${tokenizer} tokens of canonicalEventJson + newline`, { timeout: 60_000 }, () => {
      const sizer = new RawSizer(new TokenCounter(tokenizer), 50);
      const interned = new Map<string, string[]>();
      for (const [name, events] of inputs) {
        // Twice, so that the second pass is answered from the (small, often cleared) caches.
        for (const pass of [1, 2]) {
          for (const e of events) {
            const line = `${canonicalEventJson(e)}\n`;
            const path = e.item?.categoryPath ?? [];
            const key = JSON.stringify(path);
            if (!interned.has(key)) interned.set(key, [...path]);
            sizer.measure(e, pass === 2 && path.length > 0 ? interned.get(key) : undefined);
            const what = `${name} pass ${pass}: ${JSON.stringify(line)}`;
            expect(sizer.bytes, what).toBe(Buffer.byteLength(line));
            expect(sizer.tokens, what).toBe(reference(line));
          }
        }
      }
    });
  }

  it('counts bytes only without a tokenizer', () => {
    const sizer = new RawSizer(undefined);
    for (const e of edgeCaseEvents(3, 500)) {
      sizer.measure(e);
      expect(sizer.bytes).toBe(Buffer.byteLength(`${canonicalEventJson(e)}\n`));
      expect(sizer.tokens).toBe(0);
    }
  });
});
