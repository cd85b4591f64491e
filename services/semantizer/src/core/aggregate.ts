import { toBinary } from '@bufbuild/protobuf';
import { type ActionCount, EventType, type SemantizedWindow, SemantizedWindowSchema } from '@personastream/contracts';
import { detectNotable, engagedByTop, type UserHistory, updateHistory } from './history.js';
import { normalizeQuery, type Vocabulary } from './intents.js';
import { topItemCodes } from './items.js';
import {
  ACTION_NAMES,
  ACTION_ORDER,
  ENGAGED_TYPE,
  funnelStep,
  type PathCache,
  PRICED_TYPE,
  SIGNALS,
} from './mapping.js';
import { type PriceBook, tierOf } from './prices.js';
import { RENDER_VERSION, renderText } from './render.js';
import { HAS_CATEGORY, INTEREST_BITS, INTEREST_NAMES, RECOGNIZED } from './taxonomy.js';
import type { TokenCounter } from './tokens.js';
import type { CoreConfig, DropTally, Ev } from './types.js';
import { windowId } from './window-id.js';

export interface BuildInput {
  tenant: string;
  userId: string;
  runId: string;
  seq: number;
  /** Kept on-time events, sorted by (t, id); may be empty for a window of late events only. */
  onTime: readonly Ev[];
  /** Kept late events folded into this window, sorted. */
  late: readonly Ev[];
  /** Events of this window that cleaning dropped. */
  drops: DropTally;
}

export interface BuildState {
  history: UserHistory;
  prices: PriceBook;
  vocab: Vocabulary;
  paths: PathCache;
}

/** Bytes of a window's binary encoding without `text` and `compression` (reported beside the text). */
export function binaryBytes(w: SemantizedWindow): number {
  const text = w.text;
  const compression = w.compression;
  w.text = '';
  w.compression = undefined;
  const n = toBinary(SemantizedWindowSchema, w).byteLength;
  w.text = text;
  w.compression = compression;
  return n;
}

/**
 * Aggregates one closed window: semantic mapping (categories, price tiers against the run's
 * statistics of the days before the window, intents with typo tolerance), counts, notable events,
 * text and compression. Then folds the window into the user's history (per user, in window order).
 */
