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
  /**
   * Keys by path array, for `arrayDepth`: engines intern paths (`PathTable`), so one array comes
   * back for every event of a path and is never mutated — one lookup by identity instead of a
   * lookup by leaf and a compare of the levels.
   */
  private readonly byArray = new Map<readonly string[], string>();
  private arrayDepth = -1;

  category(path: readonly string[], depth: number): string {
    if (depth !== this.arrayDepth) {
      this.byArray.clear();
      this.arrayDepth = depth;
    }
    let key = this.byArray.get(path);
    if (key === undefined) {
      key = this.byContent(path, depth);
      if (this.byArray.size >= 50_000) this.byArray.clear();
      this.byArray.set(path, key);
    }
    return key;
  }

  private byContent(path: readonly string[], depth: number): string {
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

/** Event type numbers below this are looked up in the tables below (every type of the sets is one). */
const TYPE_TABLE = 64;

/**
 * `PRICED` and `ENGAGED` as tables by event type number: a typed-array read instead of a `Set`
 * lookup per event. `PRICED_TYPE[y] === 1` ⇔ `PRICED.has(y)` for every number y (a type outside the
 * table, or not an integer, reads `undefined`); unit-tested.
 */
export const PRICED_TYPE = typeTable(PRICED);
export const ENGAGED_TYPE = typeTable(ENGAGED);

function typeTable(types: ReadonlySet<number>): Uint8Array {
  const table = new Uint8Array(TYPE_TABLE);
  for (const y of types) {
    if (!(Number.isInteger(y) && y >= 0 && y < TYPE_TABLE)) throw new Error(`event type ${y} outside the type table`);
    table[y] = 1;
  }
  return table;
}

/**
 * Behaviour signals that event properties and item-less events carry (checkout choices, price
 * sorting, deals and campaign pages, account actions, sign-up and consent), as bits of `Ev.s`. Only
 * observed platform behaviour — how the user shopped — never a label. Counted per window in
 * `SemantizedWindow.signals` under the names below and rendered as one-letter codes (`render.ts`).
 */
export const SIGNALS = [
  { bit: 1 << 0, name: 'sale_view', code: 's' },
  { bit: 1 << 1, name: 'price_sort', code: 'p' },
  { bit: 1 << 2, name: 'deals_page', code: 'd' },
  { bit: 1 << 3, name: 'campaign', code: 'e' },
  { bit: 1 << 4, name: 'coupon', code: 'c' },
  { bit: 1 << 5, name: 'express', code: 'x' },
  { bit: 1 << 6, name: 'one_click', code: 'o' },
  { bit: 1 << 7, name: 'pay_later', code: 'l' },
  { bit: 1 << 8, name: 'gift_wrap', code: 'g' },
  { bit: 1 << 9, name: 'registry', code: 'r' },
  { bit: 1 << 10, name: 'new_address', code: 'a' },
  { bit: 1 << 11, name: 'signup', code: 'n' },
  { bit: 1 << 12, name: 'login', code: 'i' },
  { bit: 1 << 13, name: 'consent', code: 't' },
] as const;

export type SignalName = (typeof SIGNALS)[number]['name'];

const bit = (name: SignalName): number => (SIGNALS.find((s) => s.name === name) as { bit: number }).bit;
const B = {
  sale: bit('sale_view'),
  sort: bit('price_sort'),
  deals: bit('deals_page'),
  campaign: bit('campaign'),
  coupon: bit('coupon'),
  express: bit('express'),
  oneClick: bit('one_click'),
  payLater: bit('pay_later'),
  giftWrap: bit('gift_wrap'),
  registry: bit('registry'),
  address: bit('new_address'),
  signup: bit('signup'),
  login: bit('login'),
  consent: bit('consent'),
};

const PAY_LATER = /pay_?later|bnpl|klarna|afterpay|affirm|instal+ment/i;
const EXPRESS = /express|next_?day|same_?day|overnight|priority/i;
const TRUE = /^(true|yes|1)$/i;
const DENIED = /^(denied|false|no|0|revoked|withdrawn)$/i;

/**
 * Signal bits of one event from its type and properties (empty properties: only the type counts).
 * Property names follow common e-commerce tracking plans (Segment-style `coupon`, `payment`,
 * `shipping`, `sort`, `page`); values are matched loosely.
 */
export function signalBits(type: number, props: { readonly [key: string]: string }): number {
  switch (type) {
    case EventType.ITEM_VIEW: {
      const d = props.discount_pct;
      return d !== undefined && d !== '' && d !== '0' ? B.sale : 0;
    }
    case EventType.SEARCH: {
      const s = props.sort;
      return s !== undefined && /price.?(asc|low)|cheapest|lowest/i.test(s) ? B.sort : 0;
    }
    case EventType.PAGE_VIEW: {
      let b = 0;
      const page = props.page;
      if (page !== undefined) {
        if (/deal|sale|offer|clearance/i.test(page)) b |= B.deals;
        else if (/registry/i.test(page)) b |= B.registry;
      }
      if (props.campaign !== undefined && props.campaign !== '') b |= B.campaign;
      if (props.action !== undefined && /address/i.test(props.action)) b |= B.address;
      return b;
    }
    case EventType.PURCHASE: {
      let b = 0;
      if (props.coupon !== undefined && props.coupon !== '') b |= B.coupon;
      if (props.payment !== undefined && PAY_LATER.test(props.payment)) b |= B.payLater;
      if (props.shipping !== undefined && EXPRESS.test(props.shipping)) b |= B.express;
      if (props.checkout !== undefined && /one.?click|express/i.test(props.checkout)) b |= B.oneClick;
      if (props.gift_wrap !== undefined && TRUE.test(props.gift_wrap)) b |= B.giftWrap;
      return b;
    }
    case EventType.IDENTIFY:
      return props.method !== undefined && /sign.?up|register/i.test(props.method) ? B.signup : B.login;
    case EventType.CONSENT: {
      // A consent event grants unless every value it carries is a denial.
      let granted = false;
      let any = false;
      for (const k in props) {
        any = true;
        if (!DENIED.test(props[k] as string)) granted = true;
      }
      return granted || !any ? B.consent : 0;
    }
    default:
      return 0;
  }
}
