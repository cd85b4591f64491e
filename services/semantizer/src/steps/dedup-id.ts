import type { CleanStep } from './context.js';

/**
 * De-duplication by event id (at-least-once re-deliveries): the first occurrence in (time, id) order
 * is kept, later ones — also of events already in a closed window — are dropped as
 * `duplicate_event_id`.
 */
export function createEventIdDedupStep(): CleanStep {
  return (e, ctx) => {
    if (ctx.seenIds.has(e.id) || ctx.closedIds.has(e.id)) return { type: 'drop', reason: 'duplicate_event_id' };
    ctx.seenIds.add(e.id);
    return { type: 'ok', value: e };
  };
}