export function buildWindow(
  input: BuildInput,
  state: BuildState,
  cfg: CoreConfig,
  tokens: TokenCounter | undefined,
): { window: SemantizedWindow; binaryBytes: number } {
  const all = input.late.length === 0 ? input.onTime : mergeSorted(input.onTime, input.late);
  const span = input.onTime.length > 0 ? input.onTime : input.late;
  const startMs = span[0]?.t ?? 0;
  const endMs = span[span.length - 1]?.t ?? 0;

  const actions = new ActionCounts();
  // A literal: a packed array of small integers, cheaper than `new Array(24).fill(0)`.
  const hours = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const devices = new Tally();
  const brands = new Tally();
  const tiers = new Tally();
  // Search term → count, in order of first occurrence (the tie order of `intents`); created at the
  // first search (most windows have none).
  let intents: Map<string, number> | undefined;
  let spend = 0;
  let dwell = 0;
  let funnel = 0;
  let maxT = 0;
  let ingest = 0;
  let signalBitsSeen = 0;
  let rawBytes = input.drops.rb;
  let rawTokens = input.drops.rt;
  // The window's own category/brand words (typo targets), collected only if a search term needs them.
  let windowWords: WindowWords | undefined;
  // The previous event's path and its category's slot in `actions`: consecutive events often share
  // a path, and the category is a function of the path's content (the same array is never mutated).
  let catPath: readonly string[] | undefined;
  let catSlot = -1;
  // Events per interest (taxonomy masks), created at the first mapped event; engaged events the mapper did not recognize.
  let interestCounts: number[] | undefined;
  let unmapped = 0;
  const tierStats = new PathStats(state.prices, startMs);

  for (let i = 0; i < all.length; i++) {
    const e = all[i] as Ev;
    rawBytes += e.rb;
    rawTokens += e.rt;
    if (e.t > maxT) maxT = e.t;
    if (e.rc > ingest) ingest = e.rc;
    signalBitsSeen |= e.s;
    const hour = Math.floor(e.t / 3_600_000) % 24;
    hours[hour] = (hours[hour] as number) + 1;
    if (e.d !== '') devices.add(e.d);
    dwell += e.w;
    const f = funnelStep(e.y);
    if (f > funnel) funnel = f;
    if (ACTION_NAMES[e.y] !== undefined && e.c.length > 0) {
      if (e.c !== catPath) {
        catPath = e.c;
        catSlot = actions.slot(state.paths.category(e.c, cfg.categoryDepth));
      }
      actions.add(catSlot, e.y);
    }
    const m = e.m;
    if (m > 0 && (ENGAGED_TYPE[e.y] === 1 || e.y === EventType.SEARCH)) {
      if ((m & RECOGNIZED) === 0) {
        if ((m & HAS_CATEGORY) !== 0) unmapped++;
      } else {
        let bits = m & INTEREST_BITS;
        if (bits !== 0) {
          interestCounts ??= new Array<number>(INTEREST_NAMES.length).fill(0);
          for (let k = 0; bits !== 0; k++, bits >>>= 1) {
            if ((bits & 1) !== 0) interestCounts[k] = (interestCounts[k] as number) + 1;
          }
        }
      }
    }
    if (e.b !== '') brands.add(e.b);
    if (e.p > 0 && PRICED_TYPE[e.y] === 1) tiers.add(tierOf(tierStats.of(e.c), e.p));
    if (e.y === EventType.PURCHASE && e.p > 0) spend += e.p * Math.max(1, e.n);
    if (e.y === EventType.SEARCH && e.q !== '') {
      windowWords ??= new WindowWords(all, state.vocab);
      intents ??= new Map();
      for (const term of normalizeQuery(e.q)) {
        const t = state.vocab.correct(term, startMs, windowWords);
        intents.set(t, (intents.get(t) ?? 0) + 1);
      }
    }
  }

  const engaged = engagedByTop(all);
  const notable = detectNotable(all, state.history, state.prices, startMs, engaged);

  // Plain message objects (protobuf-es v2 messages are plain objects with $typeName): `create`
  // walks the schema by reflection and costs more than the whole rest of a window.
  const w: SemantizedWindow = {
    $typeName: 'personastream.v1.SemantizedWindow',
    windowId: windowId(
      input.tenant,
      input.userId,
      input.runId,
      startMs,
      input.onTime.length === 0 ? input.seq : undefined,
    ),
    tenant: input.tenant,
    userId: input.userId,
    runId: input.runId,
    startMs,
    endMs,
    eventCount: all.length,
    actions: actions.sorted(),
    spend: Math.round(spend * 100) / 100,
    dwellMs: dwell,
    hourHistogram: hours,
    devices: devices.toRecord(),
    intents: intents === undefined ? [] : topIntents(intents, cfg.maxIntents),
    brands: brands.top(cfg.maxBrands),
    priceTiers: tiers.toRecord(),
    signals: signalBitsSeen === 0 ? {} : countSignals(all),
    funnelDepth: funnel,
    notable,
    dropped: { ...input.drops.reasons },
    renderVersion: RENDER_VERSION,
    maxEventTimeMs: maxT,
    seq: input.seq,
    ingestTimeMs: ingest,
    text: '',
    compression: undefined,
    provisional: false,
    revision: 0,
    interests: interestCounts === undefined ? {} : interestRecord(interestCounts),
    unmapped,
    items: topItemCodes(all, cfg.maxItems),
  };
  w.text = renderText(w);
  // Semantized bytes/tokens: the UTF-8 text the model receives (see README, "Compression").
  w.compression = {
    $typeName: 'personastream.v1.CompressionStats',
    rawBytes,
    semantizedBytes: Buffer.byteLength(w.text, 'utf8'),
    rawTokens,
    semantizedTokens: tokens ? tokens.line(w.text) : 0, // exact; `line` caches the text's segments
    tokenizer: tokens ? tokens.name : 'none',
  };

  // Fold the window into the user's history that later windows are compared against.
  updateHistory(state.history, all, engaged);
  return { window: w, binaryBytes: cfg.measureBinary ? binaryBytes(w) : 0 };
}

/** Non-zero interest counts by name, in schema order (deterministic key order). */
function interestRecord(counts: readonly number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (let k = 0; k < counts.length; k++) {
    const n = counts[k] as number;
    if (n > 0) out[INTEREST_NAMES[k] as string] = n;
  }
  return out;
}

/** Counts of each behaviour signal over a window's events, in `SIGNALS` order (deterministic key order). */
export function countSignals(events: readonly Ev[]): Record<string, number> {
  const counts = new Array<number>(SIGNALS.length).fill(0);
  for (const e of events) {
    if (e.s === 0) continue;
    for (let i = 0; i < SIGNALS.length; i++) {
      if ((e.s & (SIGNALS[i] as { bit: number }).bit) !== 0) counts[i] = (counts[i] as number) + 1;
    }
  }
  const out: Record<string, number> = {};
  for (let i = 0; i < SIGNALS.length; i++) {
    const n = counts[i] as number;
    if (n > 0) out[(SIGNALS[i] as { name: string }).name] = n;
  }
  return out;
}

