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
import { cloneStats, emptyStats, type FeatureStats, updateStats } from './stats.js';

/** Window ids remembered in the state itself (the Redis store also keeps the complete set). */
export const APPLIED_IDS_KEPT = 2048;

/** Everything kept per user: the persona, its sufficient statistics, and the applied window ids. */
export interface PersonaState {
  tenant: string;
  userId: string;
  persona: Persona;
  stats: FeatureStats;
  /** Latest applied window ids (bounded, oldest first): re-application of any of them is detected. */
  applied: string[];
  /** The persona's version when known without decoding it (stores set it; else `persona.version`). */
  baseVersion?: number;
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
  /** False when the window id was already applied (nothing changed). */
  applied: boolean;
  /** k TagSets of this update (empty for a duplicate). */
  samples: TagSet[];
  prediction?: Prediction;
}

export function newState(tenant: string, userId: string, opts: ApplyOptions = {}): PersonaState {
  return {
    tenant,
    userId,
    persona: create(PersonaSchema, { tenant, userId, version: 0 }),
    stats: emptyStats({ halfLifeDays: opts.halfLifeDays ?? 14 }),
    applied: [],
  };
}

/** True when the window's id is among the ids the state remembers. */
export function alreadyApplied(state: PersonaState | undefined, windowId: string): boolean {
  return state?.applied.includes(windowId) ?? false;
}

/** Stage 1 of an update (pure): the next state's statistics and applied ids, persona not yet rebuilt. */
function prepare(
  state: PersonaState | undefined,
  window: SemantizedWindow,
  opts: ApplyOptions,
): { next: Next } | undefined {
  if (alreadyApplied(state, window.windowId)) return undefined;
  const base = state ?? newState(window.tenant, window.userId, opts);
  const stats = updateStats(opts.inPlace && state ? base.stats : cloneStats(base.stats), window);
  const applied = [...base.applied, window.windowId];
  if (applied.length > APPLIED_IDS_KEPT) applied.splice(0, applied.length - APPLIED_IDS_KEPT);
  // Fields are copied one by one: `persona` may be a lazy getter that must not be triggered here.
  return { next: { tenant: base.tenant, userId: base.userId, stats, applied } };
}

type Next = Omit<PersonaState, 'persona' | 'baseVersion'>;

const ZERO_PERSONA = create(PersonaSchema);
const ALL_DIMENSIONS: readonly DimensionSpec[] = enabledDimensions(true);

function finish(prev: PersonaState | undefined, next: Next, prediction: Prediction, opts: ApplyOptions): ApplyResult {
  const s = next.stats;
  // `create(PersonaSchema, …)` without the reflective initialisation (same fields, same order).
  const persona: Persona = {
    ...ZERO_PERSONA,
    tenant: next.tenant,
    userId: next.userId,
    version: (prev ? (prev.baseVersion ?? prev.persona.version) : 0) + 1,
    updatedMs: opts.nowMs ?? Date.now(),
    tags: prediction.tags.slice(),
    summary: prediction.summary,
    windowsSeen: s.windows,
    eventsSeen: s.events,
    model: prediction.model,
    lastEventTimeMs: s.lastMs,
  };
  const state: PersonaState = { ...next, persona };
  return { state, persona, applied: true, samples: prediction.samples, prediction };
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
  return { state, persona: state.persona, applied: false, samples: [] };
}

/**
 * Applies one window to a user's state with a synchronous backend (pure apart from `Date.now()`
 * when `opts.nowMs` is not given). The persona version increases by one; a window id already
 * applied changes nothing (`applied: false`, same state object).
 */
export function applyWindow(
  state: PersonaState | undefined,
  window: SemantizedWindow,
  backend: SyncModelBackend,
  opts: ApplyOptions = {},
): ApplyResult {
  const prepared = prepare(state, window, opts);
  if (!prepared) return duplicate(state as PersonaState);
  const prediction = backend.predictSync(prepared.next.stats, ctxOf(state, window, opts));
  return finish(state, prepared.next, prediction, opts);
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
    ? backend.predictSync(prepared.next.stats, ctx)
    : await backend.predict(prepared.next.stats, ctx);
  return finish(state, prepared.next, prediction, opts);
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
 * batch may update in place), the erasure marker, and which of the batch's window ids are already
 * applied — each with its output when that output was never acknowledged as published.
 */
export interface UserSnapshot {
  state: PersonaState | undefined;
  erased: boolean;
  known: ReadonlyMap<string, Uint8Array | undefined>;
}

/** The fate of one window of a user's batch. */
export type WindowStep =
  | { status: 'applied'; persona: Persona; samples: TagSet[] }
  /** Already applied (before, or earlier in this batch); `pending` = its unacknowledged output. */
  | { status: 'duplicate'; pending?: Uint8Array }
  /** The user is erased and the window carries no consent. */
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
  const seen = new Set<string>();
  const steps: WindowStep[] = [];
  return {
    /** The step of a window decided without the model, or undefined when the window is to be applied. */
    gate(w: SemantizedWindow): WindowStep | undefined {
      if (erased) {
        if (!windowCarriesConsent(w)) return { status: 'erased' };
        erased = false;
        liftsErasure = true;
      }
      // Once per batch: a repeated id is a plain duplicate (an output, if any, is handed back once).
      if (seen.has(w.windowId)) return { status: 'duplicate' };
      if (snapshot.known.has(w.windowId)) {
        seen.add(w.windowId);
        const pending = snapshot.known.get(w.windowId);
        return pending ? { status: 'duplicate', pending } : { status: 'duplicate' };
      }
      return undefined;
    },
    state: () => state,
    opts: (): ApplyOptions => ({ ...opts, inPlace: owned }),
    push(step: WindowStep) {
      steps.push(step);
    },
    applied(w: SemantizedWindow, r: ApplyResult) {
      if (!r.applied) return steps.push({ status: 'duplicate' });
      seen.add(w.windowId);
      state = r.state;
      owned = true;
      steps.push({ status: 'applied', persona: r.persona, samples: r.samples });
    },
    done: (): SequenceResult => ({ steps, state, liftsErasure }),
  };
}

/**
 * Applies one user's windows in order with a synchronous backend (pure apart from `Date.now()`):
 * each new window id increases the version by one and yields its own persona; ids already applied
 * (per the snapshot, or earlier in the batch) change nothing; while erased, only a consent window
 * is applied (it lifts the marker).
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
    else seq.applied(w, applyWindow(seq.state(), w, backend, seq.opts()));
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
    else seq.applied(w, await applyWindowAsync(seq.state(), w, backend, seq.opts()));
  }
  return seq.done();
}
