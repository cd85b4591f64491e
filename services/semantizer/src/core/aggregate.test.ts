import { create } from '@bufbuild/protobuf';
import {
  type BehaviorEvent,
  BehaviorEventSchema,
  EventContextSchema,
  EventType,
  ItemSchema,
} from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { type ClosedWindow, emptyStats, PartitionEngine } from './engine.js';
import { damerau, normalizeQuery, Vocabulary } from './intents.js';
import { PriceBook } from './prices.js';
import { defaultCoreConfig } from './types.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 2, 2, 19, 5);
let n = 0;

function ev(min: number, type: EventType, init: Record<string, unknown> = {}): BehaviorEvent {
  return create(BehaviorEventSchema, {
    eventId: `e${n++}`,
    tenant: 't',
    userId: 'u',
    eventTimeMs: T0 + min * 60_000,
    type,
    context: create(EventContextSchema, { device: 'mobile' }),
    dwellMs: type === EventType.ITEM_VIEW ? 30_000 : 0,
    runId: 'r',
    ...init,
  });
}

const item = (path: string[], price: number, brand = 'Stridex') =>
  create(ItemSchema, { id: `${path.join('/')}-${price}`, categoryPath: path, brand, price, currency: 'USD' });

function windowsOf(events: BehaviorEvent[]): ClosedWindow[] {
  const e = new PartitionEngine({ ...defaultCoreConfig, tokenizer: 'none' }, emptyStats(), undefined);
  const out: ClosedWindow[] = [];
  for (const x of events) e.ingest(x, out);
  out.push(...e.endOfRun('r').windows);
  return out;
}

describe('aggregation and rendering', () => {
  it('aggregates a session into counts, spend, tiers, brands, intents and a compact text', () => {
    const shoes = ['Sports', 'Running', 'Shoes'];
    const events = [
      ev(0, EventType.SEARCH, { query: 'The best TRAIL shoes!' }),
      ...[1, 2, 3, 4, 5].map((m) => ev(m, EventType.ITEM_VIEW, { item: item(shoes, 80 + m) })),
      ev(6, EventType.ADD_TO_CART, { item: item(shoes, 89), quantity: 1 }),
      ev(7, EventType.PURCHASE, { item: item(shoes, 89), quantity: 2 }),
      ev(8, EventType.ITEM_VIEW, { item: item(['Home', 'Decor', 'Lamps'], 30, 'Lumo') }),
    ];
    const [w] = windowsOf(events).map((c) => c.window);
    expect(w).toBeDefined();
    if (!w) return;
    expect(w.eventCount).toBe(9);
    expect(w.funnelDepth).toBe(4);
    expect(w.spend).toBe(178);
    expect(w.actions.map((a) => [a.action, a.category, a.count])).toEqual([
      ['purchase', 'Sports > Running', 1],
      ['cart', 'Sports > Running', 1],
      ['view', 'Sports > Running', 5],
      ['view', 'Home > Decor', 1],
    ]);
    expect(w.hourHistogram).toHaveLength(24);
    expect(w.hourHistogram[19]).toBe(9);
    expect(w.devices).toEqual({ mobile: 9 });
    expect(w.brands).toEqual(['Stridex', 'Lumo']);
    expect(w.intents).toEqual(['best', 'trail', 'shoes']);
    expect(w.priceTiers).toEqual({ mid: 8 }); // no statistics from earlier days yet
    expect(w.renderVersion).toBe(2);
    expect(w.signals).toEqual({});
    expect(w.text).toBe(
      '2026-03-02 19h mobile|Sports: Running b1 c1 v5; Home: Decor v1|paid 178.00|$mid8|@Stridex, Lumo|?best trail shoes',
    );
  });

  it('counts behaviour signals from event properties and item-less events, and renders them as codes', () => {
    const shoes = ['Sports', 'Running', 'Shoes'];
    const events = [
      ev(0, EventType.IDENTIFY, { properties: { method: 'signup' } }),
      ev(0.1, EventType.CONSENT, { properties: { analytics: 'granted', marketing: 'denied' } }),
      ev(0.5, EventType.PAGE_VIEW, { properties: { page: 'deals', campaign: 'weekly_deals' } }),
      ev(1, EventType.SEARCH, { query: 'trail shoes', properties: { results: '12', sort: 'price_asc' } }),
      ev(2, EventType.ITEM_VIEW, {
        item: item(shoes, 72),
        properties: { source: 'search', list_price: '90', discount_pct: '20' },
      }),
      ev(3, EventType.ITEM_VIEW, { item: item(shoes, 95), properties: { source: 'browse' } }),
      ev(4, EventType.PURCHASE, {
        item: item(shoes, 72),
        quantity: 1,
        properties: { order_id: 'o1', payment: 'buy_now_pay_later', shipping: 'express', coupon: 'SAVE10' },
      }),
      ev(4.2, EventType.PURCHASE, {
        item: item(shoes, 95),
        quantity: 1,
        properties: { order_id: 'o1', payment: 'card', shipping: 'standard', checkout: 'one_click', gift_wrap: 'true' },
      }),
      ev(5, EventType.PAGE_VIEW, { properties: { page: 'account', action: 'update_address' } }),
      ev(6, EventType.PAGE_VIEW, { properties: { page: 'registry' } }),
      // A consent that only denies is not a grant.
      ev(7, EventType.CONSENT, { properties: { analytics: 'denied' } }),
    ];
    const [w] = windowsOf(events).map((c) => c.window);
    expect(w?.signals).toEqual({
      sale_view: 1,
      price_sort: 1,
      deals_page: 1,
      campaign: 1,
      coupon: 1,
      express: 1,
      one_click: 1,
      pay_later: 1,
      gift_wrap: 1,
      registry: 1,
      new_address: 1,
      signup: 1,
      consent: 1,
    });
    expect(w?.text).toContain('|%s1 p1 d1 e1 c1 x1 o1 l1 g1 r1 a1 n1 t1|');
  });

  it('prices tiers against the category statistics of earlier days', () => {
    const path = ['Tech', 'Audio', 'Headphones'];
    const history = Array.from({ length: 40 }, (_, i) =>
      ev(i * 40 - 3 * 24 * 60, EventType.ITEM_VIEW, { userId: `other${i}`, item: item(path, 50 + (i % 10) * 10) }),
    );
    const today = [
      ev(0, EventType.ITEM_VIEW, { item: item(path, 20) }),
      ev(1, EventType.ITEM_VIEW, { item: item(path, 90) }),
      ev(2, EventType.PURCHASE, { item: item(path, 400) }),
    ];
    const ws = windowsOf([...history, ...today]).filter((c) => c.window.userId === 'u');
    expect(ws[0]?.window.priceTiers).toEqual({ low: 1, mid: 1, high: 1 });
    expect(ws[0]?.window.notable.map((x) => x.kind)).toContain('expensive_purchase');
  });
});

