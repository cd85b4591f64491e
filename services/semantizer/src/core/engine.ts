import { createHash } from 'node:crypto';
import {
  type BehaviorEvent,
  EventType,
  isLiveRun,
  LIVE_RUN_ID,
  parseUserKey,
  type SemantizedWindow,
} from '@personastream/contracts';
import { CRAWLER_UA } from '../steps/bot-filter.js';
import { buildWindow, compareEv } from './aggregate.js';
import { type Cleaner, createCleaner } from './clean.js';
import { emptyHistory, type UserHistory } from './history.js';
import { Vocabulary } from './intents.js';
import { ENGAGED_TYPE, PathCache, PRICED_TYPE, signalBits } from './mapping.js';
import { NO_PATH, PathTable } from './path-table.js';
import { type Bucket, DAY_MS, PriceBook } from './prices.js';
import { RawSizer } from './raw-size.js';
import { RunTable } from './run-table.js';
import { TaxonomyMapper } from './taxonomy.js';
import type { TokenCounter } from './tokens.js';
import {
  addDrop,
  type CoreConfig,
  type DropTally,
  type Ev,
  emptyTally,
  mergeTally,
  type PackedEv,
  packEv,
  tallyCount,
  unpackEv,
} from './types.js';
import { earlyWindowId, PartHasher } from './window-id.js';

/** A window closed by the core (or an early one: `window.provisional`), with its routing key. */
export interface ClosedWindow {
  /** `tenant/user_id`: the Kafka key of the window record. */
  key: string;
  runId: string;
  window: SemantizedWindow;
  /**
   * Wall clock, epoch ms, at which the window's newest event entered the pipeline: the largest entry
   * time (`Ev.en`, the event records' Kafka timestamps) of the events the window consumed, kept or
   * dropped; 0 when none is known. Not part of `window` (whose bytes stay deterministic): the
   * service sends it as the window record's `ps-entry-ms` header.
   */
  entryMs: number;
  /**
   * The smallest entry time of the events this window is the first to show (events an earlier early
   * window showed are left out); 0 when it shows none or none is known. The `ps-entry-first-ms`
   * header: freshness = update time − this.
   */
  firstEntryMs: number;
}

/** Counters of everything the core did; shared by all partitions of one semantizer. */
export interface CoreStats {
  /** Valid events accepted into windowing (on time or late). */
  events: number;
  /** Events later than the allowed lateness (folded into the user's next window). */
  late: number;
  /** Events of runs that had already ended on their partition (the service sends them to the DLQ). */
  afterEnd: number;
  /** Dropped by cleaning, by reason (counted when their window closes, or at the end of the run). */
  dropped: Record<string, number>;
  /** Dropped events that belonged to no window (a user with only noise, trailing noise). */
  orphanEvents: number;
  orphanRawBytes: number;
  windows: number;
  rawBytes: number;
  rawTokens: number;
  semantizedBytes: number;
  semantizedTokens: number;
  /** Bytes of the windows' binary encoding without `text` and `compression` (only with `measureBinary`). */
  binaryBytes: number;
  /** Engaged events of final windows whose category path (and title) the taxonomy mapper did not recognize. */
  unmapped: number;
  /** Early windows (previews of live sessions in progress); not in `windows` nor in the byte counts. */
  early: number;
  /** Live users whose windows closed because they went quiet (processing time). */
  idleClosed: number;
  /** Live users whose state left memory (compact facts kept in the idle store), and came back from it. */
  evicted: number;
  revived: number;
  /** Erasure records applied (users erased on their partition). */
  erasures: number;
}

export function emptyStats(): CoreStats {
  return {
    events: 0,
    late: 0,
    afterEnd: 0,
    dropped: {},
    orphanEvents: 0,
    orphanRawBytes: 0,
    windows: 0,
    rawBytes: 0,
    rawTokens: 0,
    semantizedBytes: 0,
    semantizedTokens: 0,
    binaryBytes: 0,
    unmapped: 0,
    early: 0,
    idleClosed: 0,
    evicted: 0,
    revived: 0,
    erasures: 0,
  };
}

interface UserState {
  tenant: string;
  userId: string;
  /** Run id and `tenant/user_id` (derived from where the state lives). */
  runId: string;
  key: string;
  /** Largest on-time event time of the user in this run (−∞ before the first). */
  maxT: number;
  /** On-time events not yet in a closed window, sorted by (t, id). */
  buf: Ev[];
  /** Late events waiting for the user's next window, in arrival order. */
  late: Ev[];
  /** Dropped events already final, waiting to be attributed to the user's next window. */
  carry: DropTally;
  /** Sequence number of the user's next window in this run. */
  seq: number;
  /** Ids (→ event time) of events in the user's closed windows, for de-duplication. */
  closed: Map<string, number>;
  hist: UserHistory;
  /** Derived, not checkpointed: the plan of the first open window while the buffer is unchanged. */
  plan?: Plan | undefined;
  /**
   * Derived, not checkpointed: a lower bound of the first open window's end (its last kept event
   * time), or −∞. Set by planning; kept while every insert since is an append more than the
   * cleaning lookahead after it (see `admit`).
   */
  endLB: number;
  /** Live runs: the partition's processing time when the user's latest record arrived. */
  seen: number;
  /** Live runs: revision of the open session's last early window (0: none yet). */
  rev: number;
  /** Live runs: processing time of the open session's last early window (−∞: none). */
  earlyAt: number;
}

interface RunState {
  runId: string;
  tenant: string;
  /** The tenant's live run (`isLiveRun`): never ends; windows also close on processing time. */
  live: boolean;
  /** Users by user id (a run belongs to one tenant). */
  users: Map<string, UserState>;
  prices: PriceBook;
  vocab: Vocabulary;
  /** Window records written for this run from this partition. */
  windows: number;
}

interface Plan {
  /** The user watermark beyond which the window is final: end + gap + cleaning lookahead. */
  tau: number;
  verdicts: (string | undefined)[];
  /** Events [0, boundary) of the buffer belong to the window. */
  boundary: number;
}

interface EndedRun {
  records: number;
  tenant: string;
}

/** Result of `ingest` (`erased`: the user was erased; the event is dropped, see `PartitionEngine.erase`). */
export type IngestOutcome = 'ok' | 'late' | 'after_end_of_run' | 'erased';

/**
 * What the engine remembers of an erased user (see `PartitionEngine.erase`): the erasure time and
 * whether a consent after it lifted the suppression. Kept under a digest of `tenant/user_id`, never
 * the id itself.
 */
