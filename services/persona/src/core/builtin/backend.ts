import { create } from '@bufbuild/protobuf';
import {
  type DimensionSpec,
  type Evidence,
  EvidenceSchema,
  type Tag,
  TagSchema,
  TagSetSchema,
} from '@personastream/contracts';
import type { ModelBackend, PredictContext, Prediction, SyncModelBackend } from '../backend.js';
import { type CategoryStats, categoryOnsetMs, type FeatureStats } from '../stats.js';
import { writeSummary } from '../summary.js';
import { featureCategory, writeFeatures } from './features.js';
import { CompiledModel, type ModelWeights, type SparseFeatures } from './model.js';

/**
 * Evidence for a feature: which windows and counts it summarizes. Category features point at the
 * latest windows of that category; rhythm/device/price features at the latest windows overall.
 */
function evidenceFor(feature: string, s: FeatureStats): Evidence | undefined {
  const latest = s.lastWindows[s.lastWindows.length - 1];
  const cat = featureCategory(feature);
  if (cat !== undefined) {
    const c: CategoryStats | undefined = s.cats[cat];
    if (!c) return undefined;
    const id = c.ids[c.ids.length - 1];
    if (!id) return undefined;
    const purchases = c.p > 0 ? `, ${Math.round(c.p)} purchases` : '';
    return create(EvidenceSchema, {
      windowId: id,
      detail: `${cat}: ${Math.round(c.n)} actions in ${c.w} windows${purchases}`,
      count: Math.round(c.n),
    });
  }
  if (!latest) return undefined;
  const colon = feature.indexOf(':');
  const prefix = colon < 0 ? feature : feature.slice(0, colon);
  const key = colon < 0 ? '' : feature.slice(colon + 1);
  const make = (detail: string, count: number) =>
    create(EvidenceSchema, { windowId: latest, detail, count: Math.max(0, Math.round(count)) });
  switch (prefix) {
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
    default:
      return make(
        `${s.windows} windows, ${s.events} events over ${Math.round((s.lastMs - s.firstMs) / 86_400_000)} days`,
        s.events,
      );
  }
}

type EvidenceCache = Map<string, Evidence | undefined>;

function cachedEvidence(feature: string, s: FeatureStats, cache: EvidenceCache): Evidence | undefined {
  if (cache.has(feature)) return cache.get(feature);
  const e = evidenceFor(feature, s);
  cache.set(feature, e);
  return e;
}

function evidenceList(features: string[], s: FeatureStats, cache: EvidenceCache): Evidence[] {
  const out: Evidence[] = [];
  const seen = new Set<string>();
  for (const feature of features) {
    const e = cachedEvidence(feature, s, cache);
    if (!e) continue;
    const key = `${e.windowId}|${e.detail}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  if (out.length === 0) {
    const fallback = cachedEvidence('log_windows', s, cache);
    if (fallback) out.push(fallback);
  }
  return out;
}

export interface BuiltinOptions {
  /** Override of the model's summary threshold. */
  summaryThreshold?: number;
}

/**
 * The `builtin` backend: trained per-dimension logistic regressions over features of the sufficient
 * statistics. Deterministic and synchronous; `predict` wraps `predictSync`.
 */
export class BuiltinBackend implements SyncModelBackend, ModelBackend {
  readonly name: string;
  readonly model: CompiledModel;

  constructor(
    readonly weights: ModelWeights,
    private readonly opts: BuiltinOptions = {},
  ) {
    this.model = new CompiledModel(weights, featureCategory);
    this.name = weights.name;
  }

  async predict(stats: FeatureStats, ctx: PredictContext): Promise<Prediction> {
    return this.predictSync(stats, ctx);
  }

  /** Tags only (no summary, no samples): used by training and scoring loops. */
  predictTags(stats: FeatureStats, dims: readonly DimensionSpec[]): Tag[] {
    if (stats.windows === 0) return [];
    const sink = this.model.sparseBuilder();
    writeFeatures(stats, sink);
    const x = sink.done();
    const evidenceCache = new Map<string, Evidence | undefined>();
    const tags: Tag[] = [];
    for (const d of dims) {
      if (d.multiValued) this.multiTags(d, x, stats, tags, evidenceCache);
      else this.singleTag(d, x, stats, tags, evidenceCache);
    }
    return tags;
  }

  predictSync(stats: FeatureStats, ctx: PredictContext): Prediction {
    const tags = this.predictTags(stats, ctx.enabledDimensions);
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
    const samples = Array.from({ length: k }, () => create(TagSetSchema, { tags }));
    return { tags, samples, summary, model: this.name };
  }

  private singleTag(d: DimensionSpec, x: SparseFeatures, s: FeatureStats, out: Tag[], cache: EvidenceCache): void {
    const m = this.weights.single[d.name];
    const p = this.model.single(d.name, x);
    if (!m || !p) return;
    let best = 0;
    for (let c = 1; c < p.length; c++) if ((p[c] as number) > (p[best] as number)) best = c;
    const value = m.classes[best];
    if (value === undefined) return;
    const contrib = this.featuresOf(d.name, best, x);
    out.push(
      create(TagSchema, {
        dimension: d.name,
        value,
        confidence: round4(p[best] as number),
        evidence: evidenceList(contrib, s, cache),
      }),
    );
  }

  private multiTags(d: DimensionSpec, x: SparseFeatures, s: FeatureStats, out: Tag[], cache: EvidenceCache): void {
    const m = this.weights.multi[d.name];
    const p = this.model.multi(d.name, x);
    if (!m || !p) return;
    const order = m.labels.map((_, i) => i).sort((a, b) => (p[b] as number) - (p[a] as number) || a - b);
    const chosen: number[] = [];
    for (const i of order) {
      if (chosen.length >= m.max) break;
      if ((p[i] as number) >= m.threshold || chosen.length < m.min) chosen.push(i);
    }
    for (const i of chosen) {
      const contrib = this.featuresOf(d.name, i, x);
      const tag = create(TagSchema, {
        dimension: d.name,
        value: m.labels[i] as string,
        confidence: round4(p[i] as number),
        evidence: evidenceList(contrib, s, cache),
      });
      if (d.name === 'life_events') tag.sinceMs = this.sinceOf(d.name, i, x, s);
      out.push(tag);
    }
  }

  private featuresOf(dim: string, c: number, x: SparseFeatures): string[] {
    return this.model.contributions(dim, c, x, 2).map((k) => this.model.featureName(k.j));
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

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** A builtin backend over a weights object. */
export function createBuiltinBackend(weights: ModelWeights, opts: BuiltinOptions = {}): BuiltinBackend {
  return new BuiltinBackend(weights, opts);
}
