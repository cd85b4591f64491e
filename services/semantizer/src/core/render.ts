import { itemCodeText, type SemantizedWindow } from '@personastream/contracts';
import { SIGNALS } from './mapping.js';

/** Version of the structured fields' meaning and of the text format below (2: behaviour signals; 3: item codes). */
export const RENDER_VERSION = 3;

/** One-letter action codes of the text rendering. */
export const ACTION_CODES: Readonly<Record<string, string>> = {
  view: 'v',
  cart: 'c',
  purchase: 'b',
  uncart: 'u',
  fav: 'f',
  rate: 'r',
  review: 'w',
  share: 's',
  click: 'k',
  page: 'g',
  search: 'q',
  identify: 'i',
  consent: 'o',
};

/** Code order inside a category: funnel first, then engagement. */
const CODE_ORDER = ['b', 'c', 'u', 'v', 'k', 'g', 'f', 'r', 'w', 's', 'q', 'i', 'o'];

/**
 * The legend of the text format, for LLM prompt templates (render version 3).
 */
export const TEXT_LEGEND = [
  'Each line is one session window: sections separated by "|".',
  '1) UTC date, hour span ("+1d" when it ends a day later) and device(s) with counts when several.',
  '2) Categories: "Top: Sub <codes>, Sub <codes>; Top: …" — codes are counts per action: b bought, c added to cart,',
  '   u removed from cart, v viewed, k clicked, g page views, f favourited, r rated, w reviewed, s shared.',
  '3) "paid X": total spend on purchases.',
  '4) "$": price tiers of viewed/carted/bought items relative to their category: low, mid, high with counts.',
  '5) "@": most frequent brands. 6) "?": normalized search terms, most frequent first.',
  '7) "!": notable events: "first buy <category>", "pricey <category> <price>", "shift <from>-><to>".',
  '8) "%": behaviour signals with counts: s discounted item viewed, p search sorted cheapest first, d deals page,',
  '   e came from a marketing campaign, c coupon used, x express shipping, o one-click checkout, l paid later',
  '   (buy now pay later), g gift-wrapped, r gift registry page, a shipping address changed, n signed up,',
  '   i logged in, t consent to tracking granted.',
  '9) "#": codes of the most engaged items (two characters each, no separator), most engaged first: the same',
  '   code is the same item across windows (hashed item ids).',
].join('\n');

/**
 * Compact text for LLM backends (render version 2), sections joined by "|", empty ones left out:
 *
 *   `2026-03-02 19-21h mobile|Sports: Running v5 c1 b1, Team Sports v2|paid 89.99|$mid6 high2|%s2 p1 c1|@Stridex, Aero|?trail shoes cheap|#Kq0bA7|!first buy Sports`
 *
 * See `TEXT_LEGEND` and the README. Semantized bytes and tokens are measured on this text.
 */
export function renderText(w: SemantizedWindow): string {
  const parts = [whenText(w)];
  const cats = categoriesText(w.actions);
  if (cats !== '') parts.push(cats);
  if (w.spend > 0) parts.push(`paid ${w.spend.toFixed(2)}`);
  const tiers = tiersText(w.priceTiers);
  if (tiers !== '') parts.push(tiers);
  const signals = signalsText(w.signals);
  if (signals !== '') parts.push(signals);
  if (w.brands.length > 0) parts.push(`@${w.brands.join(', ')}`);
  if (w.intents.length > 0) parts.push(`?${w.intents.join(' ')}`);
  if (w.items.length > 0) parts.push(`#${itemsText(w.items)}`);
  if (w.notable.length > 0) parts.push(`!${w.notable.map(notableText).join('; ')}`);
  return parts.join('|');
}

/** Section 9: item codes, two characters each, concatenated. */
function itemsText(items: readonly number[]): string {
  let out = '';
  for (const c of items) out += itemCodeText(c);
  return out;
}

/** Section 1: UTC date, hour span, day overflow and device(s). */
function whenText(w: SemantizedWindow): string {
  const startDay = Math.floor(w.startMs / 86_400_000);
  const days = Math.floor(w.endMs / 86_400_000) - startDay;
  const h0 = Math.floor(w.startMs / 3_600_000) % 24;
  const h1 = Math.floor(w.endMs / 3_600_000) % 24;
  let when = `${isoDate(startDay)} ${pad(h0)}`;
  when += h0 === h1 && days === 0 ? 'h' : `-${pad(h1)}h`;
  if (days > 0) when += `+${days}d`;
  // Most windows have one device: its name, found without building the entries.
  let only: string | undefined;
  let several = false;
  for (const d in w.devices) {
    if (only === undefined) only = d;
    else {
      several = true;
      break;
    }
  }
  if (several) {
    const devices = Object.entries(w.devices);
    devices.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    when += ` ${devices.map(([d, n]) => `${d} ${n}`).join(' ')}`;
  } else if (only !== undefined) when += ` ${only}`;
  return when;
}

/**
 * Section 2: categories grouped by top level, in order of first appearance in `actions` (which is
 * funnel-first, by count), each sub-category with its codes in `CODE_ORDER`. A window has a handful
 * of categories: the groups are kept in short arrays (linear search) rather than maps.
 */
