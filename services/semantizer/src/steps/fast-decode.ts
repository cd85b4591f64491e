import type { BehaviorEvent, EventContext, EventRecord, Item } from '@personastream/contracts';

/**
 * Direct decoder of `EventRecord{event}` bytes: the same message objects `fromBinary` builds
 * (plain proto3 objects with `$typeName`, zero values for absent scalars, `item` / `context` only
 * when present, `properties` a plain object) — tested against `fromBinary` — without protobuf-es's
 * reflection, which costs more per event than the semantizer's whole core.
 *
 * It understands exactly the fields of `events.proto` with their wire types, each sub-message at
 * most once; anything else (an end-of-run marker, unknown or repeated sub-message fields, a
 * truncated buffer) returns `undefined` and the caller falls back to `fromBinary`, which also
 * decides what is invalid. Strings: ASCII bytes directly, anything else through `TextDecoder`
 * like protobuf-es.
 */
export function decodeEventRecordFast(bytes: Uint8Array): EventRecord | undefined {
  const r = reader;
  r.buf = bytes;
  const ab = bytes.buffer; // a getter that is not free: read once per record
  r.node = nodeBuffer(ab);
  r.view = dataView(ab);
  r.base = bytes.byteOffset;
  r.pos = 0;
  r.ok = true;
  if (bytes[0] !== 0x0a) return undefined; // field 1 (event), length-delimited
  r.pos = 1;
  const len = r.varint32();
  const end = r.pos + len;
  if (!r.ok || end !== bytes.length) return undefined;
  const event = readEvent(r, end);
  if (!event || !r.ok || r.pos !== end) return undefined;
  return { $typeName: 'personastream.v1.EventRecord', kind: { case: 'event', value: event } } as EventRecord;
}

class Reader {
  buf: Uint8Array = new Uint8Array(0);
  /** `buf`'s whole ArrayBuffer as a Node Buffer (same memory; `buf` starts at `base` in it). */
  node: Buffer = Buffer.alloc(0);
  /** A DataView of `buf`'s whole ArrayBuffer (`buf` starts at `base` in it). */
  view: DataView = new DataView(new ArrayBuffer(0));
  base = 0;
  pos = 0;
  ok = true;

