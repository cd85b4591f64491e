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
 *  - parts of repeated values (tenant, user, run, query) are counted once and cached per
 *    (field, glue, value), and the previous value of each (field, glue) is compared first; event
 *    types (small enum numbers) are read from a table;
 *  - an `item` object is cached as one *frame* — all its parts but the price, which changes on its
 *    own (discounts) — keyed by item id and checked field by field; the price is added as a number;
 *  - a `context` object likewise, all its parts but the session id (new in every session), keyed by
 *    user agent; the session id part is measured like an event id and kept while it repeats;
 *  - non-negative numbers (times, dwell, prices, quantity, rating) need no part: their JSON starts
 *    and ends with a digit, and a digit run between ASCII non-space characters is always cut on both
 *    sides, so such a part costs `key":` + the number + the glue, each counted alone: integers as
 *    ceil(digits / 3) (1–3 digits are one token), others through a table of number sizes;
 *  - event ids and session ids are unique: counted directly, without the key and quotes around them;
 *    event ids of the form prefix + digits (`sim-s1-u1000-u000001-42`) reuse the previous prefix's count.
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
  /** Item frames by (followed by a field 0 | last 1): item id → frame; and the last frame used. */
  private readonly itemFrames: Map<string, ItemFrame>[] = [new Map(), new Map()];
  private readonly lastItem: (ItemFrame | undefined)[] = [undefined, undefined];
  /** Context frames by (followed by a field 0 | last 1): user agent → frames; and the last frame used. */
  private readonly contextFrames: Map<string, ContextFrame[]>[] = [new Map(), new Map()];
  private readonly lastContext: (ContextFrame | undefined)[] = [undefined, undefined];
  /** The last session id part measured: id, glue (−1: none yet), bytes, tokens. */
  private sessionValue = '';
  private sessionGlue = -1;
  private sessionBytes = 0;
  private sessionTokens = 0;
  /**
   * The last event id of the form prefix + digits that was measured alone (see `eventId`): its
   * prefix, and the prefix's token count ('': none).
   */
  private idPrefix = '';
  private idPrefixTokens = 0;
  /** Parts of event types 0 ≤ type < `TYPE_TABLE` by type × glue: bytes (−1: not measured yet) and tokens. */
  private readonly typeBytes = new Int32Array(TYPE_TABLE * GLUE.length).fill(-1);
  private readonly typeTokens = new Int32Array(TYPE_TABLE * GLUE.length);
  /** JSON of positive numbers that are not small integers (prices…), by value: see `numberSlot`. */
  private readonly numberKeys = new Float64Array(NUMBER_SLOTS).fill(Number.NaN);
  private readonly numberBytes = new Int32Array(NUMBER_SLOTS);
  private readonly numberTokens = new Int32Array(NUMBER_SLOTS);
  /** Parts of `properties` entries, by glue, key and value. */
  private readonly propertyParts: Map<string, Map<string, readonly [number, number]>>[] = GLUE.map(() => new Map());
  /**
   * By entry position × glue (the first `MAX_ENTRY_SLOTS` positions): the key last seen there and
   * its cache of values (a cache of `propertyParts` replaced when that is cleared is still right).
   */
  private readonly entryKey: (string | undefined)[] = new Array(MAX_ENTRY_SLOTS * GLUE.length).fill(undefined);
  private readonly entryValues: (Map<string, readonly [number, number]> | undefined)[] = new Array(
    MAX_ENTRY_SLOTS * GLUE.length,
  ).fill(undefined);
  private readonly keyTokens: number[];
  private readonly quoteKeyTokens: number[];
  private readonly openTokens: number[];
  private readonly glueTokens: number[];
  private readonly quoteGlueTokens: number[];
  private readonly startTokens: number;
  private readonly emptyLineTokens: number;

  constructor(
    private readonly counter: TokenCounter | undefined,
    private readonly maxCache = 20_000,
  ) {
    const count = (s: string) => (counter ? counter.line(s) : 0);
    this.keyTokens = KEYS.map((k) => count(`${k}":`));
    this.quoteKeyTokens = KEYS.map((k) => count(`${k}":"`));
    this.openTokens = KEYS.map((k) => count(`${k}":{"`));
    this.glueTokens = GLUE.map(count);
    this.quoteGlueTokens = GLUE.map((g) => count(`"${g}`));
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
    if (top & (1 << TYPE)) this.type(topGlue(TYPE, last), e.type);
    if (e.item !== undefined) this.item(e.item, path, last === ITEM);
    if (top & (1 << QUERY)) this.part(QUERY, topGlue(QUERY, last), e.query);
    if (e.context !== undefined) this.context(e.context, last === CONTEXT);
    if (top & (1 << PROPERTIES)) this.properties(e.properties, topGlue(PROPERTIES, last));
    if (top & (1 << DWELL)) this.number(DWELL, topGlue(DWELL, last), e.dwellMs);
    if (top & (1 << RATING)) this.number(RATING, topGlue(RATING, last), e.rating);
    if (top & (1 << QUANTITY)) this.number(QUANTITY, topGlue(QUANTITY, last), e.quantity);
    if (top & (1 << RUN_ID)) this.part(RUN_ID, topGlue(RUN_ID, last), e.runId);
    if (top & (1 << RECEIVED)) this.number(RECEIVED, topGlue(RECEIVED, last), e.receivedTimeMs);
  }

  /**
   * The `properties` map. When every key starts with an ASCII letter (then it is preceded by `{"`
   * or `,"`: a cut), one part per entry — `key":"value",` — cached by key and value; else the
   * whole JSON object as one part. One pass: each entry is added when the next one shows it is not
   * the last (then its glue is `,"`). The map has entries (see `measure`).
   */
  private properties(props: { [key: string]: string }, glue: number): void {
    const bytes = this.bytes;
    const tokens = this.tokens;
    this.bytes += (KEYS[PROPERTIES] as string).length + 4; // `properties":{"`
    this.tokens += this.openTokens[PROPERTIES] as number;
    let i = 0;
    let key = '';
    // Same order as the JSON: protobuf-es copies the map into a fresh object, which orders its keys
    // as this object does (integer-like keys first — none here, they start with a letter).
    for (const k in props) {
      if (k === '__proto__' || !isAsciiLetter(k.charCodeAt(0))) {
        this.bytes = bytes;
        this.tokens = tokens;
        this.part(PROPERTIES, glue, propertiesJson(props));
        return;
      }
      if (i > 0) this.add(this.propertyPart(i - 1, key, props[key] as string, COMMA));
      key = k;
      i++;
    }
    this.add(this.propertyPart(i - 1, key, props[key] as string, glue === END ? CLOSE_END : CLOSE_COMMA));
  }

  /**
   * One entry, `key":"value"` + glue, cached by glue, key and value. (Cheaper than counting plain
   * values alone: most values repeat — positions, sources — and a lookup by a string whose hash is
   * known reads less than a scan of it.)
   */
  private propertyPart(index: number, key: string, value: string, glue: number): readonly [number, number] {
    let byValue: Map<string, readonly [number, number]>;
    const at = index * GLUE.length + glue;
    if (index < MAX_ENTRY_SLOTS && this.entryKey[at] === key) {
      // Events of one kind have the same keys in the same order: no lookup by key.
      byValue = this.entryValues[at] as Map<string, readonly [number, number]>;
    } else {
      byValue = this.valuesOf(key, glue);
      if (index < MAX_ENTRY_SLOTS) {
        this.entryKey[at] = key;
        this.entryValues[at] = byValue;
      }
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

  /** The cache of entries with `key` and `glue`, by value. */
  private valuesOf(key: string, glue: number): Map<string, readonly [number, number]> {
    const byGlue = this.propertyParts[glue] as Map<string, Map<string, readonly [number, number]>>;
    let byValue = byGlue.get(key);
    if (byValue === undefined) {
      if (byGlue.size >= this.maxCache) byGlue.clear();
      byValue = new Map();
      byGlue.set(key, byValue);
    }
    return byValue;
  }

  /**
   * The `item` object: its frame (every part but the price), one per distinct item (by id, every
   * field checked), then the price as a number.
   */
  private item(it: Item, path: readonly string[] | undefined, isLast: boolean): void {
    const hasPath = it.categoryPath.length > 0;
    if (hasPath && path === undefined) {
      // Not interned: the path cannot be compared by identity, so no frame cache.
      this.itemParts(it, undefined, isLast, true);
      return;
    }
    const p = hasPath ? path : undefined;
    const hasPrice = !isZero(it.price);
    const k = isLast ? 1 : 0;
    let frame = this.lastItem[k];
    if (frame === undefined || !sameItem(frame, it, p, hasPrice)) {
      const frames = this.itemFrames[k] as Map<string, ItemFrame>;
      frame = frames.get(it.id);
      if (frame === undefined || !sameItem(frame, it, p, hasPrice)) {
        frame = this.itemFrame(it, p, isLast, hasPrice);
        if (frames.size >= this.maxCache) frames.clear();
        frames.set(it.id, frame);
      }
      this.lastItem[k] = frame;
    }
    this.bytes += frame.bytes;
    this.tokens += frame.tokens;
    if (hasPrice) this.number(PRICE, frame.priceGlue, it.price);
  }

  /** Measures an item's frame: its parts but the price. */
  private itemFrame(it: Item, path: readonly string[] | undefined, isLast: boolean, hasPrice: boolean): ItemFrame {
    let priceGlue = COMMA;
    const size = this.measured(() => {
      priceGlue = this.itemParts(it, path, isLast, false);
    });
    return {
      id: it.id,
      path,
      brand: it.brand,
      currency: it.currency,
      title: it.title,
      hasPrice,
      priceGlue,
      bytes: size.bytes,
      tokens: size.tokens,
    };
  }

  /** What `parts` adds to the totals, measured on zeroed totals (which are then restored). */
  private measured(parts: () => void): { bytes: number; tokens: number } {
    const bytes = this.bytes;
    const tokens = this.tokens;
    this.bytes = 0;
    this.tokens = 0;
    parts();
    const size = { bytes: this.bytes, tokens: this.tokens };
    this.bytes = bytes;
    this.tokens = tokens;
    return size;
  }

  /** Adds the item's parts (the price only when `withPrice`); returns the glue after the price. */
  private itemParts(it: Item, path: readonly string[] | undefined, isLast: boolean, withPrice: boolean): number {
    let m = 0;
    if (it.id !== '') m |= 1 << 0;
    if (it.categoryPath.length > 0) m |= 1 << 1;
    if (it.brand !== '') m |= 1 << 2;
    if (!isZero(it.price)) m |= 1 << 3;
    if (it.currency !== '') m |= 1 << 4;
    if (it.title !== '') m |= 1 << 5;
    if (!this.open(ITEM, m, isLast)) return COMMA;
    const lastBit = 31 - Math.clz32(m);
    const close = isLast ? CLOSE_END : CLOSE_COMMA;
    const priceGlue = 3 === lastBit ? close : COMMA;
    if (m & (1 << 0)) this.part(ITEM_ID, 0 === lastBit ? close : COMMA, it.id);
    if (m & (1 << 1)) {
      if (path !== undefined) this.part(PATH, 1 === lastBit ? close : COMMA, path);
      else this.add(this.measurePart(PATH, 1 === lastBit ? close : COMMA, it.categoryPath));
    }
    if (m & (1 << 2)) this.part(BRAND, 2 === lastBit ? close : COMMA, it.brand);
    if (m & (1 << 3) && withPrice) this.number(PRICE, priceGlue, it.price);
    if (m & (1 << 4)) this.part(CURRENCY, 4 === lastBit ? close : COMMA, it.currency);
    if (m & (1 << 5)) this.part(TITLE, 5 === lastBit ? close : COMMA, it.title);
    return priceGlue;
  }

  /**
   * The `context` object: its frame (every part but the session id), one per distinct combination
   * of the other fields (by user agent, every field checked), then the session id part.
   */
  private context(c: EventContext, isLast: boolean): void {
    const hasSession = c.sessionId !== '';
    const k = isLast ? 1 : 0;
    let frame = this.lastContext[k];
    if (frame === undefined || !sameContext(frame, c, hasSession)) {
      frame = this.findContextFrame(c, isLast, hasSession);
      this.lastContext[k] = frame;
    }
    this.bytes += frame.bytes;
    this.tokens += frame.tokens;
    if (hasSession) this.sessionId(c.sessionId, frame.sessionGlue);
  }

  private findContextFrame(c: EventContext, isLast: boolean, hasSession: boolean): ContextFrame {
    const frames = this.contextFrames[isLast ? 1 : 0] as Map<string, ContextFrame[]>;
    let list = frames.get(c.userAgent);
    if (list === undefined) {
      if (frames.size >= this.maxCache) frames.clear();
      list = [];
      frames.set(c.userAgent, list);
    }
    for (const f of list) if (sameContext(f, c, hasSession)) return f;
    let sessionGlue = COMMA;
    const size = this.measured(() => {
      sessionGlue = this.contextParts(c, isLast, false);
    });
    const frame: ContextFrame = {
      device: c.device,
      channel: c.channel,
      userAgent: c.userAgent,
      locale: c.locale,
      hasSession,
      sessionGlue,
      bytes: size.bytes,
      tokens: size.tokens,
    };
    if (list.length >= MAX_CONTEXT_FRAMES) list.length = 0;
    list.push(frame);
    return frame;
  }

  /** Adds the context's parts (the session id only when `withSession`); returns the glue after the session id. */
  private contextParts(c: EventContext, isLast: boolean, withSession: boolean): number {
    let m = 0;
    if (c.device !== '') m |= 1 << 0;
    if (c.sessionId !== '') m |= 1 << 1;
    if (c.channel !== '') m |= 1 << 2;
    if (c.userAgent !== '') m |= 1 << 3;
    if (c.locale !== '') m |= 1 << 4;
    if (!this.open(CONTEXT, m, isLast)) return COMMA;
    const lastBit = 31 - Math.clz32(m);
    const close = isLast ? CLOSE_END : CLOSE_COMMA;
    const sessionGlue = 1 === lastBit ? close : COMMA;
    if (m & (1 << 0)) this.part(DEVICE, 0 === lastBit ? close : COMMA, c.device);
    if (m & (1 << 1) && withSession) this.sessionId(c.sessionId, sessionGlue);
    if (m & (1 << 2)) this.part(CHANNEL, 2 === lastBit ? close : COMMA, c.channel);
    if (m & (1 << 3)) this.part(USER_AGENT, 3 === lastBit ? close : COMMA, c.userAgent);
    if (m & (1 << 4)) this.part(LOCALE, 4 === lastBit ? close : COMMA, c.locale);
    return sessionGlue;
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

  /**
   * `eventId":"` | id | `","`: unique per event, so not cached. Ids made of a prefix and a counter
   * (`sim-s1-u1000-u000001-` + `42`) are counted as the previous such id's prefix plus the digits:
   * a digit run after an ASCII non-space character is always cut from what precedes it, and at
   * the end of the text from what follows, so `line(prefix + digits)` = `line(prefix)` +
   * ceil(digits / 3) (the scan of the prefix is the same alone: its cuts only look backwards, and
   * its digit runs end inside it, since it ends with a non-digit).
   */
  private eventId(id: string, glue: number): void {
    const n = id.length;
    const p = n - trailingDigits(id);
    const prefix = this.idPrefix;
    if (p < n && p === prefix.length && p > 0 && id.startsWith(prefix)) {
      // Plain too: `prefix` is the start of a plain id, and digits follow it.
      this.bytes += (KEYS[EVENT_ID] as string).length + 4 + n + (GLUE[glue] as string).length;
      if (this.counter) {
        this.tokens +=
          (this.quoteKeyTokens[EVENT_ID] as number) +
          this.idPrefixTokens +
          Math.ceil((n - p) / 3) +
          (this.quoteGlueTokens[glue] as number);
      }
      return;
    }
    this.uniqueString(EVENT_ID, glue, id);
    // Remember the prefix when the id is plain (printable ASCII: the only whitespace is a space)
    // and the digits follow a non-space.
    if (p < n && p > 0 && id.charCodeAt(p - 1) !== 32 && isPlainToken(id)) {
      this.idPrefix = id.slice(0, p);
      this.idPrefixTokens = this.counter ? this.counter.line(this.idPrefix) : 0;
    }
  }

  /** `sessionId":"` | id | glue: new in every session, so only the last one is kept. */
  private sessionId(id: string, glue: number): void {
    if (id === this.sessionValue && glue === this.sessionGlue) {
      this.bytes += this.sessionBytes;
      this.tokens += this.sessionTokens;
      return;
    }
    const bytes = this.bytes;
    const tokens = this.tokens;
    this.uniqueString(SESSION_ID, glue, id);
    this.sessionValue = id;
    this.sessionGlue = glue;
    this.sessionBytes = this.bytes - bytes;
    this.sessionTokens = this.tokens - tokens;
  }

  /** A string part whose value is usually unique (ids): not cached. */
  private uniqueString(slot: number, glue: number, v: string): void {
    if (!isPlainToken(v)) {
      this.add(this.measurePart(slot, glue, v));
      return;
    }
    // The value starts and ends with an ASCII letter or digit, between `":"` and `"` + glue, so both
    // of its ends are piece boundaries: it is counted alone, without building the part.
    this.bytes += (KEYS[slot] as string).length + 4 + v.length + (GLUE[glue] as string).length;
    if (this.counter) {
      this.tokens +=
        (this.quoteKeyTokens[slot] as number) + this.counter.line(v) + (this.quoteGlueTokens[glue] as number);
    }
  }

  /**
   * A number field (double or int32). Non-negative ones directly as `key":` | digits | glue (their
   * JSON starts and ends with a digit, so all three are cut apart): integers by their digits, others
   * through the number table; negative and non-finite ones as cached parts.
   */
  private number(slot: number, glue: number, v: number): void {
    if (v >= 0 && v < 1e15 && Number.isInteger(v)) {
      const d = intDigits(v);
      this.bytes += (KEYS[slot] as string).length + 2 + d + (GLUE[glue] as string).length;
      if (this.counter) {
        this.tokens += (this.keyTokens[slot] as number) + Math.ceil(d / 3) + (this.glueTokens[glue] as number);
      }
      return;
    }
    if (v > 0 && v < Number.POSITIVE_INFINITY) {
      const i = this.numberSlot(v);
      this.bytes += (KEYS[slot] as string).length + 2 + (this.numberBytes[i] as number) + (GLUE[glue] as string).length;
      if (this.counter) {
        this.tokens +=
          (this.keyTokens[slot] as number) + (this.numberTokens[i] as number) + (this.glueTokens[glue] as number);
      }
      return;
    }
    this.part(slot, glue, v);
  }

  /**
   * The slot of `v` (positive, finite) in the number table, filled with the bytes and tokens of its
   * JSON. Direct-mapped by a hash of the double's bits: a colliding value overwrites the slot (a
   * cache), and a lookup is one hash and one compare — no Map entry or boxed number per value.
   */
  private numberSlot(v: number): number {
    F64[0] = v;
    const h = Math.imul((U32[0] as number) ^ Math.imul(U32[1] as number, 0x9e3779b1), 0x85ebca6b);
    const i = h >>> (32 - NUMBER_BITS);
    if (this.numberKeys[i] !== v) {
      const json = dbl(v);
      this.numberKeys[i] = v;
      this.numberBytes[i] = json.length; // ASCII
      this.numberTokens[i] = this.counter ? this.counter.line(json) : 0;
    }
    return i;
  }

  /** The `type` part: enum numbers below `TYPE_TABLE` from a table, others through the part cache. */
  private type(glue: number, v: number): void {
    if ((v | 0) !== v || v < 0 || v >= TYPE_TABLE) {
      this.part(TYPE, glue, v);
      return;
    }
    const k = v * GLUE.length + glue;
    if ((this.typeBytes[k] as number) < 0) {
      const [bytes, tokens] = this.measurePart(TYPE, glue, v);
      this.typeBytes[k] = bytes;
      this.typeTokens[k] = tokens;
    }
    this.bytes += this.typeBytes[k] as number;
    this.tokens += this.typeTokens[k] as number;
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

/** A cached `item` object without its price: field values (checked with ===) and the size of its parts. */
interface ItemFrame {
  id: string;
  path: readonly string[] | undefined;
  brand: string;
  currency: string;
  title: string;
  /** Whether the price is present (its presence changes the glue of the field before it when last). */
  hasPrice: boolean;
  /** Glue after the price. */
  priceGlue: number;
  bytes: number;
  tokens: number;
}

function sameItem(f: ItemFrame, it: Item, path: readonly string[] | undefined, hasPrice: boolean): boolean {
  return (
    f.id === it.id &&
    f.path === path &&
    f.brand === it.brand &&
    f.currency === it.currency &&
    f.title === it.title &&
    f.hasPrice === hasPrice
  );
}

/** A cached `context` object without its session id: field values (checked with ===) and the size of its parts. */
interface ContextFrame {
  device: string;
  channel: string;
  userAgent: string;
  locale: string;
  /** Whether the session id is present (its presence changes the glue of the field before it when last). */
  hasSession: boolean;
  /** Glue after the session id. */
  sessionGlue: number;
  bytes: number;
  tokens: number;
}

function sameContext(f: ContextFrame, c: EventContext, hasSession: boolean): boolean {
  return (
    f.userAgent === c.userAgent &&
    f.device === c.device &&
    f.channel === c.channel &&
    f.locale === c.locale &&
    f.hasSession === hasSession
  );
}

/** Positions of `properties` entries whose key is remembered (see `RawSizer.entryKey`). */
const MAX_ENTRY_SLOTS = 8;

/** Context frames kept per user agent (different devices, channels, locales with one agent). */
const MAX_CONTEXT_FRAMES = 16;

/** Event types below this number are sized from a table. */
const TYPE_TABLE = 64;

/** The number table: 2^NUMBER_BITS slots. */
const NUMBER_BITS = 14;
const NUMBER_SLOTS = 1 << NUMBER_BITS;
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

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

/** Number of ASCII digits at the end of `v`. */
function trailingDigits(v: string): number {
  let i = v.length;
  while (i > 0) {
    const c = v.charCodeAt(i - 1);
    if (c < 48 || c > 57) break;
    i--;
  }
  return v.length - i;
}
