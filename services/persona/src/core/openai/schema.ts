import { create } from '@bufbuild/protobuf';
import { type DimensionSpec, type Evidence, type Tag, TagSchema } from '@personastream/contracts';

/** JSON schema of the model's answer for the enabled dimensions (OpenAI `response_format` json_schema, strict). */
export function personaJsonSchema(dims: readonly DimensionSpec[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const d of dims) {
    const item: Record<string, unknown> = {
      type: 'object',
      properties: {
        value: { type: 'string', enum: [...d.values] },
        confidence: { type: 'number' },
        ...(d.name === 'life_events' ? { since: { type: 'string' } } : {}),
      },
      required: ['value', 'confidence', ...(d.name === 'life_events' ? ['since'] : [])],
      additionalProperties: false,
    };
    properties[d.name] = d.multiValued
      ? { type: 'array', items: item, maxItems: d.maxValues ?? d.values.length }
      : item;
  }
  return {
    type: 'object',
    properties: {
      tags: { type: 'object', properties, required: dims.map((d) => d.name), additionalProperties: false },
      summary: { type: 'string' },
    },
    required: ['tags', 'summary'],
    additionalProperties: false,
  };
}

export function responseFormat(dims: readonly DimensionSpec[]): unknown {
  return { type: 'json_schema', json_schema: { name: 'persona_v1', strict: true, schema: personaJsonSchema(dims) } };
}

export class InvalidOutputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidOutputError';
  }
}

interface RawTag {
  value?: unknown;
  confidence?: unknown;
  since?: unknown;
}

function checkTag(
  dim: DimensionSpec,
  raw: unknown,
  where: string,
): { value: string; confidence: number; since?: string } {
  if (typeof raw !== 'object' || raw === null) throw new InvalidOutputError(`${where} is not an object`);
  const t = raw as RawTag;
  if (typeof t.value !== 'string' || !dim.values.includes(t.value)) {
    throw new InvalidOutputError(`${where}.value ${JSON.stringify(t.value)} is not one of the allowed values`);
  }
  if (typeof t.confidence !== 'number' || !Number.isFinite(t.confidence) || t.confidence < 0 || t.confidence > 1) {
    throw new InvalidOutputError(`${where}.confidence must be a number in [0, 1]`);
  }
  const out: { value: string; confidence: number; since?: string } = { value: t.value, confidence: t.confidence };
  if (typeof t.since === 'string') out.since = t.since;
  return out;
}

function sinceMs(s: string | undefined): number {
  if (!s) return 0;
  const ms = Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s);
  return Number.isFinite(ms) ? ms : 0;
}

/**
 * Validates the model's JSON answer against the schema and the vocabulary, returning proto tags
 * (with `evidence` attached to each) and the summary; throws `InvalidOutputError` naming the problem.
 */
export function parsePersonaAnswer(
  content: string,
  dims: readonly DimensionSpec[],
  evidence: readonly Evidence[],
): { tags: Tag[]; summary: string } {
  let body: unknown;
  try {
    // Some servers wrap JSON in a code fence despite response_format.
    body = JSON.parse(content.trim().replace(/^```(?:json)?\s*|\s*```$/g, ''));
  } catch {
    throw new InvalidOutputError('answer is not valid JSON');
  }
  if (typeof body !== 'object' || body === null) throw new InvalidOutputError('answer is not a JSON object');
  const { tags, summary } = body as { tags?: unknown; summary?: unknown };
  if (typeof tags !== 'object' || tags === null) throw new InvalidOutputError('tags is missing');
  if (typeof summary !== 'string' || summary.trim().length === 0) throw new InvalidOutputError('summary is missing');
  const out: Tag[] = [];
  for (const d of dims) {
    const raw = (tags as Record<string, unknown>)[d.name];
    if (d.multiValued) {
      if (!Array.isArray(raw)) throw new InvalidOutputError(`tags.${d.name} must be an array`);
      const min = d.minValues ?? 0;
      const max = d.maxValues ?? d.values.length;
      if (raw.length < min || raw.length > max) {
        throw new InvalidOutputError(`tags.${d.name} must have ${min}–${max} values (got ${raw.length})`);
      }
      const seen = new Set<string>();
      raw.forEach((r, i) => {
        const t = checkTag(d, r, `tags.${d.name}[${i}]`);
        if (seen.has(t.value)) return;
        seen.add(t.value);
        out.push(
          create(TagSchema, {
            dimension: d.name,
            value: t.value,
            confidence: t.confidence,
            evidence: [...evidence],
            sinceMs: d.name === 'life_events' ? sinceMs(t.since) : 0,
          }),
        );
      });
    } else {
      if (raw === undefined) throw new InvalidOutputError(`tags.${d.name} is missing`);
      const t = checkTag(d, raw, `tags.${d.name}`);
      out.push(
        create(TagSchema, { dimension: d.name, value: t.value, confidence: t.confidence, evidence: [...evidence] }),
      );
    }
  }
  const sentences = summary.split(/(?<=[.!?])\s+/).filter(Boolean);
  return { tags: out, summary: sentences.slice(0, 6).join(' ') };
}
