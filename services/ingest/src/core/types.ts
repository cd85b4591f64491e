import type { BehaviorEvent } from '@personastream/contracts';

/**
 * Why a field was rejected (snake_case):
 * - `required`: missing or empty
 * - `invalid_type`: wrong JSON type (e.g. a number where a string is expected)
 * - `invalid_format`: right type, unparsable content (e.g. a timestamp that is not ISO 8601)
 * - `unknown_value`: not one of the allowed values (event type, device)
 * - `out_of_range`: a number or time outside its allowed range
 * - `too_long`: a string, list or map past its length limit
 * - `unsupported`: a shape this API does not take (e.g. Segment `group`/`alias`)
 * - `too_large`: the event's serialized size is past the per-event limit
 * - `tenant_mismatch`: the event names a tenant other than the API key's (HTTP answers 403)
 * - `run_ended`: the event belongs to a finite run that has ended (HTTP answers 409)
 */
export type FieldReason =
  | 'required'
  | 'invalid_type'
  | 'invalid_format'
  | 'unknown_value'
  | 'out_of_range'
  | 'too_long'
  | 'unsupported'
  | 'too_large'
  | 'tenant_mismatch'
  | 'run_ended';

/** One problem of one field of one event (no index yet). */
export interface FieldIssue {
  /** snake_case proto field path, e.g. `user_id`, `item.price`, `context.device`; `''` for the whole event. */
  field: string;
  reason: FieldReason;
}

/** One problem of one event of a batch, as returned to the caller. */
export interface EventError extends FieldIssue {
  /** Position of the event in the request (0-based; a single Segment message is index 0). */
  index: number;
}

/** Result of mapping one incoming object: one or more events (Segment orders expand per product), or issues. */
export type MapResult = { ok: true; events: BehaviorEvent[] } | { ok: false; issues: FieldIssue[] };

/** Limits and context every mapping needs. */
export interface MapContext {
  /** Tenant the events belong to (from the API key); events naming another tenant are rejected. */
  tenant: string;
  /** Server clock, epoch ms (received time, default event time of Segment messages without one). */
  nowMs: number;
  /** Run id given to events that carry none. */
  defaultRunId: string;
  /** Earliest accepted event time, epoch ms. */
  minEventTimeMs: number;
  /** Latest accepted event time, epoch ms. */
  maxEventTimeMs: number;
}

/** Per-string and per-map limits (characters / entries). */
export const LIMITS = {
  id: 256,
  text: 1024,
  query: 1024,
  categoryLevels: 10,
  properties: 64,
  propertyKey: 128,
  propertyValue: 2048,
  eventBytes: 32 * 1024,
} as const;

/** A snake_case reason for a whole event: its first issue as `<field>_<reason>` (dots become underscores). */
export function issueReason(issue: FieldIssue): string {
  if (issue.field === '') return issue.reason;
  return `${issue.field.replaceAll('.', '_')}_${issue.reason}`;
}

/**
 * What a pipeline step returns for one input: go on with a value, send it to the dead-letter queue
 * (async paths) / back to the caller (HTTP) with a reason, or drop it silently with a reason.
 */
export type StepResult<T> =
  | { type: 'ok'; value: T }
  | { type: 'dlq'; reason: string; issues: FieldIssue[] }
  | { type: 'drop'; reason: string };
