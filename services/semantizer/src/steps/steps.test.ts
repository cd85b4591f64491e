import { create, toBinary } from '@bufbuild/protobuf';
import {
  BehaviorEventSchema,
  EndOfRunSchema,
  EventRecordSchema,
  EventType,
  ItemSchema,
} from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import type { Ev } from '../core/types.js';
import { createAccidentalClickStep } from './accidental-click.js';
import { CRAWLER_UA, createBotFilterStep } from './bot-filter.js';
import type { CleanContext } from './context.js';
import { createDecodeStep } from './decode.js';
import { createEventIdDedupStep } from './dedup-id.js';
import { createPayloadDedupStep } from './dedup-payload.js';
import { createValidateStep } from './validate.js';

function e(id: string, t: number, over: Partial<Ev> = {}): Ev {
  return {
    id,
    t,
    y: EventType.ITEM_VIEW,
    it: 'i',
    c: ['A'],
    b: '',
    p: 0,
    q: '',
    d: 'mobile',
    w: 10_000,
    n: 0,
    r: 0,
    h: 1,
    rb: 100,
    rt: 10,
    rc: t,
    bot: 0,
    a: -1,
    s: 0,
    en: 0,
    sh: 0,
    m: 0,
    ...over,
  };
}

function ctx(events: Ev[], index: number, extra: Partial<CleanContext> = {}): CleanContext {
  return {
    events,
    index,
    seenIds: new Set(),
    closedIds: new Map(),
    lastByHash: new Map(),
    times: events.map((x) => x.t),
    ...extra,
  };
}

const valid = () =>
  create(BehaviorEventSchema, {
    eventId: 'e1',
    tenant: 't',
    userId: 'u',
    eventTimeMs: Date.UTC(2026, 0, 1),
    type: EventType.ITEM_VIEW,
    item: create(ItemSchema, { id: 'i', price: 3 }),
    runId: 'r',
  });

describe('decode step', () => {
  const decode = createDecodeStep();
  it('decodes events and end-of-run markers', () => {
    const bytes = toBinary(EventRecordSchema, create(EventRecordSchema, { kind: { case: 'event', value: valid() } }));
    const r = decode({ value: bytes });
    expect(r.type === 'ok' && r.value.kind.case).toBe('event');
    const m = toBinary(
      EventRecordSchema,
      create(EventRecordSchema, { kind: { case: 'endOfRun', value: create(EndOfRunSchema, { runId: 'r' }) } }),
    );
    const rm = decode({ value: m });
    expect(rm.type === 'ok' && rm.value.kind.case).toBe('endOfRun');
  });
  it('sends malformed, JSON, garbage and empty records to the DLQ with a reason', () => {
    const json = new TextEncoder().encode('{"eventId":"x","userId":"u"}');
    expect(decode({ value: json, headers: { 'ps-malformed': '1' } })).toEqual({
      type: 'dlq',
      reason: 'malformed_event',
    });
    expect(decode({ value: json })).toEqual({ type: 'dlq', reason: 'invalid_protobuf' });
    expect(decode({ value: new Uint8Array([0x0a, 0xff, 0xff]) })).toEqual({ type: 'dlq', reason: 'invalid_protobuf' });
    expect(decode({ value: new Uint8Array() })).toEqual({ type: 'dlq', reason: 'empty_payload' });
    expect(decode({ value: new Uint8Array([0x48, 0x01]) })).toEqual({ type: 'dlq', reason: 'empty_record' });
  });
});

