import type { TaxonomyExtras } from './taxonomy.js';
import type { TokenizerName } from './tokens.js';

/** What a cleaning step returns for one input: keep it (maybe transformed), drop it, or send it to the DLQ. */
export type StepResult<T> =
  | { type: 'ok'; value: T }
  | { type: 'drop'; reason: string }
  | { type: 'dlq'; reason: string };

/**
 * A decoded event as the core keeps it while its window is open: only what windowing, cleaning and
 * aggregation need, plus its raw size. Every field is always present (one object shape for V8);
 * checkpoints serialize it as a positional array (`packEv`/`unpackEv`).
 */
export interface Ev {
  /** Event id. */
  id: string;
  /** Event time, epoch ms. */
  t: number;
  /** EventType number. */
  y: number;
  /** Item id, '' when none. */
  it: string;
  /** Category path, [] when none. */
  c: string[];
  /** Brand, '' when unknown. */
  b: string;
  /** Unit price, 0 when unknown. */
  p: number;
  /** Search query, ''. */
  q: string;
  /** Device class, ''. */
  d: string;
  /** Dwell, ms (0 unknown). */
  w: number;
  /** Quantity. */
  n: number;
  /** Rating. */
  r: number;
  /** Hash of the payload without id and times (identical-payload de-duplication). */
  h: number;
  /** Raw bytes: canonical JSON line + newline. */
  rb: number;
  /** Raw tokens of that line (0 when token counting is off). */
  rt: number;
  /**
   * When it was received, as the event carries it (`received_time_ms`), epoch ms; 0 when it carries
   * none (imports and replays of datasets without receipt times). Then `en` orders its copies, and
   * the window's `ingest_time_ms` does not depend on when the record was produced.
   */
  rc: number;
  /** 1 when the user agent is a known crawler. */
  bot: number;
  /** Late events: the partition watermark when it arrived; -1 for on-time events. */
  a: number;
  /** Behaviour signal bits from the event's type and properties (`signalBits`, mapping.ts). */
  s: number;
  /**
   * Entry time: wall clock, epoch ms, at which the event record entered the pipeline (its Kafka
   * record timestamp; 0 unknown). Never part of a window's bytes: it only travels beside the window
   * (`ClosedWindow.entryMs` → the `ps-entry-ms` header) for pipeline latency.
   */
  en: number;
  /**
   * 1 once an early window (a preview of a live session in progress) showed the event downstream:
   * later windows leave it out of their first-entry time (freshness counts each event once).
   */
  sh: number;
  /**
   * Interest mask of the event by the open taxonomy mapper (`TenantMapper.event`: interest bits,
   * `RECOGNIZED`, `HAS_CATEGORY`); computed once when the event enters (its product title is not
   * kept). −1 for events restored from a checkpoint written before masks existed, until the engine
   * maps them again from their path and query.
   */
  m: number;
}

export type PackedEv = [
  string,
  number,
  number,
  string,
  string[],
  string,
  number,
  string,
  string,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number?,
  number?,
  number?,
  number?,
];

export function packEv(e: Ev): PackedEv {
  return [
    e.id,
    e.t,
    e.y,
    e.it,
    e.c,
    e.b,
    e.p,
    e.q,
    e.d,
    e.w,
    e.n,
    e.r,
    e.h,
    e.rb,
    e.rt,
    e.rc,
    e.bot,
    e.a,
    e.s,
    e.en,
    e.sh,
    e.m,
  ];
}

export function unpackEv(p: PackedEv): Ev {
  return {
    id: p[0],
    t: p[1],
    y: p[2],
    it: p[3],
    c: p[4],
    b: p[5],
    p: p[6],
    q: p[7],
    d: p[8],
    w: p[9],
    n: p[10],
    r: p[11],
    h: p[12],
    rb: p[13],
    rt: p[14],
    rc: p[15],
    bot: p[16],
    a: p[17],
    // Checkpoints written before signals existed have no 19th element.
    s: p[18] ?? 0,
    // Nor, before entry times existed, a 20th: unknown.
    en: p[19] ?? 0,
    // Nor, before early windows existed, a 21st: not shown yet.
    sh: p[20] ?? 0,
    // Nor, before taxonomy masks existed, a 22nd: mapped again on restore (`PartitionEngine`).
    m: p[21] ?? -1,
  };
}

