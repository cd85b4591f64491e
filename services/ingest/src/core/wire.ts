import {
  type BehaviorEvent,
  delimitedFieldSize,
  doubleFieldSize,
  type EventContext,
  type Item,
  int32Size,
  stringFieldSize,
  utf8Length,
  varintSize,
  writeDoubleField,
  writeInt32,
  writeString,
  writeStringField,
  writeVarint,
} from '@personastream/contracts';

/**
 * A hand-written protobuf encoder for `EventRecord { event: BehaviorEvent }` — the hot path of
 * ingest. Byte-identical to `toBinary(EventRecordSchema, …)` for the events ingest builds (checked
 * by wire.test.ts), several times faster: protobuf-es encodes reflectively and goes through
 * TextEncoder for every string, which dominated the per-event cost.
 * Fields are written in field-number order; proto3 defaults ('' / 0 / empty) are omitted.
 */
export function encodeEventRecord(e: BehaviorEvent): Uint8Array {
  const eventSize = sizeEvent(e);
  const total = 1 + varintSize(eventSize) + eventSize;
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  buf[pos++] = 0x0a; // EventRecord.event = 1, length-delimited
  pos = writeVarint(buf, pos, eventSize);
  pos = writeEvent(buf, pos, e);
  if (pos !== total) throw new Error(`encodeEventRecord: wrote ${pos} of ${total} bytes`);
  return buf; // a Buffer is a Uint8Array (and what Kafka clients take)
}

/** Item and context sizes of the event being encoded: computed by `sizeEvent`, reused by `writeEvent`. */
let itemSize = 0;
let contextSize = 0;

function sizeItem(it: Item): number {
  let n = stringFieldSize(it.id);
  for (const c of it.categoryPath) n += delimitedFieldSize(utf8Length(c));
  n += stringFieldSize(it.brand);
  n += doubleFieldSize(it.price);
  n += stringFieldSize(it.currency) + stringFieldSize(it.title);
  return n;
}

function sizeContext(c: EventContext): number {
  return (
    stringFieldSize(c.device) +
    stringFieldSize(c.sessionId) +
    stringFieldSize(c.channel) +
    stringFieldSize(c.userAgent) +
    stringFieldSize(c.locale)
  );
}

/** A map entry's size: key (1) and value (2), always both. */
function sizeEntry(k: string, v: string): number {
  return delimitedFieldSize(utf8Length(k)) + delimitedFieldSize(utf8Length(v));
}

function sizeEvent(e: BehaviorEvent): number {
  let n = stringFieldSize(e.eventId) + stringFieldSize(e.tenant) + stringFieldSize(e.userId);
  n += doubleFieldSize(e.eventTimeMs);
  if (e.type !== 0) n += 1 + int32Size(e.type);
  if (e.item !== undefined) {
    itemSize = sizeItem(e.item);
    n += delimitedFieldSize(itemSize);
  }
  n += stringFieldSize(e.query);
  if (e.context !== undefined) {
    contextSize = sizeContext(e.context);
    n += delimitedFieldSize(contextSize);
  }
  for (const k in e.properties) {
    n += delimitedFieldSize(sizeEntry(k, e.properties[k] as string));
  }
  n += doubleFieldSize(e.dwellMs);
  if (e.rating !== 0) n += 1 + int32Size(e.rating);
  if (e.quantity !== 0) n += 1 + int32Size(e.quantity);
  n += stringFieldSize(e.runId);
  n += doubleFieldSize(e.receivedTimeMs);
  return n;
}

function writeEvent(buf: Buffer, pos: number, e: BehaviorEvent): number {
  pos = writeStringField(buf, pos, 0x0a, e.eventId);
  pos = writeStringField(buf, pos, 0x12, e.tenant);
  pos = writeStringField(buf, pos, 0x1a, e.userId);
  pos = writeDoubleField(buf, pos, 0x21, e.eventTimeMs);
  if (e.type !== 0) {
    buf[pos++] = 0x28;
    pos = writeInt32(buf, pos, e.type);
  }
  if (e.item !== undefined) {
    const it = e.item;
    buf[pos++] = 0x32;
    pos = writeVarint(buf, pos, itemSize);
    pos = writeStringField(buf, pos, 0x0a, it.id);
    for (const c of it.categoryPath) {
      buf[pos++] = 0x12;
      pos = writeString(buf, pos, c);
    }
    pos = writeStringField(buf, pos, 0x1a, it.brand);
    pos = writeDoubleField(buf, pos, 0x21, it.price);
    pos = writeStringField(buf, pos, 0x2a, it.currency);
    pos = writeStringField(buf, pos, 0x32, it.title);
  }
  pos = writeStringField(buf, pos, 0x3a, e.query);
  if (e.context !== undefined) {
    const c = e.context;
    buf[pos++] = 0x42;
    pos = writeVarint(buf, pos, contextSize);
    pos = writeStringField(buf, pos, 0x0a, c.device);
    pos = writeStringField(buf, pos, 0x12, c.sessionId);
    pos = writeStringField(buf, pos, 0x1a, c.channel);
    pos = writeStringField(buf, pos, 0x22, c.userAgent);
    pos = writeStringField(buf, pos, 0x2a, c.locale);
  }
  for (const k in e.properties) {
    const v = e.properties[k] as string;
    buf[pos++] = 0x4a;
    pos = writeVarint(buf, pos, sizeEntry(k, v));
    // map entries always carry key (1) and value (2), even when empty
    buf[pos++] = 0x0a;
    pos = writeString(buf, pos, k);
    buf[pos++] = 0x12;
    pos = writeString(buf, pos, v);
  }
  pos = writeDoubleField(buf, pos, 0x51, e.dwellMs);
  if (e.rating !== 0) {
    buf[pos++] = 0x58;
    pos = writeInt32(buf, pos, e.rating);
  }
  if (e.quantity !== 0) {
    buf[pos++] = 0x60;
    pos = writeInt32(buf, pos, e.quantity);
  }
  pos = writeStringField(buf, pos, 0x6a, e.runId);
  pos = writeDoubleField(buf, pos, 0x71, e.receivedTimeMs);
  return pos;
}