interface Erasure {
  digest: string;
  /** Erasure time, epoch ms: events at or before it are always dropped. */
  at: number;
  /** A CONSENT event after `at` arrived: later events are taken again. */
  lifted: boolean;
}

/** The checkpoint field of an erasure: `X\0` + 128-bit SHA-256 prefix of `tenant/user_id` (hex). */
export function erasureDigest(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

/** Plain keys whose erasure state is cached in memory (cleared when full). */
const ERASURE_CACHE_MAX = 100_000;

const MAX_ENDED_RUNS = 1000;

/**
 * Days of price statistics a live run keeps as separate buckets; older days are folded into one
 * (`PriceBook.foldBefore`), so a run that never ends keeps a price book of the catalogue's size.
 */
export const LIVE_PRICE_DAYS = 90;

/**
 * The semantizer core for ONE partition: per-run, per-user event-time session windows, cleaning,
 * semantic aggregation and rendering. Pure and deterministic — the windows are a function of the
 * partition's record sequence (not of how it is batched), and within the allowed lateness of the
 * set of events only — and fully checkpointable.
 *
 * A run is (tenant, run id): runs of different tenants share nothing. Watermarks are kept per user
 * (max event time of the user − lateness), inside the partition's state: producers such as the
 * simulator emit one user's whole history after another, so a single partition-wide event-time
 * watermark would declare every later user's events late. An event older than its user's watermark
 * is late; a user's first open window closes at the event that moves the user's watermark past
 * end + gap + cleaning lookahead, or at the run's end-of-run marker.
 *
 * The live run (`isLiveRun`) never ends. Its windows also close on processing time: the partition's
 * processing clock is the time of the last tick record (`tick`), a record arrives at the later of
 * that clock and its own timestamp, and a live user's windows close once the clock is more than
 * gap + lateness past the arrival of the user's latest record; the
 * user's state then leaves memory and only compact facts (`takeDelta().idleSet`) stay, read back by
 * `revive` when the user returns. Sessions in progress yield early windows on ticks.
 */
export class PartitionEngine {
  private readonly runs = new RunTable<RunState>();
  private readonly ended = new RunTable<EndedRun>();
  /** Ended runs, oldest first (at most `MAX_ENDED_RUNS` are remembered). */
  private readonly endedOrder: [tenant: string, runId: string][] = [];
  private readonly cleaner: Cleaner;
  private readonly lookahead: number;
  private readonly uaCache = new Map<string, number>();
  /** Users changed since the last delta (by identity: no key building per event). */
  private readonly changed = new Set<UserState>();
  private readonly removed = new Set<string>();
  private readonly removedRuns = new Set<string>();
  private readonly hasher = new PartHasher();
  private readonly paths = new PathCache();
  /** The state of the previous event's user (see `stateOf`); reset whenever states are dropped. */
  private last: { run: RunState; u: UserState } | undefined;
  /** The user last added to `changed` (skips re-adding per event; cleared with `changed`). */
  private lastChanged: UserState | undefined;
  private readonly pathTable: PathTable;
  /** The open taxonomy mapper (per tenant; caches shared with the other engines). */
  private readonly taxonomy: TaxonomyMapper;
  /** Raw bytes/tokens of each event's canonical JSON line (caches shared with the other engines). */
  private readonly sizer: RawSizer;
  /** Processing time of the partition: the newest tick's time (−∞ before the first). */
  private clock = Number.NEGATIVE_INFINITY;
  /** Live users in memory, least recently arrived first (a record moves its user to the end). */
  private readonly active = new Set<UserState>();
  /** Live users with events that no window showed yet (candidates for an early window). */
  private readonly fresh = new Set<UserState>();
  /** Compact facts of live users evicted since the last delta, by checkpoint field. */
  private readonly evicted = new Map<string, string>();
  /** UTC day (of the clock) up to which live runs' price books are folded (derived: folding again changes nothing). */
  private foldedDay = Number.NEGATIVE_INFINITY;
  /** Erased users of this partition, by digest (checkpointed, one small field each). */
  private readonly erasures = new Map<string, Erasure>();
  /** Derived: `tenant/user_id` → its erasure or null (none), so a digest is computed once per user. */
  private readonly erasureCache = new Map<string, Erasure | null>();
  /** Erasures written or lifted since the last delta. */
  private readonly erasuresChanged = new Set<Erasure>();
  /** Idle-store fields of erased users, to delete with the next delta. */
  private readonly idleDel: string[] = [];

  constructor(
    private readonly cfg: CoreConfig,
    private readonly stats: CoreStats,
    private readonly tokens: TokenCounter | undefined,
    /** Caches shared by the engines of one semantizer (one thread): each value is measured once. */
    shared: { sizer: RawSizer; paths: PathTable; taxonomy: TaxonomyMapper } = {
      sizer: new RawSizer(tokens),
      paths: new PathTable(),
      taxonomy: new TaxonomyMapper(cfg.taxonomy),
    },
  ) {
    this.cleaner = createCleaner(cfg);
    this.sizer = shared.sizer;
    this.pathTable = shared.paths;
    this.taxonomy = shared.taxonomy;
    this.lookahead = Math.max(this.cleaner.lookaheadMs, cfg.payloadDedupMs);
  }

  /** Runs with open state on this partition, in `tenant/run` order. */
  openRuns(): { tenant: string; runId: string }[] {
    return [...this.runs.values()]
      .map((r) => ({ tenant: r.tenant, runId: r.runId }))
      .sort((a, b) => compareRuns(a.tenant, a.runId, b.tenant, b.runId));
  }

  /** True when the run already ended on this partition. */
  hasEnded(tenant: string, runId: string): boolean {
    return this.ended.has(tenant, runId);
  }

  /** Users with state in memory (all runs). */
  userCount(): number {
    let n = 0;
    for (const run of this.runs.values()) n += run.users.size;
    return n;
  }

  /** True while live users have state here: their windows close only as ticks move the clock. */
  wantsTicks(): boolean {
    return this.active.size > 0;
  }

  /**
   * Takes one valid event (already through decode/validate) and appends the windows it closes to
   * `out`. `receivedMs` is the event record's broker timestamp (0 unknown): the event's entry time
   * into the pipeline (see `ClosedWindow.entryMs`); it orders copies of an event that carries no
   * `receivedTimeMs` (see `compareEv`), but never becomes a window field.
   */
  ingest(event: BehaviorEvent, out: ClosedWindow[], receivedMs = 0): IngestOutcome {
    if (this.erasures.size > 0 && this.suppressed(event.tenant, event.userId, event.eventTimeMs, isConsent(event))) {
      return 'erased';
    }
    if (this.runEnded(event.tenant, event.runId)) {
      this.stats.afterEnd++;
      return 'after_end_of_run';
    }
    return this.admit(this.toEv(event, receivedMs), event.tenant, event.userId, event.runId, out);
  }

  /**
   * Erases a user on this partition (an `Erasure` record of the events topic, in order with the
   * user's events): every state of the user in every run of the tenant — open windows, late events,
   * de-duplication ids, notable-event history — leaves memory, the checkpoint (next delta) and the
   * idle store, without emitting a window; and the user is suppressed (see `suppressed`). A repeated
   * erasure keeps the later time and suppresses again.
   */
  erase(tenant: string, userId: string, erasedMs: number): void {
    const key = `${tenant}/${userId}`;
    for (const run of this.runs.values()) {
      if (run.tenant !== tenant) continue;
      const u = run.users.get(userId);
      if (!u) continue;
      run.users.delete(userId);
      this.active.delete(u);
      this.fresh.delete(u);
      this.changed.delete(u);
      this.removed.add(fieldKey(run.runId, key));
    }
    this.last = undefined;
    this.lastChanged = undefined;
    const idle = fieldKey(LIVE_RUN_ID, key);
    this.evicted.delete(idle);
    this.idleDel.push(idle);
    const digest = erasureDigest(key);
    const prev = this.erasures.get(digest);
    const e: Erasure = { digest, at: prev && prev.at > erasedMs ? prev.at : erasedMs, lifted: false };
    this.erasures.set(digest, e);
    this.cacheErasure(key, e);
    this.erasuresChanged.add(e);
    this.stats.erasures++;
  }

  /**
   * The policy for an erased user's events (suppress and delete): an event at or before the erasure
   * time is dropped (reason `erased`) — a replay never brings the user back; a later one is dropped
   * (reason `suppressed`) until a granted CONSENT event after the erasure, which lifts the
   * suppression and is itself taken: the user starts afresh from there. True when dropped.
   */
  private suppressed(tenant: string, userId: string, t: number, consent: boolean): boolean {
    const key = `${tenant}/${userId}`;
    let e = this.erasureCache.get(key);
    if (e === undefined) {
      e = this.erasures.get(erasureDigest(key)) ?? null;
      this.cacheErasure(key, e);
    }
    if (e === null) return false;
    let reason: string | undefined;
    if (!(t > e.at)) reason = 'erased';
    else if (!e.lifted) {
      if (consent) {
        e.lifted = true;
        this.erasuresChanged.add(e);
      } else reason = 'suppressed';
    }
    if (reason === undefined) return false;
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
    return true;
  }

  private cacheErasure(key: string, e: Erasure | null): void {
    if (this.erasureCache.size >= ERASURE_CACHE_MAX) this.erasureCache.clear();
    this.erasureCache.set(key, e);
  }

  /** Erased users remembered on this partition (tests, metrics). */
  erasureCount(): number {
    return this.erasures.size;
  }

  /** True when the run ended on this partition (no lookup when it is the previous event's open run). */
  private runEnded(tenant: string, runId: string): boolean {
    const last = this.last;
    if (last !== undefined && last.run.runId === runId && last.run.tenant === tenant) return false;
    return this.ended.size > 0 && this.ended.has(tenant, runId);
  }

  /** The compact form of an event, with its raw size (canonical JSON line) and token count. */
  toEv(event: BehaviorEvent, receivedMs = 0): Ev {
    const item = event.item;
    const c = item ? this.pathTable.intern(item.categoryPath) : NO_PATH;
    this.sizer.measure(event, c);
    const ctx = event.context;
    const ua = ctx?.userAgent ?? '';
    let bot = 0;
    if (ua !== '') {
      let v = this.uaCache.get(ua);
      if (v === undefined) {
        v = CRAWLER_UA.test(ua) ? 1 : 0;
        if (this.uaCache.size > 10_000) this.uaCache.clear();
        this.uaCache.set(ua, v);
      }
      bot = v;
    }
    const device = ctx?.device ?? '';
    return {
      id: event.eventId,
      t: event.eventTimeMs,
      y: event.type,
      it: item?.id ?? '',
      c,
      b: item?.brand ?? '',
      p: item?.price ?? 0,
      q: event.query,
      d: device,
      w: event.dwellMs,
      n: event.quantity,
      r: event.rating,
      h: this.hasher
        .begin()
        .num(event.type)
        .str(item?.id ?? '')
        .str(event.query)
        .str(device)
        .str(ctx?.sessionId ?? '')
        .num(event.dwellMs)
        .num(event.quantity)
        .num(event.rating)
        .num(item?.price ?? 0)
        .end(),
      rb: this.sizer.bytes,
      rt: this.sizer.tokens,
      rc: event.receivedTimeMs > 0 ? event.receivedTimeMs : 0,
      bot,
      a: -1,
      s: signalBits(event.type, event.properties),
      en: receivedMs > 0 ? receivedMs : 0,
      sh: 0,
      m: eventMask(this.taxonomy, event.tenant, event.type, c, item?.title ?? '', event.query),
    };
  }

  /** Takes an event already in the core's compact form. */
  ingestEv(ev: Ev, tenant: string, userId: string, runId: string, out: ClosedWindow[]): IngestOutcome {
    if (this.erasures.size > 0 && this.suppressed(tenant, userId, ev.t, ev.y === EventType.CONSENT && ev.s !== 0)) {
      return 'erased';
    }
    if (this.runEnded(tenant, runId)) {
      this.stats.afterEnd++;
      return 'after_end_of_run';
    }
    return this.admit(ev, tenant, userId, runId, out);
  }

  /** `ingestEv` for an event of a run that has not ended here. */
  private admit(ev: Ev, tenant: string, userId: string, runId: string, out: ClosedWindow[]): IngestOutcome {
    const { run, u } = this.stateOf(tenant, userId, runId);
    const key = u.key;
    this.stats.events++;
    if (run.live) this.arrived(u, ev.en);
    if (ev.bot === 0) {
      // Run-wide knowledge (prices, vocabulary) from every event, queried only for days before a window.
      if (ev.p > 0 && PRICED_TYPE[ev.y] === 1 && ev.c.length > 0) run.prices.add(ev.c, ev.p, ev.t);
      if (ev.c.length > 0 && run.prices.observePath(ev.c, ev.t)) for (const c of ev.c) run.vocab.observe(c, ev.t);
      if (ev.b !== '') run.vocab.observe(ev.b, ev.t);
    }
    const wm = u.maxT - this.cfg.latenessMs;
    if (ev.t < wm) {
      ev.a = wm;
      u.late.push(ev);
      this.stats.late++;
      return 'late';
    }
    if (ev.t > u.maxT) u.maxT = ev.t;
    const at = insertSorted(u.buf, ev);
    // An event appended more than the lookahead after the planned window's end changes no verdict
    // of an event up to that end (cleaning looks at most `lookahead` ms around an event; id and
    // payload de-duplication only look back), so the window keeps at least that end. This saves
    // re-planning (re-classifying the buffer) on every event of a long session: see `closeDue`.
    if (!(at === u.buf.length - 1 && ev.t - this.lookahead > u.endLB)) u.endLB = Number.NEGATIVE_INFINITY;
    u.plan = undefined;
    this.closeDue(run, key, u, u.maxT - this.cfg.latenessMs, out);
    return 'ok';
  }

  /**
   * A live user's record arrived: it is stamped with its processing time — the partition's clock, or
   * the record's own timestamp when that is later (a partition without live users gets no ticks, so
   * its clock can be old when a user arrives) — and becomes the most recently arrived, with
   * something to show.
   */
  private arrived(u: UserState, entryMs: number): void {
    u.seen = entryMs > this.clock ? entryMs : this.clock;
    this.active.delete(u);
    this.active.add(u);
    this.fresh.add(u);
  }

  /**
   * The run and user state of an event, created when missing, and marked changed. Consecutive
   * events usually belong to the same user (producers emit user after user; a Kafka batch holds
   * runs of one key), so the previous answer is checked first: three string comparisons instead of
   * two map lookups.
   */
  private stateOf(tenant: string, userId: string, runId: string): { run: RunState; u: UserState } {
    const last = this.last;
    if (last !== undefined && last.u.userId === userId && last.run.tenant === tenant && last.run.runId === runId) {
      if (last.u === this.lastChanged) return last;
      this.changed.add(last.u);
      this.lastChanged = last.u;
      return last;
    }
    const run = this.runOf(tenant, runId);
    let u = run.users.get(userId);
    if (!u) u = this.adopt(run, this.takeEvicted(run, userId) ?? newUser(tenant, userId, runId));
    this.changed.add(u);
    this.lastChanged = u;
    this.last = { run, u };
    return this.last;
  }

  private runOf(tenant: string, runId: string): RunState {
    let run = this.runs.get(tenant, runId);
    if (!run) {
      run = newRun(runId, tenant);
      this.runs.set(tenant, runId, run);
    }
    return run;
  }

  /** Puts a user's state into its run (new, or back from the idle store). */
  private adopt(run: RunState, u: UserState): UserState {
    run.users.set(u.userId, u);
    if (this.removed.size > 0) this.removed.delete(fieldKey(run.runId, u.key));
    return u;
  }

  /** A live user evicted since the last delta comes back from memory, not from the store. */
  private takeEvicted(run: RunState, userId: string): UserState | undefined {
    if (!run.live || this.evicted.size === 0) return undefined;
    const f = fieldKey(run.runId, `${run.tenant}/${userId}`);
    const json = this.evicted.get(f);
    if (json === undefined) return undefined;
    this.evicted.delete(f);
    this.stats.revived++;
    return idleUser(json, run.runId);
  }

  /**
   * The idle-store field of a live user whose state is not in memory — their compact facts may be
   * in the idle store; `undefined` when there is nothing to look up (a finite run, a user in memory
   * or just evicted). The service reads these fields before a batch and hands them to `revive`.
   */
  idleField(tenant: string, userId: string, runId: string): string | undefined {
    if (!isLiveRun(runId)) return undefined;
    const run = this.runs.get(tenant, runId);
    if (run?.users.has(userId)) return undefined;
    const f = fieldKey(runId, `${tenant}/${userId}`);
    return this.evicted.has(f) ? undefined : f;
  }

  /** Brings a live user back from the compact facts the idle store kept (see `idleField`). */
  revive(field: string, json: string): void {
    const [runId, key] = splitField(field);
    const { tenant, userId } = parseUserKey(key);
    const run = this.runOf(tenant, runId);
    if (run.users.has(userId)) return;
    this.adopt(run, idleUser(json, runId));
    this.stats.revived++;
  }

  /**
   * Processing-time punctuation (a tick record of the partition): the clock moves to `nowMs`, live
   * users quiet for more than gap + lateness get all their windows closed and leave memory, and
   * sessions in progress with unshown events get an early window (at most every `earlyEveryMs`).
   */
  tick(nowMs: number, out: ClosedWindow[]): void {
    if (nowMs > this.clock) this.clock = nowMs;
    this.closeIdle(out);
    this.emitEarly(out);
    this.foldPrices();
  }

  /** Once a day of processing time: live runs fold price days older than `LIVE_PRICE_DAYS`. */
  private foldPrices(): void {
    const day = Math.floor(this.clock / DAY_MS);
    if (!(day > this.foldedDay) || !Number.isFinite(day)) return;
    this.foldedDay = day;
    for (const run of this.runs.values()) if (run.live) run.prices.foldBefore(day - LIVE_PRICE_DAYS);
  }

  /** Closes and evicts the live users who went quiet: least recently arrived first, until one is not due. */
  private closeIdle(out: ClosedWindow[]): void {
    const due = this.clock - (this.cfg.gapMs + this.cfg.latenessMs);
    for (const u of this.active) {
      if (!(u.seen < due)) return;
      const run = this.runs.get(u.tenant, u.runId) as RunState;
      this.closeDue(run, u.key, u, Number.POSITIVE_INFINITY, out);
      this.flushLate(run, u.key, u, out);
      this.evict(run, u);
      this.stats.idleClosed++;
    }
  }

  /** A live user's state leaves memory; the compact facts a returning user needs go to the idle store. */
  private evict(run: RunState, u: UserState): void {
    run.users.delete(u.userId);
    this.active.delete(u);
    this.fresh.delete(u);
    this.changed.delete(u);
    if (this.lastChanged === u) this.lastChanged = undefined;
    if (this.last?.u === u) this.last = undefined;
    const f = fieldKey(run.runId, u.key);
    this.removed.add(f);
    this.evicted.set(f, serializeIdle(u, this.cfg));
    this.stats.evicted++;
  }

  private emitEarly(out: ClosedWindow[]): void {
    const every = this.cfg.earlyEveryMs;
    if (!(every > 0)) {
      this.fresh.clear();
      return;
    }
    for (const u of this.fresh) {
      if (this.clock - u.earlyAt < every) continue;
      this.fresh.delete(u);
      const w = this.preview(this.runs.get(u.tenant, u.runId) as RunState, u);
      if (!w) continue;
      out.push(w);
      u.earlyAt = this.clock;
      this.changed.add(u);
    }
  }

  /**
   * An early window: everything the user's open session holds so far (kept events, late ones, and
   * the drops among them), built like a final window but without changing the user's state — the
   * history is a copy, nothing closes — so the final window is exactly what it would have been.
   */
  private preview(run: RunState, u: UserState): ClosedWindow | undefined {
    const buf = u.buf;
    const verdicts = buf.length > 0 ? this.cleaner.classify(buf, u.closed) : [];
    const drops = emptyTally();
    mergeTally(drops, u.carry);
    const onTime: Ev[] = [];
    const times = new EntryTimes();
    for (let i = 0; i < buf.length; i++) {
      const e = buf[i] as Ev;
      times.add(e);
      if (verdicts[i] === undefined) onTime.push(e);
      else addDrop(drops, verdicts[i] as string, e);
    }
    const late = u.late.length > 0 ? this.cleanLate(u, drops, times).kept : [];
    if (onTime.length === 0 && late.length === 0) return undefined;
    const built = buildWindow(
      { tenant: u.tenant, userId: u.userId, runId: run.runId, seq: u.seq, onTime, late, drops },
      { history: copyHistory(u.hist), prices: run.prices, vocab: run.vocab, paths: this.paths },
      this.cfg,
      this.tokens,
    );
    u.rev++;
    const window = built.window;
    window.provisional = true;
    window.revision = u.rev;
    window.windowId = earlyWindowId(u.tenant, u.userId, run.runId, u.seq, u.rev);
    for (const e of buf) e.sh = 1;
    for (const e of u.late) e.sh = 1;
    this.stats.early++;
    return { key: u.key, runId: run.runId, window, entryMs: times.newest, firstEntryMs: times.firstUnshown() };
  }

  /**
   * The user's late events, sorted and cleaned among themselves and against every id the user has:
   * the kept ones, their drops added to `drops`. Nothing is taken (`takeLate` takes them).
   */
  private cleanLate(u: UserState, drops: DropTally, times?: EntryTimes): { sorted: Ev[]; kept: Ev[] } {
    const sorted = [...u.late].sort(compareEv);
    const known = new Map(u.closed);
    for (const e of u.buf) known.set(e.id, e.t);
    const verdicts = this.cleaner.classify(sorted, known);
    const kept: Ev[] = [];
    for (let i = 0; i < sorted.length; i++) {
      const e = sorted[i] as Ev;
      times?.add(e);
      if (verdicts[i] === undefined) kept.push(e);
      else addDrop(drops, verdicts[i] as string, e);
    }
    return { sorted, kept };
  }

  /**
   * End of input for a run on this partition: closes all its windows (user by user, in order),
   * forgets the run's state and returns the windows plus the number of window records written for
   * the run from this partition (for the forwarded marker). A repeated marker for an ended run
   * returns no windows and the same count. The live run never ends (nothing happens: the service
   * dead-letters such a marker).
   */
  endOfRun(tenant: string, runId: string): { windows: ClosedWindow[]; records: number } {
    if (isLiveRun(runId)) return { windows: [], records: 0 };
    const done = this.ended.get(tenant, runId);
    if (done) return { windows: [], records: done.records };
    const run = this.runs.get(tenant, runId);
    const out: ClosedWindow[] = [];
    if (run) {
      for (const userId of [...run.users.keys()].sort()) {
        const u = run.users.get(userId) as UserState;
        this.closeDue(run, u.key, u, Number.POSITIVE_INFINITY, out);
        this.flushLate(run, u.key, u, out);
        this.removed.add(fieldKey(runId, u.key));
        this.changed.delete(u);
      }
      this.runs.delete(tenant, runId);
      this.removedRuns.add(pricePrefix(tenant, runId));
      this.last = undefined;
      this.lastChanged = undefined;
    }
    this.ended.set(tenant, runId, { records: run?.windows ?? 0, tenant });
    this.endedOrder.push([tenant, runId]);
    if (this.endedOrder.length > MAX_ENDED_RUNS) {
      const [t, r] = this.endedOrder.shift() as [string, string];
      this.ended.delete(t, r);
    }
    return { windows: out, records: run?.windows ?? 0 };
  }

  /** Closes the user's windows that are final under watermark `wm`, oldest first. */
  private closeDue(run: RunState, key: string, u: UserState, wm: number, out: ClosedWindow[]): void {
    const floor = this.cfg.gapMs + this.lookahead;
    for (;;) {
      const first = u.buf[0];
      // Cheap bound: the window ends no earlier than the buffer's first event.
      if (first === undefined || !(first.t + floor < wm)) return;
      // Nor before its known lower bound (a final window needs end + gap + lookahead < wm).
      if (!(u.endLB + floor < wm)) return;
      const plan = u.plan ?? this.planFor(u, wm);
      if (!plan || !(plan.tau < wm)) return;
      out.push(this.close(run, key, u, plan, wm));
    }
  }

  /** Plans the user's first open window; moves final, isolated leading drops into `carry`. */
  private planFor(u: UserState, wm: number): Plan | undefined {
    u.plan = undefined;
    u.endLB = Number.NEGATIVE_INFINITY;
    let buf = u.buf;
    if (buf.length === 0) return undefined;
    let verdicts = this.cleaner.classify(buf, u.closed);
    const R = this.lookahead;
    let k0 = verdicts.indexOf(undefined);
    const limit = k0 === -1 ? buf.length : k0;
    let cut = 0;
    for (let i = 0; i < limit; i++) {
      const ti = (buf[i] as Ev).t;
      if (!(ti + R < wm)) break;
      const next = buf[i + 1];
      if (next === undefined || next.t - ti > R) cut = i + 1;
    }
    if (cut > 0) {
      // Removing them changes no other verdict: every remaining or future event is > R away.
      for (let i = 0; i < cut; i++) {
        const e = buf[i] as Ev;
        addDrop(u.carry, verdicts[i] as string, e);
        u.closed.set(e.id, e.t);
      }
      buf = buf.slice(cut);
      u.buf = buf;
      verdicts = verdicts.slice(cut);
      k0 = k0 === -1 ? -1 : k0 - cut;
    }
    if (k0 === -1) return undefined;
    const { gapMs, maxWindowMs } = this.cfg;
    const s = (buf[k0] as Ev).t;
    let lastIdx = k0;
    let nextKept = -1;
    for (let i = k0 + 1; i < buf.length; i++) {
      if (verdicts[i] !== undefined) continue;
      const t = (buf[i] as Ev).t;
      if (t - (buf[lastIdx] as Ev).t > gapMs || t - s > maxWindowMs) {
        nextKept = i;
        break;
      }
      lastIdx = i;
    }
    const e = (buf[lastIdx] as Ev).t;
    let boundary: number;
    if (nextKept !== -1 && (buf[nextKept] as Ev).t <= e + gapMs) {
      boundary = nextKept; // split by the maximum length
    } else {
      boundary = lastIdx + 1;
      const stop = nextKept === -1 ? buf.length : nextKept;
      while (boundary < stop && (buf[boundary] as Ev).t <= e + gapMs) boundary++;
    }
    const plan: Plan = { tau: e + gapMs + R, verdicts, boundary };
    u.plan = plan;
    u.endLB = e;
    return plan;
  }

  private close(run: RunState, key: string, u: UserState, plan: Plan, wm: number): ClosedWindow {
    const buf = u.buf;
    const onTime: Ev[] = [];
    const drops = u.carry;
    u.carry = emptyTally();
    const times = new EntryTimes();
    for (let i = 0; i < plan.boundary; i++) {
      const e = buf[i] as Ev;
      times.add(e);
      const v = plan.verdicts[i];
      if (v === undefined) onTime.push(e);
      else addDrop(drops, v, e);
    }
    for (const e of u.late) times.add(e);
    const late = this.takeLate(u, drops);
    for (let i = 0; i < plan.boundary; i++) {
      const e = buf[i] as Ev;
      u.closed.set(e.id, e.t);
    }
    u.buf = buf.slice(plan.boundary);
    u.plan = undefined;
    u.endLB = Number.NEGATIVE_INFINITY;
    if (Number.isFinite(wm)) {
      const horizon = wm - this.cfg.dedupHorizonMs;
      for (const [id, t] of u.closed) if (t < horizon) u.closed.delete(id);
    }
    return this.emit(run, key, u, onTime, late, drops, times);
  }

  /** Takes the user's late events for a window: the kept ones (see `cleanLate`); their ids become closed ids. */
  private takeLate(u: UserState, drops: DropTally): Ev[] {
    if (u.late.length === 0) return [];
    const { sorted, kept } = this.cleanLate(u, drops);
    u.late = [];
    for (const e of sorted) u.closed.set(e.id, e.t);
    return kept;
  }

  /** At the end of a run (or of a live user's activity): late events never folded into a window form one last window. */
  private flushLate(run: RunState, key: string, u: UserState, out: ClosedWindow[]): void {
    const drops = u.carry;
    u.carry = emptyTally();
    if (u.buf.length > 0) {
      // Only dropped events can be left here: every kept one closed with a window before.
      const verdicts = this.cleaner.classify(u.buf, u.closed);
      for (let i = 0; i < u.buf.length; i++) {
        const e = u.buf[i] as Ev;
        addDrop(drops, verdicts[i] ?? 'unattributed', e);
        u.closed.set(e.id, e.t);
      }
      u.buf = [];
    }
    const times = new EntryTimes();
    for (const e of u.late) times.add(e);
    const late = this.takeLate(u, drops);
    if (late.length > 0) {
      out.push(this.emit(run, key, u, [], late, drops, times));
      return;
    }
    const n = tallyCount(drops);
    if (n > 0) {
      this.stats.orphanEvents += n;
      this.stats.orphanRawBytes += drops.rb;
      for (const [r, c] of Object.entries(drops.reasons)) this.stats.dropped[r] = (this.stats.dropped[r] ?? 0) + c;
    }
  }

  private emit(
    run: RunState,
    key: string,
    u: UserState,
    onTime: Ev[],
    late: Ev[],
    drops: DropTally,
    times: EntryTimes,
  ): ClosedWindow {
    const built = buildWindow(
      { tenant: u.tenant, userId: u.userId, runId: run.runId, seq: u.seq, onTime, late, drops },
      { history: u.hist, prices: run.prices, vocab: run.vocab, paths: this.paths },
      this.cfg,
      this.tokens,
    );
    const window = built.window;
    u.seq++;
    run.windows++;
    this.changed.add(u);
    if (run.live) this.sessionClosed(u);
    const s = this.stats;
    s.windows++;
    for (const [r, c] of Object.entries(drops.reasons)) s.dropped[r] = (s.dropped[r] ?? 0) + c;
    const c = window.compression;
    if (c) {
      s.rawBytes += c.rawBytes;
      s.rawTokens += c.rawTokens;
      s.semantizedBytes += c.semantizedBytes;
      s.semantizedTokens += c.semantizedTokens;
    }
    s.binaryBytes += built.binaryBytes;
    s.unmapped += window.unmapped;
    return { key, runId: run.runId, window, entryMs: times.newest, firstEntryMs: times.firstUnshown() };
  }

  /**
   * A live user's window closed: the next session starts without early windows, and what the
   * buffer still holds (the next session's events) has to be shown again — the final window
   * replaced the early one that may have shown them.
   */
  private sessionClosed(u: UserState): void {
    u.rev = 0;
    u.earlyAt = Number.NEGATIVE_INFINITY;
    if (u.buf.length > 0 || u.late.length > 0) this.fresh.add(u);
  }

  // ---- checkpoints -------------------------------------------------------------------------

  /**
   * What changed since the last call, serialized: the meta record (clock, runs, vocabularies, ended
   * runs), the fields to set or delete (users: `U\0run\0tenant/user`; price buckets:
   * `P\0tenant\0run\0category\0day`) and the compact facts of evicted live users for the idle store
   * (field `run\0tenant/user`). Apply them together, atomically.
   */
  takeDelta(): CheckpointDelta {
    const set: string[] = [];
    for (const u of this.changed) set.push(`U\u0000${fieldKey(u.runId, u.key)}`, serializeUser(u, this.fresh.has(u)));
    const del = [...this.removed].map((f) => `U\u0000${f}`);
    for (const run of this.runs.values()) {
      const prefix = pricePrefix(run.tenant, run.runId);
      run.prices.takeDirty(set, prefix);
      run.prices.takeRemoved(del, prefix);
    }
    const delPrefixes = [...this.removedRuns];
    const idleSet: string[] = [];
    for (const [f, json] of this.evicted) idleSet.push(f, json);
    for (const e of this.erasuresChanged) set.push(`X\u0000${e.digest}`, serializeErasure(e));
    const idleDel = this.idleDel.splice(0);
    this.erasuresChanged.clear();
    this.changed.clear();
    this.lastChanged = undefined;
    this.removed.clear();
    this.removedRuns.clear();
    this.evicted.clear();
    return { meta: this.serializeMeta(), set, del, delPrefixes, idleSet, idleDel };
  }

  /** The full state (the idle store's compact facts are not part of it). */
  snapshot(): { meta: string; fields: Record<string, string> } {
    const fields: Record<string, string> = {};
    for (const run of this.runs.values()) {
      for (const u of run.users.values()) {
        fields[`U\u0000${fieldKey(run.runId, u.key)}`] = serializeUser(u, this.fresh.has(u));
      }
      const prefix = pricePrefix(run.tenant, run.runId);
      for (const [f, b] of run.prices.all()) fields[`${prefix}${f}`] = JSON.stringify(b);
    }
    for (const e of this.erasures.values()) fields[`X\u0000${e.digest}`] = serializeErasure(e);
    return { meta: this.serializeMeta(), fields };
  }

  /**
   * Replaces this engine's state with a snapshot (from `snapshot`, or a store that applied deltas).
   * A snapshot in the previous format (meta `v: 1`: runs by run id alone) is read too, and then the
   * next delta holds the whole state, so the store can write it anew.
   */
  restore(snap: { meta: string; fields: Record<string, string> }): void {
    this.runs.clear();
    this.ended.clear();
    this.endedOrder.length = 0;
    this.changed.clear();
    this.last = undefined;
    this.lastChanged = undefined;
    this.removed.clear();
    this.removedRuns.clear();
    this.active.clear();
    this.fresh.clear();
    this.evicted.clear();
    this.erasures.clear();
    this.erasureCache.clear();
    this.erasuresChanged.clear();
    this.idleDel.length = 0;
    const meta = JSON.parse(snap.meta) as MetaJson;
    const legacy = meta.v === 1;
    this.clock = meta.clock ?? Number.NEGATIVE_INFINITY;
    /** v1: run id → its run (run ids were one namespace then). */
    const byId = new Map<string, RunState>();
    for (const r of meta.runs) {
      const run = { ...newRun(r.id, r.tenant), windows: r.windows, vocab: new Vocabulary(new Map(r.vocab)) };
      this.runs.set(r.tenant, r.id, run);
      byId.set(r.id, run);
    }
    for (const [id, records, tenant] of meta.ended) {
      this.ended.set(tenant, id, { records, tenant });
      this.endedOrder.push([tenant, id]);
    }
    const fresh: UserState[] = [];
    for (const [f, json] of Object.entries(snap.fields)) {
      const kind = f.slice(0, 2);
      const rest = f.slice(2);
      if (kind === 'U\u0000') {
        const [runId, key] = splitField(rest);
        const { tenant } = parseUserKey(key);
        const run = legacy ? this.legacyRun(byId, tenant, runId) : this.runs.get(tenant, runId);
        if (!run) continue;
        const { u, isFresh } = deserializeUser(json, runId, key);
        run.users.set(u.userId, this.internPaths(u));
        if (isFresh) fresh.push(u);
      } else if (kind === 'X\u0000') {
        const [at, lifted] = JSON.parse(json) as [number, number];
        this.erasures.set(rest, { digest: rest, at, lifted: lifted === 1 });
      } else if (kind === 'P\u0000') {
        const [a, tail] = splitField(rest);
        if (legacy) byId.get(a)?.prices.set(tail, JSON.parse(json) as Bucket);
        else {
          const [runId, field] = splitField(tail);
          this.runs.get(a, runId)?.prices.set(field, JSON.parse(json) as Bucket);
        }
      }
    }
    const live: UserState[] = [];
    for (const run of this.runs.values()) {
      run.prices.clearDirty();
      if (run.live) for (const u of run.users.values()) live.push(u);
    }
    for (const u of live.sort((a, b) => a.seen - b.seen)) this.active.add(u);
    for (const u of fresh) this.fresh.add(u);
    if (legacy) this.markAllChanged();
  }

  /** v1 runs were keyed by run id; a user of another tenant than its run's gets a run of its own now. */
  private legacyRun(byId: Map<string, RunState>, tenant: string, runId: string): RunState {
    const run = byId.get(runId);
    if (run && run.tenant === tenant) return run;
    return this.runOf(tenant, runId);
  }

  /** Every user and price bucket goes into the next delta (the state is written anew). */
  private markAllChanged(): void {
    for (const run of this.runs.values()) {
      for (const u of run.users.values()) this.changed.add(u);
      run.prices.markAllDirty();
    }
  }

  /** Restored events share the interned path arrays, as freshly ingested ones do. */
  private internPaths(u: UserState): UserState {
    for (const e of u.buf) this.restoreEv(e, u.tenant);
    for (const e of u.late) this.restoreEv(e, u.tenant);
    return u;
  }

  /** A restored event shares the interned path; one checkpointed without a taxonomy mask is mapped again (its title is not kept). */
  private restoreEv(e: Ev, tenant: string): void {
    e.c = this.pathTable.intern(e.c);
    if (e.m < 0) e.m = eventMask(this.taxonomy, tenant, e.y, e.c, '', e.q);
  }

  private serializeMeta(): string {
    const meta: MetaJson = {
      v: 2,
      clock: Number.isFinite(this.clock) ? this.clock : null,
      runs: [...this.runs.values()].map((r) => ({
        id: r.runId,
        tenant: r.tenant,
        windows: r.windows,
        vocab: [...r.vocab.words.entries()],
      })),
      ended: this.endedOrder.map(([tenant, id]) => [id, (this.ended.get(tenant, id) as EndedRun).records, tenant]),
    };
    return JSON.stringify(meta);
  }
}

/**
 * A checkpoint delta: the new meta, fields to set, fields to delete, field prefixes to delete, and
 * the compact facts of evicted live users (for the idle store, apart from the checkpoint).
 */
export interface CheckpointDelta {
  meta: string;
  /** Fields to set, as field, value pairs one after another (no object per field: thousands per batch). */
  set: string[];
  del: string[];
  delPrefixes: string[];
  /** Idle-store fields to set, as field, value pairs (see `PartitionEngine.idleField`). */
  idleSet: string[];
  /** Idle-store fields to delete (erased users). */
  idleDel: string[];
}

/** An erasure's checkpoint value: `[erasure time, lifted 1/0]`. */
function serializeErasure(e: Erasure): string {
  return JSON.stringify([e.at, e.lifted ? 1 : 0]);
}

/** A granted CONSENT event (as the window's `consent` signal counts it). */
function isConsent(event: BehaviorEvent): boolean {
  return event.type === EventType.CONSENT && signalBits(event.type, event.properties) !== 0;
}

interface MetaJson {
  v: 1 | 2;
  /** The partition's processing time (v2; null before the first tick). */
  clock?: number | null;
  runs: { id: string; tenant: string; windows: number; vocab: [string, number][] }[];
  ended: [string, number, string][];
}

interface UserJson {
  tenant: string;
  userId: string;
  maxT: number | null;
  buf: PackedEv[];
  late: PackedEv[];
  carry: DropTally;
  seq: number;
  closed: [string, number][];
  hist: UserHistory;
  /** Live runs (absent before): arrival time, early revision, early time (null: none), fresh 1/0. */
  seen?: number | null;
  rev?: number;
  ea?: number | null;
  f?: number;
}

function serializeUser(u: UserState, isFresh: boolean): string {
  const j: UserJson = {
    tenant: u.tenant,
    userId: u.userId,
    maxT: Number.isFinite(u.maxT) ? u.maxT : null,
    buf: u.buf.map(packEv),
    late: u.late.map(packEv),
    carry: u.carry,
    seq: u.seq,
    closed: [...u.closed.entries()],
    hist: u.hist,
    seen: Number.isFinite(u.seen) ? u.seen : null,
    rev: u.rev,
    ea: Number.isFinite(u.earlyAt) ? u.earlyAt : null,
    f: isFresh ? 1 : 0,
  };
  return JSON.stringify(j);
}

function deserializeUser(json: string, runId: string, key: string): { u: UserState; isFresh: boolean } {
  const j = JSON.parse(json) as UserJson;
  const u: UserState = {
    ...newUser(j.tenant, j.userId, runId, key),
    maxT: j.maxT === null ? Number.NEGATIVE_INFINITY : j.maxT,
    buf: j.buf.map(unpackEv),
    late: j.late.map(unpackEv),
    carry: j.carry,
    seq: j.seq,
    closed: new Map(j.closed),
    hist: j.hist,
    seen: j.seen ?? Number.NEGATIVE_INFINITY,
    rev: j.rev ?? 0,
    earlyAt: j.ea ?? Number.NEGATIVE_INFINITY,
  };
  return { u, isFresh: j.f === 1 };
}

/** What a returning live user needs: the window numbering, the watermark, recent ids, the history. */
interface IdleJson {
  tenant: string;
  userId: string;
  maxT: number | null;
  seq: number;
  closed: [string, number][];
  hist: UserHistory;
}

/** Compact facts of an idle live user; event ids are kept for the de-duplication horizon only. */
function serializeIdle(u: UserState, cfg: CoreConfig): string {
  const horizon = u.maxT - cfg.latenessMs - cfg.dedupHorizonMs;
  const closed: [string, number][] = [];
  for (const [id, t] of u.closed) if (t >= horizon) closed.push([id, t]);
  const j: IdleJson = {
    tenant: u.tenant,
    userId: u.userId,
    maxT: Number.isFinite(u.maxT) ? u.maxT : null,
    seq: u.seq,
    closed,
    hist: u.hist,
  };
  return JSON.stringify(j);
}

function idleUser(json: string, runId: string): UserState {
  const j = JSON.parse(json) as IdleJson;
  return {
    ...newUser(j.tenant, j.userId, runId),
    maxT: j.maxT === null ? Number.NEGATIVE_INFINITY : j.maxT,
    seq: j.seq,
    closed: new Map(j.closed),
    hist: j.hist,
  };
}

function newRun(runId: string, tenant: string): RunState {
  return {
    runId,
    tenant,
    live: isLiveRun(runId),
    users: new Map(),
    prices: new PriceBook(),
    vocab: new Vocabulary(),
    windows: 0,
  };
}

function newUser(tenant: string, userId: string, runId: string, key = `${tenant}/${userId}`): UserState {
  return {
    tenant,
    userId,
    runId,
    key,
    maxT: Number.NEGATIVE_INFINITY,
    buf: [],
    late: [],
    carry: emptyTally(),
    seq: 0,
    closed: new Map(),
    hist: emptyHistory(),
    endLB: Number.NEGATIVE_INFINITY,
    seen: Number.NEGATIVE_INFINITY,
    rev: 0,
    earlyAt: Number.NEGATIVE_INFINITY,
  };
}

function copyHistory(h: UserHistory): UserHistory {
  return { ...h, cats: { ...h.cats }, bought: [...h.bought] };
}

/** Entry times of a window's events: the newest, and the oldest of those no window showed yet. */
class EntryTimes {
  newest = 0;
  private oldestUnshown = Number.POSITIVE_INFINITY;

  add(e: Ev): void {
    if (e.en > this.newest) this.newest = e.en;
    if (e.sh === 0 && e.en > 0 && e.en < this.oldestUnshown) this.oldestUnshown = e.en;
  }

  firstUnshown(): number {
    return Number.isFinite(this.oldestUnshown) ? this.oldestUnshown : 0;
  }
}

/** Checkpoint field of a user: run id and user key separated by NUL (neither contains one). */
export function fieldKey(runId: string, key: string): string {
  return `${runId}\u0000${key}`;
}

/** Field prefix of a run's price buckets: tenant and run id, NUL-separated. */
function pricePrefix(tenant: string, runId: string): string {
  return `P\u0000${tenant}\u0000${runId}\u0000`;
}

function splitField(f: string): [string, string] {
  const i = f.indexOf('\u0000');
  return [f.slice(0, i), f.slice(i + 1)];
}

function compareRuns(ta: string, ra: string, tb: string, rb: string): number {
  if (ta !== tb) return ta < tb ? -1 : 1;
  return ra < rb ? -1 : ra > rb ? 1 : 0;
}

/** Inserts in `compareEv` order (t, id, receipt); returns the index. */
function insertSorted(buf: Ev[], ev: Ev): number {
  let i = buf.length;
  while (i > 0 && compareEv(buf[i - 1] as Ev, ev) > 0) i--;
  if (i === buf.length) buf.push(ev);
  else buf.splice(i, 0, ev);
  return i;
}

/** The taxonomy mask of an event that windows count (engaged events and searches); 0 for the rest (never looked at). */
function eventMask(
  taxonomy: TaxonomyMapper,
  tenant: string,
  type: number,
  path: readonly string[],
  title: string,
  query: string,
): number {
  if (ENGAGED_TYPE[type] !== 1 && type !== EventType.SEARCH) return 0;
  return taxonomy.of(tenant).event(type, path, title, query);
}
