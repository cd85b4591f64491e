/**
 * The deterministic fact extractor of HPR-Bench (HPR-BENCH.md §3, Acc_Ex): finds which persona facts
 * (dimension = value) a summary states, using the schema vocabulary (`factPhrases` from contracts:
 * canonical phrase first, then synonyms) plus this module's extra synonyms.
 *
 * How it reads a summary:
 * 1. The text is normalised (lowercase, straight quotes, `price-sensitive` → `price sensitive`,
 *    digit ranges such as `18–24` → `18-24`, spaced dashes → clause break).
 * 2. Every phrase occurrence at word boundaries is a candidate; overlapping candidates are resolved
 *    longest first (so `took up fitness` is the life event, not the interest `fitness`; `works in
 *    tech` is the occupation, not the interest `tech`).
 * 3. Negation is sentence scoped: a match is negated when a negation cue (`not`, `no`, `never`,
 *    `n't`, `no longer`, `neither`/`nor`, `without`, `rather than`, `instead of`, …) occurs before it
 *    in the same clause, at most {@link NEGATION_WINDOW} words back. Clauses end at `, ; : ( )`, at
 *    contrast words (`but`, `however`, `although`, …) and at `and`/`or` followed by a verb (`and is`).
 *    Past markers (`formerly`, `used to`, `previously`, `former`) negate current-state facts but
 *    not life events (a life event is a past fact by nature). Items of a list of one dimension share
 *    the negation of the list's first item: "not interested in sports, fitness or gaming" negates all
 *    three. Words inside another matched phrase are never cues (`not price sensitive` is itself the
 *    phrase of `price_sensitivity = low`).
 *
 * Known limits (documented, tested): irony, hedges such as "may be", and negation after the fact
 * ("a student — not anymore") are not understood; an LLM judge can be configured for those.
 */
import { DIMENSIONS, type DimensionSpec, enabledDimensions, factPhrases } from '@personastream/contracts';

/** One fact: a dimension and one of its values. */
export interface FactRef {
  dimension: string;
  value: string;
}

/** A phrase occurrence found in a summary (offsets into the normalised text). */
export interface ExtractedFact extends FactRef {
  phrase: string;
  start: number;
  end: number;
  negated: boolean;
}

/** Finds the facts a summary states (affirmatively), de-duplicated. */
export interface FactExtractor {
  extract(summary: string): FactRef[];
}

/**
 * An LLM judge (optional, configured by the caller): given a summary and the candidate facts, says
 * which it states. The service precomputes its answers before scoring, so scoring stays pure.
 */
export interface LLMJudge {
  statedFacts(summary: string, candidates: readonly FactRef[]): Promise<FactRef[]>;
}

/** Words before a match that are searched for a negation cue. */
export const NEGATION_WINDOW = 6;

/**
 * Synonyms beyond the contracts' vocabulary. Lowercase; hyphens between letters are spaces after
 * normalisation, so `price-sensitive` and `price sensitive` are the same phrase.
 */
