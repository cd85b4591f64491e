import { createRequire } from 'node:module';

/** Tokenizers shipped with their vocabulary by `gpt-tokenizer`. */
export type TokenizerName = 'cl100k_base' | 'o200k_base';

type CountFn = (text: string) => number;

const loaded = new Map<TokenizerName, CountFn>();

/** Loads a tokenizer lazily (the vocabulary is large; token counting can be switched off). */
function load(name: TokenizerName): CountFn {
  let fn = loaded.get(name);
  if (!fn) {
    const require = createRequire(import.meta.url);
    const mod = require(`gpt-tokenizer/cjs/encoding/${name}`) as { countTokens: CountFn };
    fn = (text: string) => mod.countTokens(text);
    loaded.set(name, fn);
  }
  return fn;
}

/**
 * Exact token counts over many similar lines (canonical event JSON), fast.
 *
 * Both supported encodings pre-split text with a regex and run BPE inside each piece, so the count
 * of a text is the sum of the counts of its pieces. We cut each line at positions that are always
 * piece boundaries under that regex, and count the parts through a cache (JSON keys, enum names,
 * category paths and brands repeat on every line):
 *  - around a maximal run of ASCII digits whose neighbours are ASCII and not whitespace: digits form
 *    pieces of at most three, each one token (checked by the unit tests), so the run costs
 *    ceil(len / 3) without looking it up;
 *  - before an ASCII letter preceded by two ASCII punctuation characters (`":"x`, `,"x`, `{"x`), before
 *    a space that follows a printable ASCII character, and before ASCII punctuation (not `'`) that
 *    follows an ASCII letter (see `isCut`): words of a rendered window (` Running`, `|Sports`) and
 *    the letter runs of hex ids (`aff`, `-e`) become small, repeating parts.
 * The unit tests compare against the library's own `countTokens` on thousands of random lines.
 */
export class TokenCounter {
  private readonly count: CountFn;
  private readonly cache = new Map<string, number>();
  private readonly shortCache: PackedCounts;

  constructor(
    readonly name: TokenizerName = 'cl100k_base',
    private readonly maxCache = 200_000,
  ) {
    this.count = load(name);
    // Up to 2^16 slots, half of them used before clearing: about as many entries as `maxCache` allows.
    this.shortCache = new PackedCounts(Math.min(16, Math.max(4, Math.ceil(Math.log2(maxCache)) + 1)));
  }

  /** Tokens of arbitrary text, straight from the tokenizer (no segmentation, no cache). */
  text(text: string): number {
    return this.count(text);
  }

  /** Tokens of one line (plus a trailing newline when `newline`), exact, using the segment cache. */
  line(line: string, newline = false): number {
    let total = 0;
    let segStart = 0;
    // The current segment packed into a number while it is short ASCII (see `segment`), built in
    // the same pass as the cuts are found.
    let key = 1;
    let packed = true;
    const n = line.length;
    let i = 0;
    while (i < n) {
      const c = line.charCodeAt(i);
      if (c >= 48 && c <= 57) {
        let j = i + 1;
        while (j < n && isDigit(line.charCodeAt(j))) j++;
        const prev = i > 0 ? line.charCodeAt(i - 1) : -1;
        const next = j < n ? line.charCodeAt(j) : -1;
        if ((prev === -1 || (prev < 128 && !isSpace(prev))) && next < 128) {
          if (i > segStart) total += this.segment(line, segStart, i, packed ? key : 0);
          total += Math.ceil((j - i) / 3);
          segStart = j;
          key = 1;
          packed = true;
        } else if (packed) {
          for (let k = i; k < j; k++) {
            if (k - segStart >= SHORT) packed = false;
            else key = key * 128 + line.charCodeAt(k);
          }
        }
        i = j;
        continue;
      }
      if (i > segStart && isCut(c, line.charCodeAt(i - 1), i >= 2 ? line.charCodeAt(i - 2) : -1)) {
        total += this.segment(line, segStart, i, packed ? key : 0);
        segStart = i;
        key = 1;
        packed = true;
      }
      if (packed) {
        if (i - segStart >= SHORT || c >= 128) packed = false;
        else key = key * 128 + c;
      }
      i++;
    }
    if (newline) total += this.segmentText(`${line.slice(segStart)}\n`);
    else if (segStart < n) total += this.segment(line, segStart, n, packed ? key : 0);
    return total;
  }

