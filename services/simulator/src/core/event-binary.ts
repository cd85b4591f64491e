import {
  delimitedFieldSize,
  varintSize,
  writeDoubleField,
  writeString,
  writeStringField,
  writeVarint,
} from '@personastream/contracts';
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

  /** A uint32 varint. */
  varint(v: number): void {
    this.ensure(5);
    this.pos = writeVarint(this.buf, this.pos, v);
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n);
    if (n > 256) {
      this.buf.set(b, this.pos);
      this.pos += n;
      return;
    }
    // a loop beats TypedArray#set's fixed cost on the short pieces events are made of
    const buf = this.buf;
    const p = this.pos;
    for (let i = 0; i < n; i++) buf[p + i] = b[i] as number;
    this.pos = p + n;
  }

  /** Bytes `b[from, to)`. */
  range(b: Uint8Array, from: number, to: number): void {
    this.ensure(to - from);
    const buf = this.buf;
    let p = this.pos;
    for (let i = from; i < to; i++) buf[p++] = b[i] as number;
    this.pos = p;
  }

  /** Length-prefixed string with its tag (skipped when empty). */
  str(tag: number, s: string): void {
    this.ensure(1 + 5 + s.length * 3); // UTF-8 takes at most 3 bytes a UTF-16 code unit
    this.pos = writeStringField(this.buf, this.pos, tag, s);
  }

  /** Length-prefixed string. */
  strValue(s: string): void {
    this.ensure(5 + s.length * 3);
    this.pos = writeString(this.buf, this.pos, s);
  }

  /** A double with its tag (see `writeDoubleField`: skipped when +0). */
  dbl(tag: number, v: number): void {
    this.ensure(9);
    this.pos = writeDoubleField(this.buf, this.pos, tag, v);
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
  if (price !== listPrice) return w.buf.subarray(0, w.pos); // a sale price: used (copied) right away
  const out = w.finish();
  cache[item] = out;
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
    // in the event slab: lives as long as the session's events do
    b = slabAlloc(w.pos);
    b.set(w.buf.subarray(0, w.pos));
    sessionCache.set(s, b);
  }
  return b;
}

/**
 * Writes the `properties` map entries (field 9) straight from the generator's flat JSON object
 * (`{"k":"v",…}`: ASCII, no escapes, keys not starting with a digit) without parsing it; anything
 * else goes through `JSON.parse`, with the same bytes as a result.
 */
function writeProps(w: Writer, json: string): void {
  const start = w.pos;
  if (!writeFlatProps(w, json)) {
    w.pos = start;
    const props = JSON.parse(json) as Record<string, string>;
    for (const k in props) {
      const entry = scratch.reset();
      entry.byte(0x0a);
      entry.strValue(k);
      entry.byte(0x12);
      entry.strValue(props[k] as string);
      w.sub(0x4a, entry.buf.subarray(0, entry.pos));
    }
  }
}

/** The props JSON as UTF-8 bytes: scanning bytes is fast, `charCodeAt` on a concatenated string is not. */
let jsonBytes = new Uint8Array(1024);

/** End (exclusive) of a plain ASCII JSON string body starting at `i`, or -1. */
function plainStringEnd(b: Uint8Array, i: number, n: number): number {
  for (let j = i; j < n; j++) {
    const c = b[j] as number;
    if (c === 0x22) return j;
    if (c === 0x5c || c > 0x7e || c < 0x20) return -1;
  }
  return -1;
}

/** Key ranges (start, end) seen in the current object: a repeated key falls back to JSON.parse. */
const keyRanges = new Int32Array(32);

function sameBytes(b: Uint8Array, a: number, aEnd: number, c: number, cEnd: number): boolean {
  if (aEnd - a !== cEnd - c) return false;
  for (let i = 0; i < aEnd - a; i++) if (b[a + i] !== b[c + i]) return false;
  return true;
}

function writeFlatProps(w: Writer, json: string): boolean {
  if (jsonBytes.length < json.length * 3) jsonBytes = new Uint8Array(json.length * 3);
  const b = jsonBytes;
  const n = utf8.encodeInto(json, b).written;
  if (b[0] !== 0x7b || b[n - 1] !== 0x7d) return false;
  if (n === 2) return true;
  let i = 1;
  let keys = 0;
  for (;;) {
    if (b[i] !== 0x22) return false;
    const ks = i + 1;
    const first = b[ks] as number;
    if (first >= 0x30 && first <= 0x39) return false; // integer-like keys come first in JSON.parse order
    const ke = plainStringEnd(b, ks, n);
    if (ke < 0 || b[ke + 1] !== 0x3a || b[ke + 2] !== 0x22) return false;
    if (keys === keyRanges.length / 2) return false;
    for (let k = 0; k < keys; k++)
      if (sameBytes(b, ks, ke, keyRanges[2 * k] as number, keyRanges[2 * k + 1] as number)) return false;
    keyRanges[2 * keys] = ks;
    keyRanges[2 * keys + 1] = ke;
    keys++;
    const vs = ke + 3;
    const ve = plainStringEnd(b, vs, n);
    if (ve < 0) return false;
    const klen = ke - ks;
    const vlen = ve - vs;
    w.byte(0x4a);
    w.varint(delimitedFieldSize(klen) + delimitedFieldSize(vlen));
    w.byte(0x0a);
    w.varint(klen);
    w.range(b, ks, ke);
    w.byte(0x12);
    w.varint(vlen);
    w.range(b, vs, ve);
    const next = b[ve + 1];
    if (next === 0x7d) return ve + 2 === n;
    if (next !== 0x2c) return false;
    i = ve + 2;
  }
}

