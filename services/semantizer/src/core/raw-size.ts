import type { BehaviorEvent, EventContext, Item } from '@personastream/contracts';
import { dbl, enumName, intDigits, isZero, propertiesJson, str } from './canonical-json.js';
import type { TokenCounter } from './tokens.js';

/**
 * Raw size of an event — UTF-8 bytes and tokens of its canonical JSON line plus `\n`
 * (`canonicalEventJson(e) + '\n'`, see the README's "Compression") — without building the line.
 *
 * The line is cut into *parts*, one per JSON field, each running from the first letter of its key
 * to the first letter of the next key:
 *
 *   {" | eventId":"c0f2…","  | tenant":"demo"," | … | item":{" | id":"sku-1"," | … | title":"…"},"  | … | receivedTimeMs":1772…}\n
 *
 * Every key is ASCII letters preceded by `{"` or `,"` (two ASCII punctuation characters), which is
 * always a piece boundary of the tokenizers' pre-tokenizer regex (the rule `TokenCounter.line`
 * relies on), so the line's token count is the sum of its parts' counts; bytes add up trivially.
 * A part depends only on its field, its value and the *glue* that follows the value up to the next
 * key (`,"` · `},"` · `}\n` · `}}\n`), so:
 *  - parts of repeated values (tenant, user, run, event type, query) are counted once and cached per
 *    (field, glue, value), and the previous value of each (field, glue) is compared first;
 *  - a whole `item` or `context` object is cached as one group, keyed by its item id / session id
 *    and checked field by field (one lookup instead of one per field);
 *  - non-negative integers (times, dwell) need no lookup: digits are cut from `":` and from the glue
 *    on both sides, and 1–3 digits are one token, so they cost ceil(digits / 3) tokens;
 *  - event ids are unique: counted directly, without the key and quotes around them.
 * `raw-size.test.ts` compares with the tokenizer over whole lines.
 */
export class RawSizer {
  /** Results of the last `measure` call. */
  bytes = 0;
  tokens = 0;
  /** Per (field, glue): value → [bytes, tokens] of the part; and the value last looked up with its part. */
  private readonly caches: Map<unknown, readonly [number, number]>[] = [];
  private readonly lastValue: unknown[] = new Array<unknown>(KEYS.length * GLUE.length).fill(NONE);
  private readonly lastPart: (readonly [number, number])[] = [];
  /** Objects by (item 0 | context 1) × (followed by a field 0 | last 1): key → group; and the last group used. */
  private readonly groups: Map<string, Group>[] = [new Map(), new Map(), new Map(), new Map()];
  private readonly lastGroup: (Group | undefined)[] = [];
  /** Parts of `properties` entries, by glue, key and value. */
  private readonly propertyParts: Map<string, Map<string, readonly [number, number]>>[] = GLUE.map(() => new Map());
  private readonly keyTokens: number[];
  private readonly openTokens: number[];
  private readonly glueTokens: number[];
  private readonly quoteGlueTokens: number[];
  private readonly eventIdKeyTokens: number;
  private readonly startTokens: number;
  private readonly emptyLineTokens: number;

  constructor(
    private readonly counter: TokenCounter | undefined,
    private readonly maxCache = 20_000,
  ) {
    const count = (s: string) => (counter ? counter.line(s) : 0);
    this.keyTokens = KEYS.map((k) => count(`${k}":`));
    this.openTokens = KEYS.map((k) => count(`${k}":{"`));
    this.glueTokens = GLUE.map(count);
    this.quoteGlueTokens = GLUE.map((g) => count(`"${g}`));
    this.eventIdKeyTokens = count(`${KEYS[EVENT_ID]}":"`);
    this.startTokens = count('{"');
    this.emptyLineTokens = count('{}\n');
    for (let i = 0; i < KEYS.length * GLUE.length; i++) this.caches.push(new Map());
  }

