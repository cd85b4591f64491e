import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from './random.js';
import {
  delimitedFieldSize,
  doubleFieldSize,
  int32Size,
  stringFieldSize,
  utf8Length,
  varintSize,
  writeDoubleField,
  writeDoubleLE,
  writeInt32,
  writeString,
  writeStringField,
  writeVarint,
} from './wire.js';

/** What a primitive wrote at offset 3 of a 0xee-filled Buffer and Uint8Array (both must agree). */
function written(write: (buf: Uint8Array, pos: number) => number): Uint8Array {
  const out: Uint8Array[] = [];
  // a pooled Buffer (its byteOffset is not 0) and a plain view into a larger array
  for (const buf of [Buffer.allocUnsafe(1024).fill(0xee), new Uint8Array(2048).fill(0xee).subarray(5, 1029)]) {
    const end = write(buf, 3);
    expect(buf.subarray(0, 3).every((b) => b === 0xee)).toBe(true);
    expect(buf.subarray(end).every((b) => b === 0xee)).toBe(true);
    out.push(Uint8Array.from(buf.subarray(3, end)));
  }
  expect(out[0]).toEqual(out[1]);
  return out[0] as Uint8Array;
}

const bufbuild = (write: (w: BinaryWriter) => BinaryWriter) => write(new BinaryWriter()).finish();

const UINT32_EDGES = [
  0,
  1,
  127,
  128,
  300,
  2 ** 14 - 1,
  2 ** 14,
  2 ** 21 - 1,
  2 ** 21,
  2 ** 28 - 1,
  2 ** 28,
  2 ** 31,
  2 ** 32 - 1,
];

const STRINGS = [
  '',
  'a',
  'run-2026-01-01-user-0042-17',
  'x'.repeat(64), // the last length counted and copied in JS
  'x'.repeat(65),
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  'ü',
  'Läufe',
  'ß ж é', // 2-byte
  '中文 €', // 3-byte
  '🚀', // 4-byte (a surrogate pair)
  'évènement-🚀'.repeat(20),
  '\ud800', // lone high surrogate: U+FFFD
  '\udc00', // lone low surrogate
  'a\ud800', // high surrogate at the end
  '\ud800a',
  '\udc00\ud800', // a pair the wrong way round: two lone ones
  `${'y'.repeat(70)}\ud83d`, // a lone surrogate in a long string
  '\u0000\u007f\u0080\u07ff\u0800\uffff',
];

describe('varints', () => {
  it('write uint32 values as BinaryWriter.uint32 does, in varintSize bytes', () => {
    for (const n of UINT32_EDGES) {
      const mine = written((buf, pos) => writeVarint(buf, pos, n));
      expect(mine, `${n}`).toEqual(bufbuild((w) => w.uint32(n)));
      expect(varintSize(n), `${n}`).toBe(mine.length);
    }
  });

  it('write int32 values as BinaryWriter.int32 does (negative ones in 10 bytes), in int32Size bytes', () => {
    for (const n of [0, 1, 127, 128, 2 ** 14, 2 ** 31 - 1, -1, -2, -128, -(2 ** 28), -(2 ** 31)]) {
      const mine = written((buf, pos) => writeInt32(buf, pos, n));
      expect(mine, `${n}`).toEqual(bufbuild((w) => w.int32(n)));
      expect(int32Size(n), `${n}`).toBe(mine.length);
    }
  });
});

describe('strings', () => {
  it('measure the UTF-8 length as Buffer.byteLength and TextEncoder do (lone surrogates as U+FFFD)', () => {
    const encoder = new TextEncoder();
    for (const s of STRINGS) {
      expect(utf8Length(s), JSON.stringify(s)).toBe(Buffer.byteLength(s, 'utf8'));
      expect(utf8Length(s), JSON.stringify(s)).toBe(encoder.encode(s).length);
    }
  });

  it('write a string value and a string field as BinaryWriter does, in the sizes given', () => {
    for (const s of STRINGS) {
      const value = written((buf, pos) => writeString(buf, pos, s));
      expect(value, JSON.stringify(s)).toEqual(bufbuild((w) => w.string(s)));
      expect(value.length).toBe(varintSize(utf8Length(s)) + utf8Length(s));
      const field = written((buf, pos) => writeStringField(buf, pos, 0x3a, s));
      expect(field, JSON.stringify(s)).toEqual(
        s === '' ? new Uint8Array(0) : bufbuild((w) => w.tag(7, WireType.LengthDelimited).string(s)),
      );
      expect(stringFieldSize(s)).toBe(field.length);
    }
  });

  it('match BinaryWriter on random strings around the JS/native switch', () => {
    const random = mulberry32(11);
    const alphabet = [
      'a',
      'Z',
      ' ',
      '\u0000',
      '\u007f',
      '\u0080',
      'é',
      '\u07ff',
      '\u0800',
      '中',
      '🚀',
      '\ud800',
      '\udfff',
    ];
    for (let i = 0; i < 400; i++) {
      const length = Math.floor(random() * 140);
      let s = '';
      while (s.length < length) s += alphabet[Math.floor(random() * alphabet.length)];
      expect(
        written((buf, pos) => writeString(buf, pos, s)),
        JSON.stringify(s),
      ).toEqual(bufbuild((w) => w.string(s)));
    }
  });

  it('size a length-delimited field as tag, length varint and body', () => {
    for (const n of [0, 1, 127, 128, 2 ** 14, 2 ** 21]) expect(delimitedFieldSize(n)).toBe(1 + varintSize(n) + n);
  });
});

describe('doubles', () => {
  it('write 8 little-endian bytes as BinaryWriter.double does (-0, NaN, infinities, subnormals)', () => {
    for (const v of [
      0,
      -0,
      1,
      -1.5,
      0.1,
      1_764_000_000_000.25,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.MIN_VALUE, // the smallest subnormal
      2.2250738585072014e-308 / 3, // a subnormal
      -Number.MIN_VALUE,
      Number.MAX_VALUE,
      Number.MAX_SAFE_INTEGER,
    ]) {
      expect(
        written((buf, pos) => writeDoubleLE(buf, pos, v)),
        `${v}`,
      ).toEqual(bufbuild((w) => w.double(v)));
    }
  });

  it('write a double field as BinaryWriter does, leaving out +0 only (proto3), in doubleFieldSize bytes', () => {
    for (const v of [0, -0, 1.5, Number.NaN, -Number.MIN_VALUE]) {
      const expected = Object.is(v, 0) ? new Uint8Array() : bufbuild((w) => w.tag(5, WireType.Bit64).double(v));
      const bytes = written((buf, pos) => writeDoubleField(buf, pos, (5 << 3) | WireType.Bit64, v));
      expect(bytes, `${v}`).toEqual(expected);
      expect(bytes.length, `${v}`).toBe(doubleFieldSize(v));
    }
  });
});