  /** A varint's low 32 bits as a signed int32 (how int32 and enum fields are read). */
  varint32(): number {
    const buf = this.buf;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      const b = buf[this.pos++];
      if (b === undefined) {
        this.ok = false;
        return 0;
      }
      if (shift < 32) result |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) return result | 0;
    }
    this.ok = false;
    return 0;
  }

  double(): number {
    if (this.pos + 8 > this.buf.length) {
      this.ok = false;
      return 0;
    }
    const v = this.view.getFloat64(this.base + this.pos, true);
    this.pos += 8;
    return v;
  }

  string(): string {
    const end = this.sub();
    if (!this.ok) return '';
    const start = this.pos;
    this.pos = end;
    return this.text(start, end);
  }

  /**
   * `string()` for values that repeat (tenant, user id, item fields, device, user agent…): short
   * ASCII strings come from a small direct-mapped cache when the bytes match, so a repeated value
   * is one shared string — no allocation, and its hash (for Map lookups downstream) already computed.
   * Each slot keeps a copy of its string's bytes (see `sameBytes`): comparing two byte arrays is
   * cheaper than reading the string's characters one by one.
   */
  shared(): string {
    const end = this.sub();
    if (!this.ok) return '';
    const start = this.pos;
    this.pos = end;
    const n = end - start;
    if (n > SHARED_MAX_LENGTH) return this.text(start, end);
    const buf = this.buf;
    // slot: the length and up to 4 leading and 8 trailing bytes (ids differ at their ends); the
    // full comparison below decides
    let h = n;
    const head = Math.min(start + 4, end);
    for (let i = start; i < head; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    for (let i = Math.max(head, end - 8); i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    const slot = (h ^ (h >>> 15)) & SHARED_MASK;
    if (sameBytes(slot, buf, start, n)) return sharedStrings[slot] as string;
    for (let i = start; i < end; i++) if ((buf[i] as number) >= 0x80) return utf8.decode(buf.subarray(start, end));
    // ASCII only in the cache: its bytes are its characters
    const s = this.node.toString('latin1', this.base + start, this.base + end);
    sharedStrings[slot] = s;
    keepBytes(slot, buf, start, n);
    return s;
  }

  private text(start: number, end: number): string {
    const buf = this.buf;
    for (let i = start; i < end; i++) if ((buf[i] as number) >= 0x80) return utf8.decode(buf.subarray(start, end));
    // ASCII: latin1 is the same text and Node's fastest decoder
    return this.node.toString('latin1', this.base + start, this.base + end);
  }

  /** End offset of a length-delimited field starting at `pos`. */
  sub(): number {
    const n = this.varint32();
    const end = this.pos + n;
    if (!this.ok || n < 0 || end > this.buf.length) {
      this.ok = false;
      return this.pos;
    }
    return end;
  }
}

/** Strings longer than this (bytes) are not shared (user agents, ~100–200 bytes, are). */
const SHARED_MAX_LENGTH = 256;
const SHARED_MASK = 8191;
/** The shared strings by slot. */
const sharedStrings: (string | undefined)[] = new Array(SHARED_MASK + 1).fill(undefined);
/**
 * The bytes of each slot's string: its length (−1: empty slot) and, up to `ARENA_STRIDE` bytes, a
 * copy in one preallocated arena (misses are frequent — session ids, queries — and must not
 * allocate), longer ones (user agents: few, and rarely replaced) in an array of their own.
 */
const ARENA_STRIDE = 64;
const sharedLength = new Int32Array(SHARED_MASK + 1).fill(-1);
const arena = new Uint8Array((SHARED_MASK + 1) * ARENA_STRIDE);
const longBytes: (Uint8Array | undefined)[] = new Array(SHARED_MASK + 1).fill(undefined);

/** True when the string in `slot` has the bytes `buf[start, start + n)`. */
function sameBytes(slot: number, buf: Uint8Array, start: number, n: number): boolean {
  if (sharedLength[slot] !== n) return false;
  let i = 0;
  if (n <= ARENA_STRIDE) {
    const at = slot * ARENA_STRIDE;
    while (i < n && arena[at + i] === buf[start + i]) i++;
  } else {
    const bytes = longBytes[slot] as Uint8Array;
    while (i < n && bytes[i] === buf[start + i]) i++;
  }
  return i === n;
}

/** Records `buf[start, start + n)` as the bytes of the string in `slot`. */
function keepBytes(slot: number, buf: Uint8Array, start: number, n: number): void {
  sharedLength[slot] = n;
  if (n <= ARENA_STRIDE) {
    const at = slot * ARENA_STRIDE;
    for (let i = 0; i < n; i++) arena[at + i] = buf[start + i] as number; // no subarray object
  } else {
    longBytes[slot] = buf.slice(start, start + n);
  }
}

const reader = new Reader();
const utf8 = new TextDecoder();
let lastView: DataView | undefined;

let lastNode: Buffer | undefined;

/** A Node Buffer over a whole ArrayBuffer: one per fetch response (its records share it), not one per record. */
function nodeBuffer(ab: ArrayBufferLike): Buffer {
  if (lastNode && lastNode.buffer === ab) return lastNode;
  lastNode = Buffer.from(ab);
  return lastNode;
}

/** A DataView over a whole ArrayBuffer: one per fetch response, like `nodeBuffer`. */
function dataView(ab: ArrayBufferLike): DataView {
  if (lastView && lastView.buffer === ab) return lastView;
  lastView = new DataView(ab);
  return lastView;
}

// wire types: 0 varint, 1 64-bit, 2 length-delimited
const VARINT = 0;
const I64 = 1;
const LEN = 2;

function readEvent(r: Reader, end: number): BehaviorEvent | undefined {
  const e = {
    $typeName: 'personastream.v1.BehaviorEvent',
    eventId: '',
    tenant: '',
    userId: '',
    eventTimeMs: 0,
    type: 0,
    query: '',
    properties: {} as Record<string, string>,
    dwellMs: 0,
    rating: 0,
    quantity: 0,
    runId: '',
    receivedTimeMs: 0,
  } as BehaviorEvent;
  let item = false;
  let context = false;
  while (r.pos < end && r.ok) {
    const tag = r.varint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    switch (field) {
      case 1:
        if (wire !== LEN) return undefined;
        e.eventId = r.string();
        break;
      case 2:
        if (wire !== LEN) return undefined;
        e.tenant = r.shared();
        break;
      case 3:
        if (wire !== LEN) return undefined;
        e.userId = r.shared();
        break;
      case 4:
        if (wire !== I64) return undefined;
        e.eventTimeMs = r.double();
        break;
      case 5:
        if (wire !== VARINT) return undefined;
        e.type = r.varint32();
        break;
      case 6: {
        if (wire !== LEN || item) return undefined;
        item = true;
        const sub = r.sub();
        const it = readItem(r, sub);
        if (!it) return undefined;
        e.item = it;
        break;
      }
      case 7:
        if (wire !== LEN) return undefined;
        e.query = r.shared();
        break;
      case 8: {
        if (wire !== LEN || context) return undefined;
        context = true;
        const sub = r.sub();
        const ctx = readContext(r, sub);
        if (!ctx) return undefined;
        e.context = ctx;
        break;
      }
      case 9: {
        if (wire !== LEN) return undefined;
        const sub = r.sub();
        if (!readEntry(r, sub, e.properties)) return undefined;
        break;
      }
      case 10:
        if (wire !== I64) return undefined;
        e.dwellMs = r.double();
        break;
      case 11:
        if (wire !== VARINT) return undefined;
        e.rating = r.varint32();
        break;
      case 12:
        if (wire !== VARINT) return undefined;
        e.quantity = r.varint32();
        break;
      case 13:
        if (wire !== LEN) return undefined;
        e.runId = r.shared();
        break;
      case 14:
        if (wire !== I64) return undefined;
        e.receivedTimeMs = r.double();
        break;
      default:
        return undefined;
    }
  }
  return r.ok && r.pos === end ? e : undefined;
}

function readItem(r: Reader, end: number): Item | undefined {
  const it = {
    $typeName: 'personastream.v1.Item',
    id: '',
    categoryPath: [] as string[],
    brand: '',
    price: 0,
    currency: '',
    title: '',
  } as Item;
  while (r.pos < end && r.ok) {
    const tag = r.varint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 4) {
      if (wire !== I64) return undefined;
      it.price = r.double();
      continue;
    }
    if (wire !== LEN) return undefined;
    switch (field) {
      case 1:
        it.id = r.shared();
        break;
      case 2:
        it.categoryPath.push(r.shared());
        break;
      case 3:
        it.brand = r.shared();
        break;
      case 5:
        it.currency = r.shared();
        break;
      case 6:
        it.title = r.shared();
        break;
      default:
        return undefined;
    }
  }
  return r.ok && r.pos === end ? it : undefined;
}

