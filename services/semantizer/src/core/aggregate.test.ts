import { create } from '@bufbuild/protobuf';
import {
  type BehaviorEvent,
  BehaviorEventSchema,
  EventContextSchema,
  EventType,
  ItemSchema,
  itemCode,
  itemCodeText,
} from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { rng } from '../testing/generator.js';
import { type ClosedWindow, emptyStats, PartitionEngine } from './engine.js';
import { damerau, letterMask, normalizeQuery, Vocabulary } from './intents.js';
import { ACTION_NAMES, ACTION_ORDER } from './mapping.js';
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
  out.push(...e.endOfRun('t', 'r').windows);
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
    expect(w.renderVersion).toBe(3);
    expect(w.signals).toEqual({});
    // Items by engagement: the bought and carted pair (4 + 3) first, then views in order of first view.
    const ids = [
      'Sports/Running/Shoes-89',
      ...[81, 82, 83, 84, 85].map((p) => `Sports/Running/Shoes-${p}`),
      'Home/Decor/Lamps-30',
    ];
    expect(w.items).toEqual(ids.map(itemCode));
    expect(w.text).toBe(
      `2026-03-02 19h mobile|Sports: Running b1 c1 v5; Home: Decor v1|paid 178.00|$mid8|@Stridex, Lumo|?best trail shoes|#${ids.map((id) => itemCodeText(itemCode(id))).join('')}`,
    );
  });

  it('keeps at most maxItems item codes, none with maxItems 0, and ignores item-less events', () => {
    const shoes = ['Sports', 'Running', 'Shoes'];
    const events = [
      ev(0, EventType.SEARCH, { query: 'shoes' }),
      ...[1, 2, 3, 4].map((m) => ev(m, EventType.ITEM_VIEW, { item: item(shoes, 80 + m) })),
      ev(5, EventType.ITEM_VIEW, { item: item(shoes, 82) }),
    ];
    const build = (maxItems: number) => {
      const e = new PartitionEngine({ ...defaultCoreConfig, tokenizer: 'none', maxItems }, emptyStats(), undefined);
      const out: ClosedWindow[] = [];
      for (const x of events) e.ingest(x, out);
      out.push(...e.endOfRun('t', 'r').windows);
      return out[0]?.window;
    };
    expect(build(2)?.items).toEqual([itemCode('Sports/Running/Shoes-82'), itemCode('Sports/Running/Shoes-81')]);
    const none = build(0);
    expect(none?.items).toEqual([]);
    expect(none?.text).not.toContain('#');
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

describe('large windows', () => {
  it('counts many brands and categories and corrects against many window words (indexed paths)', () => {
    const names =
      'Alpha Bravo Charlie Delta Echo Foxtrot Golf Hotel India Juliett Kilo Lima Mike November Oscar Papa Quebec Romeo Sierra Tango'.split(
        ' ',
      );
    const events = names.map((b, i) => ev(i * 0.1, EventType.ITEM_VIEW, { item: item([`Top${b}`, `Sub${b}`], 10, b) }));
    events.push(ev(2.1, EventType.ITEM_VIEW, { item: item(['TopHotel', 'SubHotel'], 10, 'Hotel') }));
    events.push(ev(2.2, EventType.ITEM_VIEW, { item: item(['TopHotel', 'SubHotel'], 10, 'Hotel') }));
    events.push(ev(2.3, EventType.ITEM_VIEW, { item: item(['TopMike', 'SubMike'], 10, 'Mike') }));
    events.push(ev(2.4, EventType.SEARCH, { query: 'sierrra julliett hotels zzzz' }));
    const [w] = windowsOf(events).map((c) => c.window);
    expect(w?.brands).toEqual(['Hotel', 'Mike']);
    expect(w?.intents).toEqual(['sierra', 'juliett', 'hotel', 'zzzz']);
    expect(w?.actions.slice(0, 3).map((a) => [a.category, a.count])).toEqual([
      ['TopHotel > SubHotel', 3],
      ['TopMike > SubMike', 2],
      ['TopAlpha > SubAlpha', 1],
    ]);
    expect(w?.devices).toEqual({ mobile: 24 });
  });
});

describe('action counts', () => {
  it('equal a plain count per (action, category), ranked, then by count and category — few or many categories', () => {
    const r = rng(21);
    const types = [EventType.ITEM_VIEW, EventType.ADD_TO_CART, EventType.PURCHASE, EventType.CLICK, EventType.FAVORITE];
    for (const distinct of [3, 16, 17, 40]) {
      const events = Array.from({ length: 120 }, (_, i) => {
        const c = Math.floor(r() * distinct);
        return ev(i * 0.2, types[Math.floor(r() * types.length)] as EventType, {
          item: item([`Top${c % 5}`, `Sub${c}`, `Leaf${Math.floor(r() * 2)}`], 10),
        });
      });
      const [w] = windowsOf(events).map((c) => c.window);
      // Plain: a map of counts, sorted by action rank, count descending, category.
      const plain = new Map<string, number>();
      for (const e of w ? events : []) {
        const key = `${ACTION_NAMES[e.type]}\u0000${e.item?.categoryPath.slice(0, 2).join(' > ')}`;
        plain.set(key, (plain.get(key) ?? 0) + 1);
      }
      const want = [...plain.entries()]
        .map(([k, count]) => {
          const [action, category] = k.split('\u0000') as [string, string];
          return { action, category, count };
        })
        .sort(
          (a, b) =>
            ACTION_ORDER.indexOf(a.action) - ACTION_ORDER.indexOf(b.action) ||
            b.count - a.count ||
            (a.category < b.category ? -1 : a.category > b.category ? 1 : 0),
        );
      expect(w?.eventCount).toBe(events.length);
      expect(w?.actions.map(({ action, category, count }) => ({ action, category, count }))).toEqual(want);
    }
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

  it('letter masks of words within edit distance d differ in at most 2d bits (the exact prefilter)', () => {
    const r = rng(9);
    const letters = 'abcdeéfghijklmnopqrstuvwxyz0123456789ßж';
    const word = (n: number) => Array.from({ length: n }, () => letters[Math.floor(r() * letters.length)]).join('');
    const edit = (w: string): string => {
      const i = Math.floor(r() * (w.length + 1));
      const c = letters[Math.floor(r() * letters.length)] as string;
      const op = Math.floor(r() * 4);
      if (op === 0) return w.slice(0, i) + c + w.slice(i);
      if (op === 1) return w.slice(0, i) + w.slice(i + 1);
      if (op === 2) return w.slice(0, i) + c + w.slice(i + 1);
      return w.slice(0, i) + w.charAt(i + 1) + w.charAt(i) + w.slice(i + 2);
    };
    let checked = 0;
    for (let k = 0; k < 20_000; k++) {
      const a = word(3 + Math.floor(r() * 9));
      let b = a;
      for (let e = Math.floor(r() * 4); e > 0; e--) b = edit(b);
      if (r() < 0.2) b = word(3 + Math.floor(r() * 9));
      for (const max of [1, 2]) {
        const d = damerau(a, b, max);
        if (d > max) continue;
        checked++;
        expect(popcount32(letterMask(a) ^ letterMask(b)), `${a} ${b}`).toBeLessThanOrEqual(2 * d);
      }
    }
    expect(checked).toBeGreaterThan(10_000);
  });

  it('corrects exactly like a scan of every word with damerau', () => {
    const r = rng(10);
    const letters = 'aeiourstnlcdhm';
    const word = () =>
      Array.from({ length: 4 + Math.floor(r() * 7) }, () => letters[Math.floor(r() * letters.length)]).join('');
    const v = new Vocabulary();
    const seen = new Map<string, number>();
    const reference = (term: string, beforeMs: number, extra: Set<string>) => {
      const known = (w: string) => ((seen.get(w) ?? Infinity) < beforeMs ? true : extra.has(w));
      if (known(term) || term.length < 4 || /\d/.test(term)) return term;
      if (term.endsWith('s') && known(term.slice(0, -1))) return term.slice(0, -1);
      const maxD = term.length >= 8 ? 2 : 1;
      const near = [...seen.keys()]
        .map((w) => [w, damerau(term, w, maxD)] as const)
        .filter(([, d]) => d <= maxD)
        .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
      for (const [w] of near) if (known(w)) return w;
      return term;
    };
    for (let step = 0; step < 3000; step++) {
      const t = Math.floor(r() * 100) * DAY;
      const w = word();
      v.observe(w, t);
      seen.set(w, Math.min(seen.get(w) ?? Infinity, t));
      const term = r() < 0.5 ? word() : ([...seen.keys()][Math.floor(r() * seen.size)]?.replace(/.$/, 'x') ?? 'abcd');
      const extra = new Set(r() < 0.3 ? [word()] : []);
      const beforeMs = Math.floor(r() * 100) * DAY;
      expect(v.correct(term, beforeMs, extra), term).toBe(reference(term, beforeMs, extra));
    }
  });
});

/** Number of set bits of a 32-bit integer (plain loop, independent of the implementation's). */
function popcount32(x: number): number {
  let n = 0;
  for (let b = 0; b < 32; b++) if ((x >>> b) & 1) n++;
  return n;
}

describe('action order', () => {
  it('ranks every action name exactly once (the per-rank sort relies on it)', () => {
    expect([...ACTION_ORDER].sort()).toEqual([...Object.values(ACTION_NAMES)].sort());
    expect(new Set(ACTION_ORDER).size).toBe(ACTION_ORDER.length);
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
