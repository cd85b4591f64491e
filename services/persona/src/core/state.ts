import { create } from '@bufbuild/protobuf';
import {
  type DimensionSpec,
  enabledDimensions,
  type Persona,
  PersonaSchema,
  type SemantizedWindow,
  type TagSet,
} from '@personastream/contracts';
import {
  isSyncBackend,
  type ModelBackend,
  type PredictContext,
  type Prediction,
  type SyncModelBackend,
} from './backend.js';
import { afterApply, isDuplicateWindow, type Overlay, type RunMark } from './bookkeeping.js';
import { flippedDimensions, type TagValue } from './flips.js';
import { cloneStats, emptyStats, type FeatureStats, updateStats } from './stats.js';

/**
 * Everything kept per user: the persona shown, the base statistics, and the bounded applied-window
 * bookkeeping (core/bookkeeping.ts).
 *
 * Early windows (`SemantizedWindow.provisional`: a session still in progress) never add to `stats`:
 * `stats` holds final windows only ("base"), the latest early window is kept aside as `overlay`, and
 * the persona is predicted from base ⊕ overlay (the early window applied to a copy of the base
 * statistics), with `Persona.early = true` while an overlay exists. The session's final window clears
 * the overlay and is applied to base, so every event counts once: the final persona is the one the
 * same final window gives without the early ones.
 */
export interface PersonaState {
  tenant: string;
  userId: string;
  /** The persona shown (predicted from base ⊕ overlay). */
  persona: Persona;
  /** Base statistics: final windows only. */
  stats: FeatureStats;
  /** Per run the highest applied final seq, least recently used first (bounded, core/bookkeeping.ts). */
  runs: readonly RunMark[];
  /** The latest early window, shown on top of `stats` until the final window of its session. */
  overlay?: Overlay;
  /** The persona's version when known without decoding it (stores set it; else `persona.version`). */
  baseVersion?: number;
  /** The persona's tags' dimensions and values when known without decoding it (stores may set it). */
  shownTags?: readonly TagValue[];
}

export interface ApplyOptions {
  /** Half-life of the recent horizon (days of event time), used when the state is new. Default 14. */
  halfLifeDays?: number;
  /** Samples for Avg@k (default 1). */
  samples?: number;
  /** Dimensions enabled for the tenant (default: all, sensitive included). */
  enabledDimensions?: readonly DimensionSpec[];
  /** Wall clock for `updated_ms` (default `Date.now()`). */
  nowMs?: number;
  /** New windows shown to the backend (default: the applied window). */
  windows?: readonly SemantizedWindow[];
  /** Update the given state's statistics in place instead of copying them (the caller owns it). */
  inPlace?: boolean;
}

export interface ApplyResult {
  state: PersonaState;
  persona: Persona;
  /** False when the window was already applied or is superseded (a duplicate: nothing changed). */
  applied: boolean;
  /** k TagSets of this update (empty for a duplicate). */
  samples: TagSet[];
  /** Dimensions whose value set changed against the previous persona (0 for a first persona or a duplicate). */
  flipped: number;
  prediction?: Prediction;
}

export function newState(tenant: string, userId: string, opts: ApplyOptions = {}): PersonaState {
  return {
    tenant,
    userId,
    persona: create(PersonaSchema, { tenant, userId, version: 0 }),
    stats: emptyStats({ halfLifeDays: opts.halfLifeDays ?? 14 }),
    runs: [],
  };
}

type Next = Omit<PersonaState, 'persona' | 'baseVersion' | 'shownTags'>;

/**
 * Stage 1 of an update (pure): the next state's base statistics and bookkeeping, and the statistics
 * the persona is predicted from (base ⊕ overlay); the persona not yet rebuilt.
 */
function prepare(
  state: PersonaState | undefined,
  window: SemantizedWindow,
  opts: ApplyOptions,
): { next: Next; shown: FeatureStats } | undefined {
  if (isDuplicateWindow(state, window)) return undefined;
  const base = state ?? newState(window.tenant, window.userId, opts);
  const book = afterApply(base, window);
  // An early window leaves the base as it is; a final window is folded into it.
  const stats = window.provisional
    ? base.stats
    : updateStats(opts.inPlace && state ? base.stats : cloneStats(base.stats), window);
  // The overlay is shown on a copy: it never reaches the base statistics.
  const shown = book.overlay ? updateStats(cloneStats(stats), book.overlay.window) : stats;
  // Fields are copied one by one: `persona` may be a lazy getter that must not be triggered here.
  const next: Next = { tenant: base.tenant, userId: base.userId, stats, runs: book.runs };
  if (book.overlay) next.overlay = book.overlay;
  return { next, shown };
}

