import { EventType, type NotableEvent } from '@personastream/contracts';
import { ENGAGED_TYPE } from './mapping.js';
import type { PriceBook } from './prices.js';
import type { Ev } from './types.js';

/**
 * The small per-user memory (per run) that notable-event detection compares a window against.
 * Serialized into checkpoints as it is.
 */
export interface UserHistory {
  /** Windows closed so far. */
  w: number;
  /** Decayed engagement per top-level category. */
  cats: Record<string, number>;
  /** Sum of `cats`. */
  tot: number;
  /** Top-level categories with at least one purchase. */
  bought: string[];
  /** Purchases so far and their mean log unit price. */
  pn: number;
  pm: number;
}

export function emptyHistory(): UserHistory {
  return { w: 0, cats: {}, tot: 0, bought: [], pn: 0, pm: 0 };
}

/** Decay of category engagement per closed window (long memory: a shift is against habits). */
const DECAY = 0.97;
/** Windows of history before "first purchase in a category" is notable (new users buy first everywhere). */
const MIN_WINDOWS_FOR_FIRST = 5;
/** A category shift: the window's top category has ≥ this share of its engagement… */
const SHIFT_SHARE = 0.6;
const SHIFT_MIN_EVENTS = 4;
/** …while its share of the user's (decayed) history is below this, with at least this many windows. */
const SHIFT_MAX_PAST_SHARE = 0.03;
const SHIFT_MIN_WINDOWS = 8;
/** Expensive: log-price z ≥ 2.5 in its category, or ≥ 3× the user's typical purchase (3+ purchases). */
const EXPENSIVE_Z = 2.5;
const EXPENSIVE_FACTOR = 3;
const MAX_NOTABLE = 4;

function top(e: Ev): string {
  return e.c[0] ?? '';
}

/**
 * Engaged events (`ENGAGED` types with a category) of a window per top-level category, categories in
 * order of first occurrence. Both notable-event detection and the history update need these counts;
 * `buildWindow` computes them once for both.
 */
export interface EngagedCounts {
  cats: string[];
  counts: number[];
  /** Sum of `counts`. */
  total: number;
}

export function engagedByTop(events: readonly Ev[]): EngagedCounts {
  const cats: string[] = [];
  const counts: number[] = [];
  let total = 0;
  let last = -1; // index of the previous engaged event's category: runs of one category are common
  for (const e of events) {
    if (ENGAGED_TYPE[e.y] !== 1) continue;
    const cat = top(e);
    if (cat === '') continue;
    if (last < 0 || cats[last] !== cat) {
      last = cats.indexOf(cat); // a window touches few top-level categories
      if (last < 0) {
        last = cats.length;
        cats.push(cat);
        counts.push(0);
      }
    }
    counts[last] = (counts[last] as number) + 1;
    total++;
  }
  return { cats, counts, total };
}

/**
 * Notable events of a window, against the history and prices before it. Deterministic order.
 * `engaged` must be `engagedByTop(events)` (passed in when the caller has it already).
 */
export function detectNotable(
  events: readonly Ev[],
  h: UserHistory,
  prices: PriceBook,
  startMs: number,
  engaged: EngagedCounts = engagedByTop(events),
): NotableEvent[] {
  const out: NotableEvent[] = [];
  let firsts: string[] | undefined;
  for (const e of events) {
    if (e.y !== EventType.PURCHASE) continue;
    const cat = top(e);
    // `bought` and `firsts` are short lists (top-level categories): a scan beats building sets.
    if (cat !== '' && h.w >= MIN_WINDOWS_FOR_FIRST && !h.bought.includes(cat) && !firsts?.includes(cat)) {
      firsts ??= [];
      firsts.push(cat);
      out.push(notable({ kind: 'first_purchase_in_category', detail: cat, timeMs: e.t }));
    }
    if (e.p > 0) {
      const z = prices.z(e.c, e.p, startMs);
      const typical = h.pn >= 3 ? Math.exp(h.pm) : 0;
      if (z >= EXPENSIVE_Z || (typical > 0 && e.p >= EXPENSIVE_FACTOR * typical)) {
        out.push(
          notable({
            kind: 'expensive_purchase',
            detail: `${e.c.slice(0, 2).join('>')} ${e.p.toFixed(2)}`,
            timeMs: e.t,
          }),
        );
      }
    }
  }
  const shift = categoryShift(events, h, engaged);
  if (shift !== undefined) out.push(shift);
  return out.length > MAX_NOTABLE ? out.slice(0, MAX_NOTABLE) : out;
}

/** Category shift: the window is dominated by a category the user rarely engaged with before. */
function categoryShift(events: readonly Ev[], h: UserHistory, engaged: EngagedCounts): NotableEvent | undefined {
  if (h.w < SHIFT_MIN_WINDOWS) return undefined;
  let best = '';
  let bestN = 0;
  for (let i = 0; i < engaged.cats.length; i++) {
    const cat = engaged.cats[i] as string;
    const n = engaged.counts[i] as number;
    if (n > bestN || (n === bestN && cat < best)) {
      best = cat;
      bestN = n;
    }
  }
  if (best === '' || bestN < SHIFT_MIN_EVENTS || bestN / engaged.total < SHIFT_SHARE) return undefined;
  const past = (h.cats[best] ?? 0) / h.tot;
  if (!(past < SHIFT_MAX_PAST_SHARE)) return undefined;
  let from = '';
  let fromN = 0;
  for (const [cat, n] of Object.entries(h.cats)) {
    if (n > fromN || (n === fromN && cat < from)) {
      from = cat;
      fromN = n;
    }
  }
  return notable({
    kind: 'category_shift',
    detail: from !== '' ? `${from}->${best}` : best,
    timeMs: events[0]?.t ?? 0,
  });
}

/**
 * Folds a closed window into the history: every category decays, each engaged event adds 1 to its
 * top-level category (`engaged` must be `engagedByTop(events)`: its counts are added one `+ 1` at a
 * time, categories in order of first occurrence — the float results and key order of adding per
 * event), and `tot` is the sum of the values.
 */
export function updateHistory(
  h: UserHistory,
  events: readonly Ev[],
  engaged: EngagedCounts = engagedByTop(events),
): void {
  h.w++;
  const cats = h.cats;
  for (const k of Object.keys(cats)) {
    const v = (cats[k] as number) * DECAY;
    if (v < 0.05) delete cats[k];
    else cats[k] = v;
  }
  for (let i = 0; i < engaged.cats.length; i++) {
    const cat = engaged.cats[i] as string;
    cats[cat] = plusOnes(cats[cat] ?? 0, engaged.counts[i] as number);
  }
  let tot = 0;
  for (const v of Object.values(cats)) tot += v;
  h.tot = tot;
  for (const e of events) {
    if (e.y !== EventType.PURCHASE) continue;
    const cat = top(e);
    if (cat !== '' && !h.bought.includes(cat)) h.bought.push(cat);
    if (e.p > 0) {
      h.pn++;
      h.pm += (Math.log(e.p) - h.pm) / h.pn;
    }
  }
}

/** `v + 1 + 1 + …` (`n` times), added one at a time: the float result of `n` separate increments. */
function plusOnes(v: number, n: number): number {
  let x = v;
  for (let k = 0; k < n; k++) x += 1;
  return x;
}

function notable(n: { kind: string; detail: string; timeMs: number }): NotableEvent {
  return { $typeName: 'personastream.v1.NotableEvent', ...n };
}
