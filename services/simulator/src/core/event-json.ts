import { type BehaviorEvent, type EventContext, EventTypeSchema, type Item } from '@personastream/contracts';
import type { SimEvent } from './behaviour.js';
import type { Catalogue } from './catalogue.js';

/** JSON names of the event types, indexed by enum number (e.g. "EVENT_TYPE_ITEM_VIEW"). */
const TYPE_JSON: string[] = [];
for (const v of EventTypeSchema.values) TYPE_JSON[v.number] = `"${v.name}"`;

/** Per-user constant fragments of the canonical JSON. */
export interface UserJson {
  tenant: string;
  userId: string;
  runId: string;
  head: string;
  mid: string;
  tail: string;
}

export function userJson(tenant: string, runId: string, userId: string): UserJson {
  return {
    tenant,
    userId,
    runId,
    head: `{"eventId":${JSON.stringify(`${runId}-${userId}-`).slice(0, -1)}`,
    mid: `","tenant":${JSON.stringify(tenant)},"userId":${JSON.stringify(userId)},"eventTimeMs":`,
    tail: `,"runId":${JSON.stringify(runId)},"receivedTimeMs":`,
  };
}

/**
 * The canonical JSON line of a simulated event, built directly from pre-rendered fragments. Equal byte
 * for byte to `canonicalEventJson(toBehaviorEvent(…))` (proto3 JSON, fields in number order, defaults
 * omitted) — tested — but several times faster.
 */
export function eventJson(c: Catalogue, u: UserJson, e: SimEvent): string {
  let s = `${u.head}${e.seq}${u.mid}${e.timeMs},"type":${TYPE_JSON[e.type]}`;
  if (e.item >= 0) {
    s +=
      e.price === c.itemPrice[e.item]
        ? (c.itemJson[e.item] as string)
        : `,"item":${c.itemJsonHead[e.item]}${e.price}${c.itemJsonTail[e.item]}`;
  }
  if (e.query !== '') s += `,"query":${JSON.stringify(e.query)}`;
  s += `,"context":${e.session.ctxJson}`;
  if (e.props !== null) s += `,"properties":${e.props}`;
  if (e.dwellMs !== 0) s += `,"dwellMs":${e.dwellMs}`;
  if (e.rating !== 0) s += `,"rating":${e.rating}`;
  if (e.quantity !== 0) s += `,"quantity":${e.quantity}`;
  return `${s}${u.tail}${e.receivedMs}}`;
}

/** The `BehaviorEvent` message of a simulated event (a plain protobuf-es message object). */
export function toBehaviorEvent(c: Catalogue, u: UserJson, e: SimEvent): BehaviorEvent {
  let item: Item | undefined;
  if (e.item >= 0) {
    const leaf = c.leaves[c.itemLeaf[e.item] as number];
    item = {
      $typeName: 'personastream.v1.Item',
      id: c.itemId[e.item] as string,
      categoryPath: leaf ? [...leaf.path] : [],
      brand: (c.brands[leaf?.topIndex ?? 0]?.[c.itemBrand[e.item] as number]?.name ?? '') as string,
      price: e.price,
      currency: c.currency,
      title: c.itemTitle[e.item] as string,
    };
  }
  const s = e.session;
  const context: EventContext = {
    $typeName: 'personastream.v1.EventContext',
    device: s.device,
    sessionId: s.id,
    channel: s.channel,
    userAgent: s.userAgent,
    locale: s.locale,
  };
  const properties: Record<string, string> = e.props === null ? {} : JSON.parse(e.props);
  return {
    $typeName: 'personastream.v1.BehaviorEvent',
    eventId: `${u.runId}-${u.userId}-${e.seq}`,
    tenant: u.tenant,
    userId: u.userId,
    eventTimeMs: e.timeMs,
    type: e.type,
    item,
    query: e.query,
    context,
    properties,
    dwellMs: e.dwellMs,
    rating: e.rating,
    quantity: e.quantity,
    runId: u.runId,
    receivedTimeMs: e.receivedMs,
  };
}
