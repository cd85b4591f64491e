import { type BehaviorEvent, userKey } from '@personastream/contracts';
import type { OutRecord } from '@personastream/stream';
import { LIMITS, type StepResult } from '../core/types.js';
import { encodeEventRecord } from '../core/wire.js';

export interface EncodeDeps {
  /** Largest accepted encoded event, bytes (default 32 KiB). */
  maxEventBytes?: number;
}

/**
 * Event → the Kafka record of `behavior.events.v1`: an `EventRecord` with the event, keyed
 * `tenant/user_id`. DLQ reason `too_large` past the per-event size limit.
 */
export function createEncodeStep(deps: EncodeDeps = {}): (event: BehaviorEvent) => StepResult<OutRecord> {
  const max = deps.maxEventBytes ?? LIMITS.eventBytes;
  return (event) => {
    const value = encodeEventRecord(event);
    if (value.byteLength > max)
      return { type: 'dlq', reason: 'too_large', issues: [{ field: '', reason: 'too_large' }] };
    return { type: 'ok', value: { key: userKey(event.tenant, event.userId), value } };
  };
}
