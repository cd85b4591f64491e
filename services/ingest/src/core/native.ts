import {
  isObject,
  type JsonObject,
  normaliseDevice,
  pick,
  readCategoryPath,
  readEventType,
  readNumber,
  readProperties,
  readString,
} from './fields.js';
import { newContext, newEvent, newItem } from './messages.js';
import { checkEvent } from './rules.js';
import { readRunId } from './run-ids.js';
import { type FieldIssue, LIMITS, type MapContext, type MapResult } from './types.js';

// field rules, allocated once (not per event)
const ID = { max: LIMITS.id };
const ID_REQUIRED = { required: true, max: LIMITS.id };
const REQUIRED = { required: true };
const TEXT = {};
const SHORT = { max: 64 };
const QUERY = { max: LIMITS.query };
const CURRENCY = { max: 3 };
const DWELL = { min: 0, max: 86_400_000 };
const RATING = { min: 0, max: 5, integer: true };
const QUANTITY = { min: 0, max: 1_000_000, integer: true };
const PRICE = { min: 0, max: 1e9 };
const STRICT = { strict: true };

/**
 * Maps one event of the native shape — the proto3 JSON of `BehaviorEvent` (camelCase or snake_case
 * names, enum as name or number, unknown fields ignored) — to a `BehaviorEvent`, collecting every
 * issue. The tenant may be omitted (the API key's tenant is used); when present it must match.
 * `received_time_ms` is always the server's clock; `run_id` defaults to the context's.
 */
export function mapNativeEvent(raw: unknown, ctx: MapContext): MapResult {
  if (!isObject(raw)) return { ok: false, issues: [{ field: '', reason: 'invalid_type' }] };
  const issues: FieldIssue[] = [];
  const eventId = readString(pick(raw, 'eventId', 'event_id'), 'event_id', issues, ID_REQUIRED);
  const tenantRaw = readString(raw.tenant, 'tenant', issues, ID);
  const userId = readString(pick(raw, 'userId', 'user_id'), 'user_id', issues, ID_REQUIRED);
  const eventTimeMs = readNumber(pick(raw, 'eventTimeMs', 'event_time_ms'), 'event_time_ms', issues, REQUIRED);
  const type = readEventType(raw.type, 'type', issues);
  const query = readString(raw.query, 'query', issues, QUERY);
  const dwellMs = readNumber(pick(raw, 'dwellMs', 'dwell_ms'), 'dwell_ms', issues, DWELL);
  const rating = readNumber(raw.rating, 'rating', issues, RATING);
  const quantity = readNumber(raw.quantity, 'quantity', issues, QUANTITY);
  const runId = readRunId(pick(raw, 'runId', 'run_id'), 'run_id', issues);
  const properties =
    raw.properties === undefined || raw.properties === null
      ? {}
      : readProperties(raw.properties, 'properties', issues, {}, STRICT);

  const event = newEvent({
    eventId,
    tenant: tenantRaw === '' ? ctx.tenant : tenantRaw,
    userId,
    eventTimeMs,
    type,
    query,
    properties,
    dwellMs,
    rating,
    quantity,
    runId: runId === '' ? ctx.defaultRunId : runId,
    receivedTimeMs: ctx.nowMs,
  });

  const item = raw.item;
  if (item !== undefined && item !== null) {
    if (!isObject(item)) issues.push({ field: 'item', reason: 'invalid_type' });
    else event.item = readItem(item, issues);
  }
  const context = raw.context;
  if (context !== undefined && context !== null) {
    if (!isObject(context)) issues.push({ field: 'context', reason: 'invalid_type' });
    else {
      const deviceRaw = readString(context.device, 'context.device', issues, SHORT);
      const device = normaliseDevice(deviceRaw);
      if (device === undefined) issues.push({ field: 'context.device', reason: 'unknown_value' });
      event.context = newContext({
        device: device ?? '',
        sessionId: readString(pick(context, 'sessionId', 'session_id'), 'context.session_id', issues, ID),
        channel: readString(context.channel, 'context.channel', issues, SHORT),
        userAgent: readString(pick(context, 'userAgent', 'user_agent'), 'context.user_agent', issues, TEXT),
        locale: readString(context.locale, 'context.locale', issues, SHORT),
      });
    }
  }
  checkEvent(event, ctx, issues);
  return issues.length === 0 ? { ok: true, events: [event] } : { ok: false, issues };
}

function readItem(item: JsonObject, issues: FieldIssue[]) {
  const currency = readString(item.currency, 'item.currency', issues, CURRENCY);
  if (currency !== '' && !/^[A-Z]{3}$/.test(currency))
    issues.push({ field: 'item.currency', reason: 'invalid_format' });
  return newItem({
    id: readString(item.id, 'item.id', issues, ID),
    categoryPath: readCategoryPath(pick(item, 'categoryPath', 'category_path'), 'item.category_path', issues),
    brand: readString(item.brand, 'item.brand', issues, TEXT),
    price: readNumber(item.price, 'item.price', issues, PRICE),
    currency,
    title: readString(item.title, 'item.title', issues, TEXT),
  });
}
