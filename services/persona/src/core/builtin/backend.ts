import { create } from '@bufbuild/protobuf';
import {
  type DimensionSpec,
  type Evidence,
  EvidenceSchema,
  type Tag,
  TagSchema,
  type TagSet,
  TagSetSchema,
} from '@personastream/contracts';
import type { ModelBackend, PredictContext, Prediction, SyncModelBackend } from '../backend.js';
import { type CategoryStats, categoryOnsetMs, type FeatureStats } from '../stats.js';
import { writeSummary } from '../summary.js';
import { featureCategory, writeFeatures } from './features.js';
import { CompiledModel, itemsApply, type ModelWeights, type MultiDimModel, type SparseFeatures } from './model.js';
import { type Reliability, reliability, shrinkInPlace } from './reliability.js';

/** A feature name taken apart once per model: its category (if any), prefix and key. */
interface FeatureRef {
  category: string | undefined;
  prefix: string;
  key: string;
}

function featureRef(feature: string): FeatureRef {
  const colon = feature.indexOf(':');
  return {
    category: featureCategory(feature),
    prefix: colon < 0 ? feature : feature.slice(0, colon),
    key: colon < 0 ? '' : feature.slice(colon + 1),
  };
}

/** Where evidence falls back to when no contributing feature has any. */
const FALLBACK = featureRef('log_windows');

/** `create(EvidenceSchema, …)` without the reflective initialisation (same fields, same order). */
const ZERO_EVIDENCE = create(EvidenceSchema);
function evidence(windowId: string, detail: string, count: number): Evidence {
  return { ...ZERO_EVIDENCE, windowId, detail, count };
}

/** `create(TagSchema, …)` likewise (every list field given). */
const ZERO_TAG = create(TagSchema);
function tag(dimension: string, value: string, confidence: number, evidence: Evidence[]): Tag {
  return { ...ZERO_TAG, dimension, value, confidence, evidence };
}

const ZERO_TAG_SET = create(TagSetSchema);

/**
 * Evidence for a feature: which windows and counts it summarizes. Category features point at the
 * latest windows of that category; rhythm/device/price features at the latest windows overall.
 */
function evidenceFor(feature: FeatureRef, s: FeatureStats): Evidence | undefined {
  const latest = s.lastWindows[s.lastWindows.length - 1];
  const cat = feature.category;
  if (cat !== undefined) {
    const c: CategoryStats | undefined = s.cats[cat];
    if (!c) return undefined;
    const id = c.ids[c.ids.length - 1];
    if (!id) return undefined;
    const purchases = c.p > 0 ? `, ${Math.round(c.p)} purchases` : '';
    return evidence(id, `${cat}: ${Math.round(c.n)} actions in ${c.w} windows${purchases}`, Math.round(c.n));
  }
  if (!latest) return undefined;
  const key = feature.key;
  const make = (detail: string, count: number) => evidence(latest, detail, Math.max(0, Math.round(count)));
  switch (feature.prefix) {
    case 'hour':
    case 'hbin':
    case 'hbinShift':
    case 'hour_cos':
    case 'hour_sin':
    case 'hour_entropy': {
      let peak = 0;
      for (let h = 1; h < 24; h++) if ((s.hours[h] ?? 0) > (s.hours[peak] ?? 0)) peak = h;
      return make(`events by hour (UTC), peak at ${peak}h`, s.hours[peak] ?? 0);
    }
    case 'dev':
    case 'devR': {
      const n = s.devices[key] ?? 0;
      return make(`${key} events: ${Math.round(n)}`, n);
    }
    case 'tier':
    case 'tierR':
      return make(`${key} price tier: ${Math.round(s.tiers[key] ?? 0)}`, s.tiers[key] ?? 0);
    case 'intent':
      return make(`search intent "${key}" x${Math.round(s.intents[key] ?? 0)}`, s.intents[key] ?? 0);
    case 'act':
    case 'actR':
      return make(`${key} actions: ${Math.round(s.actions[key] ?? 0)}`, s.actions[key] ?? 0);
    case 'brand_repeat':
    case 'brand_top_share':
    case 'brand_distinct':
    case 'brands_per_window':
      return make(`brand repeats ${s.brandRepeats} of ${s.brandMentions} mentions`, s.brandRepeats);
    case 'notable':
      return make(`notable ${key} x${s.notable[key] ?? 0}`, s.notable[key] ?? 0);
    case 'int':
    case 'intR':
    case 'intRate': {
      const n = s.interests?.[key] ?? 0;
      return make(`${key}: ${Math.round(n)} events by category, product and search terms`, n);
    }
    case 'item': {
      const n = s.items?.[key] ?? 0;
      return make(`item #${key} among the most engaged items of ${Math.round(n)} windows`, n);
    }
    default:
      return make(
        `${s.windows} windows, ${s.events} events over ${Math.round((s.lastMs - s.firstMs) / 86_400_000)} days`,
        s.events,
      );
  }
}

