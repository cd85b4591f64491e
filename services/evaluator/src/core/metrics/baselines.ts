/**
 * Baselines reported beside every model (HPR-BENCH.md §3, docs/hpr-bench.md): `prior`,
 * `raw_frequency` and `raw_items` (the reference learner of `raw-items.ts`). They take plain data
 * (truth label sets, per-user raw category counts, per-user raw event token counts) so the evaluator
 * and the CLI can both feed them.
 */
import { dimensionSpec, factPhrases, INTERESTS } from '@personastream/contracts';
import type { FactExtractor, FactRef } from '../facts.js';
import { calibrationItems, expectedCalibrationError } from './classification.js';
import { type LabelSet, labelsFromTags, type ScoringDimension, type TagLike } from './labels.js';
import { fitRawItems, type RawItemsOptions, rawItemsPrediction } from './raw-items.js';
import { type MeanStd, mean, meanStd } from './stats.js';
import { accEx } from './summary.js';
import { dimensionScore, tagScore } from './tags.js';

/** The prior: most frequent train value of each single-valued dimension, top values of multi ones. */
export interface PriorModel {
  single: Record<string, string>;
  multi: Record<string, string[]>;
}

function schemaRank(dimension: string, value: string): number {
  const i = dimensionSpec(dimension)?.values.indexOf(value) ?? -1;
  return i < 0 ? Number.MAX_SAFE_INTEGER : i;
}

