import type { SemantizedWindow } from '@personastream/contracts';
import { SIGNALS } from './mapping.js';

/** Version of the structured fields' meaning and of the text format below (2: behaviour signals). */
export const RENDER_VERSION = 2;

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
 * The legend of the text format, for LLM prompt templates (render version 2).
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
].join('\n');

/**
 * Compact text for LLM backends (render version 2), sections joined by "|", empty ones left out:
 *
 *   `2026-03-02 19-21h mobile|Sports: Running v5 c1 b1, Team Sports v2|paid 89.99|$mid6 high2|%s2 p1 c1|@Stridex, Aero|?trail shoes cheap|!first buy Sports`
 *
 * See `TEXT_LEGEND` and the README. Semantized bytes and tokens are measured on this text.
 */
export function renderText(w: SemantizedWindow): string {
  const parts: string[] = [];
  const startDay = Math.floor(w.startMs / 86_400_000);
  const days = Math.floor(w.endMs / 86_400_000) - startDay;
  const h0 = Math.floor(w.startMs / 3_600_000) % 24;
  const h1 = Math.floor(w.endMs / 3_600_000) % 24;
  let when = `${isoDate(startDay)} ${pad(h0)}`;
  when += h0 === h1 && days === 0 ? 'h' : `-${pad(h1)}h`;
  if (days > 0) when += `+${days}d`;
  const devices = Object.entries(w.devices);
  if (devices.length === 1) when += ` ${devices[0]?.[0]}`;
  else if (devices.length > 1) {
    devices.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    when += ` ${devices.map(([d, n]) => `${d} ${n}`).join(' ')}`;
  }
  parts.push(when);

  // Categories grouped by top level, in order of first appearance in `actions` (funnel-first, by count).
  const tops = new Map<string, Map<string, number[]>>();
  for (const a of w.actions) {
    if (a.category === '') continue;
    const [top, sub] = splitCategory(a.category);
    let subs = tops.get(top);
    if (!subs) {
      subs = new Map();
      tops.set(top, subs);
    }
    let counts = subs.get(sub);
    if (!counts) {
      counts = new Array<number>(CODE_ORDER.length).fill(0);
      subs.set(sub, counts);
    }
    const i = CODE_INDEX.get(a.action);
    if (i !== undefined) counts[i] = (counts[i] as number) + a.count;
  }
  let cats = '';
  for (const [top, subs] of tops) {
    if (cats !== '') cats += '; ';
    cats += `${top}: `;
    let first = true;
    for (const [sub, counts] of subs) {
      if (!first) cats += ', ';
      first = false;
      let c = '';
      for (let i = 0; i < counts.length; i++) {
        const n = counts[i] as number;
        if (n > 0) c += c === '' ? `${CODE_ORDER[i]}${n}` : ` ${CODE_ORDER[i]}${n}`;
      }
      cats += sub === '' ? c : `${sub} ${c}`;
    }
  }
  if (cats !== '') parts.push(cats);
  if (w.spend > 0) parts.push(`paid ${w.spend.toFixed(2)}`);
  let tiers = '';
  for (const t of ['low', 'mid', 'high']) {
    const n = w.priceTiers[t] ?? 0;
    if (n > 0) tiers += tiers === '' ? `$${t}${n}` : ` ${t}${n}`;
  }
  if (tiers !== '') parts.push(tiers);
  let signals = '';
  for (const sg of SIGNALS) {
    const n = w.signals[sg.name] ?? 0;
    if (n > 0) signals += signals === '' ? `%${sg.code}${n}` : ` ${sg.code}${n}`;
  }
  if (signals !== '') parts.push(signals);
  if (w.brands.length > 0) parts.push(`@${w.brands.join(', ')}`);
  if (w.intents.length > 0) parts.push(`?${w.intents.join(' ')}`);
  if (w.notable.length > 0) {
    parts.push(
      `!${w.notable
        .map((n) =>
          n.kind === 'first_purchase_in_category'
            ? `first buy ${n.detail}`
            : n.kind === 'expensive_purchase'
              ? `pricey ${n.detail}`
              : n.kind === 'category_shift'
                ? `shift ${n.detail}`
                : `${n.kind} ${n.detail}`,
        )
        .join('; ')}`,
    );
  }
  return parts.join('|');
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
