import type { BehaviorEvent } from '@personastream/contracts';
import type { RecentIds } from '../core/recent-ids.js';
import type { StepResult } from '../core/types.js';

export interface DedupDeps {
  /** Ids Kafka already acknowledged (bounded, per tenant). */
  seen: RecentIds;
}

/**
 * Drops an event whose id was already acknowledged for its tenant (`duplicate`), or that repeats an
 * earlier event of the same request (`duplicate_in_batch`, tracked in `batchIds`). The caller adds
 * ids to `seen` only after Kafka acknowledged them.
 */
export function createDedupStep(
  deps: DedupDeps,
): (event: BehaviorEvent, batchIds: Set<string>) => StepResult<BehaviorEvent> {
  return (event, batchIds) => {
    if (deps.seen.has(event.tenant, event.eventId)) return { type: 'drop', reason: 'duplicate' };
    if (batchIds.has(event.eventId)) return { type: 'drop', reason: 'duplicate_in_batch' };
    batchIds.add(event.eventId);
    return { type: 'ok', value: event };
  };
}
