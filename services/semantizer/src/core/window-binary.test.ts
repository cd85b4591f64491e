import { create, type DescMessage, ScalarType, toBinary } from '@bufbuild/protobuf';
import {
  type BehaviorEvent,
  CompressionStatsSchema,
  NotableEventSchema,
  SemantizedWindowSchema,
  WindowRecordSchema,
} from '@personastream/contracts';
import { simulateUsers, simulatorConfig } from '@personastream/simulator';
import { describe, expect, it } from 'vitest';
import { generateEvents } from '../testing/generator.js';
import { semantizeEvents } from './semantizer.js';
import { encodeWindow, encodeWindowRecord } from './window-binary.js';

const reference = (w: Parameters<typeof encodeWindow>[0]) =>
  toBinary(WindowRecordSchema, create(WindowRecordSchema, { kind: { case: 'window', value: w } }));

function expectSameBytes(w: Parameters<typeof encodeWindow>[0]): void {
  expect(Buffer.from(encodeWindowRecord(w)).equals(Buffer.from(reference(w)))).toBe(true);
  expect(Buffer.from(encodeWindow(w)).equals(Buffer.from(toBinary(SemantizedWindowSchema, w)))).toBe(true);
}

describe('encodeWindowRecord', () => {
  it('writes the bytes toBinary writes, for generated and simulated windows', { timeout: 30_000 }, () => {
    const simulated: BehaviorEvent[] = [];
    for (const u of simulateUsers(simulatorConfig({ users: 6, seed: 2 }))) {
      for (const r of u.records) if (r.kind === 'event') simulated.push(r.event);
    }
    let n = 0;
    for (const events of [generateEvents({ users: 6, days: 10, seed: 4 }), simulated]) {
      for (const tokenizer of ['cl100k_base', 'none'] as const) {
        for (const w of semantizeEvents(events, { tokenizer }).windows) {
          expectSameBytes(w);
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(200);
  });

  it('handles zero and negative zero, unicode, empty maps and strings, numeric map keys, long bodies', () => {
    const base = semantizeEvents(generateEvents({ users: 1, days: 3, seed: 1 }), { tokenizer: 'none' }).windows[0];
    if (!base) throw new Error('no window');
    const w = create(SemantizedWindowSchema, {
      ...base,
      windowId: '',
      tenant: 'tënant ☃ 😀',
      userId: `u${'\ud800'}x`, // lone surrogate: U+FFFD, like TextEncoder
      startMs: -0,
      endMs: Number.NaN,
      spend: -12.5,
      dwellMs: 0,
      eventCount: 0xffffffff,
      hourHistogram: [0, 0, 300, 0, 1],
      devices: { b: 0, '2': 3, a: 1, '': 7 },
      priceTiers: {},
      intents: ['', 'ü'],
      brands: [],
      text: 'é'.repeat(20_000),
      notable: [create(NotableEventSchema, {}), create(NotableEventSchema, { kind: 'k', detail: 'd', timeMs: -0 })],
      compression: create(CompressionStatsSchema, {}),
      signals: { s: 1 },
    });
    expectSameBytes(w);
    expectSameBytes({ ...w, compression: undefined, text: 'x'.repeat(127), actions: [] });
    expectSameBytes({ ...w, text: 'x'.repeat(200_000) });
  });

  it('hands out views that later records never overwrite, across slabs and records larger than one', () => {
    const windows = semantizeEvents(generateEvents({ users: 8, days: 12, seed: 6 }), { tokenizer: 'none' }).windows;
    const big = windows[0];
    if (!big) throw new Error('no window');
    // interleave records larger than a slab (64 KiB) with ordinary ones, keep every view, compare at the end
    const all = windows.flatMap((w, i) => (i % 50 === 0 ? [w, { ...big, text: `${i}`.repeat(40_000) }] : [w]));
    const views = all.map((w) => encodeWindowRecord(w));
    const total = views.reduce((n, v) => n + v.byteLength, 0);
    expect(total).toBeGreaterThan(3 * 64 * 1024);
    all.forEach((w, i) => {
      expect(Buffer.from(views[i] as Uint8Array).equals(Buffer.from(reference(w)))).toBe(true);
    });
  });
});

describe('encodeWindow covers every field of the contract', () => {
  it('writes what toBinary writes for a window with every field (by reflection) set to a non-default value', () => {
    const w = create(SemantizedWindowSchema, filled(SemantizedWindowSchema) as Parameters<typeof encodeWindow>[0]);
    // every field of the schema is set: a field added to windows.proto and forgotten by the encoder fails here
    for (const f of SemantizedWindowSchema.fields) {
      expect(w[f.localName as keyof typeof w], f.name).not.toEqual(
        create(SemantizedWindowSchema)[f.localName as keyof typeof w],
      );
    }
    expectSameBytes(w);
  });
});

/** A message init with every field set to a non-default value (scalars, enums, lists, maps, nested messages). */
function filled(schema: DescMessage, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of schema.fields) {
    const one = (): unknown => {
      if (f.fieldKind === 'message' || (f.fieldKind === 'list' && f.listKind === 'message')) {
        return depth > 2 ? {} : filled(f.message as DescMessage, depth + 1);
      }
      if (f.fieldKind === 'enum' || (f.fieldKind === 'list' && f.listKind === 'enum')) return 1;
      return scalarValue(f.scalar as ScalarType);
    };
    if (f.fieldKind === 'list') out[f.localName] = [one(), one()];
    else if (f.fieldKind === 'map') out[f.localName] = { k: f.mapKind === 'scalar' ? scalarValue(f.scalar) : 1 };
    else out[f.localName] = one();
  }
  return out;
}

function scalarValue(t: ScalarType): unknown {
  switch (t) {
    case ScalarType.STRING:
      return 'x';
    case ScalarType.BOOL:
      return true;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return 1.5;
    case ScalarType.BYTES:
      return new Uint8Array([1]);
    default:
      return 7;
  }
}
