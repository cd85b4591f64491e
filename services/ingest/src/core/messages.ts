import type { BehaviorEvent, EventContext, Item } from '@personastream/contracts';

/**
 * Plain constructors of the proto3 messages ingest builds per event — the same objects that
 * `create(Schema, init)` returns (checked in messages.test.ts), without its reflective walk, which
 * was a noticeable share of the per-event cost.
 */
export function newItem(init: Partial<Omit<Item, '$typeName'>> = {}): Item {
  return {
    $typeName: 'personastream.v1.Item',
    id: init.id ?? '',
    categoryPath: init.categoryPath ?? [],
    brand: init.brand ?? '',
    price: init.price ?? 0,
    currency: init.currency ?? '',
    title: init.title ?? '',
  };
}

export function newContext(init: Partial<Omit<EventContext, '$typeName'>> = {}): EventContext {
  return {
    $typeName: 'personastream.v1.EventContext',
    device: init.device ?? '',
    sessionId: init.sessionId ?? '',
    channel: init.channel ?? '',
    userAgent: init.userAgent ?? '',
    locale: init.locale ?? '',
  };
}

export function newEvent(init: Partial<Omit<BehaviorEvent, '$typeName'>> = {}): BehaviorEvent {
  const e: BehaviorEvent = {
    $typeName: 'personastream.v1.BehaviorEvent',
    eventId: init.eventId ?? '',
    tenant: init.tenant ?? '',
    userId: init.userId ?? '',
    eventTimeMs: init.eventTimeMs ?? 0,
    type: init.type ?? 0,
    query: init.query ?? '',
    properties: init.properties ?? {},
    dwellMs: init.dwellMs ?? 0,
    rating: init.rating ?? 0,
    quantity: init.quantity ?? 0,
    runId: init.runId ?? '',
    receivedTimeMs: init.receivedTimeMs ?? 0,
  };
  if (init.item !== undefined) e.item = init.item;
  if (init.context !== undefined) e.context = init.context;
  return e;
}
