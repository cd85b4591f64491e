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
import { edgeCaseEvents } from '../testing/edge-events.js';
import { generateEvents, rng } from '../testing/generator.js';
import { intDigits } from './canonical-json.js';
import { RawSizer } from './raw-size.js';
import { TokenCounter } from './tokens.js';

/**
 * Events that exercise the sizer's shortcuts: ids made of a prefix and a counter (prefixes ending in
 * letters, punctuation, a space, non-ASCII; counters of 1–20 digits), items whose price changes or
 * disappears (also as their last field), contexts whose session id changes or disappears, many
 * distinct prices (table collisions), large and tiny numbers, unknown event types, properties with
 * changing key sets and orders.
 */
function shortcutEvents(seed: number, count: number): BehaviorEvent[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const prefixes = ['sim-s1-u1000-u000001-', 'sim-s1-u1000-u000002-', 'ev_', 'a.', 'x ', 'é-', 'ab', 'Q9-', '0-', ''];
  const counter = () => String(Math.floor(r() * 10 ** (1 + Math.floor(r() * 20)))).replace('e+', '');
  const prices = [0, 18.99, 2, 1e15, 1234567890123456, 1e21, 1e-7, 5e-324, 0.1 + 0.2, -3.5, -0];
  const out: BehaviorEvent[] = [];
  let prefix = pick(prefixes);
  for (let i = 0; i < count; i++) {
    if (r() < 0.05) prefix = pick(prefixes);
    const e = create(BehaviorEventSchema, {
      eventId: r() < 0.9 ? `${prefix}${counter()}` : pick(['', 'abc', '12', 'id-1a', '"1']),
      tenant: 'demo',
      userId: 'u1',
      eventTimeMs: r() < 0.9 ? 1_771_695_437_139 + i : pick(prices),
      type: Math.floor(r() * 70),
      dwellMs: pick([0, 5, 7132, 12.5, 1e16, -1]),
      rating: pick([0, 0, 3, -2, 2147483647]),
      quantity: pick([0, 1, 12, -1]),
      runId: r() < 0.9 ? 'run-1' : '',
      receivedTimeMs: r() < 0.9 ? 1_771_695_437_369 + i : 0,
    });
    if (r() < 0.7) {
      const id = `i${Math.floor(r() * 5)}`;
      e.item = create(ItemSchema, {
        id,
        categoryPath: r() < 0.8 ? ['A', id] : [],
        brand: r() < 0.8 ? 'Brand' : '',
        price: r() < 0.5 ? pick(prices) : Math.round(r() * 1e6) / 100,
        currency: r() < 0.5 ? 'USD' : '',
        title: r() < 0.5 ? `T ${id}` : '',
      });
    }
    if (r() < 0.1) {
      // the session id is the last field, present or not
      e.context = create(EventContextSchema, { device: 'mobile', sessionId: r() < 0.5 ? `s${i % 3}` : '' });
    } else if (r() < 0.7) {
      e.context = create(EventContextSchema, {
        device: pick(['desktop', 'mobile', '']),
        sessionId: r() < 0.8 ? `s${Math.floor(r() * 3)}a${Math.floor(r() * 3)}` : pick(['', 'é', '1', 's 1']),
        channel: pick(['web', '']),
        userAgent: pick(['Mozilla/5.0 (X11)', 'bot', '', ...Array.from({ length: 20 }, (_, k) => `ua${k}`)]),
        locale: pick(['en-US', 'de', '']),
      });
    }
    const p = r();
    if (p < 0.3) e.properties = { source: pick(['search', 'browse']), position: String(Math.floor(r() * 30)) };
    else if (p < 0.5) e.properties = { position: '7', source: 'search', extra: pick(['', '1.5', 'x y', 'é']) };
    else if (p < 0.6)
      e.properties = { a: '1', b: '2', c: '3', d: '4', e: '5', f: '6', g: '7', h: '8', i: '9', j: '10' };
    else if (p < 0.7) e.properties = { '1': 'x', page: 'home' };
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
    ['random edge cases', edgeCaseEvents(17, 3000)],
    ['shortcuts', shortcutEvents(5, 6000)],
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
    for (const e of [...edgeCaseEvents(3, 500), ...shortcutEvents(3, 2000)]) {
      sizer.measure(e);
      expect(sizer.bytes).toBe(Buffer.byteLength(`${canonicalEventJson(e)}\n`));
      expect(sizer.tokens).toBe(0);
    }
  });
});

describe('intDigits', () => {
  it('counts the digits of non-negative integers', () => {
    for (let d = 0; d <= 21; d++) {
      const p = 10 ** d;
      for (const v of [p - 1, p, p + 1, 2 * p, 9 * p]) {
        if (v < 0 || !Number.isSafeInteger(v)) continue;
        expect(intDigits(v), String(v)).toBe(String(v).length);
      }
    }
    expect(intDigits(0)).toBe(1);
    expect(intDigits(1e20)).toBe(21);
  });
});
