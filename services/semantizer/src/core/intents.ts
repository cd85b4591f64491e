/** English stop words and search filler removed from intents. Price words (cheap, premium…) are kept. */
const STOP_WORDS = new Set(
  (
    'a an and are as at be but by for from has have i if in into is it its me my of on or our so ' +
    'that the their them they this to was were will with you your we us he she his her what which who ' +
    'how where when why can could would should do does did not no yes very just also than then there ' +
    'here some any all more most other such only own same too s t about over under up down out off ' +
    'again once am been being had having doing buy shop shopping find search show online near me please ' +
    'want need looking get good new'
  ).split(' '),
);

const normalized = new Map<string, readonly string[]>();

/**
 * Lowercase, strip accents and punctuation, drop stop words and one-letter terms. Cached (queries,
 * category names and brands repeat): the result is shared, do not mutate it.
 */
export function normalizeQuery(query: string): readonly string[] {
  let terms = normalized.get(query);
  if (terms === undefined) {
    terms = normalizeUncached(query);
    if (normalized.size >= 20_000) normalized.clear();
    normalized.set(query, terms);
  }
  return terms;
}

function normalizeUncached(query: string): string[] {
  const terms: string[] = [];
  for (const t of splitWords(query)) {
    if (t.length < 2 || STOP_WORDS.has(t)) continue;
    terms.push(t);
  }
  return terms;
}

/** Any character beyond printable ASCII (only then are accents stripped: the NFKD pass costs). */
const NON_ASCII = /[^\x20-\x7e\t\n\r]/;
const MARKS = /[\u0300-\u036f]/g;
const NOT_WORD = /[^\p{L}\p{N}]+/u;

/**
 * The words of a text: lower-cased, accents stripped, split on anything but letters and digits (of
 * any script), empty pieces left out. The one tokenizer of search terms and the taxonomy mapper;
 * each drops its own stop words.
 */
export function splitWords(text: string): string[] {
  let s = text.toLowerCase();
  if (NON_ASCII.test(s)) s = s.normalize('NFKD').replace(MARKS, '');
  const out: string[] = [];
  for (const w of s.split(NOT_WORD)) if (w !== '') out.push(w);
  return out;
}

/**
 * Vocabulary for typo tolerance: words of category names and brands with the earliest event time
 * they were seen at in the run. A window uses the words seen before its start (complete when it
 * closes, for input ordered within the lateness) plus its own words, so corrections do not depend
 * on arrival order.
 */
export class Vocabulary {
  private readonly termCache = new Map<string, string[]>();
  /** Earliest time each phrase was observed at (derived: rebuilt from words on restore). */
  private readonly phraseMin = new Map<string, number>();
  /**
   * Words within the edit distance of a term, sorted by (distance, word), over the first `scanned`
   * words of `wordList`; extended with the words added since when it is used again.
   */
  private readonly near = new Map<string, { scanned: number; found: [string, number][]; words: string[] }>();
  /** The words in the order they were first added (words are never removed). */
  private readonly wordList: string[];
  /** `letterMask` of each word of `wordList`, same index (the exact prefilter before `damerau`). */
  private readonly wordMasks: number[];

  constructor(readonly words: Map<string, number> = new Map()) {
    this.wordList = [...words.keys()];
    this.wordMasks = this.wordList.map(letterMask);
  }

  /** Terms of a category name or brand (cached: these strings repeat). */
  terms(phrase: string): string[] {
    let t = this.termCache.get(phrase);
    if (!t) {
      t = normalizeQuery(phrase).filter((w) => w.length >= 3);
      if (this.termCache.size > 20_000) this.termCache.clear();
      this.termCache.set(phrase, t);
    }
    return t;
  }

  observe(phrase: string, t: number): boolean {
    // Fast path: the phrase was already observed at or before t, so none of its words can change.
    const seenAt = this.phraseMin.get(phrase);
    if (seenAt !== undefined && seenAt <= t) return false;
    if (this.phraseMin.size > 50_000) this.phraseMin.clear();
    this.phraseMin.set(phrase, t);
    let changed = false;
    for (const w of this.terms(phrase)) {
      const seen = this.words.get(w);
      if (seen === undefined ? this.words.size < 50_000 : t < seen) {
        if (seen === undefined) {
          this.wordList.push(w);
          this.wordMasks.push(letterMask(w));
        }
        this.words.set(w, t);
        changed = true;
      }
    }
    return changed;
  }

