import type { BehaviorEvent, EventContext, Item } from '@personastream/contracts';

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

/** UTF-8 length; a JS loop for short strings (cheaper than crossing into C++ for each one). */
function utf8Length(s: string): number {
  const n = s.length;
  if (n > 64) return Buffer.byteLength(s, 'utf8');
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** Writes `s` (whose UTF-8 length is `len`) at `pos`: ASCII by hand, anything else through Buffer. */
function writeUtf8(buf: Buffer, pos: number, s: string, len: number): number {
  if (len === s.length && len <= 64) {
    for (let i = 0; i < len; i++) buf[pos + i] = s.charCodeAt(i);
    return pos + len;
  }
  return pos + buf.write(s, pos, len, 'utf8');
}

function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  return 5;
}

/** int32 as protobuf varint: negative values take 10 bytes (sign-extended to 64 bits). */
function int32Size(n: number): number {
  return n < 0 ? 10 : varintSize(n);
}

function strField(s: string): number {
  if (s === '') return 0;
  const n = utf8Length(s);
  return 1 + varintSize(n) + n;
}

function sizeItem(it: Item): number {
  let n = strField(it.id);
  for (const c of it.categoryPath) {
    const b = utf8Length(c);
    n += 1 + varintSize(b) + b;
  }
  n += strField(it.brand);
  if (it.price !== 0) n += 9;
  n += strField(it.currency) + strField(it.title);
  return n;
}

function sizeContext(c: EventContext): number {
  return strField(c.device) + strField(c.sessionId) + strField(c.channel) + strField(c.userAgent) + strField(c.locale);
}

function sizeEntry(k: string, v: string): number {
  const kb = utf8Length(k);
  const vb = utf8Length(v);
  return 1 + varintSize(kb) + kb + 1 + varintSize(vb) + vb;
}

function sizeEvent(e: BehaviorEvent): number {
  let n = strField(e.eventId) + strField(e.tenant) + strField(e.userId);
  if (e.eventTimeMs !== 0) n += 9;
  if (e.type !== 0) n += 1 + int32Size(e.type);
  if (e.item !== undefined) {
    itemSize = sizeItem(e.item);
    n += 1 + varintSize(itemSize) + itemSize;
  }
  n += strField(e.query);
  if (e.context !== undefined) {
    contextSize = sizeContext(e.context);
    n += 1 + varintSize(contextSize) + contextSize;
  }
  for (const k in e.properties) {
    const s = sizeEntry(k, e.properties[k] as string);
    n += 1 + varintSize(s) + s;
  }
  if (e.dwellMs !== 0) n += 9;
  if (e.rating !== 0) n += 1 + int32Size(e.rating);
  if (e.quantity !== 0) n += 1 + int32Size(e.quantity);
  n += strField(e.runId);
  if (e.receivedTimeMs !== 0) n += 9;
  return n;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n > 0x7f) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

function writeInt32(buf: Buffer, pos: number, n: number): number {
  if (n >= 0) return writeVarint(buf, pos, n);
  // two's complement over 64 bits: low 32 bits as 5 groups, then all-ones
  let lo = n >>> 0;
  for (let i = 0; i < 4; i++) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  buf[pos++] = (lo & 0x0f) | 0x70 | 0x80;
  for (let i = 0; i < 4; i++) buf[pos++] = 0xff;
  buf[pos++] = 0x01;
  return pos;
}

function writeStr(buf: Buffer, pos: number, tag: number, s: string): number {
  if (s === '') return pos;
  buf[pos++] = tag;
  const n = utf8Length(s);
  pos = writeVarint(buf, pos, n);
  return writeUtf8(buf, pos, s, n);
}

function writeDouble(buf: Buffer, pos: number, tag: number, d: number): number {
  if (d === 0) return pos;
  buf[pos++] = tag;
  buf.writeDoubleLE(d, pos);
  return pos + 8;
}

function writeEvent(buf: Buffer, pos: number, e: BehaviorEvent): number {
  pos = writeStr(buf, pos, 0x0a, e.eventId);
  pos = writeStr(buf, pos, 0x12, e.tenant);
  pos = writeStr(buf, pos, 0x1a, e.userId);
  pos = writeDouble(buf, pos, 0x21, e.eventTimeMs);
  if (e.type !== 0) {
    buf[pos++] = 0x28;
    pos = writeInt32(buf, pos, e.type);
  }
  if (e.item !== undefined) {
    const it = e.item;
    buf[pos++] = 0x32;
    pos = writeVarint(buf, pos, itemSize);
    pos = writeStr(buf, pos, 0x0a, it.id);
    for (const c of it.categoryPath) {
      buf[pos++] = 0x12;
      const n = utf8Length(c);
      pos = writeVarint(buf, pos, n);
      pos = writeUtf8(buf, pos, c, n);
    }
    pos = writeStr(buf, pos, 0x1a, it.brand);
    pos = writeDouble(buf, pos, 0x21, it.price);
    pos = writeStr(buf, pos, 0x2a, it.currency);
    pos = writeStr(buf, pos, 0x32, it.title);
  }
  pos = writeStr(buf, pos, 0x3a, e.query);
  if (e.context !== undefined) {
    const c = e.context;
    buf[pos++] = 0x42;
    pos = writeVarint(buf, pos, contextSize);
    pos = writeStr(buf, pos, 0x0a, c.device);
    pos = writeStr(buf, pos, 0x12, c.sessionId);
    pos = writeStr(buf, pos, 0x1a, c.channel);
    pos = writeStr(buf, pos, 0x22, c.userAgent);
    pos = writeStr(buf, pos, 0x2a, c.locale);
  }
  for (const k in e.properties) {
    const v = e.properties[k] as string;
    buf[pos++] = 0x4a;
    pos = writeVarint(buf, pos, sizeEntry(k, v));
    // map entries always carry key (1) and value (2), even when empty
    buf[pos++] = 0x0a;
    const kb = utf8Length(k);
    pos = writeVarint(buf, pos, kb);
    pos = writeUtf8(buf, pos, k, kb);
    buf[pos++] = 0x12;
    const vb = utf8Length(v);
    pos = writeVarint(buf, pos, vb);
    pos = writeUtf8(buf, pos, v, vb);
  }
  pos = writeDouble(buf, pos, 0x51, e.dwellMs);
  if (e.rating !== 0) {
    buf[pos++] = 0x58;
    pos = writeInt32(buf, pos, e.rating);
  }
  if (e.quantity !== 0) {
    buf[pos++] = 0x60;
    pos = writeInt32(buf, pos, e.quantity);
  }
  pos = writeStr(buf, pos, 0x6a, e.runId);
  pos = writeDouble(buf, pos, 0x71, e.receivedTimeMs);
  return pos;
}