describe('notable events', () => {
  it('flags a first purchase in a new category and a shift against the history', () => {
    const sports = ['Sports', 'Running', 'Shoes'];
    const baby = ['Baby', 'Nursery', 'Cribs'];
    const events: BehaviorEvent[] = [];
    for (let d = 0; d < 10; d++) {
      for (let m = 0; m < 4; m++) events.push(ev(d * 24 * 60 + m, EventType.ITEM_VIEW, { item: item(sports, 80) }));
    }
    events.push(ev(10 * 24 * 60, EventType.PURCHASE, { item: item(sports, 80) }));
    for (let m = 0; m < 5; m++) events.push(ev(11 * 24 * 60 + m, EventType.ITEM_VIEW, { item: item(baby, 200) }));
    events.push(ev(11 * 24 * 60 + 6, EventType.PURCHASE, { item: item(baby, 200) }));
    const last = windowsOf(events).at(-1)?.window;
    expect(last?.notable.map((x) => [x.kind, x.detail])).toEqual([
      ['first_purchase_in_category', 'Baby'],
      ['category_shift', 'Sports->Baby'],
    ]);
    expect(last?.text).toContain('!first buy Baby; shift Sports->Baby');
  });
});

describe('intents', () => {
  it('normalizes queries: lowercase, accents, punctuation and stop words', () => {
    expect(normalizeQuery('  Café-Crème for the BEST  Shoes?! ')).toEqual(['cafe', 'creme', 'best', 'shoes']);
  });
  it('corrects typos against words seen before, deterministically', () => {
    const v = new Vocabulary();
    v.observe('Headphones', 0);
    v.observe('Running Shoes', 0);
    v.observe('Sneakers', 5 * DAY);
    expect(v.correct('haedphones', DAY)).toBe('headphones');
    expect(v.correct('runnign', DAY)).toBe('running');
    expect(v.correct('shoe', DAY)).toBe('shoes');
    expect(v.correct('sneakres', DAY)).toBe('sneakres'); // only seen later
    expect(v.correct('sneakres', DAY, new Set(['sneakers']))).toBe('sneakers');
    expect(damerau('abcd', 'abdc', 2)).toBe(1);
  });
});

describe('price book', () => {
  it('uses only days before the window and the most specific level with enough samples', () => {
    const b = new PriceBook();
    for (let i = 0; i < 10; i++) b.add(['A', 'B'], 10 + i, 0);
    expect(b.stat(['A', 'B'], 0)).toBeUndefined();
    expect(b.stat(['A', 'B'], DAY)?.n).toBe(10);
    expect(b.tier(['A', 'B'], 100, DAY)).toBe('high');
    expect(b.tier(['A', 'B'], 2, DAY)).toBe('low');
    expect(b.stat(['A', 'C'], DAY)?.n).toBe(10); // falls back to the parent level
    const copy = new PriceBook();
    for (const [f, v] of b.all()) copy.set(f, v);
    expect(copy.stat(['A', 'B'], DAY)).toEqual(b.stat(['A', 'B'], DAY));
  });
});
