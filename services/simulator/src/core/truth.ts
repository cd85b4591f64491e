import { create } from '@bufbuild/protobuf';
import {
  factPhrases,
  type GroundTruth,
  GroundTruthSchema,
  type KeyFact,
  KeyFactSchema,
  splitOf,
  type Tag,
  TagSchema,
} from '@personastream/contracts';
import type { SimulatorConfig } from './config.js';
import type { Persona } from './types.js';

/** Single-valued dimensions of a persona, in schema order. */
export function singleValues(p: Persona): Array<[string, string]> {
  return [
    ['age_band', p.ageBand],
    ['gender', p.gender],
    ['life_stage', p.lifeStage],
    ['occupation_group', p.occupation],
    ['income_tier', p.incomeTier],
    ['price_sensitivity', p.priceSensitivity],
    ['shopping_style', p.shoppingStyle],
    ['activity_pattern', p.activityPattern],
    ['primary_device', p.primaryDevice],
    ['engagement_level', p.engagementLevel],
    ['trajectory', p.trajectory],
  ];
}

/** The true tags: one per single-valued dimension, one per interest, one per life event (with since). */
export function truthTags(p: Persona): Tag[] {
  const tags: Tag[] = singleValues(p).map(([dimension, value]) =>
    create(TagSchema, { dimension, value, confidence: 1 }),
  );
  for (const i of p.interests) tags.push(create(TagSchema, { dimension: 'interests', value: i, confidence: 1 }));
  for (const e of p.lifeEvents)
    tags.push(create(TagSchema, { dimension: 'life_events', value: e.kind, confidence: 1, sinceMs: e.timeMs }));
  return tags;
}

/** Key facts a good summary must state: one per scored dimension value and one per life event. */
export function keyFacts(p: Persona): KeyFact[] {
  const facts = singleValues(p).map(([dimension, value]) => create(KeyFactSchema, { dimension, value }));
  for (const i of p.interests) facts.push(create(KeyFactSchema, { dimension: 'interests', value: i }));
  for (const e of p.lifeEvents) facts.push(create(KeyFactSchema, { dimension: 'life_events', value: e.kind }));
  return facts;
}

/** Phrase used in reference summaries: the canonical phrase, or a synonym that avoids ambiguity. */
function phrase(dimension: string, value: string): string {
  if (dimension === 'occupation_group' && value === 'retired') return 'no longer working';
  if (dimension === 'life_events' && value === 'moved_home') return 'moved house';
  return factPhrases(dimension, value)[0] ?? value.replace(/_/g, ' ');
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function list(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/**
 * Reference summary of 5–6 sentences written from the latent persona: every tag, and each life event
 * with the day it began. Phrases come from the schema's vocabulary so a fact extractor finds them.
 */
export function referenceSummary(p: Persona, config: Pick<SimulatorConfig, 'startTimeMs' | 'horizonDays'>): string {
  const s: string[] = [];
  s.push(
    `This user is ${phrase('life_stage', p.lifeStage)}, ${phrase('gender', p.gender)}, ${phrase('age_band', p.ageBand)}, and ${phrase('occupation_group', p.occupation)}.`,
  );
  s.push(
    `They have a ${phrase('income_tier', p.incomeTier)} and are ${phrase('price_sensitivity', p.priceSensitivity)}; as a shopper they are ${phrase('shopping_style', p.shoppingStyle)}.`,
  );
  s.push(`They are ${phrase('activity_pattern', p.activityPattern)}, ${phrase('primary_device', p.primaryDevice)}.`);
  const eng = phrase('engagement_level', p.engagementLevel);
  if (p.trajectory === 'new') {
    const joined = config.startTimeMs + Math.floor(p.hidden.joinAt * config.horizonDays) * 86_400_000;
    s.push(`They are ${eng} and ${phrase('trajectory', 'new')} who joined around ${isoDay(joined)}.`);
  } else {
    s.push(`They are ${eng} with ${phrase('trajectory', p.trajectory)} over the period.`);
  }
  s.push(
    `They are ${phrase('interests', p.interests[0] as string)}${p.interests.length > 1 ? `, as well as ${list(p.interests.slice(1))}` : ''}.`,
  );
  if (p.lifeEvents.length > 0) {
    s.push(
      `During the period they ${list(p.lifeEvents.map((e) => `${phrase('life_events', e.kind)} (around ${isoDay(e.timeMs)})`))}.`,
    );
  }
  return s.join(' ');
}

/** The GroundTruth message of a persona. */
export function groundTruth(p: Persona, config: SimulatorConfig): GroundTruth {
  return create(GroundTruthSchema, {
    tenant: config.tenant,
    userId: p.userId,
    runId: config.runId,
    tags: truthTags(p),
    referenceSummary: referenceSummary(p, config),
    keyFacts: keyFacts(p),
    split: splitOf(p.userId),
  });
}