  /**
   * Tokens of `line[start, end)`. Short ASCII segments (most parts of ids and words: `aff`, `-e`,
   * `","`, ` mobile`) come with `key`, their characters packed into a number (1, then 7 bits per
   * character: < 2^53 for up to 7), and are looked up by it without slicing the string; 0 = none.
   */
  private segment(line: string, start: number, end: number, key: number): number {
    if (key === 0) return this.segmentText(start === 0 && end === line.length ? line : line.slice(start, end));
    let v = this.shortCache.get(key);
    if (v < 0) {
      v = this.count(line.slice(start, end));
      this.shortCache.set(key, v);
    }
    return v;
  }

  private segmentText(s: string): number {
    let v = this.cache.get(s);
    if (v === undefined) {
      v = this.count(s);
      if (this.cache.size >= this.maxCache) this.cache.clear();
      this.cache.set(s, v);
    }
    return v;
  }
}

/** Segments of up to 7 ASCII characters are cached by a packed key: 1 + 7 × 7 bits < 2^53. */
const SHORT = 7;

/**
 * Token counts by packed segment key (a positive integer below 2^53), in an open-addressing table
 * of typed arrays: no boxed number keys and no entry objects, unlike a `Map` of such keys. Cleared
 * when half full (a cache).
 */
class PackedCounts {
  private readonly keys: Float64Array;
  private readonly values: Int32Array;
  private readonly shift: number;
  private readonly mask: number;
  private size = 0;

  constructor(private readonly bits: number) {
    this.keys = new Float64Array(1 << bits);
    this.values = new Int32Array(1 << bits);
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
  }

  /** The count stored for `key`, or −1. */
  get(key: number): number {
    const keys = this.keys;
    for (let i = this.slot(key); ; i = (i + 1) & this.mask) {
      const k = keys[i] as number;
      if (k === key) return this.values[i] as number;
      if (k === 0) return -1;
    }
  }

  set(key: number, value: number): void {
    if (this.size >= 1 << (this.bits - 1)) {
      this.keys.fill(0);
      this.size = 0;
    }
    const keys = this.keys;
    let i = this.slot(key);
    while (keys[i] !== 0 && keys[i] !== key) i = (i + 1) & this.mask;
    if (keys[i] === 0) this.size++;
    keys[i] = key;
    this.values[i] = value;
  }

  private slot(key: number): number {
    const lo = key >>> 0; // key mod 2^32
    const hi = (key / 4294967296) | 0;
    return Math.imul(lo ^ Math.imul(hi, 0x27d4eb2f), 0x9e3779b1) >>> this.shift;
  }
}

/**
 * True when the position between `prev2 prev` and `c` (a non-digit) is always a piece boundary, and
 * the text before it ends with a non-whitespace character (so a segment counted alone sees the same
 * pieces as in context: only `\s+(?!\S)` looks ahead, and it would see the segment's end):
 *  - an ASCII letter after two ASCII punctuation characters (`":"x`, `,"x`): a punctuation run can
 *    only be followed by letters in its own piece when it is a single character;
 *  - a space after a printable ASCII character: no piece runs from a letter, digit or punctuation
 *    into a space (punctuation runs only absorb line breaks, and `/` in o200k);
 *  - ASCII punctuation other than `'` after an ASCII letter: no piece runs from letters into
 *    punctuation (except o200k's contractions, `'s`, hence not `'`).
 */
function isCut(c: number, prev: number, prev2: number): boolean {
  if (c === 32) return prev > 32 && prev < 127;
  if (isAsciiLetter(c)) return isAsciiPunct(prev) && isAsciiPunct(prev2);
  return c !== 39 && isAsciiPunct(c) && isAsciiLetter(prev);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** ASCII, not a letter, digit or whitespace. */
function isAsciiPunct(c: number): boolean {
  return c > 32 && c < 127 && !isDigit(c) && !isAsciiLetter(c);
}
