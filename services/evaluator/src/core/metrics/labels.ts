/**
 * Plain label sets: what a user is (truth) or what a model predicted (one sample), keyed by
 * dimension. Every metric works on these, so callers can feed protobuf tags, dataset rows or
 * hand-written cases alike.
 */
import { type DimensionSpec, dimensionSpec, enabledDimensions, type PersonaUpdate } from '@personastream/contracts';

/** A tag as any source has it: protobuf `Tag`, dataset JSON, test literal. */
export interface TagLike {
  dimension: string;
  value: string;
  /** Reported confidence in [0, 1], when the source has one. */
  confidence?: number;
}

/** Values of one user (or one sample): single-valued dimensions once, multi-valued ones as sets. */
export interface LabelSet {
  single: Record<string, string>;
  multi: Record<string, string[]>;
  /** Confidence per `dimension=value`, when reported. */
  confidence?: Record<string, number>;
}

/** A dimension that is scored: its name and whether it is multi-valued. */
export interface ScoringDimension {
  name: string;
  multiValued: boolean;
}

export function emptyLabels(): LabelSet {
  return { single: {}, multi: {} };
}

export function confidenceKey(dimension: string, value: string): string {
  return `${dimension}=${value}`;
}

/**
 * Builds a label set from tags. Unknown dimensions are ignored. A single-valued dimension that
 * appears more than once keeps its most confident value (the first one on ties); multi-valued
 * values are de-duplicated and sorted.
 */
export function labelsFromTags(tags: readonly TagLike[]): LabelSet {
  const out: LabelSet = { single: {}, multi: {}, confidence: {} };
  const best: Record<string, number> = {};
  const confidence = out.confidence as Record<string, number>;
  for (const t of tags) {
    const spec = dimensionSpec(t.dimension);
    if (!spec || t.value === '') continue;
    const c = t.confidence;
    if (spec.multiValued) {
      const values = out.multi[t.dimension] ?? [];
      if (!values.includes(t.value)) values.push(t.value);
      out.multi[t.dimension] = values;
    } else {
      const prev = best[t.dimension];
      if (prev !== undefined && (c ?? 0) <= prev) continue;
      out.single[t.dimension] = t.value;
      best[t.dimension] = c ?? 0;
    }
    if (c !== undefined) {
      const key = confidenceKey(t.dimension, t.value);
      confidence[key] = Math.max(confidence[key] ?? 0, c);
    }
  }
  for (const values of Object.values(out.multi)) values.sort();
  if (Object.keys(confidence).length === 0) delete out.confidence;
  return out;
}

/**
 * Dimensions that are scored: the enabled ones (sensitive dimensions only when switched on),
 * intersected with the dimensions the truth labels (default: all enabled).
 */
export function scoringDimensions(
  options: { includeSensitive?: boolean; labeled?: readonly string[] } = {},
): ScoringDimension[] {
  const labeled = options.labeled ? new Set(options.labeled) : undefined;
  return enabledDimensions(options.includeSensitive ?? false)
    .filter((d) => !labeled || labeled.has(d.name))
    .map((d: DimensionSpec) => ({ name: d.name, multiValued: d.multiValued }));
}

/** The label sets an update predicts: its k samples, or the persona's tags when it has none. */
export function updateSamples(update: PersonaUpdate): LabelSet[] {
  const tags = update.samples.length > 0 ? update.samples.map((s) => s.tags) : [update.persona?.tags ?? []];
  return tags.map((t) => labelsFromTags(t));
}
