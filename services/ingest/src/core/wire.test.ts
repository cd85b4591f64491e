import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { BehaviorEventSchema, EventRecordSchema, EventType } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { encodeEventRecord } from './wire.js';

const record = (e: ReturnType<typeof create<typeof BehaviorEventSchema>>) =>
  toBinary(EventRecordSchema, create(EventRecordSchema, { kind: { case: 'event', value: e } }));

describe('encodeEventRecord', () => {
  it('is byte-identical to protobuf-es for minimal, full, unicode and edge-value events', () => {
    const events = [
      create(BehaviorEventSchema, {}),
      create(BehaviorEventSchema, {
        eventId: 'e',
        tenant: 't',
        userId: 'u',
        eventTimeMs: 1.5,
        type: EventType.SEARCH,
        query: 'q',
      }),
      create(BehaviorEventSchema, {
        eventId: 'évènement-🚀'.repeat(20),
        tenant: 'acme',
        userId: 'ユーザー',
        eventTimeMs: 1_736_000_000_123,
        type: EventType.FAVORITE,
        item: {
          id: 'sku',
          categoryPath: ['Sports', '', 'Läufe'],
          brand: 'B',
          price: 0.1,
          currency: 'EUR',
          title: 'T'.repeat(300),
        },
        context: { device: 'mobile', sessionId: 's', channel: 'app', userAgent: 'UA'.repeat(100), locale: 'de-DE' },
        properties: { a: '1', empty: '', ключ: 'значение' },
        dwellMs: 1234.5,
        rating: 5,
        quantity: 300,
        runId: 'run',
        receivedTimeMs: 1_736_000_000_999,
      }),
      create(BehaviorEventSchema, { item: {}, context: {}, rating: -1, quantity: 2 ** 31 - 1, eventTimeMs: -5 }),
      // −0 doubles are written (proto3 omits +0 only), e.g. a JSON `"dwellMs": -0` that validation accepts
      create(BehaviorEventSchema, { eventTimeMs: -0, dwellMs: -0, receivedTimeMs: -0, item: { price: -0 } }),
    ];
    for (const e of events) {
      const mine = encodeEventRecord(e);
      expect(Buffer.from(mine).equals(Buffer.from(record(e)))).toBe(true);
      const back = fromBinary(EventRecordSchema, mine);
      expect(back.kind.case).toBe('event');
    }
  });

  it('matches protobuf-es on random strings (ASCII, 2-4 byte UTF-8, lone surrogates, around the 64-char switch)', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const alphabet = [
      'a',
      'Z',
      '0',
      ' ',
      'é',
      'ß',
      'ж',
      '中',
      '🚀',
      '\ud800',
      '\udc00',
      '\u0000',
      '\u007f',
      '\u0080',
      '\u07ff',
      '\u0800',
    ];
    const str = () => {
      const len = [0, 1, 5, 63, 64, 65, 200][Math.floor(rnd() * 7)] as number;
      let s = '';
      while (s.length < len) s += alphabet[Math.floor(rnd() * alphabet.length)];
      return s;
    };
    for (let i = 0; i < 300; i++) {
      const e = create(BehaviorEventSchema, {
        eventId: str(),
        userId: str(),
        item: { id: str(), categoryPath: [str(), str()], title: str() },
        context: { userAgent: str() },
        properties: { [str()]: str() },
        query: str(),
      });
      expect(Buffer.from(encodeEventRecord(e)).equals(Buffer.from(record(e)))).toBe(true);
    }
  });
});
