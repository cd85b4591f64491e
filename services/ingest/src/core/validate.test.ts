import { fromBinary } from '@bufbuild/protobuf';
import { EventRecordSchema, EventType, userKey } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { type ValidateOptions, validateBatch } from './validate.js';

const NOW = Date.UTC(2025, 0, 15, 12);
const opts = (over: Partial<ValidateOptions> = {}): ValidateOptions => ({
  shape: 'native',
  tenant: 'acme',
  nowMs: NOW,
  defaultRunId: 'live',
  minEventTimeMs: Date.UTC(1990, 0, 1),
  maxEventTimeMs: NOW + 86_400_000,
  maxBatch: 500,
  ...over,
});

const ok = (i: number, over: Record<string, unknown> = {}) => ({
  eventId: `e${i}`,
  userId: `u${i % 3}`,
  eventTimeMs: NOW - 1000 * i,
  type: 'EVENT_TYPE_ITEM_VIEW',
  item: { id: `sku-${i}`, categoryPath: ['Sports', 'Running'], price: 99.5, currency: 'EUR' },
  ...over,
});

describe('validateBatch (native)', () => {
  it('maps a valid batch to events and Kafka records keyed tenant/user_id', () => {
    const r = validateBatch({ events: [ok(1), ok(2)] }, opts());
    if (!r.ok) throw new Error('expected ok');
    expect(r.errors).toEqual([]);
    expect(r.valid.map((v) => v.index)).toEqual([0, 1]);
    const first = r.valid[0]!;
    expect(first.event.tenant).toBe('acme');
    expect(first.event.runId).toBe('live');
    expect(first.event.receivedTimeMs).toBe(NOW);
    expect(first.record.key).toBe(userKey('acme', 'u1'));
    const decoded = fromBinary(EventRecordSchema, first.record.value);
    expect(decoded.kind.case).toBe('event');
    expect(decoded.kind.value).toMatchObject({ eventId: 'e1', type: EventType.ITEM_VIEW });
  });

  it('accepts snake_case names, enum numbers and short enum names', () => {
    const r = validateBatch(
      [
        { event_id: 'a', user_id: 'u', event_time_ms: NOW, type: 3, query: 'red shoes' },
        { event_id: 'b', user_id: 'u', event_time_ms: String(NOW), type: 'page_view', run_id: 'r1' },
      ],
      opts(),
    );
    if (!r.ok) throw new Error('expected ok');
    expect(r.errors).toEqual([]);
    expect(r.valid.map((v) => v.event.type)).toEqual([EventType.SEARCH, EventType.PAGE_VIEW]);
    expect(r.valid[1]!.event.runId).toBe('r1');
  });

  it('refuses run ids that are blank or carry control characters (event and batch)', () => {
    const r = validateBatch(
      { events: [ok(0, { runId: 'a\u0000b' }), ok(1, { run_id: '   ' }), ok(2, { runId: 'bench-1' }), ok(3)] },
      opts(),
    );
    if (!r.ok) throw new Error('expected ok');
    expect(r.errors).toEqual([
      { index: 0, field: 'run_id', reason: 'invalid_format' },
      { index: 1, field: 'run_id', reason: 'invalid_format' },
    ]);
    expect(r.valid.map((v) => v.event.runId)).toEqual(['bench-1', 'live']);
    const batch = validateBatch({ run_id: 'x\ny', events: [ok(0)] }, opts());
    expect(batch).toMatchObject({
      ok: false,
      problem: 'invalid_body',
      issue: { field: 'run_id', reason: 'invalid_format' },
    });
  });

  it('returns exact per-event errors and keeps the valid events (partial acceptance)', () => {
    const body = {
      run_id: 'batch-7',
      events: [
        ok(0),
        ok(1, { userId: undefined }),
        ok(2, { type: 'EVENT_TYPE_TELEPORT' }),
        ok(3, { eventTimeMs: 'yesterday', item: { id: 'x', price: -3 } }),
        ok(4),
        ok(5, { type: 'SEARCH', item: undefined }),
        ok(6, { type: 'RATE', rating: 9 }),
        ok(7, { context: { device: 'toaster' }, properties: { color: 1 } }),
        ok(8, { tenant: 'other' }),
        'not an object',
        ok(10, { type: 'ADD_TO_CART', item: {} }),
      ],
    };
    const r = validateBatch(body, opts());
    if (!r.ok) throw new Error('expected ok');
    expect(r.valid.map((v) => v.index)).toEqual([0, 4]);
    expect(r.valid[0]!.event.runId).toBe('batch-7');
    expect(r.errors).toEqual([
      { index: 1, field: 'user_id', reason: 'required' },
      { index: 2, field: 'type', reason: 'unknown_value' },
      { index: 3, field: 'event_time_ms', reason: 'invalid_format' },
      { index: 3, field: 'item.price', reason: 'out_of_range' },
      { index: 5, field: 'query', reason: 'required' },
      { index: 6, field: 'rating', reason: 'out_of_range' },
      { index: 7, field: 'properties.color', reason: 'invalid_type' },
      { index: 7, field: 'context.device', reason: 'unknown_value' },
      { index: 8, field: 'tenant', reason: 'tenant_mismatch' },
      { index: 9, field: '', reason: 'invalid_type' },
      { index: 10, field: 'item.id', reason: 'required' },
    ]);
  });

  it('rejects event times outside the accepted range', () => {
    const r = validateBatch([ok(1, { eventTimeMs: NOW + 2 * 86_400_000 }), ok(2, { eventTimeMs: 1000 })], opts());
    if (!r.ok) throw new Error('expected ok');
    expect(r.errors).toEqual([
      { index: 0, field: 'event_time_ms', reason: 'out_of_range' },
      { index: 1, field: 'event_time_ms', reason: 'out_of_range' },
    ]);
  });

  it('fails the whole body when it is not a batch, or has too many events', () => {
    expect(validateBatch({ nope: 1 }, opts())).toEqual({
      ok: false,
      problem: 'invalid_body',
      issue: { field: 'events', reason: 'required' },
    });
    const many = Array.from({ length: 4 }, (_, i) => ok(i));
    expect(validateBatch(many, opts({ maxBatch: 3 }))).toMatchObject({ ok: false, problem: 'too_many_events' });
  });

  it('rejects an event past the per-event size limit', () => {
    const r = validateBatch([ok(1, { item: { id: 'x', title: 'y'.repeat(1000) } })], opts({ maxEventBytes: 500 }));
    if (!r.ok) throw new Error('expected ok');
    expect(r.errors).toEqual([{ index: 0, field: '', reason: 'too_large' }]);
  });
});

