import { toBinary } from '@bufbuild/protobuf';
import { type ActionCount, EventType, type SemantizedWindow, SemantizedWindowSchema } from '@personastream/contracts';
import { detectNotable, type UserHistory, updateHistory } from './history.js';
import { normalizeQuery, type Vocabulary } from './intents.js';
import { ACTION_NAMES, ACTION_ORDER, funnelStep, type PathCache, PRICED, SIGNALS } from './mapping.js';
import { type PriceBook, tierOf } from './prices.js';
import { RENDER_VERSION, renderText } from './render.js';
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

const ACTION_RANK = new Map(ACTION_ORDER.map((a, i) => [a, i]));

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

  // Action counts: category → counts by event type (no per-event key building; sorted below).
  const actions = new Map<string, number[]>();
  const hours = new Array<number>(24).fill(0);
  const devices: Record<string, number> = {};
  const brands = new Map<string, number>();
  const tiers: Record<string, number> = {};
  const intents = new Map<string, { n: number; first: number }>();
  let spend = 0;
  let dwell = 0;
  let funnel = 0;
  let order = 0;
  let maxT = 0;
  let ingest = 0;
  let signalBitsSeen = 0;
  let rawBytes = input.drops.rb;
  let rawTokens = input.drops.rt;

  // The window's own category/brand words (typo targets), built only if a search term needs them.
  const windowWords = new LazyWords(() => {
    const words = new Set<string>();
    const seen = new Set<readonly string[] | string>(); // paths (interned arrays) and brands already added
    for (const x of all) {
      if (!seen.has(x.c)) {
        seen.add(x.c);
        for (const c of x.c) for (const t of state.vocab.terms(c)) words.add(t);
      }
      if (x.b !== '' && !seen.has(x.b)) {
        seen.add(x.b);
        for (const t of state.vocab.terms(x.b)) words.add(t);
      }
    }
    return words;
  });
  const tierMemo = new Map<readonly string[], { mean: number; sd: number } | null>();

  for (let i = 0; i < all.length; i++) {
    const e = all[i] as Ev;
    rawBytes += e.rb;
    rawTokens += e.rt;
    if (e.t > maxT) maxT = e.t;
    if (e.rc > ingest) ingest = e.rc;
    signalBitsSeen |= e.s;
    const hour = Math.floor(e.t / 3_600_000) % 24;
    hours[hour] = (hours[hour] as number) + 1;
    if (e.d !== '') devices[e.d] = (devices[e.d] ?? 0) + 1;
    dwell += e.w;
    const f = funnelStep(e.y);
    if (f > funnel) funnel = f;
    if (ACTION_NAMES[e.y] !== undefined && e.c.length > 0) {
      const category = state.paths.category(e.c, cfg.categoryDepth);
      let counts = actions.get(category);
      if (counts === undefined) {
        counts = new Array<number>(TYPE_SLOTS).fill(0);
        actions.set(category, counts);
      }
      counts[e.y] = (counts[e.y] as number) + 1;
    }
    if (e.b !== '') brands.set(e.b, (brands.get(e.b) ?? 0) + 1);
    if (e.p > 0 && PRICED.has(e.y)) {
      // Per path array (engines intern paths: one array per distinct path).
      let st = tierMemo.get(e.c);
      if (st === undefined) {
        st = state.prices.stat(e.c, startMs) ?? null;
        tierMemo.set(e.c, st);
      }
      const tier = tierOf(st, e.p);
      tiers[tier] = (tiers[tier] ?? 0) + 1;
    }
    if (e.y === EventType.PURCHASE && e.p > 0) spend += e.p * Math.max(1, e.n);
    if (e.y === EventType.SEARCH && e.q !== '') {
      for (const term of normalizeQuery(e.q)) {
        const t = state.vocab.correct(term, startMs, windowWords);
        const cur = intents.get(t);
        if (cur) cur.n++;
        else intents.set(t, { n: 1, first: order++ });
      }
    }
  }

  const notable = detectNotable(all, state.history, state.prices, startMs);

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
    actions: actionList(actions)
      .sort(
        (a, b) =>
          (ACTION_RANK.get(a.action) ?? 99) - (ACTION_RANK.get(b.action) ?? 99) ||
          b.count - a.count ||
          (a.category < b.category ? -1 : a.category > b.category ? 1 : 0),
      )
      .map((a): ActionCount => ({ $typeName: 'personastream.v1.ActionCount', ...a })),
    spend: Math.round(spend * 100) / 100,
    dwellMs: dwell,
    hourHistogram: hours,
    devices,
    intents: [...intents.entries()]
      .sort((a, b) => b[1].n - a[1].n || a[1].first - b[1].first)
      .slice(0, cfg.maxIntents)
      .map(([k]) => k),
    brands: [...brands.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, cfg.maxBrands)
      .map(([k]) => k),
    priceTiers: tiers,
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
  updateHistory(state.history, all);
  return { window: w, binaryBytes: cfg.measureBinary ? binaryBytes(w) : 0 };
}

/** Counts of each behaviour signal over a window's events, in `SIGNALS` order (deterministic key order). */
export function countSignals(events: readonly Ev[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const sg of SIGNALS) {
    let n = 0;
    for (const e of events) if ((e.s & sg.bit) !== 0) n++;
    if (n > 0) out[sg.name] = n;
  }
  return out;
}

/** Event type numbers below this index the per-category action counts (every named action's type is). */
const TYPE_SLOTS = Math.max(...Object.keys(ACTION_NAMES).map(Number)) + 1;

/** (action, category, count) of every non-zero count (unsorted). */
function actionList(actions: Map<string, number[]>): { action: string; category: string; count: number }[] {
  const out: { action: string; category: string; count: number }[] = [];
  for (const [category, counts] of actions) {
    for (let y = 0; y < counts.length; y++) {
      const count = counts[y] as number;
      if (count > 0) out.push({ action: ACTION_NAMES[y] as string, category, count });
    }
  }
  return out;
}

/** A set of words computed on first use (most windows never need their typo targets). */
class LazyWords {
  private words: Set<string> | undefined;
  constructor(private readonly build: () => Set<string>) {}
  has(w: string): boolean {
    this.words ??= this.build();
    return this.words.has(w);
  }
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
