import type { MessageInitShape } from '@bufbuild/protobuf';
import { clone, create } from '@bufbuild/protobuf';
import {
  type BehaviorEvent,
  BehaviorEventSchema,
  EventContextSchema,
  EventType,
  ItemSchema,
  mulberry32,
} from '@personastream/contracts';

/**
 * A small, realistic behaviour-event generator for the semantizer's own tests and measurements
 * (the simulator service is the real source; this one only has to look like it): diurnal sessions,
 * search → view → cart → purchase funnels over a 3-level taxonomy with Zipf item popularity,
 * brands, log-normal prices, devices and user agents, plus noise — id re-deliveries, identical
 * payloads under new ids, bot bursts, crawler agents, accidental clicks, out-of-order events
 * within the lateness and late events beyond it. Deterministic per seed. Events come out in
 * arrival order (event time + delivery delay), as a stream would deliver them.
 */
export interface GeneratorOptions {
  users?: number;
  days?: number;
  seed?: number;
  tenant?: string;
  runId?: string;
  startMs?: number;
  /** Probability multiplier for all noise (0 = clean, ordered input). */
  noise?: number;
  /** Max delivery delay of out-of-order events, ms (default 5 min, within the 10 min lateness). */
  maxDisorderMs?: number;
  /** Share of events delivered beyond the lateness (default 0.005 × noise). */
  lateShare?: number;
}

/** Seeded PRNG of the test generators (mulberry32, shared from contracts). */
export const rng = mulberry32;

const TAXONOMY: Record<string, Record<string, string[]>> = {
  Sports: { Running: ['Shoes', 'Apparel', 'Watches'], 'Team Sports': ['Football', 'Basketball', 'Jerseys'] },
  Fitness: { Equipment: ['Dumbbells', 'Yoga Mats', 'Bands'], Nutrition: ['Protein', 'Vitamins', 'Bars'] },
  Electronics: { Audio: ['Headphones', 'Speakers', 'Earbuds'], Computers: ['Laptops', 'Monitors', 'Keyboards'] },
  Gaming: { Consoles: ['Handheld', 'Home', 'Controllers'], Games: ['Action', 'Strategy', 'Puzzle'] },
  Fashion: { Women: ['Dresses', 'Tops', 'Shoes'], Men: ['Shirts', 'Jackets', 'Shoes'] },
  Beauty: { Skincare: ['Serums', 'Moisturizers', 'Cleansers'], Makeup: ['Lipstick', 'Foundation', 'Mascara'] },
  Home: { Furniture: ['Sofas', 'Desks', 'Shelves'], Decor: ['Lamps', 'Rugs', 'Frames'] },
  Kitchen: { Cookware: ['Pans', 'Pots', 'Knives'], Appliances: ['Blenders', 'Coffee Makers', 'Toasters'] },
  Books: { Fiction: ['Thrillers', 'Fantasy', 'Romance'], Nonfiction: ['Biography', 'Science', 'History'] },
  Baby: { Nursery: ['Cribs', 'Monitors', 'Bedding'], Feeding: ['Bottles', 'High Chairs', 'Bibs'] },
  Pets: { Dogs: ['Food', 'Toys', 'Beds'], Cats: ['Food', 'Litter', 'Toys'] },
  Outdoors: { Camping: ['Tents', 'Sleeping Bags', 'Stoves'], Hiking: ['Backpacks', 'Boots', 'Poles'] },
  Travel: { Luggage: ['Suitcases', 'Carry-ons', 'Organizers'], Accessories: ['Adapters', 'Pillows', 'Locks'] },
  Automotive: { Parts: ['Brakes', 'Filters', 'Batteries'], Care: ['Wax', 'Cleaners', 'Mats'] },
};

const BRAND_SYLLABLES = ['stri', 'dex', 'aero', 'nova', 'lum', 'ver', 'kor', 'zen', 'trek', 'pax', 'ora', 'vent'];
const DEVICES = ['mobile', 'desktop', 'tablet'];
const UAS: Record<string, string> = {
  mobile:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  desktop:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  tablet:
    'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
};
const CRAWLER = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

interface Item {
  id: string;
  path: string[];
  brand: string;
  price: number;
  title: string;
}

