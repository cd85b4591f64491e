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
 *  - before an ASCII letter preceded by two ASCII punctuation characters (`":"x`, `,"x`, `{"x`): the
 *    punctuation run is one piece that ends right there.
 * The unit tests compare against the library's own `countTokens` on thousands of random lines.
 */
export class TokenCounter {
  private readonly count: CountFn;
  private readonly cache = new Map<string, number>();

  constructor(
    readonly name: TokenizerName = 'cl100k_base',
    private readonly maxCache = 200_000,
  ) {
    this.count = load(name);
  }

  /** Tokens of arbitrary text, no segmentation (rendered window text). */
  text(text: string): number {
    return this.count(text);
  }

  /** Tokens of one line (plus a trailing newline when `newline`), exact, using the segment cache. */
  line(line: string, newline = false): number {
    let total = 0;
    let segStart = 0;
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
          if (i > segStart) total += this.segment(line.slice(segStart, i));
          total += Math.ceil((j - i) / 3);
          segStart = j;
        }
        i = j;
        continue;
      }
      if (i >= 2 && isAsciiLetter(c) && isAsciiPunct(line.charCodeAt(i - 1)) && isAsciiPunct(line.charCodeAt(i - 2))) {
        total += this.segment(line.slice(segStart, i));
        segStart = i;
      }
      i++;
    }
    if (newline) total += this.segment(`${line.slice(segStart)}\n`);
    else if (segStart < n) total += this.segment(segStart === 0 ? line : line.slice(segStart));
    return total;
  }

  private segment(s: string): number {
    let v = this.cache.get(s);
    if (v === undefined) {
      v = this.count(s);
      if (this.cache.size >= this.maxCache) this.cache.clear();
      this.cache.set(s, v);
    }
    return v;
  }
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
