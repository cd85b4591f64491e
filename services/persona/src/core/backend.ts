import type { DimensionSpec, Persona, SemantizedWindow, Tag, TagSet } from '@personastream/contracts';
import type { FeatureStats } from './stats.js';

/** What a backend is told besides the statistics. */
export interface PredictContext {
  /** Dimensions enabled for the tenant; a backend never predicts any other. */
  enabledDimensions: readonly DimensionSpec[];
  /** Number of independent samples wanted (Avg@k); at least 1. */
  samples: number;
  /** The persona before this update, when any. */
  previous?: Persona | undefined;
  /** The new windows of this update (LLM backends read their `text`). */
  windows?: readonly SemantizedWindow[];
  tenant?: string;
  userId?: string;
}

/** Token usage of one prediction (LLM backends). */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

/** A backend's answer: the persona tags, k samples, and a summary written from the tags. */
export interface Prediction {
  tags: Tag[];
  /** k TagSets (the first equals `tags` for deterministic backends). */
  samples: TagSet[];
  summary: string;
  /** Model that produced it, e.g. "builtin/logreg-v1". */
  model: string;
  usage?: TokenUsage;
  /** True when the backend fell back to another one (e.g. openai → builtin). */
  fallback?: boolean;
}

/**
 * A persona model: sufficient statistics (+ previous persona and new windows) → next persona.
 *
 * The interface is Promise-returning so remote backends (openai) fit; synchronous backends (builtin)
 * also implement `predictSync`, which the pure `applyWindow` uses. The service always awaits
 * `predict`, so every backend works there.
 */
export interface ModelBackend {
  readonly name: string;
  predict(stats: FeatureStats, ctx: PredictContext): Promise<Prediction>;
  predictSync?(stats: FeatureStats, ctx: PredictContext): Prediction;
}

/** A backend that can answer synchronously (deterministic, local). */
export interface SyncModelBackend extends ModelBackend {
  predictSync(stats: FeatureStats, ctx: PredictContext): Prediction;
}

export function isSyncBackend(b: ModelBackend): b is SyncModelBackend {
  return typeof b.predictSync === 'function';
}
