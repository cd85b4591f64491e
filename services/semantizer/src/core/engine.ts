import { type BehaviorEvent, type SemantizedWindow, userKey } from '@personastream/contracts';
import { CRAWLER_UA } from '../steps/bot-filter.js';
import { buildWindow, compareEv } from './aggregate.js';
import { type Cleaner, createCleaner } from './clean.js';
import { emptyHistory, type UserHistory } from './history.js';
import { Vocabulary } from './intents.js';
import { PathCache, PRICED_TYPE, signalBits } from './mapping.js';
import { NO_PATH, PathTable } from './path-table.js';
import { type Bucket, PriceBook } from './prices.js';
import { RawSizer } from './raw-size.js';
import type { TokenCounter } from './tokens.js';
import {
  addDrop,
  type CoreConfig,
  type DropTally,
  type Ev,
  emptyTally,
  type PackedEv,
  packEv,
  tallyCount,
  unpackEv,
} from './types.js';
import { PartHasher } from './window-id.js';

/** A window closed by the core, with its routing key. */
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
}

interface RunState {
  runId: string;
  tenant: string;
  users: Map<string, UserState>;
  /** The same states of users of the run's tenant, by user id (filled as they are looked up). */
  byUserId: Map<string, UserState>;
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

/** Result of `ingest`. */
export type IngestOutcome = 'ok' | 'late' | 'after_end_of_run';

const MAX_ENDED_RUNS = 1000;

/**
 * The semantizer core for ONE partition: per-run, per-user event-time session windows, cleaning,
 * semantic aggregation and rendering. Pure and deterministic — the windows are a function of the
 * partition's record sequence (not of how it is batched), and within the allowed lateness of the
 * set of events only — and fully checkpointable.
 *
 * Watermarks are kept per user (max event time of the user − lateness), inside the partition's
 * state: producers such as the simulator emit one user's whole history after another, so a single
 * partition-wide event-time watermark would declare every later user's events late. An event older
 * than its user's watermark is late; a user's first open window closes at the event that moves the
 * user's watermark past end + gap + cleaning lookahead, or at the run's end-of-run marker.
 */
export class PartitionEngine {
  private readonly runs = new Map<string, RunState>();
  private readonly ended = new Map<string, EndedRun>();
  private readonly cleaner: Cleaner;
  private readonly lookahead: number;
  private readonly uaCache = new Map<string, number>();
  /** Users changed since the last delta (by identity: no key building per event). */
  private readonly changed = new Set<UserState>();
  private readonly removed = new Set<string>();
  private readonly hasher = new PartHasher();
  private readonly paths = new PathCache();
  /** The state of the previous event's user (see `stateOf`); reset whenever states are dropped. */
  private last: { run: RunState; u: UserState } | undefined;
  /** The user last added to `changed` (skips re-adding per event; cleared with `changed`). */
  private lastChanged: UserState | undefined;
  private readonly pathTable: PathTable;
  /** Raw bytes/tokens of each event's canonical JSON line (caches shared with the other engines). */
  private readonly sizer: RawSizer;

  constructor(
    private readonly cfg: CoreConfig,
    private readonly stats: CoreStats,
    private readonly tokens: TokenCounter | undefined,
    /** Caches shared by the engines of one semantizer (one thread): each value is measured once. */
    shared: { sizer: RawSizer; paths: PathTable } = { sizer: new RawSizer(tokens), paths: new PathTable() },
  ) {
    this.cleaner = createCleaner(cfg);
    this.sizer = shared.sizer;
    this.pathTable = shared.paths;
    this.lookahead = Math.max(this.cleaner.lookaheadMs, cfg.payloadDedupMs);
  }

  /** Runs with open state on this partition. */
  openRuns(): string[] {
    return [...this.runs.keys()].sort();
  }

  /** True when the run already ended on this partition. */
  hasEnded(runId: string): boolean {
    return this.ended.has(runId);
  }

  /**
   * Takes one valid event (already through decode/validate) and appends the windows it closes to
   * `out`. `receivedMs` is the event record's broker timestamp (0 unknown): the event's entry time
   * into the pipeline (see `ClosedWindow.entryMs`); it orders copies of an event that carries no
   * `receivedTimeMs` (see `compareEv`), but never becomes a window field.
   */
  ingest(event: BehaviorEvent, out: ClosedWindow[], receivedMs = 0): IngestOutcome {
    if (this.runEnded(event.runId)) {
      this.stats.afterEnd++;
      return 'after_end_of_run';
    }
    return this.admit(this.toEv(event, receivedMs), event.tenant, event.userId, event.runId, out);
  }

  /** True when the run ended on this partition (no lookup when it is the previous event's open run). */
  private runEnded(runId: string): boolean {
    return (this.last === undefined || this.last.run.runId !== runId) && this.ended.has(runId);
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
    };
  }

