import { createHash } from 'node:crypto';
import { type BehaviorEvent, EventType, type Item } from '@personastream/contracts';
import {
  deviceFromUserAgent,
  isObject,
  type JsonObject,
  normaliseDevice,
  readCategoryPath,
  readNumber,
  readProperties,
  readString,
} from './fields.js';
import { newContext, newEvent, newItem } from './messages.js';
import { checkEvent } from './rules.js';
import { type FieldIssue, LIMITS, type MapContext, type MapResult } from './types.js';

/** Segment message types this API takes (`screen` is treated as `page`). */
export type SegmentType = 'track' | 'page' | 'screen' | 'identify';
const SEGMENT_TYPES = new Set<string>(['track', 'page', 'screen', 'identify']);
const UNSUPPORTED_TYPES = new Set<string>(['group', 'alias']);

/**
 * Segment `track` event names (the E-commerce spec v2, matched case-insensitively) → event type.
 * Any other name becomes a CLICK that keeps the name in `properties.event`.
 */
export const SEGMENT_EVENT_TYPES: Readonly<Record<string, EventType>> = {
  'products searched': EventType.SEARCH,
  'product searched': EventType.SEARCH,
  'product list viewed': EventType.PAGE_VIEW,
  'product list filtered': EventType.PAGE_VIEW,
  'promotion viewed': EventType.PAGE_VIEW,
  'cart viewed': EventType.PAGE_VIEW,
  'checkout started': EventType.PAGE_VIEW,
  'product clicked': EventType.CLICK,
  'promotion clicked': EventType.CLICK,
  'product viewed': EventType.ITEM_VIEW,
  'product added': EventType.ADD_TO_CART,
  'product removed': EventType.REMOVE_FROM_CART,
  'order completed': EventType.PURCHASE,
  'product added to wishlist': EventType.FAVORITE,
  'product shared': EventType.SHARE,
  'cart shared': EventType.SHARE,
  'product reviewed': EventType.REVIEW,
  'product rated': EventType.RATE,
};

/** Properties that become structured fields (item, query, rating, quantity) and are not copied as free ones. */
const STRUCTURED = new Set([
  'product_id',
  'productId',
  'sku',
  'id',
  'category',
  'brand',
  'price',
  'name',
  'currency',
  'quantity',
  'query',
  'rating',
  'products',
  'session_id',
  'dwell_ms',
]);

/** Identify traits that are personal data and are never copied into events. */
export const PII_TRAITS = new Set([
  'email',
  'phone',
  'address',
  'name',
  'firstName',
  'first_name',
  'lastName',
  'last_name',
  'username',
  'password',
  'ip',
  'birthday',
]);

/** Proto field → the Segment field the caller sent, for error messages in the caller's terms. */
const SEGMENT_FIELD: Readonly<Record<string, string>> = {
  event_id: 'messageId',
  user_id: 'userId',
  event_time_ms: 'timestamp',
  'item.id': 'properties.product_id',
  query: 'properties.query',
  rating: 'properties.rating',
};

/**
 * Maps one Segment message (`track`, `page`/`screen`, `identify`) to behaviour events:
 * - `messageId` → event id (absent: a deterministic hash of the message, so a retry keeps its id);
 * - `userId`, else `anonymousId` as `anon:<id>` → user id;
 * - `timestamp` (else `originalTimestamp`; ISO 8601 or epoch ms; absent: server time) → event time;
 * - `event` names → event type (`SEGMENT_EVENT_TYPES`); `page`/`screen` → PAGE_VIEW; `identify` → IDENTIFY;
 * - `properties` → item (`product_id`|`sku`|`id`, `category` "A > B" or "A/B", `brand`, `price`, `name`
 *   → title, `currency`), `query`, `rating`, `quantity`; the rest → free properties;
 * - `Order Completed` with `properties.products[]` → one PURCHASE per product (ids `<messageId>#<i>`);
 * - `context.device.type` (else guessed from `context.userAgent`), `context.userAgent`, `context.locale`,
 *   `context.sessionId`|`properties.session_id`, `context.channel`;
 * - identify `traits` → properties `trait.<name>`, personal data (`PII_TRAITS`) left out.
 * Issues name Segment fields (`userId`, `timestamp`, `properties.price`…).
 * `type` is the endpoint's type (`/v1/track`…) or, for `/v1/batch`, taken from the message.
 */