  /**
   * Measures one event; the results are in `bytes` and `tokens`. `path`: the event's category path
   * when the caller has interned it (the same array for the same path, never mutated), so that the
   * item can be cached with it by identity.
   */
  measure(e: BehaviorEvent, path?: readonly string[]): void {
    // Which top-level fields are present (bit = slot): the last one is followed by `}\n`, the
    // others by `,"`.
    let top = 0;
    if (e.eventId !== '') top |= 1 << EVENT_ID;
    if (e.tenant !== '') top |= 1 << TENANT;
    if (e.userId !== '') top |= 1 << USER_ID;
    if (!isZero(e.eventTimeMs)) top |= 1 << EVENT_TIME;
    if (e.type !== 0) top |= 1 << TYPE;
    if (e.item !== undefined) top |= 1 << ITEM;
    if (e.query !== '') top |= 1 << QUERY;
    if (e.context !== undefined) top |= 1 << CONTEXT;
    if (hasEntries(e.properties)) top |= 1 << PROPERTIES;
    if (!isZero(e.dwellMs)) top |= 1 << DWELL;
    if (e.rating !== 0) top |= 1 << RATING;
    if (e.quantity !== 0) top |= 1 << QUANTITY;
    if (e.runId !== '') top |= 1 << RUN_ID;
    if (!isZero(e.receivedTimeMs)) top |= 1 << RECEIVED;
    if (top === 0) {
      this.bytes = 3; // `{}\n`
      this.tokens = this.emptyLineTokens;
      return;
    }
    const last = 31 - Math.clz32(top);
    this.bytes = 2; // `{"`
    this.tokens = this.startTokens;
    if (top & (1 << EVENT_ID)) this.eventId(e.eventId, topGlue(EVENT_ID, last));
    if (top & (1 << TENANT)) this.part(TENANT, topGlue(TENANT, last), e.tenant);
    if (top & (1 << USER_ID)) this.part(USER_ID, topGlue(USER_ID, last), e.userId);
    if (top & (1 << EVENT_TIME)) this.number(EVENT_TIME, topGlue(EVENT_TIME, last), e.eventTimeMs);
    if (top & (1 << TYPE)) this.part(TYPE, topGlue(TYPE, last), e.type);
    if (e.item !== undefined) this.item(e.item, path, last === ITEM);
    if (top & (1 << QUERY)) this.part(QUERY, topGlue(QUERY, last), e.query);
    if (e.context !== undefined) this.context(e.context, last === CONTEXT);
    if (top & (1 << PROPERTIES)) this.properties(e.properties, topGlue(PROPERTIES, last));
    if (top & (1 << DWELL)) this.number(DWELL, topGlue(DWELL, last), e.dwellMs);
    if (top & (1 << RATING)) this.part(RATING, topGlue(RATING, last), e.rating);
    if (top & (1 << QUANTITY)) this.part(QUANTITY, topGlue(QUANTITY, last), e.quantity);
    if (top & (1 << RUN_ID)) this.part(RUN_ID, topGlue(RUN_ID, last), e.runId);
    if (top & (1 << RECEIVED)) this.number(RECEIVED, topGlue(RECEIVED, last), e.receivedTimeMs);
  }

  /**
   * The `properties` map. When every key starts with an ASCII letter (then it is preceded by `{"`
   * or `,"`: a cut), one part per entry — `key":"value",` — cached by key and value; else the
   * whole JSON object as one part.
   */
  private properties(props: { [key: string]: string }, glue: number): void {
    let n = 0;
    for (const k in props) {
      if (k === '__proto__' || !isAsciiLetter(k.charCodeAt(0))) {
        this.part(PROPERTIES, glue, propertiesJson(props));
        return;
      }
      n++;
    }
    this.bytes += (KEYS[PROPERTIES] as string).length + 4; // `properties":{"`
    this.tokens += this.openTokens[PROPERTIES] as number;
    const close = glue === END ? CLOSE_END : CLOSE_COMMA;
    let i = 0;
    // Same order as the JSON: protobuf-es copies the map into a fresh object, which orders its keys
    // as this object does (integer-like keys first — none here, they start with a letter).
    for (const k in props) {
      i++;
      this.add(this.propertyPart(k, props[k] as string, i === n ? close : COMMA));
    }
  }

