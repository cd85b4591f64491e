/**
 * Item codes: a window's item-level signal (`SemantizedWindow.items`). An item id is hashed to
 * `ITEM_CODE_BITS` bits (feature hashing), so a window names its items in a few bytes whatever the
 * catalogue's id format, and a model learns per code. Collisions only merge items into one feature;
 * with 4,096 codes a catalogue of a few thousand items keeps most items apart.
 */

/** Bits of an item code: codes are 0 … 2^ITEM_CODE_BITS − 1. */
export const ITEM_CODE_BITS = 12;
const MASK = (1 << ITEM_CODE_BITS) - 1;

/** FNV-1a (32-bit) over the UTF-8 bytes of `s`. */
function fnv1aUtf8(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, 0x01000193);
      continue;
    }
    // Not ASCII: the code point's UTF-8 bytes (surrogate pairs joined; a lone surrogate is U+FFFD, as TextEncoder does).
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else c = 0xfffd;
    } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    const bytes =
      c < 0x800
        ? [0xc0 | (c >> 6), 0x80 | (c & 63)]
        : c < 0x10000
          ? [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)]
          : [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)];
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  }
  return h >>> 0;
}

/** The code of an item id: the low `ITEM_CODE_BITS` bits of FNV-1a over its UTF-8 bytes. */
export function itemCode(itemId: string): number {
  return fnv1aUtf8(itemId) & MASK;
}

/** Alphabet of the text form: URL-safe base64 digits (no separators needed, none of `|`, space or `,`). */
const DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Characters of an item code's text form: base64 digits, 6 bits each. */
export const ITEM_CODE_CHARS = Math.ceil(ITEM_CODE_BITS / 6);

/** The fixed-width text form of an item code (`ITEM_CODE_CHARS` base64 digits, most significant first). */
export function itemCodeText(code: number): string {
  if (!Number.isInteger(code) || code < 0 || code > MASK) throw new RangeError(`item code ${code} is out of range`);
  let out = '';
  for (let shift = (ITEM_CODE_CHARS - 1) * 6; shift >= 0; shift -= 6) out += DIGITS[(code >> shift) & 63] as string;
  return out;
}

/** The code of a text form, or undefined when it is not one. */
export function parseItemCodeText(text: string): number | undefined {
  if (text.length !== ITEM_CODE_CHARS) return undefined;
  let code = 0;
  for (const ch of text) {
    const d = DIGITS.indexOf(ch);
    if (d < 0) return undefined;
    code = code * 64 + d;
  }
  return code <= MASK ? code : undefined;
}
