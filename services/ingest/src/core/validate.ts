import type { BehaviorEvent } from '@personastream/contracts';
import type { OutRecord } from '@personastream/stream';
import { createEncodeStep } from '../steps/encode.js';
import { createMapEventStep, type EventShape } from '../steps/map-event.js';
import { isObject } from './fields.js';
import { readRunId } from './run-ids.js';
import type { EventError, FieldIssue, MapContext } from './types.js';

/** One valid event of a batch, with its Kafka record. */
export interface ValidEvent {
  /** Position of the incoming event in the request. */
  index: number;
  event: BehaviorEvent;
  record: OutRecord;
}

export type BatchValidation =
  | {
      ok: true;
      /** Incoming events (before Segment orders expand into one event per product). */
      received: number;
      valid: ValidEvent[];
      /** Every issue of every rejected event, in index order. */
      errors: EventError[];
    }
  | {
      ok: false;
      /** `invalid_body`: not the expected JSON shape; `too_many_events`: more events than `maxBatch`. */
      problem: 'invalid_body' | 'too_many_events';
      issue: FieldIssue;
    };

export interface ValidateOptions extends MapContext {
  shape: EventShape;
  /** Most events in one request. */
  maxBatch: number;
  /** Largest encoded event, bytes. */
  maxEventBytes?: number;
}

const mapSteps = new Map<EventShape, ReturnType<typeof createMapEventStep>>();
function mapStep(shape: EventShape) {
  let s = mapSteps.get(shape);
  if (!s) {
    s = createMapEventStep({ shape });
    mapSteps.set(shape, s);
  }
  return s;
}

/**
 * Validates a request body and maps it to events. Body forms:
 * - `native`: `{ "events": [BehaviorEvent JSON…], "run_id"?: "…" }` or a bare array;
 * - `segment` (`/v1/batch`): `{ "batch": [message…], "context"?: {…} }` (the batch context is the
 *   default of each message's) or a bare array;
 * - `track` / `page` / `screen` / `identify`: one Segment message (index 0).
 * Partial acceptance: every valid event is returned in `valid`, every invalid one contributes its
 * issues to `errors` with its index; a body that is not one of these forms fails as a whole.
 */
export function validateBatch(body: unknown, opts: ValidateOptions): BatchValidation {
  let items: unknown[];
  let ctx: MapContext = opts;
  let batchContext: Record<string, unknown> | undefined;
  if (opts.shape === 'native' || opts.shape === 'segment') {
    const listField = opts.shape === 'native' ? 'events' : 'batch';
    if (Array.isArray(body)) items = body;
    else if (isObject(body) && Array.isArray(body[listField])) {
      items = body[listField] as unknown[];
      if (opts.shape === 'native') {
        const issues: FieldIssue[] = [];
        const runId = readRunId(body.run_id ?? body.runId, 'run_id', issues);
        if (issues[0]) return { ok: false, problem: 'invalid_body', issue: issues[0] };
        if (runId !== '') ctx = { ...opts, defaultRunId: runId };
      } else if (isObject(body.context)) batchContext = body.context;
    } else {
      return { ok: false, problem: 'invalid_body', issue: { field: listField, reason: 'required' } };
    }
  } else {
    if (!isObject(body)) return { ok: false, problem: 'invalid_body', issue: { field: '', reason: 'invalid_type' } };
    items = [body];
  }
  if (items.length > opts.maxBatch) {
    return {
      ok: false,
      problem: 'too_many_events',
      issue: { field: opts.shape === 'native' ? 'events' : 'batch', reason: 'too_long' },
    };
  }

  const map = mapStep(opts.shape);
  const encode =
    opts.maxEventBytes === undefined ? defaultEncode : createEncodeStep({ maxEventBytes: opts.maxEventBytes });
  const valid: ValidEvent[] = [];
  const errors: EventError[] = [];
  for (let index = 0; index < items.length; index++) {
    let raw = items[index];
    if (batchContext && isObject(raw)) {
      raw = { ...raw, context: isObject(raw.context) ? { ...batchContext, ...raw.context } : batchContext };
    }
    const mapped = map(raw, ctx);
    if (mapped.type !== 'ok') {
      if (mapped.type === 'dlq')
        for (const i of mapped.issues) errors.push({ index, field: i.field, reason: i.reason });
      continue;
    }
    if (mapped.value.length === 1) {
      // the common case: one incoming event, one event
      const event = mapped.value[0] as BehaviorEvent;
      const r = encode(event);
      if (r.type === 'ok') valid.push({ index, event, record: r.value });
      else errors.push({ index, field: '', reason: 'too_large' });
      continue;
    }
    const encoded: ValidEvent[] = [];
    let tooLarge = false;
    for (const event of mapped.value) {
      const r = encode(event);
      if (r.type !== 'ok') {
        tooLarge = true;
        break;
      }
      encoded.push({ index, event, record: r.value });
    }
    if (tooLarge) errors.push({ index, field: '', reason: 'too_large' });
    else valid.push(...encoded);
  }
  return { ok: true, received: items.length, valid, errors };
}

const defaultEncode = createEncodeStep();