  private propertyPart(key: string, value: string, glue: number): readonly [number, number] {
    const byGlue = this.propertyParts[glue] as Map<string, Map<string, readonly [number, number]>>;
    let byValue = byGlue.get(key);
    if (byValue === undefined) {
      if (byGlue.size >= this.maxCache) byGlue.clear();
      byValue = new Map();
      byGlue.set(key, byValue);
    }
    let r = byValue.get(value);
    if (r === undefined) {
      const part = `${str(key).slice(1)}:${str(value)}${GLUE[glue]}`; // from the key's first letter
      r = [Buffer.byteLength(part, 'utf8'), this.counter ? this.counter.line(part) : 0];
      if (byValue.size >= this.maxCache) byValue.clear();
      byValue.set(value, r);
    }
    return r;
  }

  /** The `item` object: one group per distinct item (by id, every field checked). */
  private item(it: Item, path: readonly string[] | undefined, isLast: boolean): void {
    const hasPath = it.categoryPath.length > 0;
    if (hasPath && path === undefined) {
      // Not interned: the path cannot be compared by identity, so no group cache.
      this.itemParts(it, undefined, isLast);
      return;
    }
    const p = hasPath ? path : undefined;
    const k = isLast ? 1 : 0;
    let entry = this.lastGroup[k];
    if (entry === undefined || !sameItem(entry, it, p)) {
      const cache = this.groups[k] as Map<string, Group>;
      entry = cache.get(it.id);
      if (entry === undefined || !sameItem(entry, it, p)) {
        entry = this.measureGroup(
          () => this.itemParts(it, p, isLast),
          [it.id, p, it.brand, it.price, it.currency, it.title],
        );
        if (cache.size >= this.maxCache) cache.clear();
        cache.set(it.id, entry);
      }
      this.lastGroup[k] = entry;
    }
    this.bytes += entry.bytes;
    this.tokens += entry.tokens;
  }

  /** The `context` object: one group per distinct context (by session id, every field checked). */
  private context(c: EventContext, isLast: boolean): void {
    const k = 2 + (isLast ? 1 : 0);
    let entry = this.lastGroup[k];
    if (entry === undefined || !sameContext(entry, c)) {
      const cache = this.groups[k] as Map<string, Group>;
      entry = cache.get(c.sessionId);
      if (entry === undefined || !sameContext(entry, c)) {
        entry = this.measureGroup(
          () => this.contextParts(c, isLast),
          [c.device, c.sessionId, c.channel, c.userAgent, c.locale],
        );
        if (cache.size >= this.maxCache) cache.clear();
        cache.set(c.sessionId, entry);
      }
      this.lastGroup[k] = entry;
    }
    this.bytes += entry.bytes;
    this.tokens += entry.tokens;
  }

  /** Runs `parts` on zeroed totals and returns what they added, as a group with `values`. */
  private measureGroup(parts: () => void, values: unknown[]): Group {
    const bytes = this.bytes;
    const tokens = this.tokens;
    this.bytes = 0;
    this.tokens = 0;
    parts();
    const entry: Group = { values, bytes: this.bytes, tokens: this.tokens };
    this.bytes = bytes;
    this.tokens = tokens;
    return entry;
  }

  private itemParts(it: Item, path: readonly string[] | undefined, isLast: boolean): void {
    let m = 0;
    if (it.id !== '') m |= 1 << 0;
    if (it.categoryPath.length > 0) m |= 1 << 1;
    if (it.brand !== '') m |= 1 << 2;
    if (!isZero(it.price)) m |= 1 << 3;
    if (it.currency !== '') m |= 1 << 4;
    if (it.title !== '') m |= 1 << 5;
    if (!this.open(ITEM, m, isLast)) return;
    const lastBit = 31 - Math.clz32(m);
    const close = isLast ? CLOSE_END : CLOSE_COMMA;
    if (m & (1 << 0)) this.part(ITEM_ID, 0 === lastBit ? close : COMMA, it.id);
    if (m & (1 << 1)) {
      if (path !== undefined) this.part(PATH, 1 === lastBit ? close : COMMA, path);
      else this.add(this.measurePart(PATH, 1 === lastBit ? close : COMMA, it.categoryPath));
    }
    if (m & (1 << 2)) this.part(BRAND, 2 === lastBit ? close : COMMA, it.brand);
    if (m & (1 << 3)) this.number(PRICE, 3 === lastBit ? close : COMMA, it.price);
    if (m & (1 << 4)) this.part(CURRENCY, 4 === lastBit ? close : COMMA, it.currency);
    if (m & (1 << 5)) this.part(TITLE, 5 === lastBit ? close : COMMA, it.title);
  }

