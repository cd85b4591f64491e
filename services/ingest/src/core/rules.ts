import { type BehaviorEvent, EventType } from '@personastream/contracts';
import type { FieldIssue, MapContext } from './types.js';

/** Event types that are about one catalogue item and so need `item.id`. */
export const ITEM_TYPES: ReadonlySet<EventType> = new Set([
  EventType.ITEM_VIEW,
  EventType.ADD_TO_CART,
  EventType.REMOVE_FROM_CART,
  EventType.RATE,
  EventType.REVIEW,
  EventType.FAVORITE,
]);

/**
 * Rules every event meets whatever shape it came in (checked after mapping, so native and Segment
 * events are held to the same bar):
 * - `event_id`, `user_id`, `type` present; `event_time_ms` inside [min, max] of the context;
 * - `item.id` present for item events (view, cart add/remove, rate, review, favorite);
 * - `query` present for SEARCH; `rating` 1..5 for RATE (0..5 for REVIEW);
 * - tenant equal to the context's (else `tenant_mismatch`).
 * Type and range checks of single fields happen while reading them.
 */
export function checkEvent(e: BehaviorEvent, ctx: MapContext, issues: FieldIssue[]): void {
  // one issue per field: a field already reported while reading keeps its reason
  const known = issues.length;
  const add = (field: string, reason: FieldIssue['reason']) => {
    for (let i = 0; i < known; i++) if ((issues[i] as FieldIssue).field === field) return;
    issues.push({ field, reason });
  };
  if (e.tenant !== ctx.tenant) add('tenant', 'tenant_mismatch');
  if (e.eventTimeMs !== 0 && (e.eventTimeMs < ctx.minEventTimeMs || e.eventTimeMs > ctx.maxEventTimeMs)) {
    add('event_time_ms', 'out_of_range');
  }
  if (ITEM_TYPES.has(e.type) && (e.item === undefined || e.item.id === '')) {
    add('item.id', 'required');
  }
  if (e.type === EventType.SEARCH && e.query.trim() === '') add('query', 'required');
  if (e.type === EventType.RATE && (e.rating < 1 || e.rating > 5)) {
    add('rating', e.rating === 0 ? 'required' : 'out_of_range');
  }
}
