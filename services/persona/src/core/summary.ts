import { factPhrases } from '@personastream/contracts';
import type { TagLike } from './score.js';

/** A tag as the summary writer needs it. */
export interface SummaryTag extends TagLike {
  confidence: number;
  evidenceCount: number;
}

export interface SummaryOptions {
  /** Facts below this confidence are never stated (dimensions without their own threshold). */
  threshold: number;
  /** Per-dimension thresholds (calibrated on held-out users); they take precedence over `threshold`. */
  thresholds?: Readonly<Record<string, number>>;
  /** Windows and events seen (for the filler sentence when few facts are certain). */
  windows: number;
  events: number;
}

const NEGATION = /\b(not|no|never|non|without)\b/;

/**
 * The phrase a summary writes for a fact: the schema's canonical phrase (`factPhrases(dim, v)[0]`),
 * unless it is negated ("not price sensitive"), then the first non-negated synonym, so the summary
 * never contains negated vocabulary.
 */
const phraseCache = new Map<string, Map<string, string>>();

export function statedPhrase(dimension: string, value: string): string {
  let byValue = phraseCache.get(dimension);
  if (!byValue) {
    byValue = new Map();
    if (phraseCache.size < 100) phraseCache.set(dimension, byValue);
  }
  let p = byValue.get(value);
  if (p === undefined) {
    p = pickPhrase(dimension, value);
    if (byValue.size < 1_000) byValue.set(value, p);
  }
  return p;
}

function pickPhrase(dimension: string, value: string): string {
  const phrases = factPhrases(dimension, value);
  const first = phrases[0] ?? value.replace(/_/g, ' ');
  if (!NEGATION.test(first)) return first;
  return phrases.find((p) => !NEGATION.test(p)) ?? value.replace(/_/g, ' ');
}

type Verb = 'are' | 'have' | 'show' | '';
interface Clause {
  verb: Verb;
  text: string;
}

function joinList(items: string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** "are A and B, and show C": consecutive clauses with the same verb share it. */
function joinClauses(clauses: Clause[]): string {
  const groups: Array<{ verb: Verb; items: string[] }> = [];
  for (const c of clauses) {
    const last = groups[groups.length - 1];
    if (last && last.verb === c.verb && c.verb !== '') last.items.push(c.text);
    else groups.push({ verb: c.verb, items: [c.text] });
  }
  const parts = groups.map((g) => (g.verb ? `${g.verb} ${joinList(g.items)}` : joinList(g.items)));
  if (parts.length <= 1) return parts[0] ?? '';
  if (parts.length === 2) return `${parts[0]} and ${parts[1]}`;
  return `${parts.slice(0, -1).join(', ')}, and ${parts[parts.length - 1]}`;
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function clauseFor(dimension: string, value: string): Clause {
  const p = statedPhrase(dimension, value);
  switch (dimension) {
    case 'income_tier':
      return { verb: 'have', text: p };
    case 'price_sensitivity':
    case 'trajectory':
      return /sensitivity$|engagement$/.test(p) ? { verb: 'show', text: p } : { verb: 'are', text: p };
    case 'occupation_group':
    case 'life_events':
      return { verb: '', text: p };
    default:
      return { verb: 'are', text: p };
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * The facts a summary may state — confidence ≥ their dimension's threshold (else the global one) and
 * some evidence — in one pass: the first of each dimension, and every interest and life event.
 */
function statedFacts(tags: readonly SummaryTag[], opts: SummaryOptions) {
  const first = new Map<string, SummaryTag>();
  const interests: SummaryTag[] = [];
  const lifeEvents: SummaryTag[] = [];
  for (const t of tags) {
    if (!(t.confidence >= (opts.thresholds?.[t.dimension] ?? opts.threshold) && t.evidenceCount > 0)) continue;
    if (!first.has(t.dimension)) first.set(t.dimension, t);
    if (t.dimension === 'interests') interests.push(t);
    else if (t.dimension === 'life_events') lifeEvents.push(t);
  }
  return { first, interests, lifeEvents };
}

/**
 * Writes a 3–6 sentence summary from predicted tags. Only facts with confidence ≥ their dimension's
 * threshold (else the global one) and at least one piece of evidence are stated, each with its canonical phrase; life events say when they
 * began. Deterministic.
 */
export function writeSummary(tags: readonly SummaryTag[], opts: SummaryOptions): string {
  const { first, interests: statedInterests, lifeEvents } = statedFacts(tags, opts);
  const one = (dim: string) => first.get(dim);
  const sentences: string[] = [];

  const identity = ['life_stage', 'age_band', 'gender']
    .map(one)
    .filter((t): t is SummaryTag => t !== undefined)
    .map((t) => statedPhrase(t.dimension, t.value));
  if (identity.length) sentences.push(`This user is ${joinList(identity)}.`);

  const work: Clause[] = [];
  const occ = one('occupation_group');
  if (occ) work.push(clauseFor(occ.dimension, occ.value));
  const income = one('income_tier');
  if (income) work.push(clauseFor(income.dimension, income.value));
  if (work.length) {
    // Always "This user": occupation phrases are third person singular ("works in tech", "is
    // retired") and must stay verbatim ("are retired" would read as the life event "retired").
    const text = joinClauses(work)
      .replace(/^have /, 'has ')
      .replace(/ and have /, ' and has ');
    sentences.push(`This user ${text}.`);
  }

  const shopping = ['price_sensitivity', 'shopping_style']
    .map(one)
    .filter((t): t is SummaryTag => t !== undefined)
    .map((t) => clauseFor(t.dimension, t.value));
  if (shopping.length) sentences.push(`As a shopper they ${joinClauses(shopping)}.`);

  const habits = ['primary_device', 'activity_pattern', 'engagement_level', 'trajectory']
    .map(one)
    .filter((t): t is SummaryTag => t !== undefined)
    .map((t) => clauseFor(t.dimension, t.value));
  if (habits.length) sentences.push(`They ${joinClauses(habits)}.`);

  const interests = statedInterests
    .sort((a, b) => b.confidence - a.confidence || (a.value < b.value ? -1 : 1))
    .map((t) => statedPhrase(t.dimension, t.value));
  if (interests.length) sentences.push(`They are ${joinList(interests)}.`);

  const events = lifeEvents
    .sort((a, b) => (a.sinceMs ?? 0) - (b.sinceMs ?? 0) || (a.value < b.value ? -1 : 1))
    .map((t) => `${statedPhrase(t.dimension, t.value)}${t.sinceMs ? ` (since ${isoDate(t.sinceMs)})` : ''}`);
  if (events.length) sentences.push(`They ${joinList(events)}.`);

  const filler = [
    `The profile is based on ${opts.windows} ${opts.windows === 1 ? 'session' : 'sessions'} and ${opts.events} ${
      opts.events === 1 ? 'event' : 'events'
    } so far.`,
    'Further traits will be stated once the evidence is stronger.',
  ];
  for (const s of filler) if (sentences.length < 3) sentences.push(s);
  return sentences.slice(0, 6).map(capitalize).join(' ');
}