export function mapSegmentMessage(raw: unknown, ctx: MapContext, endpointType?: SegmentType): MapResult {
  if (!isObject(raw)) return { ok: false, issues: [{ field: '', reason: 'invalid_type' }] };
  const issues: FieldIssue[] = [];
  let kind: string;
  if (endpointType !== undefined) kind = endpointType;
  else {
    const t = raw.type;
    if (t === undefined || t === null || t === '') {
      return { ok: false, issues: [{ field: 'type', reason: 'required' }] };
    }
    if (typeof t !== 'string') return { ok: false, issues: [{ field: 'type', reason: 'invalid_type' }] };
    if (UNSUPPORTED_TYPES.has(t)) return { ok: false, issues: [{ field: 'type', reason: 'unsupported' }] };
    if (!SEGMENT_TYPES.has(t)) return { ok: false, issues: [{ field: 'type', reason: 'unknown_value' }] };
    kind = t;
  }

  let messageId = readString(raw.messageId, 'messageId', issues, { max: LIMITS.id, coerceNumber: true });
  if (messageId === '')
    messageId = `seg-${createHash('sha256').update(JSON.stringify(raw)).digest('hex').slice(0, 32)}`;
  const userIdRaw = readString(raw.userId, 'userId', issues, { max: LIMITS.id, coerceNumber: true });
  const anonymousId = readString(raw.anonymousId, 'anonymousId', issues, { max: LIMITS.id, coerceNumber: true });
  const userId = userIdRaw !== '' ? userIdRaw : anonymousId !== '' ? `anon:${anonymousId}` : '';
  if (userId === '' && !issues.some((i) => i.field === 'userId' || i.field === 'anonymousId')) {
    issues.push({ field: 'userId', reason: 'required' });
  }
  const eventTimeMs = readTimestamp(raw, ctx, issues);

  const props = raw.properties;
  const properties: JsonObject = isObject(props) ? props : {};
  if (props !== undefined && props !== null && !isObject(props))
    issues.push({ field: 'properties', reason: 'invalid_type' });

  let type: EventType;
  const free: Record<string, string> = {};
  if (kind === 'track') {
    const name = readString(raw.event, 'event', issues, { required: true, max: 200 });
    type = SEGMENT_EVENT_TYPES[name.trim().toLowerCase()] ?? EventType.CLICK;
    if (type === EventType.CLICK && SEGMENT_EVENT_TYPES[name.trim().toLowerCase()] === undefined && name !== '') {
      free.event = name;
    }
  } else if (kind === 'identify') {
    type = EventType.IDENTIFY;
    const traits = raw.traits ?? (isObject(raw.context) ? raw.context.traits : undefined);
    readProperties(traits, 'traits', issues, free, { skip: PII_TRAITS, prefix: 'trait.' });
  } else {
    type = EventType.PAGE_VIEW;
    const name = readString(raw.name, 'name', issues, { max: LIMITS.text });
    if (name !== '') free.page_name = name;
  }
  readProperties(properties, 'properties', issues, free, { skip: STRUCTURED });

  const context = readContext(raw, properties, issues);
  const base = newEvent({
    eventId: messageId,
    tenant: ctx.tenant,
    userId,
    eventTimeMs,
    type,
    query: readString(properties.query, 'properties.query', issues, { max: LIMITS.query }),
    properties: free,
    dwellMs: readNumber(properties.dwell_ms, 'properties.dwell_ms', issues, { min: 0, max: 86_400_000 }),
    rating: readNumber(properties.rating, 'properties.rating', issues, { min: 0, max: 5, integer: true }),
    quantity: readNumber(properties.quantity, 'properties.quantity', issues, { min: 0, max: 1_000_000, integer: true }),
    runId: ctx.defaultRunId,
    receivedTimeMs: ctx.nowMs,
    context,
  });

  const events: BehaviorEvent[] = [];
  const products = properties.products;
  if (type === EventType.PURCHASE && Array.isArray(products) && products.length > 0) {
    if (products.length > 100) issues.push({ field: 'properties.products', reason: 'too_long' });
    else {
      const orderCurrency = readString(properties.currency, 'properties.currency', issues, { max: 3 }).toUpperCase();
      products.forEach((p, i) => {
        const field = `properties.products.${i}`;
        if (!isObject(p)) {
          issues.push({ field, reason: 'invalid_type' });
          return;
        }
        const e: BehaviorEvent = { ...base };
        e.eventId = `${messageId}#${i}`;
        e.properties = { ...free };
        if (typeof properties.order_id === 'string') e.properties.order_id = properties.order_id;
        e.item = readItem(p, field, issues, orderCurrency);
        e.quantity = readNumber(p.quantity, `${field}.quantity`, issues, { min: 0, max: 1_000_000, integer: true });
        if (e.quantity === 0) e.quantity = 1;
        events.push(e);
      });
    }
  } else {
    const item = readItem(properties, 'properties', issues);
    if (item.id !== '' || item.categoryPath.length > 0 || item.title !== '') base.item = item;
    if ((type === EventType.ADD_TO_CART || type === EventType.PURCHASE) && base.quantity === 0) base.quantity = 1;
    events.push(base);
  }

  for (const e of events) {
    const eventIssues: FieldIssue[] = [];
    checkEvent(e, ctx, eventIssues);
    for (const i of eventIssues) {
      const field = SEGMENT_FIELD[i.field] ?? i.field;
      if (!issues.some((x) => x.field === field)) issues.push({ field, reason: i.reason });
    }
  }
  return issues.length === 0 ? { ok: true, events } : { ok: false, issues };
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;

function readTimestamp(raw: JsonObject, ctx: MapContext, issues: FieldIssue[]): number {
  const field = raw.timestamp !== undefined && raw.timestamp !== null ? 'timestamp' : 'originalTimestamp';
  const v = raw[field];
  if (v === undefined || v === null || v === '') return ctx.nowMs;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) issues.push({ field, reason: 'invalid_format' });
    return v;
  }
  if (typeof v !== 'string') {
    issues.push({ field, reason: 'invalid_type' });
    return 0;
  }
  const ms = ISO_8601.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(ms)) {
    issues.push({ field, reason: 'invalid_format' });
    return 0;
  }
  return ms;
}