/** The pure core's settings (no I/O settings here). */
export interface CoreConfig {
  /** Session inactivity gap, ms. */
  gapMs: number;
  /** Maximum window length (last − first event time), ms. */
  maxWindowMs: number;
  /** Allowed lateness behind the partition's max event time, ms. */
  latenessMs: number;
  /** Identical payloads of one user within this many ms are duplicates. */
  payloadDedupMs: number;
  /** Event ids of closed windows are remembered this long (event time behind the watermark), ms. */
  dedupHorizonMs: number;
  /**
   * Live runs: early windows of a session in progress at most this often (processing time, ms) while
   * it has events no window showed yet; 0 = none.
   */
  earlyEveryMs: number;
  /** Bot bursts: an event with at least `burstMinEvents` events of its user within ±`burstRadiusMs`. */
  burstRadiusMs: number;
  burstMinEvents: number;
  /** Views and clicks with a dwell (or time to the user's next event) below this are accidental, ms. */
  accidentalDwellMs: number;
  /** Category levels kept in action counts (1 = top level). */
  categoryDepth: number;
  /** Most frequent brands kept per window. */
  maxBrands: number;
  /** Most frequent normalized search terms kept per window. */
  maxIntents: number;
  /**
   * Most engaged items kept per window as item codes (`SemantizedWindow.items`); 0 keeps none. Each
   * costs two bytes of the text (the `#` section), so this bounds what item-level signal costs in compression.
   */
  maxItems: number;
  /** Tokenizer for the token counts, or 'none' to count no tokens (faster). */
  tokenizer: TokenizerName | 'none';
  /** Also measure each window's binary size without text/compression (`CoreStats.binaryBytes`; costs an encode). */
  measureBinary: boolean;
  /** Extra taxonomy terms per tenant (`SEMANTIZER_TAXONOMY_FILE`), on top of the built-in vocabulary. */
  taxonomy: TaxonomyExtras;
}

export const defaultCoreConfig: CoreConfig = {
  gapMs: 30 * 60_000,
  maxWindowMs: 24 * 3_600_000,
  latenessMs: 10 * 60_000,
  payloadDedupMs: 2_000,
  dedupHorizonMs: 3_600_000,
  earlyEveryMs: 60_000,
  burstRadiusMs: 5_000,
  burstMinEvents: 8,
  accidentalDwellMs: 2_000,
  categoryDepth: 2,
  maxBrands: 2,
  maxIntents: 6,
  maxItems: 8,
  tokenizer: 'cl100k_base',
  measureBinary: false,
  taxonomy: {},
};

/** Counts by drop reason plus the raw size of the dropped events. */
export interface DropTally {
  reasons: Record<string, number>;
  rb: number;
  rt: number;
}

export function emptyTally(): DropTally {
  return { reasons: {}, rb: 0, rt: 0 };
}

export function addDrop(tally: DropTally, reason: string, e: Ev): void {
  tally.reasons[reason] = (tally.reasons[reason] ?? 0) + 1;
  tally.rb += e.rb;
  tally.rt += e.rt;
}

export function mergeTally(into: DropTally, from: DropTally): void {
  for (const [k, v] of Object.entries(from.reasons)) into.reasons[k] = (into.reasons[k] ?? 0) + v;
  into.rb += from.rb;
  into.rt += from.rt;
}

export function tallyCount(t: DropTally): number {
  let n = 0;
  for (const v of Object.values(t.reasons)) n += v;
  return n;
}
