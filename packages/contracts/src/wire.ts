/**
 * Protobuf wire-format primitives for the hand-written encoders of the hot paths (simulator events,
 * ingest events, semantizer windows, persona updates): how many bytes a varint or a string takes,
 * and writers of varints, UTF-8 strings and doubles. The bytes are the ones protobuf-es's
 * `BinaryWriter` writes (`wire.test.ts` compares them).
 *
 * Each writer is a plain function over the caller's buffer (a `Uint8Array` or a `Buffer`): it writes
 * at `pos` and returns the position after what it wrote. It never checks for room: the encoders
 * size their buffers first (or grow them before writing).
 *
 * The proto3 rules stay with the callers: fields in field-number order, and zero values left out
 * ('' strings, 0 integers, +0 doubles — `isDefaultDouble`: a -0 double is written, as protobuf-es
 * does), except in map entries, which always carry key and value. Helpers that take a tag take it as one byte: field
 * numbers 1 to 15.
 */

/** Strings up to this many UTF-16 code units are measured and written by a JS loop; longer ones natively. */
const SHORT_STRING = 64;

/** Bytes of `n` as a varint; `n` is a uint32 (other numbers are taken modulo 2^32, as `writeVarint` does). */
export function varintSize(n: number): number {
  const v = n >>> 0;
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

/** Writes `n` (a uint32, taken modulo 2^32) as a varint: 7 bits a byte, low bits first. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  let v = n >>> 0;
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Bytes of an int32 (or enum) value `n` as a varint: a negative one takes 10 (sign-extended to 64 bits). */
export function int32Size(n: number): number {
  return n < 0 ? 10 : varintSize(n);
}

/** Writes an int32 (or enum) value as a varint; a negative one as its 64-bit two's complement (10 bytes). */
export function writeInt32(buf: Uint8Array, pos: number, n: number): number {
  if (n >= 0) return writeVarint(buf, pos, n);
  // the low 32 bits as four 7-bit groups and four bits, then the sign-extension ones up to bit 63
  let low = n >>> 0;
  for (let i = 0; i < 4; i++) {
    buf[pos++] = (low & 0x7f) | 0x80;
    low >>>= 7;
  }
  buf[pos++] = (low & 0x0f) | 0x70 | 0x80;
  for (let i = 0; i < 4; i++) buf[pos++] = 0xff;
  buf[pos++] = 0x01;
  return pos;
}

/**
 * UTF-8 length of `s`, the same as `Buffer.byteLength(s, 'utf8')`: a lone surrogate counts 3 bytes,
 * as U+FFFD (what protobuf-es and `TextEncoder` write). Short strings are counted in JS, which is
 * cheaper than a call into C++ for each one.
 */
export function utf8Length(s: string): number {
  const n = s.length;
  if (n > SHORT_STRING) return Buffer.byteLength(s, 'utf8');
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4; // a surrogate pair: one 4-byte code point
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

const textEncoder = new TextEncoder();

/**
 * Writes `s` as UTF-8 (lone surrogates as U+FFFD); `len` is its `utf8Length`. Short ASCII strings
 * are copied by a JS loop, anything else is encoded natively.
 */
function writeUtf8(buf: Uint8Array, pos: number, s: string, len: number): number {
  if (len === s.length && len <= SHORT_STRING) {
    for (let i = 0; i < len; i++) buf[pos + i] = s.charCodeAt(i);
    return pos + len;
  }
  // a plain view: `buf.subarray` would build a Buffer when `buf` is one, which costs more
  return pos + textEncoder.encodeInto(s, new Uint8Array(buf.buffer, buf.byteOffset + pos, len)).written;
}

/** Writes `s` as a string field's value: its UTF-8 length as a varint, then its UTF-8 bytes. */
export function writeString(buf: Uint8Array, pos: number, s: string): number {
  const len = utf8Length(s);
  return writeUtf8(buf, writeVarint(buf, pos, len), s, len);
}

/** Writes a string field, one-byte `tag` and value (see `writeString`); nothing for '' (the proto3 default). */
export function writeStringField(buf: Uint8Array, pos: number, tag: number, s: string): number {
  if (s === '') return pos;
  buf[pos] = tag;
  return writeString(buf, pos + 1, s);
}

/** Bytes of a length-delimited field (string, bytes, message) of one-byte tag whose value has `length` bytes. */
export function delimitedFieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** Bytes of the string field `writeStringField` writes: 0 for ''. */
export function stringFieldSize(s: string): number {
  return s === '' ? 0 : delimitedFieldSize(utf8Length(s));
}

/**
 * True for the double proto3 leaves out: +0 only. −0 is written, as protobuf-es does, so it survives a
 * round trip. Every encoder's double fields go through this one rule.
 */
export function isDefaultDouble(v: number): boolean {
  return Object.is(v, 0);
}

/** Bytes of a double field of one-byte tag: 0 when it is left out (+0), else tag and 8 bytes. */
export function doubleFieldSize(v: number): number {
  return isDefaultDouble(v) ? 0 : 9;
}

/** Writes a double field, one-byte `tag` and 8 little-endian bytes; nothing for +0 (the proto3 default). */
export function writeDoubleField(buf: Uint8Array, pos: number, tag: number, v: number): number {
  if (isDefaultDouble(v)) return pos;
  buf[pos] = tag;
  return writeDoubleLE(buf, pos + 1, v);
}

/** Scratch for the 8 bytes of a double: stores of its bytes beat a DataView on the caller's buffer. */
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const bigEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;

/** Writes `v` as a little-endian IEEE 754 double (8 bytes), as a `double` (wire type I64) is written. */
export function writeDoubleLE(buf: Uint8Array, pos: number, v: number): number {
  f64[0] = v;
  const b = bigEndianHost ? f64Bytes.reverse() : f64Bytes;
  buf[pos] = b[0] as number;
  buf[pos + 1] = b[1] as number;
  buf[pos + 2] = b[2] as number;
  buf[pos + 3] = b[3] as number;
  buf[pos + 4] = b[4] as number;
  buf[pos + 5] = b[5] as number;
  buf[pos + 6] = b[6] as number;
  buf[pos + 7] = b[7] as number;
  return pos + 8;
}
