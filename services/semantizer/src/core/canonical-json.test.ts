import { create } from '@bufbuild/protobuf';
import { BehaviorEventSchema, canonicalEventJson, EventContextSchema, ItemSchema } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { generateEvents, rng } from '../testing/generator.js';
import { canonicalEventJsonBytes, fastCanonicalEventJson, lastLineByteLength } from './canonical-json.js';

const WEIRD = ['', 'a', 'é', '"q"', 'back\\slash', 'line\nbreak', '\u0000', '😀 emoji', 'tab\t', '</script>', '\u2028'];
const NUMBERS = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 123456789.123, Number.NaN, Number.POSITIVE_INFINITY, -Infinity];

describe('fastCanonicalEventJson', () => {
  it('equals canonicalEventJson on generated events', () => {
    for (const e of generateEvents({ users: 5, days: 3, seed: 7 })) {
      const line = fastCanonicalEventJson(e);
      expect(line).toBe(canonicalEventJson(e));
      expect(lastLineByteLength(line)).toBe(Buffer.byteLength(line));
      expect(canonicalEventJsonBytes(e)).toBe(Buffer.byteLength(line));
    }
  });

  it('equals canonicalEventJson on random edge-case events', () => {
    const r = rng(3);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
    for (let i = 0; i < 3000; i++) {
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
      if (r() < 0.3) e.properties = { [pick(WEIRD)]: pick(WEIRD), '2': 'x', b: pick(WEIRD), '1': 'y' };
      if (r() < 0.05) e.properties = JSON.parse('{"__proto__":"p","a":"b"}') as Record<string, string>;
      const line = fastCanonicalEventJson(e);
      expect(line).toBe(canonicalEventJson(e));
      expect(lastLineByteLength(line)).toBe(Buffer.byteLength(line));
      expect(canonicalEventJsonBytes(e)).toBe(Buffer.byteLength(line));
    }
  });
});