/** Event type numbers below this index the per-category action counts (every named action's type is). */
const TYPE_SLOTS = Math.max(...Object.keys(ACTION_NAMES).map(Number)) + 1;

/**
 * Event types in `ACTION_ORDER`. Invariant (unit-tested): `ACTION_ORDER` lists every name of
 * `ACTION_NAMES` once, so every counted type has a rank and ranks are distinct per type.
 */
const TYPES_BY_RANK: readonly number[] = ACTION_ORDER.map((name) =>
  Number(Object.keys(ACTION_NAMES).find((y) => ACTION_NAMES[Number(y)] === name)),
).filter((y) => Number.isInteger(y));

/** Action counts of a window: per category (in order of first occurrence), counts by event type. */
class ActionCounts {
  private readonly categories: string[] = [];
  private readonly counts: number[][] = [];
  private readonly index = new Map<string, number>();

  /** The slot of a category's counts, created on first use. */
  slot(category: string): number {
    let i = this.index.get(category);
    if (i === undefined) {
      i = this.categories.length;
      this.categories.push(category);
      this.counts.push(new Array<number>(TYPE_SLOTS).fill(0));
      this.index.set(category, i);
    }
    return i;
  }

  add(slot: number, type: number): void {
    const c = this.counts[slot] as number[];
    c[type] = (c[type] as number) + 1;
  }

  /**
   * Every non-zero count as an `ActionCount`, ordered by action rank (`ACTION_ORDER`), then count
   * descending, then category. Built rank by rank: within a rank (one event type) each category
   * occurs once, so sorting that rank's few entries by (count, category) gives the full order.
   */
  sorted(): ActionCount[] {
    const out: ActionCount[] = [];
    for (const y of TYPES_BY_RANK) {
      const from = out.length;
      for (let k = 0; k < this.categories.length; k++) {
        const count = (this.counts[k] as number[])[y] as number;
        if (count > 0) {
          const category = this.categories[k] as string;
          out.push({ $typeName: 'personastream.v1.ActionCount', action: ACTION_NAMES[y] as string, category, count });
        }
      }
      sortRange(out, from);
    }
    return out;
  }
}

/** Insertion sort of `list[from..]` by `compareCounts` (a rank has a handful of entries). */
function sortRange(list: ActionCount[], from: number): void {
  for (let i = from + 1; i < list.length; i++) {
    const a = list[i] as ActionCount;
    let j = i - 1;
    while (j >= from && compareCounts(list[j] as ActionCount, a) > 0) {
      list[j + 1] = list[j] as ActionCount;
      j--;
    }
    list[j + 1] = a;
  }
}

/** Count descending, then category ascending. */
function compareCounts(a: ActionCount, b: ActionCount): number {
  return b.count - a.count || (a.category < b.category ? -1 : a.category > b.category ? 1 : 0);
}

/**
 * The `max` most frequent terms; ties in order of first occurrence, which is the map's order. A
 * window has a few terms: a stable insertion (each term after every one counted at least as often)
 * instead of entry arrays and a sort; many terms are sorted (stably) as a list.
 */
function topIntents(intents: Map<string, number>, max: number): string[] {
  if (intents.size > INDEX_AFTER) {
    return [...intents.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, max)
      .map(([k]) => k);
  }
  const terms: string[] = [];
  const counts: number[] = [];
  for (const [term, n] of intents) {
    let j = terms.length;
    while (j > 0 && (counts[j - 1] as number) < n) j--;
    terms.splice(j, 0, term);
    counts.splice(j, 0, n);
  }
  return max >= terms.length ? terms : terms.slice(0, max);
}

/**
 * Counts of a few distinct strings (a window's devices, brands, price tiers) in short parallel
 * arrays, in order of first occurrence; consecutive repeats (the common case) skip the search, and
 * past `INDEX_AFTER` names a map finds them (large windows of bots or crawls).
 */
class Tally {
  private readonly names: string[] = [];
  private readonly counts: number[] = [];
  private index: Map<string, number> | undefined;
  private last = -1;

  add(name: string): void {
    let i = this.last;
    if (i < 0 || this.names[i] !== name) {
      i = this.index ? (this.index.get(name) ?? -1) : this.names.indexOf(name);
      if (i < 0) i = this.insert(name);
      this.last = i;
    }
    this.counts[i] = (this.counts[i] as number) + 1;
  }

  private insert(name: string): number {
    const i = this.names.length;
    this.names.push(name);
    this.counts.push(0);
    if (this.index) this.index.set(name, i);
    else if (this.names.length > INDEX_AFTER) this.index = new Map(this.names.map((x, k) => [x, k]));
    return i;
  }

