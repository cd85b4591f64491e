import {
  type ActionCount,
  type CompressionStats,
  isDefaultDouble,
  type NotableEvent,
  type SemantizedWindow,
  varintSize,
  writeDoubleLE,
  writeString,
  writeVarint,
} from '@personastream/contracts';

/**
 * Direct binary encoder of `WindowRecord{window}` and `SemantizedWindow`: the bytes `toBinary`
 * (protobuf-es) writes — fields in number order, proto3 zero values left out (doubles by
 * `isDefaultDouble`: −0 is written), packed `hour_histogram` and `items`, map entries in the object's key
 * order with key and value always written, strings as UTF-8 (lone surrogates as U+FFFD, like
 * `TextEncoder`) — without protobuf-es's reflection and fork/join writer, which cost more per
 * window than building it. `window-binary.test.ts` compares the bytes with `toBinary` on generated,
 * simulated and edge-case windows. Only the fields of `windows.proto` are written: windows are
 * built by the core and never carry unknown fields.
 */
export function encodeWindowRecord(w: SemantizedWindow): Uint8Array {
  const out = writer;
  out.tag(1, LEN);
  const mark = out.fork();
  writeWindow(out, w);
  out.join(mark);
  return out.take();
}

/** `toBinary(SemantizedWindowSchema, w)`, directly. */
export function encodeWindow(w: SemantizedWindow): Uint8Array {
  const out = writer;
  writeWindow(out, w);
  return out.take();
}

const VARINT = 0;
const I64 = 1;
const LEN = 2;

/** Bytes of a fresh slab. */
const SLAB = 64 * 1024;

/**
 * Writes records one after another into a slab and hands each out as a view of it (no copy per
 * record); a record that does not fit moves, with what it has written, to a fresh slab — the old one
 * lives on as long as views of it do. Marks (`fork`/`join`) are relative to the record's start, so
 * they survive that move.
 */
class Writer {
  buf = Buffer.allocUnsafe(SLAB);
  /** Where the record being written starts: bytes before it belong to records already handed out. */
  start = 0;
  pos = 0;

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const used = this.pos - this.start;
    let size = SLAB;
    while (size < used + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = used;
  }

  /** The record written since the last `take`, as a view; the next record starts after it. */
  take(): Uint8Array {
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.start, this.pos - this.start);
    this.start = this.pos;
    return out;
  }

  tag(no: number, wire: number): void {
    this.uint32((no << 3) | wire);
  }

  uint32(v: number): void {
    this.ensure(5);
    this.pos = writeVarint(this.buf, this.pos, v);
  }

  double(v: number): void {
    this.ensure(8);
    this.pos = writeDoubleLE(this.buf, this.pos, v);
  }

  /** Length and UTF-8 bytes (at most 3 a UTF-16 code unit). */
  string(s: string): void {
    this.ensure(s.length * 3 + 5);
    this.pos = writeString(this.buf, this.pos, s);
  }

  /** Starts a length-delimited body; one byte is reserved for its length. Returns its mark. */
  fork(): number {
    this.ensure(1);
    this.pos++;
    return this.pos - this.start;
  }

  /** Ends the body whose mark is `mark`: writes its length before it, moving it when that takes more than one byte. */
  join(mark: number): void {
    const len = this.pos - (this.start + mark);
    if (len < 0x80) {
      this.buf[this.start + mark - 1] = len;
      return;
    }
    const extra = varintSize(len) - 1; // bytes beyond the reserved one
    this.ensure(extra);
    const body = this.start + mark;
    this.buf.copyWithin(body + extra, body, this.pos);
    const end = this.pos + extra;
    writeVarint(this.buf, body - 1, len);
    this.pos = end;
  }
}

const writer = new Writer();

function str(out: Writer, no: number, v: string): void {
  if (v === '') return;
  out.tag(no, LEN);
  out.string(v);
}

function u32(out: Writer, no: number, v: number): void {
  if (v === 0) return;
  out.tag(no, VARINT);
  out.uint32(v);
}

function dbl(out: Writer, no: number, v: number): void {
  if (isDefaultDouble(v)) return;
  out.tag(no, I64);
  out.double(v);
}

function stringMap(out: Writer, no: number, m: { [key: string]: number }): void {
  for (const k of Object.keys(m)) {
    out.tag(no, LEN);
    const mark = out.fork();
    out.tag(1, LEN);
    out.string(k);
    out.tag(2, VARINT);
    out.uint32(m[k] as number);
    out.join(mark);
  }
}

function action(out: Writer, a: ActionCount): void {
  str(out, 1, a.action);
  str(out, 2, a.category);
  u32(out, 3, a.count);
}

function notable(out: Writer, n: NotableEvent): void {
  str(out, 1, n.kind);
  str(out, 2, n.detail);
  dbl(out, 3, n.timeMs);
}

function compression(out: Writer, c: CompressionStats): void {
  u32(out, 1, c.rawBytes);
  u32(out, 2, c.semantizedBytes);
  u32(out, 3, c.rawTokens);
  u32(out, 4, c.semantizedTokens);
  str(out, 5, c.tokenizer);
}

function writeWindow(out: Writer, w: SemantizedWindow): void {
  str(out, 1, w.windowId);
  str(out, 2, w.tenant);
  str(out, 3, w.userId);
  str(out, 4, w.runId);
  dbl(out, 5, w.startMs);
  dbl(out, 6, w.endMs);
  u32(out, 7, w.eventCount);
  for (const a of w.actions) {
    out.tag(8, LEN);
    const mark = out.fork();
    action(out, a);
    out.join(mark);
  }
  dbl(out, 9, w.spend);
  dbl(out, 10, w.dwellMs);
  if (w.hourHistogram.length > 0) {
    out.tag(11, LEN);
    const mark = out.fork();
    for (const h of w.hourHistogram) out.uint32(h);
    out.join(mark);
  }
  stringMap(out, 12, w.devices);
  for (const s of w.intents) {
    out.tag(13, LEN);
    out.string(s);
  }
  for (const s of w.brands) {
    out.tag(14, LEN);
    out.string(s);
  }
  stringMap(out, 15, w.priceTiers);
  u32(out, 16, w.funnelDepth);
  for (const n of w.notable) {
    out.tag(17, LEN);
    const mark = out.fork();
    notable(out, n);
    out.join(mark);
  }
  str(out, 18, w.text);
  if (w.compression !== undefined) {
    out.tag(19, LEN);
    const mark = out.fork();
    compression(out, w.compression);
    out.join(mark);
  }
  stringMap(out, 20, w.dropped);
  u32(out, 21, w.renderVersion);
  dbl(out, 22, w.maxEventTimeMs);
  u32(out, 23, w.seq);
  dbl(out, 24, w.ingestTimeMs);
  stringMap(out, 25, w.signals);
  if (w.provisional) {
    out.tag(26, VARINT);
    out.uint32(1);
  }
  u32(out, 27, w.revision);
  stringMap(out, 28, w.interests);
  u32(out, 29, w.unmapped);
  if (w.items.length > 0) {
    out.tag(30, LEN);
    const mark = out.fork();
    for (const c of w.items) out.uint32(c);
    out.join(mark);
  }
}
