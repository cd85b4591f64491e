import type { SimEvent, SimSession } from './behaviour.js';
import type { Catalogue } from './catalogue.js';
import type { UserJson } from './event-json.js';

/**
 * Direct protobuf binary encoding of `EventRecord{event}` for simulated events: byte for byte what
 * `toBinary(EventRecordSchema, …)` produces (fields in number order, proto3 defaults omitted, map
 * entries with key and value) — tested — but without building message objects, so publishing keeps
 * up with generation. Item and context sub-messages are encoded once and reused.
 */

const utf8 = new TextEncoder();

class Writer {
  buf = new Uint8Array(4096);
  pos = 0;
  private readonly view8 = new DataView(new ArrayBuffer(8));

  reset(): this {
    this.pos = 0;
    return this;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  varint(v: number): void {
    this.ensure(10);
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Length-prefixed string with its tag (skipped when empty). */
  str(tag: number, s: string): void {
    if (s === '') return;
    this.byte(tag);
    this.strValue(s);
  }

  strValue(s: string): void {
    const n = s.length;
    let ascii = true;
    for (let i = 0; i < n; i++)
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    if (!ascii) {
      const b = utf8.encode(s);
      this.varint(b.length);
      this.bytes(b);
      return;
    }
    this.varint(n);
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** A double with its tag (skipped when 0). */
  dbl(tag: number, v: number): void {
    if (v === 0) return;
    this.byte(tag);
    this.ensure(8);
    this.view8.setFloat64(0, v, true);
    for (let i = 0; i < 8; i++) this.buf[this.pos++] = this.view8.getUint8(i);
  }

  /** A non-negative varint scalar with its tag (skipped when 0). */
  uint(tag: number, v: number): void {
    if (v === 0) return;
    this.byte(tag);
    this.varint(v);
  }

  /** A length-delimited sub-message with its tag. */
  sub(tag: number, body: Uint8Array): void {
    this.byte(tag);
    this.varint(body.length);
    this.bytes(body);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

const itemCache = new WeakMap<Catalogue, Array<Uint8Array | undefined>>();
const sessionCache = new WeakMap<SimSession, Uint8Array>();
const scratch = new Writer();
const body = new Writer();

function itemBytes(c: Catalogue, item: number, price: number): Uint8Array {
  let cache = itemCache.get(c);
  if (!cache) {
    cache = [];
    itemCache.set(c, cache);
  }
  const listPrice = c.itemPrice[item] as number;
  if (price === listPrice) {
    const hit = cache[item];
    if (hit) return hit;
  }
  const leaf = c.leaves[c.itemLeaf[item] as number];
  const w = scratch.reset();
  w.str(0x0a, c.itemId[item] as string);
  for (const p of leaf?.path ?? []) {
    w.byte(0x12);
    w.strValue(p);
  }
  w.str(0x1a, c.brands[leaf?.topIndex ?? 0]?.[c.itemBrand[item] as number]?.name ?? '');
  w.dbl(0x21, price);
  w.str(0x2a, c.currency);
  w.str(0x32, c.itemTitle[item] as string);
  const out = w.finish();
  if (price === listPrice) cache[item] = out;
  return out;
}

function contextBytes(s: SimSession): Uint8Array {
  let b = sessionCache.get(s);
  if (!b) {
    const w = scratch.reset();
    w.str(0x0a, s.device);
    w.str(0x12, s.id);
    w.str(0x1a, s.channel);
    w.str(0x22, s.userAgent);
    w.str(0x2a, s.locale);
    b = w.finish();
    sessionCache.set(s, b);
  }
  return b;
}

/** `EventRecord{event}` bytes of a simulated event. */
export function eventRecordBinary(c: Catalogue, u: UserJson, e: SimEvent): Uint8Array {
  const w = body.reset();
  w.str(0x0a, `${u.runId}-${u.userId}-${e.seq}`);
  w.str(0x12, u.tenant);
  w.str(0x1a, u.userId);
  w.dbl(0x21, e.timeMs);
  w.uint(0x28, e.type);
  if (e.item >= 0) w.sub(0x32, itemBytes(c, e.item, e.price));
  w.str(0x3a, e.query);
  w.sub(0x42, contextBytes(e.session));
  if (e.props !== null) {
    const props = JSON.parse(e.props) as Record<string, string>;
    for (const k in props) {
      const v = props[k] as string;
      const entry = scratch.reset();
      entry.byte(0x0a);
      entry.strValue(k);
      entry.byte(0x12);
      entry.strValue(v);
      w.sub(0x4a, entry.finish());
    }
  }
  w.dbl(0x51, e.dwellMs);
  w.uint(0x58, e.rating);
  w.uint(0x60, e.quantity);
  w.str(0x6a, u.runId);
  w.dbl(0x71, e.receivedMs);
  const n = w.pos;
  // EventRecord: field 1 (event), length-delimited.
  let lenBytes = 1;
  for (let v = n; v > 0x7f; v = Math.floor(v / 128)) lenBytes++;
  const out = new Uint8Array(1 + lenBytes + n);
  out[0] = 0x0a;
  let p = 1;
  let v = n;
  while (v > 0x7f) {
    out[p++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[p++] = v;
  out.set(w.buf.subarray(0, n), p);
  return out;
}