const ZERO_PERSONA = create(PersonaSchema);
const ALL_DIMENSIONS: readonly DimensionSpec[] = enabledDimensions(true);

function finish(
  prev: PersonaState | undefined,
  prepared: { next: Next; shown: FeatureStats },
  prediction: Prediction,
  opts: ApplyOptions,
): ApplyResult {
  const { next, shown: s } = prepared;
  const prevVersion = prev ? (prev.baseVersion ?? prev.persona.version) : 0;
  // `create(PersonaSchema, …)` without the reflective initialisation (same fields, same order).
  const persona: Persona = {
    ...ZERO_PERSONA,
    tenant: next.tenant,
    userId: next.userId,
    version: prevVersion + 1,
    updatedMs: opts.nowMs ?? Date.now(),
    tags: prediction.tags.slice(),
    summary: prediction.summary,
    windowsSeen: s.windows,
    eventsSeen: s.events,
    model: prediction.model,
    lastEventTimeMs: s.lastMs,
    early: next.overlay !== undefined,
  };
  // The first persona (and the first after an erasure) flips nothing.
  const flipped = prev && prevVersion > 0 ? flippedDimensions(prev.shownTags ?? prev.persona.tags, persona.tags) : 0;
  const state: PersonaState = { ...next, persona };
  return { state, persona, applied: true, samples: prediction.samples, flipped, prediction };
}

function ctxOf(state: PersonaState | undefined, window: SemantizedWindow, opts: ApplyOptions): PredictContext {
  return {
    enabledDimensions: opts.enabledDimensions ?? ALL_DIMENSIONS,
    samples: Math.max(1, opts.samples ?? 1),
    // A getter: stores may decode the previous persona lazily, and only LLM backends read it.
    get previous() {
      return state?.persona;
    },
    windows: opts.windows ?? [window],
    tenant: window.tenant,
    userId: window.userId,
  };
}

function duplicate(state: PersonaState): ApplyResult {
  return { state, persona: state.persona, applied: false, samples: [], flipped: 0 };
}

/**
 * Applies one window to a user's state with a synchronous backend (pure apart from `Date.now()`
 * when `opts.nowMs` is not given). The persona version increases by one; a duplicate (a final window
 * of a seq already applied for its run, or an early window no newer than the overlay) changes nothing
 * (`applied: false`, same state object). An early window replaces the overlay and leaves the base
 * statistics as they are; a final window is folded into the base (see `PersonaState`).
 */
export function applyWindow(
  state: PersonaState | undefined,
  window: SemantizedWindow,
  backend: SyncModelBackend,
  opts: ApplyOptions = {},
): ApplyResult {
  const prepared = prepare(state, window, opts);
  if (!prepared) return duplicate(state as PersonaState);
  const prediction = backend.predictSync(prepared.shown, ctxOf(state, window, opts));
  return finish(state, prepared, prediction, opts);
}

/** `applyWindow` for any backend (remote ones are asynchronous). */
export async function applyWindowAsync(
  state: PersonaState | undefined,
  window: SemantizedWindow,
  backend: ModelBackend,
  opts: ApplyOptions = {},
): Promise<ApplyResult> {
  const prepared = prepare(state, window, opts);
  if (!prepared) return duplicate(state as PersonaState);
  const ctx = ctxOf(state, window, opts);
  const prediction = backend.predictSync
    ? backend.predictSync(prepared.shown, ctx)
    : await backend.predict(prepared.shown, ctx);
  return finish(state, prepared, prediction, opts);
}

/**
 * True when a window carries a consent signal (lifts an erasure; see the store's `delete`): a granted
 * CONSENT event counted in `signals.consent` by the semantizer, or a `consent` notable event/action.
 */
export function windowCarriesConsent(w: SemantizedWindow): boolean {
  return (
    (w.signals.consent ?? 0) > 0 ||
    w.notable.some((n) => n.kind === 'consent') ||
    w.actions.some((a) => a.action === 'consent')
  );
}

/**
 * What a store knows of one user before a batch of windows: the current state (a fresh copy the
 * batch may update in place; its bookkeeping decides duplicates), the erasure marker, and the
 * outputs of the batch's windows that were applied but never acknowledged as published.
 */