/** A feature's evidence in one prediction, with the key evidence lists are de-duplicated by. */
interface CachedEvidence {
  e: Evidence;
  key: string;
}

/** Evidence of the features of one prediction (by feature index; −1 = the fallback). */
type EvidenceCache = Map<number, CachedEvidence | undefined>;

function cachedEvidence(j: number, ref: FeatureRef, s: FeatureStats, cache: EvidenceCache): CachedEvidence | undefined {
  let c = cache.get(j);
  if (c === undefined && !cache.has(j)) {
    const e = evidenceFor(ref, s);
    c = e ? { e, key: `${e.windowId}|${e.detail}` } : undefined;
    cache.set(j, c);
  }
  return c;
}

/** Evidence of the contributing features (`js`, strongest first), each distinct piece once. */
function evidenceList(js: readonly number[], refs: readonly FeatureRef[], s: FeatureStats, cache: EvidenceCache) {
  const out: Evidence[] = [];
  const keys: string[] = [];
  for (const j of js) {
    const c = cachedEvidence(j, refs[j] as FeatureRef, s, cache);
    if (!c || keys.includes(c.key)) continue;
    keys.push(c.key);
    out.push(c.e);
  }
  if (out.length === 0) {
    const fallback = cachedEvidence(-1, FALLBACK, s, cache);
    if (fallback) out.push(fallback.e);
  }
  return out;
}

export interface BuiltinOptions {
  /** Override of the model's summary threshold. */
  summaryThreshold?: number;
  /** false: confidences are the model's calibrated probabilities, never shrunk (`reliability.ts`). Default true. */
  shrink?: boolean;
}

/**
 * The `builtin` backend: trained per-dimension logistic regressions over features of the sufficient
 * statistics. Deterministic and synchronous; `predict` wraps `predictSync`.
 */
export class BuiltinBackend implements SyncModelBackend, ModelBackend {
  readonly name: string;
  readonly model: CompiledModel;
  /** Every model feature's name taken apart (evidence). */
  private readonly refs: readonly FeatureRef[];
  /** Whether the model was trained on users of a top-level category (`ModelWeights.categories`, else its `cat:` features). */
  private readonly knowsCategory: (top: string) => boolean;

  constructor(
    readonly weights: ModelWeights,
    private readonly opts: BuiltinOptions = {},
  ) {
    this.model = new CompiledModel(weights, featureCategory);
    this.refs = weights.features.map(featureRef);
    const known = weights.categories ? new Set(weights.categories) : undefined;
    this.knowsCategory = known ? (top) => known.has(top) : (top) => this.model.knows('cat', top);
    this.name = weights.name;
  }

  async predict(stats: FeatureStats, ctx: PredictContext): Promise<Prediction> {
    return this.predictSync(stats, ctx);
  }

  /** Tags only (no summary, no samples): used by training and scoring loops. */
  predictTags(stats: FeatureStats, dims: readonly DimensionSpec[], tenant?: string): Tag[] {
    if (stats.windows === 0) return [];
    const sink = this.model.sparseBuilder();
    writeFeatures(stats, sink, { items: itemsApply(this.weights, tenant) });
    const x = sink.done();
    const alpha = this.opts.shrink === false ? 1 : this.reliability(stats).alpha;
    const evidenceCache: EvidenceCache = new Map();
    const tags: Tag[] = [];
    for (const d of dims) {
      if (d.multiValued) this.multiTags(d, x, stats, alpha, tags, evidenceCache);
      else this.singleTag(d, x, stats, alpha, tags, evidenceCache);
    }
    return tags;
  }

  /** How far this model's probabilities hold for the user (`reliability.ts`): history length, unmapped and foreign categories. */
  reliability(stats: FeatureStats): Reliability {
    return reliability(stats, this.knowsCategory, this.weights.meta.historyEvents);
  }

