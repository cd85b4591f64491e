import { EventType, itemCode } from '@personastream/contracts';
import type { Ev } from './types.js';

/**
 * Engagement weight of an event with an item, by type: what the user did with the item says how
 * much of their taste it shows (a purchase more than a glance). 0: not engagement with an item.
 */
const WEIGHT = new Uint8Array(16);
WEIGHT[EventType.PURCHASE] = 4;
WEIGHT[EventType.ADD_TO_CART] = 3;
WEIGHT[EventType.FAVORITE] = 2;
WEIGHT[EventType.RATE] = 2;
WEIGHT[EventType.REVIEW] = 2;
WEIGHT[EventType.SHARE] = 2;
WEIGHT[EventType.ITEM_VIEW] = 1;
WEIGHT[EventType.CLICK] = 1;

/** Codes of item ids already hashed (item ids repeat across a user's events and across users). */
const codeCache = new Map<string, number>();
const CODE_CACHE_MAX = 100_000;

function codeOf(id: string): number {
  let c = codeCache.get(id);
  if (c === undefined) {
    c = itemCode(id);
    if (codeCache.size >= CODE_CACHE_MAX) codeCache.clear();
    codeCache.set(id, c);
  }
  return c;
}

/**
 * The window's item codes (`SemantizedWindow.items`): the `max` most engaged items, distinct by code,
 * by summed engagement weight, ties by first engagement; events without an item id count for nothing.
 */
export function topItemCodes(events: readonly Ev[], max: number): number[] {
  if (max <= 0) return [];
  // code → [weight, first index]; windows have tens of events, a Map is fine.
  const seen = new Map<number, { w: number; first: number }>();
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as Ev;
    const w = WEIGHT[e.y] ?? 0;
    if (w === 0 || e.it === '') continue;
    const code = codeOf(e.it);
    const s = seen.get(code);
    if (s === undefined) seen.set(code, { w, first: i });
    else s.w += w;
  }
  if (seen.size === 0) return [];
  const ranked = [...seen.entries()].sort((a, b) => b[1].w - a[1].w || a[1].first - b[1].first);
  return ranked.slice(0, max).map(([code]) => code);
}
