// Random events made of edge-case strings and numbers (escapes, emoji, U+2028, NaN, ±0, 1e21…),
// for tests that check a fast serializer or sizer against the canonical JSON definition.
import { create } from '@bufbuild/protobuf';
import { type BehaviorEvent, BehaviorEventSchema, EventContextSchema, ItemSchema } from '@personastream/contracts';
import { rng } from './generator.js';

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
  '\u2028',
  "'s",
  '12',
  ' x',
];
const NUMBERS = [0, -0, 1, -1, 0.1, 1234, 1e21, 1e-7, 123456789.123, Number.NaN, Number.POSITIVE_INFINITY, -Infinity];

/** `count` deterministic events of edge-case values, with or without item, context and properties. */
export function edgeCaseEvents(seed: number, count: number): BehaviorEvent[] {
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
    if (p < 0.2) e.properties = { [pick(WEIRD)]: pick(WEIRD), '2': 'x', b: pick(WEIRD), '1': 'y' };
    else if (p < 0.35) e.properties = { page: pick(WEIRD) };
    else if (p < 0.5) e.properties = { source: pick(WEIRD), [`p${pick(WEIRD)}`]: pick(WEIRD), Zeta: pick(WEIRD) };
    else if (p < 0.55) e.properties = JSON.parse('{"__proto__":"p","a":"b"}') as Record<string, string>;
    out.push(e);
  }
  return out;
}