describe('validate step', () => {
  const validate = createValidateStep();
  it('accepts a valid event whose key matches', () => {
    expect(validate(valid(), 't/u').type).toBe('ok');
  });
  it.each([
    ['missing_event_id', { eventId: '' }],
    ['missing_tenant', { tenant: '' }],
    ['missing_user_id', { userId: '' }],
    ['missing_event_time', { eventTimeMs: 0 }],
    ['invalid_event_time', { eventTimeMs: Number.NaN }],
    ['invalid_event_type', { type: EventType.UNSPECIFIED }],
    ['invalid_event_type', { type: 99 }],
    ['invalid_dwell', { dwellMs: -1 }],
  ])('%s', (reason, patch) => {
    expect(validate({ ...valid(), ...patch })).toEqual({ type: 'dlq', reason });
  });
  it('rejects negative prices and a key of another user', () => {
    const ev = valid();
    if (ev.item) ev.item.price = -1;
    expect(validate(ev)).toEqual({ type: 'dlq', reason: 'invalid_price' });
    expect(validate(valid(), 't/other')).toEqual({ type: 'dlq', reason: 'key_mismatch' });
    for (const key of ['t/x', 'x/u', 'tu/', 't|u', '/tu', 't/u/', 't//u', 't', ''])
      expect(validate(valid(), key)).toEqual({ type: 'dlq', reason: 'key_mismatch' });
    expect(validate({ ...valid(), userId: 'a/b' }, 't/a/b').type).toBe('ok');
  });
});

describe('cleaning steps', () => {
  it('event-id de-duplication keeps the first occurrence and knows closed windows', () => {
    const step = createEventIdDedupStep();
    const evs = [e('a', 1), e('a', 1), e('b', 2)];
    const c = ctx(evs, 0, { closedIds: new Map([['b', 2]]) });
    expect(evs.map((x) => step(x, c).type)).toEqual(['ok', 'drop', 'drop']);
  });

  it('payload de-duplication drops identical payloads within 2 s', () => {
    const step = createPayloadDedupStep({ windowMs: 2000 });
    const evs = [e('a', 0), e('b', 1500), e('c', 5000), e('d', 5100, { h: 2 })];
    const c = ctx(evs, 0);
    expect(evs.map((x) => step(x, c))).toEqual([
      { type: 'ok', value: evs[0] },
      { type: 'drop', reason: 'duplicate_payload' },
      { type: 'ok', value: evs[2] },
      { type: 'ok', value: evs[3] },
    ]);
  });

  it('bot filter drops crawler agents and dense bursts, not human pace', () => {
    const step = createBotFilterStep({ radiusMs: 5000, minEvents: 8 });
    const burst = Array.from({ length: 10 }, (_, i) => e(`b${i}`, 100_000 + i * 300));
    const human = Array.from({ length: 10 }, (_, i) => e(`h${i}`, 200_000 + i * 20_000));
    const all = [...human, ...burst].sort((a, b) => a.t - b.t);
    const verdicts = all.map((x, i) => step(x, ctx(all, i)));
    expect(verdicts.filter((v) => v.type === 'drop').length).toBe(10);
    expect(step(e('c', 0, { bot: 1 }), ctx([e('c', 0)], 0))).toEqual({ type: 'drop', reason: 'crawler' });
    expect(CRAWLER_UA.test('Mozilla/5.0 (compatible; PriceWatchBot/2.1)')).toBe(true);
    expect(CRAWLER_UA.test('python-requests/2.32.3')).toBe(true);
    expect(CRAWLER_UA.test('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0')).toBe(true);
    expect(CRAWLER_UA.test('Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) Mobile/15E148 ShopApp/7.4')).toBe(
      false,
    );
  });

  it('accidental clicks: tiny dwell, or an immediate bounce for views without dwell', () => {
    const step = createAccidentalClickStep({ minDwellMs: 2000 });
    const tiny = e('a', 0, { w: 400 });
    expect(step(tiny, ctx([tiny], 0))).toEqual({ type: 'drop', reason: 'accidental_click' });
    const bounce = [e('b', 0, { w: 0 }), e('c', 800)];
    expect(step(bounce[0] as Ev, ctx(bounce, 0))).toEqual({ type: 'drop', reason: 'accidental_click' });
    const stay = [e('d', 0, { w: 0 }), e('f', 30_000)];
    expect(step(stay[0] as Ev, ctx(stay, 0)).type).toBe('ok');
    const search = e('g', 0, { y: EventType.SEARCH, w: 0 });
    expect(step(search, ctx([search, e('h', 10)], 0)).type).toBe('ok');
  });
});