export const EXTRA_SYNONYMS: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  age_band: {
    '18-24': ['18-24', 'between 18 and 24', 'in their early twenties', 'a young adult'],
    '25-34': ['25-34', 'between 25 and 34', 'in their late twenties'],
    '35-44': ['35-44', 'between 35 and 44', 'in their late thirties'],
    '45-54': ['45-54', 'between 45 and 54', 'in their late forties'],
    '55+': ['55+', 'over 55', '55 or older', 'aged 55 and over'],
  },
  life_stage: {
    student: ['college student', 'university student', 'student life'],
    young_professional: ['young professional'],
    new_parent: ['new parent', 'new mom', 'new mum', 'new dad', 'first time parent'],
    family_with_kids: ['family with kids', 'has kids', 'has children', 'parent of young children'],
    empty_nester: ['empty nester', 'kids have left home', 'kids have moved out'],
    retiree: ['retiree', 'a pensioner'],
  },
  occupation_group: {
    tech: ['tech worker', 'software engineer', 'software developer', 'works in it'],
    healthcare: ['healthcare worker', 'a nurse', 'a doctor'],
    education: ['an educator', 'a lecturer'],
    trades: ['an electrician', 'a plumber', 'a carpenter', 'skilled trades'],
    creative: ['creative professional', 'a designer', 'an artist'],
    business: ['business professional', 'works in finance', 'works in sales'],
    retired: ['retired from work'],
  },
  income_tier: {
    low: ['low income earner', 'tight budget'],
    mid: ['middle income earner', 'average income'],
    high: ['high earner', 'high income earner', 'wealthy', 'well off'],
  },
  price_sensitivity: {
    high: ['price sensitive', 'price conscious', 'very price sensitive', 'budget conscious'],
    medium: ['somewhat price sensitive', 'moderately price conscious'],
    low: ['price insensitive', 'not price conscious', 'not very price sensitive'],
  },
  shopping_style: {
    bargain_hunter: ['bargain hunter', 'deal hunter', 'hunts for bargains'],
    brand_loyal: ['loyal to brands', 'loyal to favourite brands', 'loyal to favorite brands'],
    impulse_buyer: ['impulse buyer', 'impulse purchases', 'buys impulsively'],
    researcher: ['researches purchases', 'compares products before buying'],
    premium_seeker: ['premium seeker', 'premium shopper', 'prefers premium brands'],
  },
  activity_pattern: {
    early_bird: ['early bird', 'early riser', 'a morning person', 'shops in the morning'],
    daytime: ['during the day', 'during daytime', 'daytime shopper'],
    evening: ['in the evening', 'in the evenings', 'evening shopper'],
    night_owl: ['night owl', 'late at night', 'late night shopper'],
  },
  primary_device: {
    mobile: ['mobile user', 'mobile first', 'on a phone', 'uses a smartphone', 'on their phone'],
    desktop: ['desktop user', 'on a computer', 'on a laptop', 'uses a laptop'],
    tablet: ['tablet user', 'on an ipad', 'uses an ipad'],
  },
  engagement_level: {
    casual: ['casual user', 'casual shopper', 'occasional visitor'],
    regular: ['regular user', 'regular visitor', 'regular shopper'],
    power_user: ['power user', 'heavy user', 'very engaged'],
  },
  trajectory: {
    new: ['new user', 'new customer', 'recently signed up'],
    growing: ['engagement is growing', 'more and more active', 'growing activity'],
    stable: ['engagement is stable', 'consistently active', 'stable activity'],
    declining: ['engagement is declining', 'declining activity', 'less active lately'],
  },
  interests: {
    sports: ['sport'],
    fitness: ['exercise'],
    gaming: ['video games', 'a gamer'],
    tech: ['technology', 'gadgets', 'electronics'],
    fashion: ['clothing', 'apparel'],
    beauty: ['cosmetics', 'skincare', 'makeup'],
    home: ['home decor', 'home improvement', 'interior design'],
    cooking: ['recipes', 'kitchenware'],
    travel: ['travelling', 'traveling'],
    books: ['reading'],
    music: ['musical instruments'],
    movies: ['films', 'cinema'],
    parenting: ['baby products', 'childcare'],
    pets: ['pet supplies', 'pet care'],
    outdoors: ['the outdoors', 'outdoor activities', 'hiking', 'camping'],
    automotive: ['cars', 'car accessories'],
    finance: ['investing', 'personal finance'],
    health: ['wellness', 'healthy living'],
    art: ['arts and crafts', 'crafts'],
    education: ['online courses', 'learning'],
  },
  life_events: {
    moved_home: ['moved to a new home', 'new home', 'moved recently'],
    new_baby: ['welcomed a baby', 'a newborn', 'became a parent'],
    new_job: ['changed jobs', 'started a new role', 'new role'],
    started_fitness: ['started exercising', 'began working out', 'started going to the gym'],
    wedding: ['recently married', 'just married', 'newlywed'],
    retirement: ['recently retired', 'went into retirement'],
    new_pet: ['adopted a dog', 'adopted a cat', 'got a dog', 'got a cat', 'got a puppy', 'got a kitten'],
  },
};

/** Normalises text for matching; phrases and summaries go through the same function. */
export function normalizeText(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\u2018\u2019\u201b\u0060\u00b4]/g, "'")
    .replace(/[\u201c\u201d\u201e]/g, '"')
    .replace(/(\d)\s*[\u2010-\u2015-]\s*(\d)/g, '$1-$2')
    .replace(/\s+[\u2010-\u2015-]+\s+|[\u2013\u2014\u2015]/g, ', ')
    .replace(/([a-z])[\u2010\u2011-]([a-z])/g, '$1 $2')
    .replace(/\s+/g, ' ');
}

