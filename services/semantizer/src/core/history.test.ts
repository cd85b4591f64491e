import { EventType, type NotableEvent } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { rng } from '../testing/generator.js';
import { detectNotable, emptyHistory, type UserHistory, updateHistory } from './history.js';
import { ENGAGED } from './mapping.js';
import { PriceBook } from './prices.js';
import type { Ev } from './types.js';

/** The straightforward per-event history update the fast one must match bit for bit (reference). */
function referenceUpdate(h: UserHistory, events: readonly Ev[]): void {
  h.w++;
  for (const k of Object.keys(h.cats)) {
    const v = (h.cats[k] as number) * 0.97;
    if (v < 0.05) delete h.cats[k];
    else h.cats[k] = v;
  }
  const bought = new Set(h.bought);
  for (const e of events) {
    const cat = e.c[0] ?? '';
    if (cat !== '' && ENGAGED.has(e.y)) h.cats[cat] = (h.cats[cat] ?? 0) + 1;
    if (e.y === EventType.PURCHASE) {
      if (cat !== '' && !bought.has(cat)) {
        bought.add(cat);
        h.bought.push(cat);
      }
      if (e.p > 0) {
        h.pn++;
        h.pm += (Math.log(e.p) - h.pm) / h.pn;
      }
    }
  }
  let tot = 0;
  for (const v of Object.values(h.cats)) tot += v;
  h.tot = tot;
}

/** The straightforward notable-event detection (sets and a map per window), as reference. */
function referenceNotable(events: readonly Ev[], h: UserHistory, prices: PriceBook, startMs: number): NotableEvent[] {
  const out: NotableEvent[] = [];
  const firsts = new Set<string>();
  const bought = new Set(h.bought);
  const note = (n: { kind: string; detail: string; timeMs: number }): NotableEvent => ({
    $typeName: 'personastream.v1.NotableEvent',
    ...n,
  });
  for (const e of events) {
    if (e.y !== EventType.PURCHASE) continue;
    const cat = e.c[0] ?? '';
    if (cat !== '' && !bought.has(cat) && !firsts.has(cat) && h.w >= 5) {
      firsts.add(cat);
      out.push(note({ kind: 'first_purchase_in_category', detail: cat, timeMs: e.t }));
    }
    if (e.p > 0) {
      const z = prices.z(e.c, e.p, startMs);
      const typical = h.pn >= 3 ? Math.exp(h.pm) : 0;
      if (z >= 2.5 || (typical > 0 && e.p >= 3 * typical)) {
        const detail = `${e.c.slice(0, 2).join('>')} ${e.p.toFixed(2)}`;
        out.push(note({ kind: 'expensive_purchase', detail, timeMs: e.t }));
      }
    }
  }
  const counts = new Map<string, number>();
  let total = 0;
  for (const e of events) {
    const cat = e.c[0] ?? '';
    if (!ENGAGED.has(e.y) || cat === '') continue;
    counts.set(cat, (counts.get(cat) ?? 0) + 1);
    total++;
  }
  let best = '';
  let bestN = 0;
  for (const [cat, n] of counts) {
    if (n > bestN || (n === bestN && cat < best)) {
      best = cat;
      bestN = n;
    }
  }
  if (best !== '' && h.w >= 8 && bestN >= 4 && bestN / total >= 0.6 && (h.cats[best] ?? 0) / h.tot < 0.03) {
    let from = '';
    let fromN = 0;
    for (const [cat, n] of Object.entries(h.cats)) {
      if (n > fromN || (n === fromN && cat < from)) {
        from = cat;
        fromN = n;
      }
    }
    const detail = from !== '' ? `${from}->${best}` : best;
    out.push(note({ kind: 'category_shift', detail, timeMs: events[0]?.t ?? 0 }));
  }
  return out.slice(0, 4);
}

const TYPES = [
  EventType.PAGE_VIEW,
  EventType.ITEM_VIEW,
  EventType.ITEM_VIEW,
  EventType.ITEM_VIEW,
  EventType.SEARCH,
  EventType.ADD_TO_CART,
  EventType.PURCHASE,
  EventType.CLICK,
  EventType.FAVORITE,
];

function ev(r: () => number, t: number, cats: readonly string[]): Ev {
  const top = cats[Math.floor(r() * cats.length)] as string;
  return {
    id: `e${t}`,
    t,
    y: TYPES[Math.floor(r() * TYPES.length)] as number,
    it: '',
    c: top === '' ? [] : [top, 'Sub'],
    b: '',
    p: r() < 0.2 ? 0 : Math.round(r() * 50_000) / 100,
    q: '',
    d: '',
    w: 0,
    n: 1,
    r: 0,
    h: 0,
    rb: 0,
    rt: 0,
    rc: 0,
    bot: 0,
    a: -1,
    s: 0,
    en: 0,
    sh: 0,
    m: 0,
  };
}

/** Random users: bursts of windows in few categories, long pauses (decay to deletion), odd names. */
function* windows(seed: number, cats: readonly string[]): Generator<Ev[]> {
  const r = rng(seed);
  let t = 0;
  for (let w = 0; w < 300; w++) {
    const focus = cats.filter(() => r() < 0.3);
    const pool = focus.length > 0 && r() < 0.8 ? focus : cats;
    const n = Math.floor(r() * 14);
    const events: Ev[] = [];
    for (let i = 0; i < n; i++) {
      t += 60_000;
      events.push(ev(r, t, pool));
    }
    if (r() < 0.05) for (let k = 0; k < 60; k++) yield []; // a long pause: categories decay away
    yield events;
  }
}

const PLAIN = ['Sports', 'Home', 'Tech', 'Baby', 'Books', 'Garden', ''];
const ODD = ['Sports', '2024', '7', 'toString', 'constructor', '__proto__', 'Home', ''];

describe('history', () => {
  for (const [name, cats] of [
    ['plain categories', PLAIN],
    ['array-index and prototype names', ODD],
  ] as const) {
    it(`updates exactly like adding one per event, then summing in key order (${name})`, () => {
      for (let seed = 1; seed <= 20; seed++) {
        const fast = emptyHistory();
        const ref = emptyHistory();
        for (const events of windows(seed, cats)) {
          updateHistory(fast, events);
          referenceUpdate(ref, events);
          expect(Object.keys(fast.cats)).toEqual(Object.keys(ref.cats));
          expect(Object.is(fast.tot, ref.tot) || (Number.isNaN(fast.tot) && Number.isNaN(ref.tot))).toBe(true);
          expect(JSON.stringify(fast)).toBe(JSON.stringify(ref));
        }
      }
    });
  }

  it('detects the same notable events as the per-window sets and map', () => {
    const prices = new PriceBook();
    const r = rng(3);
    for (let i = 0; i < 400; i++) prices.add([PLAIN[i % 6] as string, 'Sub'], 5 + r() * 100, 0);
    for (let seed = 1; seed <= 20; seed++) {
      const h = emptyHistory();
      for (const events of windows(seed, PLAIN)) {
        const startMs = (events[0]?.t ?? 0) + 86_400_000;
        expect(detectNotable(events, h, prices, startMs)).toEqual(referenceNotable(events, h, prices, startMs));
        updateHistory(h, events);
      }
    }
  });
});
