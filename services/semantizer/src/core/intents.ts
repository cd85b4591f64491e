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

/** Lowercase, strip accents and punctuation, drop stop words and one-letter terms. */
export function normalizeQuery(query: string): string[] {
  const terms: string[] = [];
  const cleaned = query
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ');
  for (const t of cleaned.split(' ')) {
    if (t.length < 2 || STOP_WORDS.has(t)) continue;
    terms.push(t);
  }
  return terms;
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
  /** Words within the edit distance of a term, over the whole vocabulary of a version. */
  private readonly near = new Map<string, { version: number; words: string[] }>();
  private version = 0;

  constructor(readonly words: Map<string, number> = new Map()) {}

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
        if (seen === undefined) this.version++;
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
  correct(term: string, beforeMs: number, extra?: ReadonlySet<string>): string {
    const known = (w: string) => {
      const t = this.words.get(w);
      return (t !== undefined && t < beforeMs) || (extra?.has(w) ?? false);
    };
    if (known(term) || term.length < 4 || /\d/.test(term)) return term;
    if (term.endsWith('s') && known(term.slice(0, -1))) return term.slice(0, -1);
    // Candidates over the whole vocabulary are cached per term until a new word arrives; which of
    // them count depends on when they were first seen (or whether the window itself has them).
    let near = this.near.get(term);
    if (!near || near.version !== this.version) {
      const maxD = term.length >= 8 ? 2 : 1;
      const found: [string, number][] = [];
      for (const w of this.words.keys()) {
        if (Math.abs(w.length - term.length) > maxD) continue;
        const d = damerau(term, w, maxD);
        if (d <= maxD) found.push([w, d]);
      }
      found.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
      near = { version: this.version, words: found.map(([w]) => w) };
      if (this.near.size > 20_000) this.near.clear();
      this.near.set(term, near);
    }
    for (const w of near.words) if (known(w)) return w;
    return term;
  }
}

/** Optimal-string-alignment distance, with early exit above `max`. */
export function damerau(a: string, b: string, max: number): number {
  const n = a.length;
  const m = b.length;
  if (Math.abs(n - m) > max) return max + 1;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= m; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let v = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, (prev2[j - 2] as number) + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m] as number;
}