/** Values by descending count; ties by schema order, then by name. */
function byFrequency(dimension: string, counts: Map<string, number>): string[] {
  return [...counts.entries()]
    .sort(
      (a, b) =>
        b[1] - a[1] ||
        schemaRank(dimension, a[0]) - schemaRank(dimension, b[0]) ||
        (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
    )
    .map(([v]) => v);
}

/** Median of counts, halves rounded up (median of [1, 2] is 2). */
export function medianCount(counts: readonly number[]): number {
  if (counts.length === 0) return 0;
  const s = [...counts].sort((a, b) => a - b);
  const mid = s.length / 2;
  const m = s.length % 2 === 1 ? (s[Math.floor(mid)] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return Math.round(m);
}

/**
 * Fits the prior on train-split truths: for each single-valued dimension its most frequent value;
 * for each multi-valued one (interests, life events) its most frequent values, as many as the median
 * number of values per user.
 */
export function fitPrior(trainTruths: readonly LabelSet[], dims: readonly ScoringDimension[]): PriorModel {
  const model: PriorModel = { single: {}, multi: {} };
  for (const d of dims) {
    const counts = new Map<string, number>();
    if (d.multiValued) {
      const perUser: number[] = [];
      for (const t of trainTruths) {
        const values = t.multi[d.name] ?? [];
        perUser.push(values.length);
        for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      model.multi[d.name] = byFrequency(d.name, counts).slice(0, medianCount(perUser)).sort();
    } else {
      for (const t of trainTruths) {
        const v = t.single[d.name];
        if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
      }
      const top = byFrequency(d.name, counts)[0];
      if (top !== undefined) model.single[d.name] = top;
    }
  }
  return model;
}

/** The prior's prediction (the same for every user). */
export function priorPrediction(model: PriorModel): LabelSet {
  return {
    single: { ...model.single },
    multi: Object.fromEntries(Object.entries(model.multi).map(([k, v]) => [k, [...v]])),
  };
}

/** How often a user viewed a raw category (a path such as ["Sports", "Running"] or a name). */
export interface CategoryCount {
  category: string | readonly string[];
  count: number;
}

const CATEGORY_WORDS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(sport|sports|sporting)\b/, 'sports'],
  [/\b(fitness|exercise|gym|yoga)\b/, 'fitness'],
  [/\b(gaming|games?|video ?games?|consoles?)\b/, 'gaming'],
  [/\b(tech|technology|electronics?|computers?|phones?|gadgets?)\b/, 'tech'],
  [/\b(fashion|clothing|apparel|shoes|accessories)\b/, 'fashion'],
  [/\b(beauty|cosmetics|skincare|makeup)\b/, 'beauty'],
  [/\b(home|furniture|garden|decor|household)\b/, 'home'],
  [/\b(cooking|kitchen|grocery|groceries|food)\b/, 'cooking'],
  [/\b(travel|luggage|trips?)\b/, 'travel'],
  [/\b(books?|reading|ebooks?)\b/, 'books'],
  [/\b(music|instruments?|audio)\b/, 'music'],
  [/\b(movies?|films?|cinema|tv|dvd)\b/, 'movies'],
  [/\b(parenting|baby|babies|kids|toys|nursery)\b/, 'parenting'],
  [/\b(pets?|dogs?|cats?)\b/, 'pets'],
  [/\b(outdoors?|camping|hiking)\b/, 'outdoors'],
  [/\b(automotive|cars?|auto)\b/, 'automotive'],
  [/\b(finance|banking|investing|insurance)\b/, 'finance'],
  [/\b(health|wellness|pharmacy|vitamins)\b/, 'health'],
  [/\b(art|arts|crafts?|painting)\b/, 'art'],
  [/\b(education|courses?|school|learning|office)\b/, 'education'],
];

/**
 * Default mapping of a raw category to an interest: the first path element (root first) whose name
 * is an interest or a known word for one. Undefined when nothing maps.
 */
export function categoryToInterest(category: string | readonly string[]): string | undefined {
  const path = typeof category === 'string' ? [category] : category;
  const interests = INTERESTS as readonly string[];
  for (const raw of path) {
    const name = raw.toLowerCase().replace(/&/g, ' and ').replace(/[_/-]/g, ' ');
    if (interests.includes(name.trim())) return name.trim();
    for (const [re, interest] of CATEGORY_WORDS) if (re.test(name)) return interest;
  }
  return undefined;
}

export interface RawFrequencyOptions {
  /** Category → interest mapping (default {@link categoryToInterest}). */
  mapCategory?: (category: string | readonly string[]) => string | undefined;
  /** Interests to predict (default: as many as the prior predicts, at least 1). */
  interests?: number;
}

/**
 * The `raw_frequency` prediction of one user: interests = the most-viewed raw categories mapped to
 * interests (no semantization), every other dimension from the prior. Falls back to the prior's
 * interests when no category maps.
 */
export function rawFrequencyPrediction(
  prior: PriorModel,
  categories: readonly CategoryCount[],
  options: RawFrequencyOptions = {},
): LabelSet {
  const out = priorPrediction(prior);
  const map = options.mapCategory ?? categoryToInterest;
  const counts = new Map<string, number>();
  for (const c of categories) {
    const interest = map(c.category);
    if (interest !== undefined) counts.set(interest, (counts.get(interest) ?? 0) + c.count);
  }
  if (counts.size > 0) {
    const n = Math.max(1, options.interests ?? (prior.multi.interests ?? []).length);
    out.multi.interests = byFrequency('interests', counts).slice(0, n).sort();
  }
  return out;
}

/**
 * A summary written from predicted labels with the canonical phrases (one sentence per fact), so a
 * baseline's Acc_Ex goes through the same fact extractor as a model's summary.
 */
export function baselineSummary(labels: LabelSet, dims: readonly ScoringDimension[]): string {
  const sentences: string[] = [];
  for (const d of dims) {
    const values = d.multiValued
      ? (labels.multi[d.name] ?? [])
      : [labels.single[d.name]].filter((v) => v !== undefined);
    for (const v of values) {
      const phrase = factPhrases(d.name, v as string)[0] as string;
      sentences.push(`${d.name === 'life_events' ? 'Recently ' : 'The user: '}${phrase}.`);
    }
  }
  return sentences.join(' ');
}

/** Headline scores of a baseline. */
export interface BaselineScore {
  tag_avg_at_k: number;
  acc_ex: number;
  /**
   * Mean score per dimension over the users who label it (exact match / Jaccard), as the model's
   * `tag_per_dimension`; absent when unknown (e.g. stored before it was kept).
   */
  per_dimension?: Record<string, number>;
  /** ECE (10 bins) of the baseline's confidences, for a baseline that reports them (`raw_items`). */
  ece?: number | null;
}

/** Baselines of a run (each may be missing when its inputs are unavailable). */
export interface Baselines {
  prior?: BaselineScore;
  raw_frequency?: BaselineScore;
  raw_items?: BaselineScore;
}

export interface BaselineUser {
  truth: LabelSet;
  keyFacts: readonly FactRef[];
  prediction: LabelSet;
}

/**
 * Scores a baseline on users: Avg@k (a deterministic baseline has k identical samples, so Avg@k is
 * the mean tag score) and Acc_Ex of {@link baselineSummary} (users without key facts are skipped).
 */
export function scoreBaseline(
  users: readonly BaselineUser[],
  dims: readonly ScoringDimension[],
  extractor: FactExtractor,
): BaselineScore {
  const dimNames = new Set(dims.map((d) => d.name));
  const acc: number[] = [];
  for (const u of users) {
    const keyFacts = u.keyFacts.filter((f) => dimNames.has(f.dimension));
    const a = accEx(keyFacts, extractor.extract(baselineSummary(u.prediction, dims)));
    if (a !== null) acc.push(a);
  }
  const perDimension: Record<string, number> = {};
  for (const d of dims) {
    const scores = users.flatMap((u) => {
      const s = dimensionScore(u.prediction, u.truth, d);
      return s === undefined ? [] : [s];
    });
    perDimension[d.name] = mean(scores);
  }
  const calib = users.flatMap((u) => dims.flatMap((d) => calibrationItems(u.prediction, u.truth, d)));
  return {
    tag_avg_at_k: mean(users.map((u) => tagScore(u.prediction, u.truth, dims))),
    acc_ex: mean(acc),
    per_dimension: perDimension,
    ...(calib.length > 0 ? { ece: expectedCalibrationError(calib) } : {}),
  };
}

/** Mean ± std of a baseline's scores over seeds. */
export function baselineOverSeeds(perSeed: readonly BaselineScore[]): { tag_avg_at_k: MeanStd; acc_ex: MeanStd } {
  return {
    tag_avg_at_k: meanStd(perSeed.map((s) => s.tag_avg_at_k)),
    acc_ex: meanStd(perSeed.map((s) => s.acc_ex)),
  };
}

/** A user's truth as plain data (e.g. from a dataset's truth.jsonl or the simulator). */
export interface TruthInput {
  userId: string;
  /** "train" or "test". */
  split: string;
  tags: readonly TagLike[];
  keyFacts: readonly FactRef[];
}

export interface ComputeBaselinesInput {
  truths: readonly TruthInput[];
  /** Raw category views per user id; enables `raw_frequency`. */
  categories?: ReadonlyMap<string, readonly CategoryCount[]> | Readonly<Record<string, readonly CategoryCount[]>>;
  /** Raw event token counts per user id (`RawItemCounts.users`); enables `raw_items`. */
  rawItems?: ReadonlyMap<string, ReadonlyMap<string, number>>;
  rawItemsOptions?: RawItemsOptions;
  /** Score every user instead of the test split (as the run accumulator's `scoreAllUsers`). */
  scoreAllUsers?: boolean;
  dims: readonly ScoringDimension[];
  extractor: FactExtractor;
  rawFrequency?: RawFrequencyOptions;
}

/**
 * The baselines of a benchmark instance from plain data: the prior and `raw_items` are fitted on the
 * train split and scored (like the model) on the test split, or on every user with `scoreAllUsers`.
 */
export function computeBaselines(input: ComputeBaselinesInput): Baselines {
  const train = input.truths.filter((t) => t.split === 'train').map((t) => labelsFromTags(t.tags));
  const scored = input.truths.filter((t) => input.scoreAllUsers || t.split === 'test');
  if (train.length === 0 || scored.length === 0) return {};
  const prior = fitPrior(train, input.dims);
  const out: Baselines = {
    prior: scoreBaseline(
      scored.map((t) => ({ truth: labelsFromTags(t.tags), keyFacts: t.keyFacts, prediction: priorPrediction(prior) })),
      input.dims,
      input.extractor,
    ),
  };
  const cats = input.categories;
  if (cats) {
    const get = (id: string) =>
      (cats instanceof Map ? cats.get(id) : (cats as Record<string, CategoryCount[]>)[id]) ?? [];
    out.raw_frequency = scoreBaseline(
      scored.map((t) => ({
        truth: labelsFromTags(t.tags),
        keyFacts: t.keyFacts,
        prediction: rawFrequencyPrediction(prior, get(t.userId), input.rawFrequency),
      })),
      input.dims,
      input.extractor,
    );
  }
  const items = input.rawItems;
  if (items) {
    const empty = new Map<string, number>();
    const byId = (a: TruthInput, b: TruthInput) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0);
    const model = fitRawItems(
      input.truths
        .filter((t) => t.split === 'train')
        .sort(byId)
        .map((t) => ({ counts: items.get(t.userId) ?? empty, labels: labelsFromTags(t.tags) })),
      input.dims,
      input.rawItemsOptions,
    );
    out.raw_items = scoreBaseline(
      scored.map((t) => ({
        truth: labelsFromTags(t.tags),
        keyFacts: t.keyFacts,
        prediction: rawItemsPrediction(model, items.get(t.userId) ?? empty),
      })),
      input.dims,
      input.extractor,
    );
  }
  return out;
}