export interface UserSnapshot {
  state: PersonaState | undefined;
  /** Suppressed: erased and no consent since (see the store's erasure rule). */
  erased: boolean;
  /** The erasure time, epoch ms, when the user was ever erased: windows starting at or before it are ignored. */
  erasedMs?: number;
  /** Unacknowledged outputs (encoded PersonaUpdates) by window id, of the batch's window ids. */
  pending: ReadonlyMap<string, Uint8Array>;
  /**
   * Window ids of the batch applied under the previous store layout (a set of ids, before the
   * bookkeeping): duplicates too, so an upgrade never applies a redelivered window twice.
   */
  legacyApplied?: ReadonlySet<string>;
}

/** The fate of one window of a user's batch. */
export type WindowStep =
  | { status: 'applied'; persona: Persona; samples: TagSet[]; flipped: number }
  /** Already applied (before, or earlier in this batch); `pending` = its unacknowledged output. */
  | { status: 'duplicate'; pending?: Uint8Array }
  /** The user is erased and the window carries no consent, or starts at or before the erasure time. */
  | { status: 'erased' };

export interface SequenceResult {
  /** One step per window, in input order. */
  steps: WindowStep[];
  /** The state after the batch (the snapshot's when nothing was applied). */
  state: PersonaState | undefined;
  /** A consent window of this batch lifts the snapshot's erasure marker. */
  liftsErasure: boolean;
}

/**
 * Walks one user's windows in order: decides for each whether it is erased, a duplicate or applied,
 * and carries the state from one applied window to the next (one copy of the statistics per batch:
 * after the first applied window the state belongs to the sequence and is updated in place).
 */
function sequence(snapshot: UserSnapshot, opts: ApplyOptions) {
  let erased = snapshot.erased;
  let liftsErasure = false;
  let state = snapshot.state;
  let owned = opts.inPlace ?? false;
  /** Outputs handed back in this batch (each once, also when its window repeats). */
  const handed = new Set<string>();
  const steps: WindowStep[] = [];
  return {
    /** The step of a window decided without the model, or undefined when the window is to be applied. */
    gate(w: SemantizedWindow): WindowStep | undefined {
      if (snapshot.erasedMs !== undefined && !(w.startMs > snapshot.erasedMs)) return { status: 'erased' };
      if (erased) {
        if (!windowCarriesConsent(w)) return { status: 'erased' };
        erased = false;
        liftsErasure = true;
      }
      if (!isDuplicateWindow(state, w) && !snapshot.legacyApplied?.has(w.windowId)) return undefined;
      // An unacknowledged output is handed back once per batch (a repeat is a plain duplicate).
      const pending = snapshot.pending.get(w.windowId);
      if (!pending || handed.has(w.windowId)) return { status: 'duplicate' };
      handed.add(w.windowId);
      return { status: 'duplicate', pending };
    },
    state: () => state,
    opts: (): ApplyOptions => ({ ...opts, inPlace: owned }),
    push(step: WindowStep) {
      steps.push(step);
    },
    applied(r: ApplyResult) {
      if (!r.applied) return steps.push({ status: 'duplicate' });
      state = r.state;
      owned = true;
      steps.push({ status: 'applied', persona: r.persona, samples: r.samples, flipped: r.flipped });
    },
    done: (): SequenceResult => ({ steps, state, liftsErasure }),
  };
}

/**
 * Applies one user's windows in order with a synchronous backend (pure apart from `Date.now()`):
 * each new window increases the version by one and yields its own persona; duplicates (per the
 * snapshot's bookkeeping, or earlier in the batch) change nothing; while erased, only a consent
 * window is applied (it lifts the marker).
 */
export function applyWindowsInOrder(
  snapshot: UserSnapshot,
  windows: readonly SemantizedWindow[],
  backend: SyncModelBackend,
  opts: ApplyOptions = {},
): SequenceResult {
  const seq = sequence(snapshot, opts);
  for (const w of windows) {
    const gated = seq.gate(w);
    if (gated) seq.push(gated);
    else seq.applied(applyWindow(seq.state(), w, backend, seq.opts()));
  }
  return seq.done();
}

/** `applyWindowsInOrder` for any backend (remote ones are asynchronous). */
export async function applyWindowsInOrderAsync(
  snapshot: UserSnapshot,
  windows: readonly SemantizedWindow[],
  backend: ModelBackend,
  opts: ApplyOptions = {},
): Promise<SequenceResult> {
  if (isSyncBackend(backend)) return applyWindowsInOrder(snapshot, windows, backend, opts);
  const seq = sequence(snapshot, opts);
  for (const w of windows) {
    const gated = seq.gate(w);
    if (gated) seq.push(gated);
    else seq.applied(await applyWindowAsync(seq.state(), w, backend, seq.opts()));
  }
  return seq.done();
}
