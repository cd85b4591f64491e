import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { BehaviorEventSchema, EndOfRunSchema, EventRecordSchema, EventType } from '@personastream/contracts';
import { simulateUsers, simulatorConfig } from '@personastream/simulator';
import { describe, expect, it } from 'vitest';
import { decodeEventRecordFast } from './fast-decode.js';

const record = (event: Parameters<typeof create<typeof BehaviorEventSchema>>[1]) =>
  toBinary(
    EventRecordSchema,
    create(EventRecordSchema, { kind: { case: 'event', value: create(BehaviorEventSchema, event) } }),
  );

describe('decodeEventRecordFast', () => {
  it('builds exactly what fromBinary builds, for every simulated event', () => {
    let n = 0;
    for (const { records } of simulateUsers(simulatorConfig({ users: 8, seed: 3 }))) {
      for (const r of records) {
        if (r.kind !== 'event') continue;
        const bytes = toBinary(
          EventRecordSchema,
          create(EventRecordSchema, { kind: { case: 'event', value: r.event } }),
        );
        expect(decodeEventRecordFast(bytes)).toStrictEqual(fromBinary(EventRecordSchema, bytes));
        n++;
      }
    }
    expect(n).toBeGreaterThan(1000);
  });

  it('handles unicode, negative and large numbers, empty and long strings, views at an offset', () => {
    const bytes = record({
      eventId: 'é-1',
      tenant: 't',
      userId: 'ü'.repeat(70),
      eventTimeMs: 1.5e12,
      type: EventType.PURCHASE,
      item: {
        id: 'i',
        categoryPath: ['A', 'B > C', ''],
        brand: 'Brånd',
        price: -0.01,
        currency: 'EUR',
        title: 'x'.repeat(200),
      },
      query: '',
      context: { device: 'mobile', sessionId: 's', userAgent: 'Mozilla/5.0 '.repeat(10) },
      properties: { a: '1', '': 'empty key', z: '' },
      dwellMs: 12.25,
      rating: -3,
      quantity: 2147483647,
      runId: 'r',
      receivedTimeMs: Number.MAX_SAFE_INTEGER,
    });
    const padded = new Uint8Array(bytes.length + 7);
    padded.set(bytes, 5);
    const view = padded.subarray(5, 5 + bytes.length);
    expect(decodeEventRecordFast(view)).toStrictEqual(fromBinary(EventRecordSchema, bytes));
    const empty = record({});
    expect(decodeEventRecordFast(empty)).toStrictEqual(fromBinary(EventRecordSchema, empty));
  });

  it('shares repeated strings only when the bytes match (records packed in one buffer, like a fetch)', () => {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) {
      parts.push(
        record({
          eventId: `e${i}`,
          tenant: i % 2 ? 't1' : 't2',
          userId: `u${String(i % 97).padStart(4, '0')}`,
          item: { id: `i${i % 13}${i % 7}`, categoryPath: ['A', `B${i % 5}`], brand: i % 3 ? 'Bé' : 'Be' },
          context: { device: ['mobile', 'tablet', 'desktop'][i % 3] as string, sessionId: `s${i % 31}` },
          properties: { k: `${i % 11}`, [`x${i % 4}`]: '' },
        }),
      );
    }
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      const decoded = decodeEventRecordFast(all.subarray(at, at + p.length));
      expect(decoded).toStrictEqual(fromBinary(EventRecordSchema, p));
      at += p.length;
    }
  });

  it('shares long strings (user agents) only when every byte matches', () => {
    // same length, same first 4 and last 8 bytes (so the same cache slot), different middles
    const agents = ['A', 'B', 'é', 'C'].map(
      (m) => `Mozilla/5.0 (${'x'.repeat(60)}${m}${'y'.repeat(60)}) Safari/605.1.15`,
    );
    agents.push(
      `${'z'.repeat(256)}`,
      `${'z'.repeat(257)}`,
      'Mozilla/5.0'.padEnd(64, '.'),
      'Mozilla/5.0'.padEnd(65, '.'),
    );
    for (let i = 0; i < 200; i++) {
      const bytes = record({ eventId: `e${i}`, context: { userAgent: agents[(i * 7) % agents.length] as string } });
      expect(decodeEventRecordFast(bytes)).toStrictEqual(fromBinary(EventRecordSchema, bytes));
    }
  });

  it('leaves markers, unknown fields, merged sub-messages and broken bytes to fromBinary', () => {
    const marker = toBinary(
      EventRecordSchema,
      create(EventRecordSchema, { kind: { case: 'endOfRun', value: create(EndOfRunSchema, { runId: 'r' }) } }),
    );
    expect(decodeEventRecordFast(marker)).toBeUndefined();
    const ok = record({ eventId: 'e', item: { id: 'i' } });
    // unknown field 15 (varint) appended inside the event
    const unknown = new Uint8Array([0x0a, (ok[1] as number) + 2, ...ok.subarray(2), 0x78, 0x01]);
    expect(decodeEventRecordFast(unknown)).toBeUndefined();
    // item twice (protobuf merges the two)
    const item = [0x32, 0x03, 0x0a, 0x01, 0x78];
    const twice = new Uint8Array([0x0a, (ok[1] as number) + 5, ...ok.subarray(2), ...item]);
    expect(decodeEventRecordFast(twice)).toBeUndefined();
    expect(decodeEventRecordFast(ok.subarray(0, ok.length - 1))).toBeUndefined();
    expect(decodeEventRecordFast(new Uint8Array([0x0a, 0x05, 0x0a]))).toBeUndefined();
    expect(decodeEventRecordFast(new Uint8Array([]))).toBeUndefined();
    const proto = record({ properties: { ['__proto__']: 'x' } });
    expect(decodeEventRecordFast(proto)).toBeUndefined();
  });
});