function catalogue(r: () => number, size: number): { items: Item[]; byTop: Map<string, Item[]> } {
  const leaves: string[][] = [];
  for (const [top, subs] of Object.entries(TAXONOMY)) {
    for (const [sub, ls] of Object.entries(subs)) for (const l of ls) leaves.push([top, sub, l]);
  }
  const brandsByTop = new Map<string, string[]>();
  for (const top of Object.keys(TAXONOMY)) {
    const bs: string[] = [];
    for (let i = 0; i < 4; i++) {
      const a = BRAND_SYLLABLES[Math.floor(r() * BRAND_SYLLABLES.length)] as string;
      const b = BRAND_SYLLABLES[Math.floor(r() * BRAND_SYLLABLES.length)] as string;
      bs.push(`${a[0]?.toUpperCase()}${a.slice(1)}${b}`);
    }
    brandsByTop.set(top, bs);
  }
  const leafPrice = leaves.map(() => 8 * Math.exp(r() * 4));
  const items: Item[] = [];
  const byTop = new Map<string, Item[]>();
  for (let i = 0; i < size; i++) {
    const li = Math.floor(r() * leaves.length);
    const path = leaves[li] as string[];
    const top = path[0] as string;
    const brand = (brandsByTop.get(top) as string[])[Math.floor(r() * 4)] as string;
    const price = Math.round((leafPrice[li] as number) * Math.exp((r() - 0.5) * 1.4) * 100) / 100;
    const item = {
      id: `sku-${(100000 + i).toString()}`,
      path,
      brand,
      price,
      title: `${brand} ${path[2]} ${['Pro', 'Lite', 'Max', 'Classic', 'Air', 'Plus'][i % 6]} ${(i % 9) + 1}`,
    };
    items.push(item);
    const list = byTop.get(top) ?? [];
    list.push(item);
    byTop.set(top, list);
  }
  return { items, byTop };
}

function zipfPick<T>(r: () => number, list: readonly T[]): T {
  // P(i) ∝ 1/(i+1): inverse CDF approximation via exp.
  const n = list.length;
  const i = Math.min(n - 1, Math.floor(Math.exp(r() * Math.log(n + 1)) - 1));
  return list[i] as T;
}