function categoriesText(actions: SemantizedWindow['actions']): string {
  const tops: string[] = [];
  const subs: { top: number; sub: string; counts: number[] }[] = [];
  for (const a of actions) {
    if (a.category === '') continue;
    const [top, sub] = splitCategory(a.category);
    let t = tops.indexOf(top);
    if (t < 0) {
      t = tops.length;
      tops.push(top);
    }
    let group: { top: number; sub: string; counts: number[] } | undefined;
    for (const g of subs) {
      if (g.top === t && g.sub === sub) {
        group = g;
        break;
      }
    }
    if (group === undefined) {
      group = { top: t, sub, counts: new Array<number>(CODE_ORDER.length).fill(0) };
      subs.push(group);
    }
    const i = CODE_INDEX.get(a.action);
    if (i !== undefined) group.counts[i] = (group.counts[i] as number) + a.count;
  }
  let cats = '';
  for (let t = 0; t < tops.length; t++) {
    if (cats !== '') cats += '; ';
    cats += `${tops[t]}: `;
    let first = true;
    for (const g of subs) {
      if (g.top !== t) continue;
      if (!first) cats += ', ';
      first = false;
      const c = codesText(g.counts);
      cats += g.sub === '' ? c : `${g.sub} ${c}`;
    }
  }
  return cats;
}

/** "b1 c1 v5": non-zero counts with their action codes, in `CODE_ORDER`. */
function codesText(counts: readonly number[]): string {
  let c = '';
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] as number;
    if (n > 0) c += c === '' ? `${CODE_ORDER[i]}${n}` : ` ${CODE_ORDER[i]}${n}`;
  }
  return c;
}

const TIER_NAMES = ['low', 'mid', 'high'];

/**
 * Section 4: "$mid6 high2". Reads the keys the object has (mostly one or two) rather than probing
 * for each tier name: lookups of absent keys on objects of many shapes are slow.
 */
function tiersText(priceTiers: { [key: string]: number }): string {
  let low = 0;
  let mid = 0;
  let high = 0;
  for (const k in priceTiers) {
    if (k === 'low') low = priceTiers[k] as number;
    else if (k === 'mid') mid = priceTiers[k] as number;
    else if (k === 'high') high = priceTiers[k] as number;
  }
  const counts = [low, mid, high];
  let tiers = '';
  for (let i = 0; i < 3; i++) {
    const n = counts[i] as number;
    if (n > 0) tiers += tiers === '' ? `$${TIER_NAMES[i]}${n}` : ` ${TIER_NAMES[i]}${n}`;
  }
  return tiers;
}

const SIGNAL_INDEX = new Map<string, number>(SIGNALS.map((sg, i) => [sg.name, i]));

/**
 * Section 8: "%s2 p1 c1", in `SIGNALS` order. Like `tiersText`, walks the keys present (none in
 * most windows) instead of looking up every signal name.
 */
function signalsText(signals: { [key: string]: number }): string {
  let counts: number[] | undefined;
  for (const k in signals) {
    const i = SIGNAL_INDEX.get(k);
    if (i === undefined) continue;
    counts ??= new Array<number>(SIGNALS.length).fill(0);
    counts[i] = signals[k] as number;
  }
  if (counts === undefined) return '';
  let text = '';
  for (let i = 0; i < SIGNALS.length; i++) {
    const n = counts[i] as number;
    if (n > 0) text += text === '' ? `%${SIGNALS[i]?.code}${n}` : ` ${SIGNALS[i]?.code}${n}`;
  }
  return text;
}

/** Section 7's entry of one notable event. */
function notableText(n: SemantizedWindow['notable'][number]): string {
  return n.kind === 'first_purchase_in_category'
    ? `first buy ${n.detail}`
    : n.kind === 'expensive_purchase'
      ? `pricey ${n.detail}`
      : n.kind === 'category_shift'
        ? `shift ${n.detail}`
        : `${n.kind} ${n.detail}`;
}

const CODE_INDEX = new Map(Object.entries(ACTION_CODES).map(([action, code]) => [action, CODE_ORDER.indexOf(code)]));

const splitCache = new Map<string, [string, string]>();

/** "Sports > Running > Shoes" → ["Sports", "Running>Shoes"] (cached). */
function splitCategory(category: string): [string, string] {
  let r = splitCache.get(category);
  if (!r) {
    const sep = category.indexOf(' > ');
    r = sep === -1 ? [category, ''] : [category.slice(0, sep), category.slice(sep + 3).replaceAll(' > ', '>')];
    if (splitCache.size > 50_000) splitCache.clear();
    splitCache.set(category, r);
  }
  return r;
}

const dateCache = new Map<number, string>();

/** `YYYY-MM-DD` of a UTC day number (cached). */
function isoDate(day: number): string {
  let s = dateCache.get(day);
  if (!s) {
    s = new Date(day * 86_400_000).toISOString().slice(0, 10);
    if (dateCache.size > 100_000) dateCache.clear();
    dateCache.set(day, s);
  }
  return s;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