function readItem(p: JsonObject, prefix: string, issues: FieldIssue[], defaultCurrency = ''): Item {
  const idField =
    p.product_id !== undefined
      ? 'product_id'
      : p.productId !== undefined
        ? 'productId'
        : p.sku !== undefined
          ? 'sku'
          : 'id';
  const own = readString(p.currency, `${prefix}.currency`, issues, { max: 3 }).toUpperCase();
  const currency = own || defaultCurrency;
  if (currency !== '' && !/^[A-Z]{3}$/.test(currency)) {
    issues.push({ field: own ? `${prefix}.currency` : 'properties.currency', reason: 'invalid_format' });
  }
  return newItem({
    id: readString(p[idField], `${prefix}.${idField}`, issues, { max: LIMITS.id, coerceNumber: true }),
    categoryPath: readCategoryPath(p.category, `${prefix}.category`, issues),
    brand: readString(p.brand, `${prefix}.brand`, issues),
    price: readNumber(p.price, `${prefix}.price`, issues, { min: 0, max: 1e9 }),
    currency,
    title: readString(p.name, `${prefix}.name`, issues),
  });
}

function readContext(raw: JsonObject, properties: JsonObject, issues: FieldIssue[]) {
  const c = raw.context;
  if (c === undefined || c === null) {
    const sessionId = readString(properties.session_id, 'properties.session_id', issues, { max: LIMITS.id });
    return sessionId === '' ? undefined : newContext({ sessionId });
  }
  if (!isObject(c)) {
    issues.push({ field: 'context', reason: 'invalid_type' });
    return undefined;
  }
  const userAgent = readString(c.userAgent, 'context.userAgent', issues);
  let device = '';
  if (c.device !== undefined && c.device !== null) {
    if (!isObject(c.device)) issues.push({ field: 'context.device', reason: 'invalid_type' });
    else {
      const t = readString(c.device.type, 'context.device.type', issues, { max: 64 });
      // an unrecognised device type is not an error in Segment's world: fall back to the user agent
      device = normaliseDevice(t) ?? '';
    }
  }
  if (device === '') device = deviceFromUserAgent(userAgent);
  let sessionId = readString(c.sessionId, 'context.sessionId', issues, { max: LIMITS.id, coerceNumber: true });
  if (sessionId === '') {
    sessionId = readString(properties.session_id, 'properties.session_id', issues, {
      max: LIMITS.id,
      coerceNumber: true,
    });
  }
  return newContext({
    device,
    sessionId,
    channel: readString(c.channel, 'context.channel', issues, { max: 64 }),
    userAgent,
    locale: readString(c.locale, 'context.locale', issues, { max: 64 }),
  });
}
