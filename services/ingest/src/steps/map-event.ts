import type { BehaviorEvent } from '@personastream/contracts';
import { mapNativeEvent } from '../core/native.js';
import { mapSegmentMessage, type SegmentType } from '../core/segment.js';
import { issueReason, type MapContext, type StepResult } from '../core/types.js';

/** Shapes of incoming events: the native proto3 JSON, or a Segment message (type from the endpoint or the message). */
export type EventShape = 'native' | 'segment' | SegmentType;

export interface MapEventDeps {
  shape: EventShape;
}

/**
 * JSON → behaviour events (one, or one per product of a Segment order). DLQ reason: the first
 * issue as `<field>_<reason>` (e.g. `user_id_required`), with every issue attached.
 */
export function createMapEventStep(deps: MapEventDeps): (raw: unknown, ctx: MapContext) => StepResult<BehaviorEvent[]> {
  const { shape } = deps;
  return (raw, ctx) => {
    const r =
      shape === 'native'
        ? mapNativeEvent(raw, ctx)
        : mapSegmentMessage(raw, ctx, shape === 'segment' ? undefined : shape);
    if (r.ok) return { type: 'ok', value: r.events };
    const first = r.issues[0] ?? { field: '', reason: 'invalid_type' as const };
    return { type: 'dlq', reason: issueReason(first), issues: r.issues };
  };
}