  /** Takes an event already in the core's compact form. */
  ingestEv(ev: Ev, tenant: string, userId: string, runId: string, out: ClosedWindow[]): IngestOutcome {
    if (this.runEnded(runId)) {
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
   * The run and user state of an event, created when missing, and marked changed. Consecutive
   * events usually belong to the same user (producers emit user after user; a Kafka batch holds
   * runs of one key), so the previous answer is checked first: three string comparisons instead of
   * building the `tenant/user_id` key and two map lookups.
   */
  private stateOf(tenant: string, userId: string, runId: string): { run: RunState; u: UserState } {
    const last = this.last;
    if (last !== undefined && last.u.userId === userId && last.u.tenant === tenant && last.run.runId === runId) {
      if (last.u === this.lastChanged) return last;
      this.changed.add(last.u);
      this.lastChanged = last.u;
      return last;
    }
    let run = this.runs.get(runId);
    if (!run) {
      run = newRun(runId, tenant);
      this.runs.set(runId, run);
    }
    // Users of the run's own tenant are also found by user id alone (no key to build).
    const own = tenant === run.tenant;
    let u = own ? run.byUserId.get(userId) : undefined;
    if (!u) {
      const key = userKey(tenant, userId);
      u = run.users.get(key);
      if (!u) {
        u = newUser(tenant, userId, runId, key);
        run.users.set(key, u);
      }
      if (own) run.byUserId.set(userId, u);
    }
    this.changed.add(u);
    this.lastChanged = u;
    this.last = { run, u };
    return this.last;
  }

  /**
   * End of input for a run on this partition: closes all its windows (user by user, in order),
   * forgets the run's state and returns the windows plus the number of window records written for
   * the run from this partition (for the forwarded marker). A repeated marker for an ended run
   * returns no windows and the same count.
   */
  endOfRun(runId: string): { windows: ClosedWindow[]; records: number } {
    const done = this.ended.get(runId);
    if (done) return { windows: [], records: done.records };
    const run = this.runs.get(runId);
    const out: ClosedWindow[] = [];
    if (run) {
      for (const key of [...run.users.keys()].sort()) {
        const u = run.users.get(key) as UserState;
        this.closeDue(run, key, u, Number.POSITIVE_INFINITY, out);
        this.flushLate(run, key, u, out);
        this.removed.add(fieldKey(runId, key));
        this.changed.delete(u);
      }
      this.runs.delete(runId);
      this.removedRuns.add(runId);
      this.last = undefined;
      this.lastChanged = undefined;
    }
    this.ended.set(runId, { records: run?.windows ?? 0, tenant: run?.tenant ?? '' });
    if (this.ended.size > MAX_ENDED_RUNS) {
      const oldest = this.ended.keys().next().value;
      if (oldest !== undefined) this.ended.delete(oldest);
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
    let entry = 0;
    for (let i = 0; i < plan.boundary; i++) {
      const e = buf[i] as Ev;
      if (e.en > entry) entry = e.en;
      const v = plan.verdicts[i];
      if (v === undefined) onTime.push(e);
      else addDrop(drops, v, e);
    }
    entry = Math.max(entry, lateEntry(u.late));
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
    return this.emit(run, key, u, onTime, late, drops, entry);
  }

  /** The user's late events, cleaned among themselves and against every id the user has. */
  private takeLate(u: UserState, drops: DropTally): Ev[] {
    if (u.late.length === 0) return [];
    const take = u.late.sort(compareEv);
    u.late = [];
    const known = new Map(u.closed);
    for (const e of u.buf) known.set(e.id, e.t);
    const verdicts = this.cleaner.classify(take, known);
    const kept: Ev[] = [];
    for (let i = 0; i < take.length; i++) {
      const e = take[i] as Ev;
      const v = verdicts[i];
      if (v === undefined) kept.push(e);
      else addDrop(drops, v, e);
      u.closed.set(e.id, e.t);
    }
    return kept;
  }

  /** At the end of a run: late events never folded into a window form one last window. */
  private flushLate(run: RunState, key: string, u: UserState, out: ClosedWindow[]): void {
    const drops = u.carry;
    u.carry = emptyTally();
    if (u.buf.length > 0) {
      // Only dropped events can be left here: every kept one closed with a window before.
      const verdicts = this.cleaner.classify(u.buf, u.closed);
      for (let i = 0; i < u.buf.length; i++) addDrop(drops, verdicts[i] ?? 'unattributed', u.buf[i] as Ev);
      u.buf = [];
    }
    const entry = lateEntry(u.late);
    const late = this.takeLate(u, drops);
    if (late.length > 0) {
      out.push(this.emit(run, key, u, [], late, drops, entry));
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
    entryMs: number,
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
    return { key, runId: run.runId, window, entryMs };
  }

  // ---- checkpoints -------------------------------------------------------------------------

  private readonly removedRuns = new Set<string>();

  /**
   * What changed since the last call, serialized: the meta record (runs, vocabularies, ended runs)
   * and the fields to set or delete (users: `U\0run\0key`; price buckets: `P\0run\0category\0day`).
   * Apply them together, atomically.
   */
  takeDelta(): CheckpointDelta {
    const set: string[] = [];
    for (const u of this.changed) set.push(`U\u0000${fieldKey(u.runId, u.key)}`, serializeUser(u));
    for (const run of this.runs.values()) {
      run.prices.takeDirty(set, `P\u0000${run.runId}\u0000`);
    }
    const del = [...this.removed].map((f) => `U\u0000${f}`);
    const delPrefixes = [...this.removedRuns].map((r) => `P\u0000${r}\u0000`);
    this.changed.clear();
    this.lastChanged = undefined;
    this.removed.clear();
    this.removedRuns.clear();
    return { meta: this.serializeMeta(), set, del, delPrefixes };
  }

  /** The full state. */
  snapshot(): { meta: string; fields: Record<string, string> } {
    const fields: Record<string, string> = {};
    for (const run of this.runs.values()) {
      for (const [key, u] of run.users) fields[`U\u0000${fieldKey(run.runId, key)}`] = serializeUser(u);
      for (const [f, b] of run.prices.all()) fields[`P\u0000${run.runId}\u0000${f}`] = JSON.stringify(b);
    }
    return { meta: this.serializeMeta(), fields };
  }

  /** Replaces this engine's state with a snapshot (from `snapshot`, or a store that applied deltas). */
  restore(snap: { meta: string; fields: Record<string, string> }): void {
    this.runs.clear();
    this.ended.clear();
    this.changed.clear();
    this.last = undefined;
    this.lastChanged = undefined;
    this.removed.clear();
    this.removedRuns.clear();
    const meta = JSON.parse(snap.meta) as MetaJson;
    for (const r of meta.runs) {
      this.runs.set(r.id, { ...newRun(r.id, r.tenant), windows: r.windows, vocab: new Vocabulary(new Map(r.vocab)) });
    }
    for (const [id, records, tenant] of meta.ended) this.ended.set(id, { records, tenant });
    for (const [f, json] of Object.entries(snap.fields)) {
      const kind = f.slice(0, 2);
      const rest = f.slice(2);
      const [runId, tail] = splitField(rest);
      const run = this.runs.get(runId);
      if (!run) continue;
      if (kind === 'U\u0000') run.users.set(tail, this.internPaths(deserializeUser(json, runId, tail)));
      else if (kind === 'P\u0000') run.prices.set(tail, JSON.parse(json) as Bucket);
    }
    for (const run of this.runs.values()) run.prices.clearDirty();
  }

  /** Restored events share the interned path arrays, as freshly ingested ones do. */
  private internPaths(u: UserState): UserState {
    for (const e of u.buf) e.c = this.pathTable.intern(e.c);
    for (const e of u.late) e.c = this.pathTable.intern(e.c);
    return u;
  }

  private serializeMeta(): string {
    const meta: MetaJson = {
      v: 1,
      runs: [...this.runs.values()].map((r) => ({
        id: r.runId,
        tenant: r.tenant,
        windows: r.windows,
        vocab: [...r.vocab.words.entries()],
      })),
      ended: [...this.ended.entries()].map(([id, e]) => [id, e.records, e.tenant]),
    };
    return JSON.stringify(meta);
  }
}

/** A checkpoint delta: the new meta, fields to set, fields to delete and field prefixes to delete. */
export interface CheckpointDelta {
  meta: string;
  /** Fields to set, as field, value pairs one after another (no object per field: thousands per batch). */
  set: string[];
  del: string[];
  delPrefixes: string[];
}

interface MetaJson {
  v: 1;
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
}

function serializeUser(u: UserState): string {
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
  };
  return JSON.stringify(j);
}

function deserializeUser(json: string, runId: string, key: string): UserState {
  const j = JSON.parse(json) as UserJson;
  return {
    tenant: j.tenant,
    userId: j.userId,
    runId,
    key,
    maxT: j.maxT === null ? Number.NEGATIVE_INFINITY : j.maxT,
    buf: j.buf.map(unpackEv),
    late: j.late.map(unpackEv),
    carry: j.carry,
    seq: j.seq,
    closed: new Map(j.closed),
    hist: j.hist,
    endLB: Number.NEGATIVE_INFINITY,
  };
}

function newRun(runId: string, tenant: string): RunState {
  return {
    runId,
    tenant,
    users: new Map(),
    byUserId: new Map(),
    prices: new PriceBook(),
    vocab: new Vocabulary(),
    windows: 0,
  };
}

function newUser(tenant: string, userId: string, runId: string, key: string): UserState {
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
  };
}

/** Checkpoint field of a user: run id and user key separated by NUL (neither contains one). */
export function fieldKey(runId: string, key: string): string {
  return `${runId}\u0000${key}`;
}

function splitField(f: string): [string, string] {
  const i = f.indexOf('\u0000');
  return [f.slice(0, i), f.slice(i + 1)];
}

/** The largest entry time of late events (0 when none is known). */
function lateEntry(late: readonly Ev[]): number {
  let m = 0;
  for (const e of late) if (e.en > m) m = e.en;
  return m;
}

/** Inserts in `compareEv` order (t, id, receipt); returns the index. */
function insertSorted(buf: Ev[], ev: Ev): number {
  let i = buf.length;
  while (i > 0 && compareEv(buf[i - 1] as Ev, ev) > 0) i--;
  if (i === buf.length) buf.push(ev);
  else buf.splice(i, 0, ev);
  return i;
}
