import { create } from '@bufbuild/protobuf';
import { type DimensionSpec, EvidenceSchema, type Persona, TagSetSchema } from '@personastream/contracts';
import type { ModelBackend, PredictContext, Prediction, SyncModelBackend, TokenUsage } from '../backend.js';
import type { FeatureStats } from '../stats.js';
import { type ChatClient, ChatError } from './port.js';
import { InvalidOutputError, parsePersonaAnswer, responseFormat } from './schema.js';

/** Prompt templates of one version (`prompts/<version>/{system,user}.md`). */
export interface PromptTemplates {
  version: string;
  system: string;
  user: string;
}

export interface OpenAiBackendOptions {
  client: ChatClient;
  model: string;
  templates: PromptTemplates;
  /** Used when the LLM fails (after retries) or the circuit is open. */
  fallback: SyncModelBackend;
  /** Retries per sample after the first attempt (transport errors and invalid answers). Default 2. */
  maxRetries?: number;
  /** Backoff before retry n: base · 2^(n-1) ms, jittered deterministically. Default 200. */
  backoffMs?: number;
  /** Requests in flight at most (all samples, all users). Default 8. */
  concurrency?: number;
  /** Consecutive failed samples that open the circuit. Default 5. */
  breakerThreshold?: number;
  /** How long the circuit stays open before one trial request. Default 30 s. */
  breakerCooldownMs?: number;
  /** Sampling temperature for samples after the first (the first uses 0). Default 0.7. */
  temperature?: number;
  /** Hooks for metrics. */
  onEvent?: (event: OpenAiEvent) => void;
  /** Clock (tests). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export type OpenAiEvent =
  | { type: 'request'; outcome: 'ok' | 'error' | 'invalid'; attempt: number }
  | { type: 'tokens'; prompt: number; completion: number }
  | { type: 'fallback'; reason: string }
  | { type: 'circuit'; state: 'open' | 'half_open' | 'closed' };

/** Counters kept by the backend (also reported through `onEvent`). */
export interface OpenAiCounters {
  requests: number;
  errors: number;
  invalid: number;
  retries: number;
  fallbacks: number;
  promptTokens: number;
  completionTokens: number;
}

/** Fills `{{name}}` placeholders. */
export function renderTemplate(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, k: string) => String(vars[k] ?? ''));
}

function describeDimensions(dims: readonly DimensionSpec[]): string {
  return dims
    .map((d) => {
      const count = d.multiValued ? ` (${d.minValues ?? 0}–${d.maxValues ?? d.values.length} values)` : '';
      return `- ${d.name}${count}: ${d.values.join(', ')}`;
    })
    .join('\n');
}

function describePrevious(p: Persona | undefined): string {
  if (!p || p.version === 0) return '(none yet: this is the first update)';
  const tags: Record<string, string | string[]> = {};
  for (const t of p.tags) {
    const v = t.sinceMs ? `${t.value} (since ${new Date(t.sinceMs).toISOString().slice(0, 10)})` : t.value;
    const cur = tags[t.dimension];
    if (cur === undefined) tags[t.dimension] = v;
    else tags[t.dimension] = Array.isArray(cur) ? [...cur, v] : [cur, v];
  }
  return `${JSON.stringify(tags)}\nSummary: ${p.summary}`;
}

/** A counting semaphore. */
class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly max: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/**
 * The `openai` backend: any OpenAI-compatible chat endpoint. Per update it sends the versioned
 * prompt (previous persona + the new windows' text) with a strict JSON-schema `response_format`,
 * validates the answer (invalid → retried), draws k samples (the first at temperature 0), limits
 * concurrency, retries with exponential backoff, opens a circuit breaker after repeated failures,
 * and falls back to the builtin backend (counted) when it cannot get a valid answer.
 */
export class OpenAiBackend implements ModelBackend {
  readonly name: string;
  readonly counters: OpenAiCounters = {
    requests: 0,
    errors: 0,
    invalid: 0,
    retries: 0,
    fallbacks: 0,
    promptTokens: 0,
    completionTokens: 0,
  };
  private readonly limiter: Limiter;
  private failures = 0;
  private openUntil = 0;
  private halfOpen = false;

