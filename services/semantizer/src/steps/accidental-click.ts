import { EventType } from '@personastream/contracts';
import type { CleanStep } from './context.js';

export interface AccidentalClickDeps {
  /** Views/clicks shorter than this are accidental, ms. */
  minDwellMs: number;
}

const NAVIGATION = new Set<number>([EventType.ITEM_VIEW, EventType.CLICK, EventType.PAGE_VIEW]);
/** Views whose dwell, when the platform sends none, is measured by the time to the next event. */
const VIEWS = new Set<number>([EventType.ITEM_VIEW, EventType.PAGE_VIEW]);

/**
 * Accidental clicks: a view or click with a tiny dwell (0 < dwell < `minDwellMs`, default 2 s), or —
 * for a view without dwell — an immediate bounce, i.e. the user's next event follows within
 * `minDwellMs`. Dropped as `accidental_click`. Looks forward at most `minDwellMs`.
 */
export function createAccidentalClickStep(deps: AccidentalClickDeps): CleanStep {
  return (e, ctx) => {
    if (!NAVIGATION.has(e.y)) return { type: 'ok', value: e };
    if (e.w > 0) return e.w < deps.minDwellMs ? { type: 'drop', reason: 'accidental_click' } : { type: 'ok', value: e };
    if (!VIEWS.has(e.y)) return { type: 'ok', value: e };
    const next = ctx.events[ctx.index + 1];
    if (next !== undefined && next.t - e.t < deps.minDwellMs && next.id !== e.id) {
      return { type: 'drop', reason: 'accidental_click' };
    }
    return { type: 'ok', value: e };
  };
}
