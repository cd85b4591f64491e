import { create } from '@bufbuild/protobuf';
import {
  type BehaviorEvent,
  BehaviorEventSchema,
  canonicalEventJson,
  EventContextSchema,
  ItemSchema,
} from '@personastream/contracts';
import { defaultSimulatorConfig, simulateUsers } from '@personastream/simulator';
import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { generateEvents, rng } from '../testing/generator.js';
import { RawSizer } from './raw-size.js';
import { TokenCounter } from './tokens.js';

const WEIRD = [
  '',
  'a',
  'é',
  '"q"',
  'back\\slash',
  'line\nbreak',
  '\u0000',
  '😀 emoji',
  'tab\t',
  '</script>',
  "'s",
  '12',
  ' x',
];
const NUMBERS = [0, -0, 1, -1, 0.1, 1234, 1e21, 1e-7, 123456789.123, Number.NaN, Number.POSITIVE_INFINITY, -Infinity];

function randomEvents(seed: number, count: number): BehaviorEvent[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const out: BehaviorEvent[] = [];
  for (let i = 0; i < count; i++) {
    const e = create(BehaviorEventSchema, {
      eventId: pick(WEIRD),
      tenant: pick(WEIRD),
      userId: pick(WEIRD),
      eventTimeMs: pick(NUMBERS),
      type: Math.floor(r() * 16),
      query: pick(WEIRD),
      dwellMs: pick(NUMBERS),
      rating: Math.floor(r() * 7) - 1,
      quantity: Math.floor(r() * 3),
      runId: pick(WEIRD),
      receivedTimeMs: pick(NUMBERS),
    });
    if (r() < 0.6) {
      e.item = create(ItemSchema, {
        id: pick(WEIRD),
        categoryPath: r() < 0.5 ? [] : [pick(WEIRD), pick(WEIRD)],
        brand: pick(WEIRD),
        price: pick(NUMBERS),
        currency: pick(WEIRD),
        title: pick(WEIRD),
      });
    }
    if (r() < 0.6) {
      e.context = create(EventContextSchema, {
        device: pick(WEIRD),
        sessionId: pick(WEIRD),
        channel: pick(WEIRD),
        userAgent: pick(WEIRD),
        locale: pick(WEIRD),
      });
    }
    const p = r();
    if (p < 0.2) e.properties = { [pick(WEIRD)]: pick(WEIRD), '2': 'x', b: pick(WEIRD) };
    else if (p < 0.35) e.properties = { page: pick(WEIRD) };
    else if (p < 0.5) e.properties = { source: pick(WEIRD), [`p${pick(WEIRD)}`]: pick(WEIRD), Zeta: pick(WEIRD) };
    out.push(e);
  }
  return out;
}

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
    ['random edge cases', randomEvents(17, 3000)],
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
    for (const e of randomEvents(3, 500)) {
      sizer.measure(e);
      expect(sizer.bytes).toBe(Buffer.byteLength(`${canonicalEventJson(e)}\n`));
      expect(sizer.tokens).toBe(0);
    }
  });
});