  constructor(private readonly opts: OpenAiBackendOptions) {
    this.name = `openai/${opts.model}/prompt-${opts.templates.version}`;
    this.limiter = new Limiter(opts.concurrency ?? 8);
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  private emit(e: OpenAiEvent): void {
    this.opts.onEvent?.(e);
  }

  /** Circuit state: requests allowed? (half-open lets one trial through). */
  private allow(): boolean {
    if (this.openUntil === 0) return true;
    if (this.now() < this.openUntil) return false;
    if (this.halfOpen) return false;
    this.halfOpen = true;
    this.emit({ type: 'circuit', state: 'half_open' });
    return true;
  }

  /** True while no request may start (open, or half-open with its trial in flight). */
  private blocked(): boolean {
    return this.openUntil !== 0 && (this.now() < this.openUntil || this.halfOpen);
  }

  private recordSuccess(): void {
    this.failures = 0;
    if (this.openUntil !== 0) {
      this.openUntil = 0;
      this.halfOpen = false;
      this.emit({ type: 'circuit', state: 'closed' });
    }
  }

  private recordFailure(): void {
    this.failures++;
    if (this.halfOpen || this.failures >= (this.opts.breakerThreshold ?? 5)) {
      this.openUntil = this.now() + (this.opts.breakerCooldownMs ?? 30_000);
      this.halfOpen = false;
      this.emit({ type: 'circuit', state: 'open' });
    }
  }

  get circuitOpen(): boolean {
    return this.openUntil !== 0 && this.now() < this.openUntil;
  }

  private async sleep(ms: number): Promise<void> {
    if (this.opts.sleep) return this.opts.sleep(ms);
    await new Promise((r) => setTimeout(r, ms));
  }

  /** One sample: request + validation, retried; undefined when every attempt failed. */
  private async sample(ctx: PredictContext, index: number, usage: TokenUsage) {
    const dims = ctx.enabledDimensions;
    const windows = ctx.windows ?? [];
    const evidence = windows.map((w) =>
      create(EvidenceSchema, { windowId: w.windowId, detail: 'LLM reading of the window', count: w.eventCount }),
    );
    const messages = [
      {
        role: 'system' as const,
        content: renderTemplate(this.opts.templates.system, { dimensions: describeDimensions(dims) }),
      },
      {
        role: 'user' as const,
        content: renderTemplate(this.opts.templates.user, {
          previous_version: ctx.previous?.version ?? 0,
          previous_persona: describePrevious(ctx.previous),
          window_count: windows.length,
          windows: windows.map((w) => w.text).join('\n'),
        }),
      },
    ];
    const maxRetries = this.opts.maxRetries ?? 2;
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      if (!this.allow()) return undefined;
      if (attempt > 0) {
        this.counters.retries++;
        const base = this.opts.backoffMs ?? 200;
        await this.sleep(base * 2 ** (attempt - 1) * (1 + ((index * 7 + attempt * 13) % 10) / 20));
      }
      this.counters.requests++;
      try {
        const res = await this.limiter.run(() =>
          this.opts.client.complete({
            model: this.opts.model,
            messages,
            temperature: index === 0 ? 0 : (this.opts.temperature ?? 0.7),
            seed: index,
            response_format: responseFormat(dims),
          }),
        );
        usage.promptTokens += res.usage.promptTokens;
        usage.completionTokens += res.usage.completionTokens;
        this.counters.promptTokens += res.usage.promptTokens;
        this.counters.completionTokens += res.usage.completionTokens;
        this.emit({ type: 'tokens', prompt: res.usage.promptTokens, completion: res.usage.completionTokens });
        const parsed = parsePersonaAnswer(res.content, dims, evidence);
        this.emit({ type: 'request', outcome: 'ok', attempt });
        this.recordSuccess();
        return parsed;
      } catch (err) {
        if (err instanceof InvalidOutputError) {
          this.counters.invalid++;
          this.emit({ type: 'request', outcome: 'invalid', attempt });
          continue;
        }
        this.counters.errors++;
        this.emit({ type: 'request', outcome: 'error', attempt });
        if (err instanceof ChatError && !err.retryable) break;
      }
    }
    this.recordFailure();
    return undefined;
  }

  async predict(stats: FeatureStats, ctx: PredictContext): Promise<Prediction> {
    const k = Math.max(1, ctx.samples);
    const usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
    const fallback = (reason: string): Prediction => {
      this.counters.fallbacks++;
      this.emit({ type: 'fallback', reason });
      return { ...this.opts.fallback.predictSync(stats, ctx), usage, fallback: true };
    };
    if (this.blocked()) return fallback('circuit_open');
    // The first sample decides the persona; the others only feed Avg@k.
    const first = await this.sample(ctx, 0, usage);
    if (!first) return fallback('no_valid_answer');
    const rest = await Promise.all(Array.from({ length: k - 1 }, (_, i) => this.sample(ctx, i + 1, usage)));
    let builtinTags: ReturnType<SyncModelBackend['predictSync']>['tags'] | undefined;
    const samples = [first, ...rest].map((s) => {
      if (s) return create(TagSetSchema, { tags: s.tags });
      builtinTags ??= this.opts.fallback.predictSync(stats, { ...ctx, samples: 1 }).tags;
      return create(TagSetSchema, { tags: builtinTags });
    });
    return { tags: first.tags, samples, summary: first.summary, model: this.name, usage };
  }
}