  /** name → count, keys inserted in order of first occurrence (as counting into the record directly). */
  toRecord(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.names.length; i++) out[this.names[i] as string] = this.counts[i] as number;
    return out;
  }

  /** The `max` most frequent names, ties alphabetically. */
  top(max: number): string[] {
    const n = this.names.length;
    if (n === 0) return [];
    if (n === 1) return max > 0 ? [this.names[0] as string] : [];
    if (n === 2 && max >= 2) {
      const [a, b] = this.names as [string, string];
      const d = (this.counts[1] as number) - (this.counts[0] as number);
      return d < 0 || (d === 0 && a < b) ? [a, b] : [b, a];
    }
    const order = this.names.map((_, i) => i);
    order.sort((a, b) => {
      const x = this.names[a] as string;
      const y = this.names[b] as string;
      return (this.counts[b] as number) - (this.counts[a] as number) || (x < y ? -1 : x > y ? 1 : 0);
    });
    return order.slice(0, max).map((i) => this.names[i] as string);
  }
}

/**
 * Price statistics (`PriceBook.stat` before the window's start) of the window's paths, memoized per
 * path array (engines intern paths); the previous event's path is checked first.
 */
class PathStats {
  private lastPath: readonly string[] | undefined;
  private lastStat: { mean: number; sd: number } | null = null;
  private memo: Map<readonly string[], { mean: number; sd: number } | null> | undefined;

  constructor(
    private readonly prices: PriceBook,
    private readonly beforeMs: number,
  ) {}

  of(path: readonly string[]): { mean: number; sd: number } | null {
    if (path === this.lastPath) return this.lastStat;
    this.memo ??= new Map();
    let st = this.memo.get(path);
    if (st === undefined) {
      st = this.prices.stat(path, this.beforeMs) ?? null;
      this.memo.set(path, st);
    }
    this.lastPath = path;
    this.lastStat = st;
    return st;
  }
}

/**
 * The words of a window's own categories and brands (typo targets besides the words seen before the
 * window), as the cached term lists of its distinct paths and brands. Collected on first use: most
 * windows never need them. A window has few distinct phrases, so `has` scans their short lists —
 * unless there are more than `INDEX_AFTER`, then it looks them up in a set of all their words.
 */
class WindowWords {
  private lists: (readonly string[])[] | undefined;
  private words: Set<string> | undefined;

  constructor(
    private readonly events: readonly Ev[],
    private readonly vocab: Vocabulary,
  ) {}

  has(word: string): boolean {
    if (this.lists === undefined) {
      this.lists = this.collect();
      if (this.lists.length > INDEX_AFTER) this.words = new Set(this.lists.flat());
    }
    if (this.words) return this.words.has(word);
    for (const list of this.lists) if (list.includes(word)) return true;
    return false;
  }

  private collect(): (readonly string[])[] {
    const lists: (readonly string[])[] = [];
    const seen = new Set<readonly string[] | string>(); // paths (interned arrays) and brands already added
    let prev: readonly string[] | undefined; // consecutive events often share a path
    for (const x of this.events) {
      if (x.c !== prev) {
        prev = x.c;
        if (!seen.has(x.c)) {
          seen.add(x.c);
          for (const c of x.c) addList(lists, this.vocab.terms(c));
        }
      }
      if (x.b !== '' && !seen.has(x.b)) {
        seen.add(x.b);
        addList(lists, this.vocab.terms(x.b));
      }
    }
    return lists;
  }
}

/** Short lists (`Tally`, `WindowWords`) are searched linearly up to this many entries, then indexed. */
const INDEX_AFTER = 16;

/** Adds a non-empty term list unless the same (cached, shared) list is there already. */
function addList(lists: (readonly string[])[], terms: readonly string[]): void {
  if (terms.length > 0 && !lists.includes(terms)) lists.push(terms);
}

function mergeSorted(a: readonly Ev[], b: readonly Ev[]): Ev[] {
  const out: Ev[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && compareEv(x, y) <= 0)) {
      out.push(x as Ev);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  return out;
}

/**
 * Order of events inside a user's buffer: event time, id, then receipt time (the event's own, else
 * its record's broker timestamp) — so that of two deliveries of one event the earlier-received copy
 * is kept, whatever order they arrived in.
 */
export function compareEv(a: Ev, b: Ev): number {
  return a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || receiptOf(a) - receiptOf(b);
}

/** Receipt time for ordering copies: the event's own, else its record's broker timestamp (entry). */
function receiptOf(e: Ev): number {
  return e.rc > 0 ? e.rc : e.en;
}