  predictSync(stats: FeatureStats, ctx: PredictContext): Prediction {
    const tags = this.predictTags(stats, ctx.enabledDimensions, ctx.tenant);
    const summary = writeSummary(
      tags.map((t) => ({
        dimension: t.dimension,
        value: t.value,
        confidence: t.confidence,
        sinceMs: t.sinceMs,
        evidenceCount: t.evidence.length,
      })),
      {
        threshold: this.opts.summaryThreshold ?? this.weights.summaryThreshold,
        // An explicit global threshold overrides the model's per-dimension ones.
        ...(this.opts.summaryThreshold === undefined && this.weights.summaryThresholds
          ? { thresholds: this.weights.summaryThresholds }
          : {}),
        windows: stats.windows,
        events: stats.events,
      },
    );
    const k = Math.max(1, ctx.samples);
    const samples = Array.from({ length: k }, (): TagSet => ({ ...ZERO_TAG_SET, tags: tags.slice() }));
    return { tags, samples, summary, model: this.name };
  }

  private singleTag(
    d: DimensionSpec,
    x: SparseFeatures,
    s: FeatureStats,
    alpha: number,
    out: Tag[],
    cache: EvidenceCache,
  ): void {
    const m = this.weights.single[d.name];
    const p = this.model.single(d.name, x);
    if (!m || !p) return;
    let best = 0;
    for (let c = 1; c < p.length; c++) if ((p[c] as number) > (p[best] as number)) best = c;
    const value = m.classes[best];
    if (value === undefined) return;
    // The model's value, with its confidence shrunk toward the class prior (`reliability.ts`).
    shrinkInPlace(p, alpha, m.prior, 1 / p.length);
    const contrib = this.featuresOf(d.name, best, x);
    out.push(tag(d.name, value, round4(p[best] as number), evidenceList(contrib, this.refs, s, cache)));
  }

  private multiTags(
    d: DimensionSpec,
    x: SparseFeatures,
    s: FeatureStats,
    alpha: number,
    out: Tag[],
    cache: EvidenceCache,
  ): void {
    const m = this.weights.multi[d.name];
    const p = this.model.multi(d.name, x);
    if (!m || !p) return;
    // The model's labels, with their confidences shrunk toward the label priors (`reliability.ts`).
    const chosen = chosenLabels(p, m);
    shrinkInPlace(p, alpha, m.prior, (m.min + m.max) / 2 / Math.max(1, p.length));
    for (const i of chosen) {
      const contrib = this.featuresOf(d.name, i, x);
      const t = tag(d.name, m.labels[i] as string, round4(p[i] as number), evidenceList(contrib, this.refs, s, cache));
      if (d.name === 'life_events') t.sinceMs = this.sinceOf(d.name, i, x, s);
      out.push(t);
    }
  }

  /** The (at most two) features that pushed output `c` of `dim` up the most, strongest first. */
  private featuresOf(dim: string, c: number, x: SparseFeatures): number[] {
    return this.model.contributions(dim, c, x, 2).map((k) => k.j);
  }

  /** When a life event began: the onset of the category that drives its prediction the most. */
  private sinceOf(dim: string, label: number, x: SparseFeatures, s: FeatureStats): number {
    let bestCat: string | undefined;
    let bestV = 0;
    for (const [cat, v] of this.model.categoryContributions(dim, label, x)) {
      if (!s.cats[cat]) continue;
      if (v > bestV || (v === bestV && bestCat !== undefined && cat < bestCat)) {
        bestCat = cat;
        bestV = v;
      }
    }
    const c = bestCat ? s.cats[bestCat] : undefined;
    if (!c) return Math.round(s.firstMs);
    switch (this.weights.sinceMethod) {
      case 'burst':
        return Math.round(c.burst);
      case 'first':
        return Math.round(c.first);
      default:
        return Math.round(categoryOnsetMs(s, c));
    }
  }
}

/**
 * The labels a multi-valued dimension predicts, most probable first (ties: lower index): the
 * `max` most probable at most, those reaching the threshold, and at least `min`. Only the top `max`
 * are ranked (the rest can never be chosen).
 */
function chosenLabels(p: Float64Array, m: MultiDimModel): number[] {
  const top: number[] = [];
  for (let i = 0; i < p.length && m.max > 0; i++) {
    const v = p[i] as number;
    if (top.length === m.max && !(v > (p[top[top.length - 1] as number] as number))) continue;
    let at = top.length;
    while (at > 0 && v > (p[top[at - 1] as number] as number)) at--;
    top.splice(at, 0, i);
    if (top.length > m.max) top.pop();
  }
  const chosen: number[] = [];
  for (const i of top) if ((p[i] as number) >= m.threshold || chosen.length < m.min) chosen.push(i);
  return chosen;
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** A builtin backend over a weights object. */
export function createBuiltinBackend(weights: ModelWeights, opts: BuiltinOptions = {}): BuiltinBackend {
  return new BuiltinBackend(weights, opts);
}