function hex(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

function uuid(r: () => number): string {
  return `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;
}

const TYPO = (r: () => number, w: string): string => {
  if (w.length < 5) return w;
  const i = 1 + Math.floor(r() * (w.length - 2));
  return w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2);
};

export function generateEvents(options: GeneratorOptions = {}): BehaviorEvent[] {
  const {
    users = 20,
    days = 14,
    seed = 1,
    tenant = 'demo',
    runId = `run-${seed}`,
    startMs = Date.UTC(2026, 2, 1),
    noise = 1,
    maxDisorderMs = 5 * 60_000,
  } = options;
  const lateShare = options.lateShare ?? 0.005 * noise;
  const r = rng(seed);
  const { byTop } = catalogue(r, 1500);
  const tops = [...byTop.keys()];
  const out: { arrival: number; seq: number; event: BehaviorEvent }[] = [];
  let seq = 0;
  const push = (event: BehaviorEvent, delay: number) => {
    event.receivedTimeMs = Math.round(event.eventTimeMs + delay);
    out.push({ arrival: event.eventTimeMs + delay, seq: seq++, event });
  };
  for (let u = 0; u < users; u++) {
    const userId = `u-${seed}-${(u + 1).toString().padStart(5, '0')}`;
    const interests = [0, 1, 2].map(() => tops[Math.floor(r() * tops.length)] as string);
    const device = DEVICES[Math.floor(r() * 3)] as string;
    const peakHour = Math.floor(r() * 24);
    const sessionsPerDay = 0.3 + r() * 2.5;
    const budget = Math.exp((r() - 0.5) * 1.2);
    for (let d = 0; d < days; d++) {
      const k = Math.floor(sessionsPerDay + r());
      for (let s = 0; s < k; s++) {
        const dev = r() < 0.8 ? device : (DEVICES[Math.floor(r() * 3)] as string);
        const hour = (peakHour + Math.round((r() - 0.5) * 6) + 24) % 24;
        let t = startMs + d * 86_400_000 + hour * 3_600_000 + Math.floor(r() * 3_600_000);
        const sessionId = `sess-${hex(r, 12)}`;
        const top =
          r() < 0.85 ? (interests[Math.floor(r() * 3)] as string) : (tops[Math.floor(r() * tops.length)] as string);
        const pool = byTop.get(top) as Item[];
        const len = 3 + Math.floor(-Math.log(1 - r()) * 12);
        const base = (
          type: EventType,
          extra: Omit<MessageInitShape<typeof BehaviorEventSchema>, '$typeName'> = {},
        ): BehaviorEvent =>
          create(BehaviorEventSchema, {
            eventId: uuid(r),
            tenant,
            userId,
            eventTimeMs: t,
            type,
            context: create(EventContextSchema, {
              device: dev,
              sessionId,
              channel: dev === 'desktop' ? 'web' : 'app',
              userAgent: UAS[dev] as string,
              locale: 'en-US',
            }),
            runId,
            ...extra,
          });
        const emit = (e: BehaviorEvent) => {
          const roll = r();
          let delay = 50 + r() * 400;
          if (roll < lateShare) delay = 15 * 60_000 + r() * 45 * 60_000;
          else if (roll < lateShare + 0.05 * noise) delay = r() * maxDisorderMs;
          push(e, delay);
          if (r() < 0.02 * noise) push(clone(BehaviorEventSchema, e), delay + 1000 + r() * 20_000);
          if (r() < 0.01 * noise) {
            const dup = clone(BehaviorEventSchema, e);
            dup.eventId = uuid(r);
            dup.eventTimeMs = e.eventTimeMs + 300;
            push(dup, delay + 300);
          }
        };
        if (r() < 0.6) {
          const it = zipfPick(r, pool);
          let q = `${it.path[2]} ${r() < 0.5 ? it.brand : ''}`.toLowerCase().trim();
          if (r() < 0.15)
            q = q
              .split(' ')
              .map((w) => TYPO(r, w))
              .join(' ');
          if (r() < 0.3) q = `cheap ${q}`;
          emit(base(EventType.SEARCH, { query: q }));
          t += Math.round(5_000 + r() * 30_000);
        }
        let cart: Item | undefined;
        for (let i = 0; i < len; i++) {
          const it = zipfPick(r, pool);
          const item = create(ItemSchema, {
            id: it.id,
            categoryPath: it.path,
            brand: it.brand,
            price: it.price,
            currency: 'USD',
            title: it.title,
          });
          const accidental = r() < 0.03 * noise;
          const dwell = accidental ? 100 + r() * 600 : 4_000 + r() * 80_000;
          emit(base(EventType.ITEM_VIEW, { item, dwellMs: Math.round(dwell) }));
          t += Math.round(accidental ? 300 : dwell + 1_000 + r() * 20_000);
          if (!cart && r() < 0.08 && it.price < 300 * budget) {
            cart = it;
            emit(base(EventType.ADD_TO_CART, { item, quantity: 1 }));
            t += Math.round(3_000 + r() * 20_000);
          }
        }
        if (cart && r() < 0.45) {
          const item = create(ItemSchema, {
            id: cart.id,
            categoryPath: cart.path,
            brand: cart.brand,
            price: cart.price,
            currency: 'USD',
            title: cart.title,
          });
          emit(base(EventType.PURCHASE, { item, quantity: 1 }));
          t += 10_000;
          if (r() < 0.2) emit(base(EventType.RATE, { item, rating: 1 + Math.floor(r() * 5) }));
        }
        if (r() < 0.01 * noise) {
          // Bot burst on this user's id: many views within seconds.
          for (let b = 0; b < 25; b++) {
            const it = zipfPick(r, pool);
            t += 150 + Math.floor(r() * 250);
            emit(
              base(EventType.ITEM_VIEW, {
                item: create(ItemSchema, { id: it.id, categoryPath: it.path, price: it.price }),
              }),
            );
          }
        }
        if (r() < 0.005 * noise) {
          const it = zipfPick(r, pool);
          const e = base(EventType.PAGE_VIEW, { item: create(ItemSchema, { id: it.id, categoryPath: it.path }) });
          if (e.context) e.context.userAgent = CRAWLER;
          emit(e);
        }
      }
    }
  }
  out.sort((a, b) => a.arrival - b.arrival || a.seq - b.seq);
  return out.map((o) => o.event);
}