const WORD_CHAR = /[a-z0-9]/;
/** Phrases are indexed by their first characters (every phrase is at least this long). */
const FIRST_KEY = 2;
const NEGATION_CUES = new Set([
  'not',
  'no',
  'never',
  'neither',
  'nor',
  'without',
  'cannot',
  'hardly',
  'unlikely',
  'non',
  'nobody',
  'none',
]);
const PAST_CUES = new Set(['formerly', 'previously', 'former', 'ex']);
const PAIR_CUES: ReadonlyArray<readonly [string, string, 'negation' | 'past']> = [
  ['rather', 'than', 'negation'],
  ['instead', 'of', 'negation'],
  ['stopped', 'being', 'negation'],
  ['quit', 'being', 'negation'],
  ['used', 'to', 'past'],
];
const CLAUSE_BREAK_WORDS = new Set(['but', 'however', 'although', 'though', 'yet', 'whereas', 'while', 'except']);
const CONJUNCTIONS = new Set(['and', 'or', 'so', 'then']);
const VERBS_AFTER_CONJUNCTION = new Set([
  'is',
  'are',
  'was',
  'were',
  'has',
  'have',
  'had',
  'does',
  'do',
  'uses',
  'visits',
  'shops',
  'prefers',
  'buys',
  'likes',
  'loves',
  'enjoys',
  'tends',
  'seems',
  'appears',
  'got',
  'started',
  'moved',
  'recently',
  'also',
  'she',
  'he',
  'they',
  "she's",
  "he's",
  "they're",
]);
const CLAUSE_PUNCTUATION = new Set([',', ';', ':', '(', ')', '"']);
const PLACEHOLDER = '\ue000';
const LIST_GAP = /^[\s,]*(?:(?:and|or|nor|and\/or|as well as|plus)[\s,]+)?$/;

interface PhraseEntry {
  phrase: string;
  facts: FactRef[];
}

export interface FactExtractorOptions {
  /** Dimensions whose facts are looked for (default: enabled dimensions, sensitive off). */
  dimensions?: readonly DimensionSpec[];
  /** Shortcut for `dimensions`: include sensitive dimensions. Ignored when `dimensions` is set. */
  includeSensitive?: boolean;
  /** Extra synonyms merged with {@link EXTRA_SYNONYMS} (dimension → value → phrases). */
  extraSynonyms?: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
  /** Use {@link EXTRA_SYNONYMS} (default true); contracts' phrases are always used. */
  useDefaultSynonyms?: boolean;
}

/**
 * The deterministic, negation-aware extractor. Construct once per dimension set (it precomputes
 * the vocabulary) and call {@link DeterministicFactExtractor.extract} per summary.
 */
export class DeterministicFactExtractor implements FactExtractor {
  private readonly entries: PhraseEntry[];
  private readonly index = new Map<string, PhraseEntry[]>();

  constructor(options: FactExtractorOptions = {}) {
    const dims = options.dimensions ?? enabledDimensions(options.includeSensitive ?? false);
    const byPhrase = new Map<string, FactRef[]>();
    const add = (dimension: string, value: string, phrase: string) => {
      const p = normalizeText(phrase).trim();
      if (p.length < FIRST_KEY) return; // one-character phrases are never meaningful
      const facts = byPhrase.get(p) ?? [];
      if (!facts.some((f) => f.dimension === dimension && f.value === value)) facts.push({ dimension, value });
      byPhrase.set(p, facts);
    };
    for (const dim of dims) {
      for (const value of dim.values) {
        for (const phrase of factPhrases(dim.name, value)) add(dim.name, value, phrase);
        if (options.useDefaultSynonyms !== false) {
          for (const phrase of EXTRA_SYNONYMS[dim.name]?.[value] ?? []) add(dim.name, value, phrase);
        }
        for (const phrase of options.extraSynonyms?.[dim.name]?.[value] ?? []) add(dim.name, value, phrase);
      }
    }
    this.entries = [...byPhrase.entries()]
      .map(([phrase, facts]) => ({ phrase, facts }))
      .sort((a, b) => b.phrase.length - a.phrase.length || (a.phrase < b.phrase ? -1 : 1));
    for (const e of this.entries) {
      const key = e.phrase.slice(0, FIRST_KEY);
      const bucket = this.index.get(key) ?? [];
      bucket.push(e);
      this.index.set(key, bucket);
    }
  }

