import type { Ev } from '../core/types.js';

/**
 * What the context-dependent cleaning steps may look at: the user's candidate events sorted by
 * (event time, id), the position of the event being judged, and the running state of one pass.
 * Steps only look backwards, or forwards within a bounded radius, so a verdict is final once the
 * watermark is that radius past the event (see core/window-plan.ts).
 */
export interface CleanContext {
  /** Candidate events, sorted by (t, id). */
  events: readonly Ev[];
  /** Index of the judged event in `events`. */
  index: number;
  /** Ids already accepted in this pass (first occurrence wins). */
  seenIds: Set<string>;
  /** Ids of events from the user's already-closed windows. */
  closedIds: ReadonlyMap<string, number>;
  /** Payload hash → event time of its last occurrence in this pass. */
  lastByHash: Map<number, number>;
  /** Event times of events that passed id de-duplication so far and ahead (sorted), for densities. */
  times: readonly number[];
}

/** A cleaning step over one candidate event. */
export type CleanStep = (e: Ev, ctx: CleanContext) => { type: 'ok'; value: Ev } | { type: 'drop'; reason: string };