/** The same for every event of a user, encoded once per user (the last user seen). */
let userOf: UserJson | undefined;
/** `${runId}-${userId}-` in UTF-8. */
let idPrefix = new Uint8Array(0);
/** Fields 2 (tenant) and 3 (user id) with their tags. */
let tenantUser: Uint8Array = new Uint8Array(0);
/** Field 13 (run id) with its tag. */
let runIdField: Uint8Array = new Uint8Array(0);

function forUser(u: UserJson): void {
  if (userOf === u) return;
  idPrefix = utf8.encode(`${u.runId}-${u.userId}-`);
  const w = scratch.reset();
  w.str(0x12, u.tenant);
  w.str(0x1a, u.userId);
  tenantUser = w.finish();
  w.reset();
  w.str(0x6a, u.runId);
  runIdField = w.finish();
  userOf = u;
}

/** Field 1, the event id `${runId}-${userId}-${seq}`, without building the string. */
function writeEventId(w: Writer, seq: number): void {
  let digits = 1;
  for (let v = seq; v >= 10; v = Math.floor(v / 10)) digits++;
  w.byte(0x0a);
  w.varint(idPrefix.length + digits);
  w.bytes(idPrefix);
  w.ensure(digits);
  let v = seq;
  for (let i = digits - 1; i >= 0; i--) {
    w.buf[w.pos + i] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
  w.pos += digits;
}

/**
 * Output bytes are views into shared 512 KiB slabs: one small typed array per event would be an
 * off-heap allocation each (as slow as the encoding itself), a view of a slab is cheap. An event is
 * written straight into the slab after room for its tag and length; a slab is freed once no event
 * of it is referenced any more.
 */
const SLAB_BYTES = 512 * 1024;
/** Room an event starts with (larger events grow the writer's buffer: correct, just a copy). */
const SLAB_HEADROOM = 32 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabPos = 0;

function slabAlloc(n: number): Uint8Array {
  if (slabPos + n > slab.length) {
    slab = new Uint8Array(Math.max(SLAB_BYTES, n));
    slabPos = 0;
  }
  const out = slab.subarray(slabPos, slabPos + n);
  slabPos += n;
  return out;
}

/** Tag (1 byte) and the longest length varint (5 bytes) reserved in front of an event's body. */
const RESERVED = 6;

/** `EventRecord{event}` bytes of a simulated event (a view into a shared slab; never written to). */
export function eventRecordBinary(c: Catalogue, u: UserJson, e: SimEvent): Uint8Array {
  forUser(u);
  const context = contextBytes(e.session); // may take slab space itself: before this event's bytes
  if (slab.length - slabPos < SLAB_HEADROOM) {
    slab = new Uint8Array(SLAB_BYTES);
    slabPos = 0;
  }
  const w = body;
  const bodyStart = slabPos + RESERVED;
  w.buf = slab;
  w.pos = bodyStart;
  writeEventId(w, e.seq);
  w.bytes(tenantUser);
  w.dbl(0x21, e.timeMs);
  w.uint(0x28, e.type);
  if (e.item >= 0) w.sub(0x32, itemBytes(c, e.item, e.price));
  w.str(0x3a, e.query);
  w.sub(0x42, context);
  if (e.props !== null) writeProps(w, e.props);
  w.dbl(0x51, e.dwellMs);
  w.uint(0x58, e.rating);
  w.uint(0x60, e.quantity);
  w.bytes(runIdField);
  w.dbl(0x71, e.receivedMs);
  // the writer grows into a new buffer (with everything before it copied) only past the headroom
  slab = w.buf;
  const end = w.pos;
  const n = end - bodyStart;
  // EventRecord: field 1 (event), length-delimited, right in front of the body
  const start = bodyStart - 1 - varintSize(n);
  slab[start] = 0x0a;
  writeVarint(slab, start + 1, n);
  slabPos = end;
  return slab.subarray(start, end);
}