  /** Every phrase occurrence kept after overlap resolution, with its negation, in text order. */
  matches(summary: string): ExtractedFact[] {
    const text = normalizeText(summary);
    const candidates: Array<{ start: number; end: number; entry: PhraseEntry }> = [];
    // every word start is a possible phrase start; phrases are indexed by their first character run
    for (let at = 0; at < text.length; at++) {
      if (at > 0 && WORD_CHAR.test(text[at - 1] as string)) continue;
      const bucket = this.index.get(text.slice(at, at + FIRST_KEY));
      if (!bucket) continue;
      for (const entry of bucket) {
        if (!text.startsWith(entry.phrase, at)) continue;
        const end = at + entry.phrase.length;
        const after = end >= text.length ? ' ' : (text[end] as string);
        if (!WORD_CHAR.test(after)) candidates.push({ start: at, end, entry });
      }
    }
    // longest first (entries are sorted by length), then leftmost; a kept span blocks overlaps
    candidates.sort((a, b) => b.end - b.start - (a.end - a.start) || a.start - b.start);
    const kept: typeof candidates = [];
    for (const c of candidates) {
      if (kept.every((k) => c.end <= k.start || c.start >= k.end)) kept.push(c);
    }
    kept.sort((a, b) => a.start - b.start);

    const masked = maskSpans(
      text,
      kept.map((k) => [k.start, k.end]),
    );
    const out: ExtractedFact[] = [];
    let prev: { end: number; dims: Set<string>; negated: boolean; sentence: number } | undefined;
    for (const k of kept) {
      const sentence = sentenceStart(text, k.start);
      const dims = new Set(k.entry.facts.map((f) => f.dimension));
      let negated: boolean;
      const gap = text.slice(prev?.end ?? 0, k.start);
      if (prev && prev.sentence === sentence && [...dims].some((d) => prev?.dims.has(d)) && LIST_GAP.test(gap)) {
        negated = prev.negated || /\bnor\b/.test(gap);
      } else {
        const cue = findCue(masked.slice(sentence, k.start));
        negated = cue === 'negation' || (cue === 'past' && !dims.has('life_events'));
      }
      for (const f of k.entry.facts) {
        out.push({
          dimension: f.dimension,
          value: f.value,
          phrase: k.entry.phrase,
          start: k.start,
          end: k.end,
          negated,
        });
      }
      prev = { end: k.end, dims, negated, sentence };
    }
    return out;
  }

  /** Facts the summary states affirmatively, de-duplicated, in order of first mention. */
  extract(summary: string): FactRef[] {
    const seen = new Set<string>();
    const out: FactRef[] = [];
    for (const m of this.matches(summary)) {
      if (m.negated) continue;
      const id = `${m.dimension}\u0000${m.value}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push({ dimension: m.dimension, value: m.value });
    }
    return out;
  }
}

function maskSpans(text: string, spans: Array<[number, number]>): string {
  let out = '';
  let at = 0;
  for (const [s, e] of spans) {
    out += text.slice(at, s) + PLACEHOLDER.padEnd(e - s, ' ');
    at = e;
  }
  return out + text.slice(at);
}

function sentenceStart(text: string, index: number): number {
  for (let i = index - 1; i >= 0; i--) {
    const c = text[i];
    if (c === '!' || c === '?' || c === '\n') return i + 1;
    // a dot ends a sentence unless it sits inside a number (2.5)
    if (c === '.' && !(/\d/.test(text[i - 1] ?? '') && /\d/.test(text[i + 1] ?? ''))) return i + 1;
  }
  return 0;
}

/** The strongest cue in the clause that ends right before a match, within the window. */
function findCue(before: string): 'negation' | 'past' | undefined {
  const tokens = before.match(/[a-z0-9']+|[,;:()"]|\ue000/g) ?? [];
  let words = 0;
  for (let i = tokens.length - 1; i >= 0 && words < NEGATION_WINDOW; i--) {
    const t = tokens[i] as string;
    if (CLAUSE_PUNCTUATION.has(t)) return undefined;
    if (t === PLACEHOLDER) {
      words++;
      continue;
    }
    const next = tokens[i + 1];
    if (CLAUSE_BREAK_WORDS.has(t)) return undefined;
    if (CONJUNCTIONS.has(t) && next !== undefined && VERBS_AFTER_CONJUNCTION.has(next)) return undefined;
    if (NEGATION_CUES.has(t) || t.endsWith("n't")) return 'negation';
    for (const [a, b, kind] of PAIR_CUES) if (t === a && next === b) return kind;
    if (PAST_CUES.has(t)) return 'past';
    words++;
  }
  return undefined;
}

let defaultExtractor: DeterministicFactExtractor | undefined;

/** Facts a summary states, with the default extractor (sensitive dimensions off). */
export function extractFacts(summary: string): FactRef[] {
  defaultExtractor ??= new DeterministicFactExtractor();
  return defaultExtractor.extract(summary);
}

/** The schema's dimensions (all, including sensitive), for callers that build their own set. */
export const ALL_DIMENSIONS: readonly DimensionSpec[] = DIMENSIONS as readonly DimensionSpec[];
