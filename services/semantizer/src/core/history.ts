import { EventType, type NotableEvent } from '@personastream/contracts';
import { ENGAGED } from './mapping.js';
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

/** Notable events of a window, against the history and prices before it. Deterministic order. */
export function detectNotable(
  events: readonly Ev[],
  h: UserHistory,
  prices: PriceBook,
  startMs: number,
): NotableEvent[] {
  const out: NotableEvent[] = [];
  const firsts = new Set<string>();
  const bought = new Set(h.bought);
  for (const e of events) {
    if (e.y !== EventType.PURCHASE) continue;
    const cat = top(e);
    if (cat !== '' && !bought.has(cat) && !firsts.has(cat) && h.w >= MIN_WINDOWS_FOR_FIRST) {
      firsts.add(cat);
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
  // Category shift: the window is dominated by a category the user rarely engaged with before.
  const counts = new Map<string, number>();
  let total = 0;
  for (const e of events) {
    if (!ENGAGED.has(e.y)) continue;
    const cat = top(e);
    if (cat === '') continue;
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
  if (best !== '' && h.w >= SHIFT_MIN_WINDOWS && bestN >= SHIFT_MIN_EVENTS && bestN / total >= SHIFT_SHARE) {
    const past = (h.cats[best] ?? 0) / h.tot;
    if (past < SHIFT_MAX_PAST_SHARE) {
      let from = '';
      let fromN = 0;
      for (const [cat, n] of Object.entries(h.cats)) {
        if (n > fromN || (n === fromN && cat < from)) {
          from = cat;
          fromN = n;
        }
      }
      const first = events[0];
      out.push(
        notable({
          kind: 'category_shift',
          detail: from !== '' ? `${from}->${best}` : best,
          timeMs: first?.t ?? 0,
        }),
      );
    }
  }
  return out.slice(0, MAX_NOTABLE);
}

/** Folds a closed window into the history. */
export function updateHistory(h: UserHistory, events: readonly Ev[]): void {
  h.w++;
  for (const k of Object.keys(h.cats)) {
    const v = (h.cats[k] as number) * DECAY;
    if (v < 0.05) delete h.cats[k];
    else h.cats[k] = v;
  }
  h.tot *= DECAY;
  const bought = new Set(h.bought);
  for (const e of events) {
    const cat = top(e);
    if (cat !== '' && ENGAGED.has(e.y)) {
      h.cats[cat] = (h.cats[cat] ?? 0) + 1;
      h.tot++;
    }
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

function notable(n: { kind: string; detail: string; timeMs: number }): NotableEvent {
  return { $typeName: 'personastream.v1.NotableEvent', ...n };
}