  private contextParts(c: EventContext, isLast: boolean): void {
    let m = 0;
    if (c.device !== '') m |= 1 << 0;
    if (c.sessionId !== '') m |= 1 << 1;
    if (c.channel !== '') m |= 1 << 2;
    if (c.userAgent !== '') m |= 1 << 3;
    if (c.locale !== '') m |= 1 << 4;
    if (!this.open(CONTEXT, m, isLast)) return;
    const lastBit = 31 - Math.clz32(m);
    const close = isLast ? CLOSE_END : CLOSE_COMMA;
    if (m & (1 << 0)) this.part(DEVICE, 0 === lastBit ? close : COMMA, c.device);
    if (m & (1 << 1)) this.part(SESSION_ID, 1 === lastBit ? close : COMMA, c.sessionId);
    if (m & (1 << 2)) this.part(CHANNEL, 2 === lastBit ? close : COMMA, c.channel);
    if (m & (1 << 3)) this.part(USER_AGENT, 3 === lastBit ? close : COMMA, c.userAgent);
    if (m & (1 << 4)) this.part(LOCALE, 4 === lastBit ? close : COMMA, c.locale);
  }

  /**
   * The opening part of a nested object: `key":{"` when it has fields (true: measure them next),
   * else the whole `key":{}` plus the top-level glue.
   */
  private open(slot: number, fields: number, isLast: boolean): boolean {
    if (fields !== 0) {
      this.bytes += (KEYS[slot] as string).length + 4;
      this.tokens += this.openTokens[slot] as number;
      return true;
    }
    this.part(slot, isLast ? END : COMMA, EMPTY);
    return false;
  }

  /** `eventId":"` | id | `","`: unique per event, so not cached. */
  private eventId(id: string, glue: number): void {
    if (!isPlainToken(id)) {
      this.add(this.measurePart(EVENT_ID, glue, id));
      return;
    }
    // The id starts and ends with an ASCII letter or digit, so both of its ends are piece
    // boundaries: it is counted alone, without building the part.
    this.bytes += (KEYS[EVENT_ID] as string).length + 4 + id.length + (GLUE[glue] as string).length;
    if (this.counter) {
      this.tokens += this.eventIdKeyTokens + this.counter.line(id) + (this.quoteGlueTokens[glue] as number);
    }
  }

  /** A double field: non-negative integers directly (`key":` | digits | glue), others cached. */
  private number(slot: number, glue: number, v: number): void {
    if (v >= 0 && v < 1e15 && Number.isInteger(v)) {
      const d = intDigits(v);
      this.bytes += (KEYS[slot] as string).length + 2 + d + (GLUE[glue] as string).length;
      if (this.counter) {
        this.tokens += (this.keyTokens[slot] as number) + Math.ceil(d / 3) + (this.glueTokens[glue] as number);
      }
      return;
    }
    this.part(slot, glue, v);
  }

  /** Adds a part through the cache of its (field, glue). */
  private part(slot: number, glue: number, v: unknown): void {
    const k = slot * GLUE.length + glue;
    if (this.lastValue[k] === v) {
      this.add(this.lastPart[k] as readonly [number, number]);
      return;
    }
    const cache = this.caches[k] as Map<unknown, readonly [number, number]>;
    let r = cache.get(v);
    if (r === undefined) {
      r = this.measurePart(slot, glue, v);
      if (cache.size >= this.maxCache) cache.clear();
      cache.set(v, r);
    }
    this.lastValue[k] = v;
    this.lastPart[k] = r;
    this.add(r);
  }