  /**
   * A term as it should be read: itself when known or too short to judge, else the known word at
   * Damerau–Levenshtein distance 1 (2 for terms of 8+ letters), ties broken alphabetically; a plural
   * of a known word maps to it. Known = seen before `beforeMs`, or in `extra`.
   */
  correct(term: string, beforeMs: number, extra?: { has(word: string): boolean }): string {
    if (this.known(term, beforeMs, extra) || term.length < 4 || /\d/.test(term)) return term;
    if (term.endsWith('s')) {
      const singular = term.slice(0, -1);
      if (this.known(singular, beforeMs, extra)) return singular;
    }
    // Candidates over the whole vocabulary are cached per term and extended as words arrive; which
    // of them count depends on when they were first seen (or whether the window itself has them).
    let near = this.near.get(term);
    if (!near) {
      if (this.near.size > 20_000) this.near.clear();
      near = { scanned: 0, found: [], words: [] };
      this.near.set(term, near);
    }
    if (near.scanned < this.wordList.length) this.scan(term, near);
    for (const w of near.words) if (this.known(w, beforeMs, extra)) return w;
    return term;
  }

  /** Known = seen before `beforeMs`, or in `extra` (the window's own words). */
  private known(w: string, beforeMs: number, extra: { has(word: string): boolean } | undefined): boolean {
    const t = this.words.get(w);
    return (t !== undefined && t < beforeMs) || (extra?.has(w) ?? false);
  }

  /**
   * Extends `near` with the words added to `wordList` since its last scan that are within the
   * term's edit distance, and re-sorts its candidates by (distance, word) when any were found.
   * Only words that pass the exact length and letter-set prefilters reach `damerau`.
   */
  private scan(term: string, near: { scanned: number; found: [string, number][]; words: string[] }): void {
    const maxD = term.length >= 8 ? 2 : 1;
    const mask = letterMask(term);
    const words = this.wordList;
    const masks = this.wordMasks;
    const before = near.found.length;
    for (let i = near.scanned; i < words.length; i++) {
      const w = words[i] as string;
      if (Math.abs(w.length - term.length) > maxD) continue;
      // Exact: a distance ≤ maxD changes at most 2·maxD bits of the letter mask (see `letterMask`).
      if (popcount(mask ^ (masks[i] as number)) > 2 * maxD) continue;
      const d = damerau(term, w, maxD);
      if (d <= maxD) near.found.push([w, d]);
    }
    near.scanned = words.length;
    if (near.found.length > before) {
      near.found.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
      near.words = near.found.map(([w]) => w);
    }
  }
}

/**
 * The set of characters of `s` as 32 bits: a–z one bit each, any other UTF-16 code unit hashed onto
 * the remaining 6 bits (bit 26 + c mod 6). Any fixed character → bit map works for the prefilter:
 *
 * Claim: if the optimal-string-alignment distance of a and b is d, then
 * popcount(letterMask(a) ^ letterMask(b)) ≤ 2d.
 * Proof: an OSA alignment of cost d is a sequence of d single edits turning a into b, each an
 * insertion, deletion, substitution or swap of two adjacent characters. Along the sequence, an
 * insertion can only set one bit, a deletion only clear one, a substitution clear one and set one,
 * and a swap changes no character, so consecutive masks differ in at most 2 bits. The Hamming
 * distance between the masks of a and b is at most the sum over the d steps (triangle inequality):
 * ≤ 2d. Hence popcount > 2·maxD proves the distance exceeds maxD, and skipping `damerau` for such a
 * word changes no result. (Unit-tested against `damerau` on random words.)
 */
export function letterMask(s: string): number {
  let m = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    m |= 1 << (c >= 97 && c <= 122 ? c - 97 : 26 + (c % 6));
  }
  return m;
}

/** Number of set bits of a 32-bit integer. */
function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** Optimal-string-alignment distance, with early exit above `max`. */
export function damerau(a: string, b: string, max: number): number {
  const n = a.length;
  const m = b.length;
  if (Math.abs(n - m) > max) return max + 1;
  // Three rows reused across calls (this runs for every new search term against the vocabulary).
  if (rowA.length < m + 1) {
    rowA = new Int32Array(2 * (m + 1));
    rowB = new Int32Array(2 * (m + 1));
    rowC = new Int32Array(2 * (m + 1));
  }
  let prev2 = rowA;
  let prev = rowB;
  let cur = rowC;
  for (let j = 0; j <= m; j++) {
    prev2[j] = 0;
    prev[j] = j;
  }
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    let rowMin = i;
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= m; j++) {
      const bj = b.charCodeAt(j - 1);
      const cost = ai === bj ? 0 : 1;
      let v = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && ai === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bj) {
        v = Math.min(v, (prev2[j - 2] as number) + 1);
      }
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    const t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return prev[m] as number;
}

let rowA = new Int32Array(64);
let rowB = new Int32Array(64);
let rowC = new Int32Array(64);