describe('validateBatch (segment)', () => {
  const track = (over: Record<string, unknown> = {}) => ({
    type: 'track',
    messageId: 'm1',
    userId: 'u1',
    event: 'Product Viewed',
    timestamp: '2025-01-10T10:00:00.000Z',
    properties: {
      product_id: 'p1',
      category: 'Sports > Running',
      brand: 'Acme',
      price: '59.90',
      name: 'Shoe',
      color: 'red',
    },
    context: { device: { type: 'ios' }, userAgent: 'Mozilla/5.0 (iPhone)', locale: 'en-US' },
    ...over,
  });

  it('maps track properties to item, context and free properties', () => {
    const r = validateBatch(track(), opts({ shape: 'track' }));
    if (!r.ok) throw new Error('expected ok');
    expect(r.errors).toEqual([]);
    const e = r.valid[0]!.event;
    expect(e.eventId).toBe('m1');
    expect(e.type).toBe(EventType.ITEM_VIEW);
    expect(e.eventTimeMs).toBe(Date.UTC(2025, 0, 10, 10));
    expect(e.item).toMatchObject({
      id: 'p1',
      categoryPath: ['Sports', 'Running'],
      brand: 'Acme',
      price: 59.9,
      title: 'Shoe',
    });
    expect(e.context).toMatchObject({ device: 'mobile', userAgent: 'Mozilla/5.0 (iPhone)', locale: 'en-US' });
    expect(e.properties).toEqual({ color: 'red' });
  });

  it('maps e-commerce event names, page, identify and anonymous users', () => {
    const batch = {
      context: { userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)' },
      batch: [
        track({ messageId: 's', event: 'Products Searched', properties: { query: 'trail shoes' } }),
        track({ messageId: 'a', event: 'Product Added', context: undefined }),
        { type: 'page', messageId: 'p', anonymousId: 'anon-9', name: 'Home', timestamp: '2025-01-10T10:00:00Z' },
        {
          type: 'identify',
          messageId: 'i',
          userId: 'u1',
          traits: { email: 'a@b.c', plan: 'pro', age: 31 },
          timestamp: '2025-01-10T10:00:00Z',
        },
        track({ messageId: 'c', event: 'Signed Up', properties: {} }),
      ],
    };
    const r = validateBatch(batch, opts({ shape: 'segment' }));
    if (!r.ok) throw new Error('expected ok');
    expect(r.errors).toEqual([]);
    const [s, a, p, i, c] = r.valid.map((v) => v.event);
    expect(s?.type).toBe(EventType.SEARCH);
    expect(s?.query).toBe('trail shoes');
    expect(a?.type).toBe(EventType.ADD_TO_CART);
    expect(a?.quantity).toBe(1);
    expect(a?.context?.device).toBe('desktop'); // from the batch-level user agent
    expect(p?.type).toBe(EventType.PAGE_VIEW);
    expect(p?.userId).toBe('anon:anon-9');
    expect(p?.properties).toEqual({ page_name: 'Home' });
    expect(i?.type).toBe(EventType.IDENTIFY);
    expect(i?.properties).toEqual({ 'trait.plan': 'pro', 'trait.age': '31' });
    expect(c?.type).toBe(EventType.CLICK);
    expect(c?.properties).toEqual({ event: 'Signed Up' });
  });

  it('expands Order Completed into one purchase per product', () => {
    const order = track({
      messageId: 'o1',
      event: 'Order Completed',
      properties: {
        order_id: 'ord-1',
        currency: 'usd',
        products: [
          { product_id: 'p1', price: 10, quantity: 2, category: 'Books' },
          { sku: 'p2', price: 5 },
        ],
      },
    });
    const r = validateBatch(order, opts({ shape: 'track' }));
    if (!r.ok) throw new Error('expected ok');
    expect(r.errors).toEqual([]);
    expect(r.valid.map((v) => [v.index, v.event.eventId, v.event.item?.id, v.event.quantity])).toEqual([
      [0, 'o1#0', 'p1', 2],
      [0, 'o1#1', 'p2', 1],
    ]);
    expect(r.valid[0]!.event.type).toBe(EventType.PURCHASE);
    expect(r.valid[0]!.event.item?.currency).toBe('USD');
    expect(r.valid[0]!.event.properties.order_id).toBe('ord-1');
  });

  it('names Segment fields in errors', () => {
    const r = validateBatch(
      [
        track({ userId: undefined }),
        track({ timestamp: 'last tuesday' }),
        track({ properties: { price: 'cheap' } }),
        { type: 'group', groupId: 'g' },
        { messageId: 'x' },
        track({ event: 'Products Searched', properties: {} }),
      ],
      opts({ shape: 'segment' }),
    );
    if (!r.ok) throw new Error('expected ok');
    expect(r.valid).toEqual([]);
    expect(r.errors).toEqual([
      { index: 0, field: 'userId', reason: 'required' },
      { index: 1, field: 'timestamp', reason: 'invalid_format' },
      { index: 2, field: 'properties.price', reason: 'invalid_format' },
      { index: 2, field: 'properties.product_id', reason: 'required' },
      { index: 3, field: 'type', reason: 'unsupported' },
      { index: 4, field: 'type', reason: 'required' },
      { index: 5, field: 'properties.query', reason: 'required' },
    ]);
  });

  it('derives a stable event id when messageId is missing', () => {
    const body = track({ messageId: undefined });
    const a = validateBatch(body, opts({ shape: 'track' }));
    const b = validateBatch(JSON.parse(JSON.stringify(body)), opts({ shape: 'track', nowMs: NOW + 5 }));
    if (!a.ok || !b.ok) throw new Error('expected ok');
    expect(a.valid[0]!.event.eventId).toMatch(/^seg-[0-9a-f]{32}$/);
    expect(a.valid[0]!.event.eventId).toBe(b.valid[0]!.event.eventId);
  });
});
