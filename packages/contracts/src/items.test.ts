import { describe, expect, it } from 'vitest';
import { ITEM_CODE_BITS, ITEM_CODE_CHARS, itemCode, itemCodeText, parseItemCodeText } from './items.js';

/** FNV-1a 32 over bytes, the reference the codes are defined by. */
function fnvBytes(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

describe('itemCode', () => {
  it('is FNV-1a over the UTF-8 bytes, cut to ITEM_CODE_BITS bits', () => {
    const mask = (1 << ITEM_CODE_BITS) - 1;
    for (const id of ['', 'i000123', 'SKU-42', 'Amélie', '商品-7', 'emoji 🎧 x', '\ud800lone', 'b\udc00'])
      expect(itemCode(id)).toBe(fnvBytes(new TextEncoder().encode(id)) & mask);
  });
  it('matches the published FNV-1a test vector', () => {
    // FNV-1a 32 of "a" is 0xe40c292c.
    expect(itemCode('a')).toBe(0xe40c292c & ((1 << ITEM_CODE_BITS) - 1));
  });
  it('spreads a catalogue over the codes', () => {
    const codes = new Set(Array.from({ length: 2000 }, (_, i) => itemCode(`i${String(i).padStart(6, '0')}`)));
    expect(codes.size).toBeGreaterThan(1600); // 2,000 ids into 4,096 codes: ≈ 1,630 distinct expected
  });
});

describe('itemCodeText', () => {
  it('round-trips every code in ITEM_CODE_CHARS characters (two for 12 bits)', () => {
    expect(ITEM_CODE_CHARS).toBe(Math.ceil(ITEM_CODE_BITS / 6));
    for (let c = 0; c < 1 << ITEM_CODE_BITS; c++) {
      const t = itemCodeText(c);
      expect(t).toHaveLength(ITEM_CODE_CHARS);
      expect(parseItemCodeText(t)).toBe(c);
    }
  });
  it('refuses codes out of range and reads nothing from other text', () => {
    expect(() => itemCodeText(1 << ITEM_CODE_BITS)).toThrow(/out of range/);
    expect(() => itemCodeText(-1)).toThrow(/out of range/);
    expect(parseItemCodeText('a|'.slice(0, ITEM_CODE_CHARS))).toBeUndefined();
    expect(parseItemCodeText(`${'a'.repeat(ITEM_CODE_CHARS)}b`)).toBeUndefined();
  });
});