  private add(part: readonly [number, number]): void {
    this.bytes += part[0];
    this.tokens += part[1];
  }

  private measurePart(slot: number, glue: number, v: unknown): readonly [number, number] {
    const part = `${KEYS[slot]}":${valueJson(slot, v)}${GLUE[glue]}`;
    return [Buffer.byteLength(part, 'utf8'), this.counter ? this.counter.line(part) : 0];
  }
}

/** A cached `item` / `context` object: its field values (checked with ===) and the size of its parts. */
interface Group {
  values: unknown[];
  bytes: number;
  tokens: number;
}

function sameItem(g: Group, it: Item, path: readonly string[] | undefined): boolean {
  const v = g.values;
  return (
    v[0] === it.id &&
    v[1] === path &&
    v[2] === it.brand &&
    v[3] === it.price &&
    v[4] === it.currency &&
    v[5] === it.title
  );
}

function sameContext(g: Group, c: EventContext): boolean {
  const v = g.values;
  return v[0] === c.device && v[1] === c.sessionId && v[2] === c.channel && v[3] === c.userAgent && v[4] === c.locale;
}

/** JSON keys by slot: top-level fields in field-number order, then `item`'s and `context`'s. */
const KEYS = [
  'eventId',
  'tenant',
  'userId',
  'eventTimeMs',
  'type',
  'item',
  'query',
  'context',
  'properties',
  'dwellMs',
  'rating',
  'quantity',
  'runId',
  'receivedTimeMs',
  'id',
  'categoryPath',
  'brand',
  'price',
  'currency',
  'title',
  'device',
  'sessionId',
  'channel',
  'userAgent',
  'locale',
] as const;
const EVENT_ID = 0;
const TENANT = 1;
const USER_ID = 2;
const EVENT_TIME = 3;
const TYPE = 4;
const ITEM = 5;
const QUERY = 6;
const CONTEXT = 7;
const PROPERTIES = 8;
const DWELL = 9;
const RATING = 10;
const QUANTITY = 11;
const RUN_ID = 12;
const RECEIVED = 13;
const ITEM_ID = 14;
const PATH = 15;
const BRAND = 16;
const PRICE = 17;
const CURRENCY = 18;
const TITLE = 19;
const DEVICE = 20;
const SESSION_ID = 21;
const CHANNEL = 22;
const USER_AGENT = 23;
const LOCALE = 24;

/** What follows a value up to the next key: a sibling · leaving the object · end of line at depth 0 · at depth 1. */
const GLUE = [',"', '},"', '}\n', '}}\n'] as const;
const COMMA = 0;
const CLOSE_COMMA = 1;
const END = 2;
const CLOSE_END = 3;

/** Marker values: an empty nested object (`key":{}`); no previous value. */
const EMPTY = Symbol('empty');
const NONE = Symbol('none');

function valueJson(slot: number, v: unknown): string {
  if (v === EMPTY) return '{}';
  switch (slot) {
    case EVENT_TIME:
    case DWELL:
    case RECEIVED:
    case PRICE:
      return dbl(v as number);
    case TYPE:
      return enumName(v as number);
    case RATING:
    case QUANTITY:
      return String(v);
    case PROPERTIES:
      return v as string; // already JSON
    case PATH:
      return `[${(v as readonly string[]).map(str).join(',')}]`;
    default:
      return str(v as string);
  }
}

/** Glue after a top-level field: `}\n` after the last one, else `,"`. */
function topGlue(slot: number, last: number): number {
  return slot === last ? END : COMMA;
}

function hasEntries(o: { [key: string]: string }): boolean {
  for (const _ in o) return true;
  return false;
}

/** JSON-safe printable ASCII (written as is between quotes) that starts and ends with a letter or digit. */
function isPlainToken(v: string): boolean {
  const n = v.length;
  if (n === 0 || !isAlnum(v.charCodeAt(0)) || !isAlnum(v.charCodeAt(n - 1))) return false;
  for (let i = 1; i < n - 1; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