function readContext(r: Reader, end: number): EventContext | undefined {
  const c = {
    $typeName: 'personastream.v1.EventContext',
    device: '',
    sessionId: '',
    channel: '',
    userAgent: '',
    locale: '',
  } as EventContext;
  while (r.pos < end && r.ok) {
    const tag = r.varint32();
    if ((tag & 7) !== LEN) return undefined;
    switch (tag >>> 3) {
      case 1:
        c.device = r.shared();
        break;
      case 2:
        c.sessionId = r.shared();
        break;
      case 3:
        c.channel = r.shared();
        break;
      case 4:
        c.userAgent = r.shared();
        break;
      case 5:
        c.locale = r.shared();
        break;
      default:
        return undefined;
    }
  }
  return r.ok && r.pos === end ? c : undefined;
}

/** One `map<string, string>` entry (key 1, value 2; absent ones are ''), into `into`. */
function readEntry(r: Reader, end: number, into: Record<string, string>): boolean {
  let key = '';
  let value = '';
  while (r.pos < end && r.ok) {
    const tag = r.varint32();
    if ((tag & 7) !== LEN) return false;
    const field = tag >>> 3;
    if (field === 1) key = r.shared();
    else if (field === 2) value = r.shared();
    else return false;
  }
  if (!r.ok || r.pos !== end || key === '__proto__') return false;
  into[key] = value;
  return true;
}
