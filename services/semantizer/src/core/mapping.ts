import { EventType } from '@personastream/contracts';

/** Short action names used in `ActionCount.action` and the text rendering. */
export const ACTION_NAMES: Readonly<Record<number, string>> = {
  [EventType.PAGE_VIEW]: 'page',
  [EventType.ITEM_VIEW]: 'view',
  [EventType.SEARCH]: 'search',
  [EventType.ADD_TO_CART]: 'cart',
  [EventType.REMOVE_FROM_CART]: 'uncart',
  [EventType.PURCHASE]: 'purchase',
  [EventType.RATE]: 'rate',
  [EventType.REVIEW]: 'review',
  [EventType.SHARE]: 'share',
  [EventType.CLICK]: 'click',
  [EventType.IDENTIFY]: 'identify',
  [EventType.CONSENT]: 'consent',
  [EventType.FAVORITE]: 'fav',
};

/** Order in which actions are rendered: funnel first, then engagement. */
export const ACTION_ORDER = [
  'purchase',
  'cart',
  'uncart',
  'view',
  'click',
  'page',
  'fav',
  'rate',
  'review',
  'share',
  'search',
  'identify',
  'consent',
];

/** Funnel depth of an event type: 1 search, 2 view, 3 cart, 4 purchase, 0 otherwise. */
export function funnelStep(type: number): number {
  switch (type) {
    case EventType.SEARCH:
      return 1;
    case EventType.ITEM_VIEW:
    case EventType.CLICK:
      return 2;
    case EventType.ADD_TO_CART:
      return 3;
    case EventType.PURCHASE:
      return 4;
    default:
      return 0;
  }
}

/** Category of an action count: the first `depth` levels of the path joined with " > " ('' when none). */
export function categoryKey(path: readonly string[], depth: number): string {
  if (path.length === 0) return '';
  if (path.length <= depth) return path.join(' > ');
  return path.slice(0, depth).join(' > ');
}

/** Category keys of paths, cached (paths repeat on nearly every event). */
export class PathCache {
  private readonly byLeaf = new Map<string, { path: string[]; depth: number; key: string }[]>();

  category(path: readonly string[], depth: number): string {
    const leaf = path[path.length - 1] ?? '';
    let list = this.byLeaf.get(leaf);
    if (list) {
      for (const x of list) {
        if (x.depth !== depth || x.path.length !== path.length) continue;
        let same = true;
        for (let i = 0; i < path.length; i++) if (x.path[i] !== path[i]) same = false;
        if (same) return x.key;
      }
    } else {
      if (this.byLeaf.size > 50_000) this.byLeaf.clear();
      list = [];
      this.byLeaf.set(leaf, list);
    }
    const key = categoryKey(path, depth);
    list.push({ path: [...path], depth, key });
    return key;
  }
}

/** Compact category for the text rendering ("Sports>Running"). */
export function compactCategory(key: string): string {
  return key.replaceAll(' > ', '>');
}

/** Types whose item price says something about the user's price level. */
export const PRICED = new Set<number>([
  EventType.ITEM_VIEW,
  EventType.ADD_TO_CART,
  EventType.PURCHASE,
  EventType.CLICK,
]);

/** Types that count as engagement with a category (history, shifts). */
export const ENGAGED = new Set<number>([
  EventType.ITEM_VIEW,
  EventType.CLICK,
  EventType.ADD_TO_CART,
  EventType.PURCHASE,
  EventType.FAVORITE,
  EventType.RATE,
  EventType.REVIEW,
  EventType.SHARE,
]);
