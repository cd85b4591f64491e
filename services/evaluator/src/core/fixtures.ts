/**
 * A small, deterministic synthetic run (truths, persona updates that improve with history, end-of-run
 * markers) for tests, the dashboard's browser test and demos of the evaluator on its own. It is not
 * the simulator: it only has to exercise every metric.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import {
  type EndOfRun,
  EndOfRunSchema,
  enabledDimensions,
  factPhrases,
  type GroundTruth,
  GroundTruthSchema,
  KeyFactSchema,
  mulberry32,
  PersonaSchema,
  type PersonaUpdate,
  PersonaUpdateRecordSchema,
  PersonaUpdateSchema,
  partitionForKey,
  splitOf,
  type Tag,
  TagSchema,
  TagSetSchema,
  TruthRecordSchema,
  userKey,
} from '@personastream/contracts';

export interface SyntheticRunOptions {
  runId: string;
  users: number;
  seed?: number;
  tenant?: string;
  partitions?: number;
  /** Samples per update (k). Default 1. */
  samples?: number;
  /** Probability that a user has no persona at all (scores 0). Default 0. */
  missingPersona?: number;
  /** Start of the run, epoch ms. Default 1_700_000_000_000. */
  startMs?: number;
}

export interface PlacedRecord<T> {
  partition: number;
  key: string;
  value: T;
}

export interface SyntheticRun {
  updates: PlacedRecord<PersonaUpdate>[];
  truths: PlacedRecord<GroundTruth>[];
  updateMarkers: EndOfRun[];
  truthMarkers: EndOfRun[];
}

/** mulberry32: a tiny seeded PRNG. */
export const seededRandom = mulberry32;

function pick<T>(rnd: () => number, values: readonly T[]): T {
  return values[Math.floor(rnd() * values.length)] as T;
}

function pickSome(rnd: () => number, values: readonly string[], n: number): string[] {
  const pool = [...values];
  const out: string[] = [];
  while (out.length < n && pool.length > 0) out.push(pool.splice(Math.floor(rnd() * pool.length), 1)[0] as string);
  return out.sort();
}

function tag(dimension: string, value: string, confidence = 1, sinceMs = 0): Tag {
  return create(TagSchema, { dimension, value, confidence, sinceMs });
}

/** Writes a summary from tags with the canonical phrases (as the builtin backend does). */
export function summaryFromTags(tags: readonly Tag[]): string {
  const single = tags.filter((t) => t.dimension !== 'interests' && t.dimension !== 'life_events');
  const interests = tags.filter((t) => t.dimension === 'interests').map((t) => t.value);
  const events = tags.filter((t) => t.dimension === 'life_events');
  const sentence = (p: string) => `${p.charAt(0).toUpperCase()}${p.slice(1)}.`;
  const parts = single.map((t) => sentence(factPhrases(t.dimension, t.value)[0] as string));
  if (interests.length > 0) parts.push(`Interested in ${interests.join(', ')}.`);
  for (const e of events) parts.push(`Recently ${factPhrases('life_events', e.value)[0]}.`);
  return parts.join(' ');
}

/** Builds a deterministic synthetic run. */
export function syntheticRun(options: SyntheticRunOptions): SyntheticRun {
  const rnd = seededRandom(options.seed ?? 1);
  const tenant = options.tenant ?? 'acme';
  const partitions = options.partitions ?? 4;
  const k = options.samples ?? 1;
  const start = options.startMs ?? 1_700_000_000_000;
  const dims = enabledDimensions(false);
  const out: SyntheticRun = { updates: [], truths: [], updateMarkers: [], truthMarkers: [] };
  const perPartition = { updates: new Array<number>(partitions).fill(0), truth: new Array<number>(partitions).fill(0) };

  for (let i = 0; i < options.users; i++) {
    const userId = `u${String(i).padStart(4, '0')}`;
    const key = userKey(tenant, userId);
    const partition = partitionForKey(key, partitions);
    const truthTags: Tag[] = [];
    for (const d of dims) {
      if (d.name === 'interests')
        for (const v of pickSome(rnd, d.values, 1 + Math.floor(rnd() * 4))) truthTags.push(tag(d.name, v));
      else if (d.name === 'life_events') {
        for (const v of pickSome(rnd, d.values, Math.floor(rnd() * 3)))
          truthTags.push(tag(d.name, v, 1, start + 86_400_000));
      } else truthTags.push(tag(d.name, pick(rnd, d.values)));
    }
    const truth = create(GroundTruthSchema, {
      tenant,
      userId,
      runId: options.runId,
      tags: truthTags,
      referenceSummary: summaryFromTags(truthTags),
      keyFacts: truthTags.map((t) => create(KeyFactSchema, { dimension: t.dimension, value: t.value })),
      split: splitOf(userId),
    });
    out.truths.push({ partition, key, value: truth });
    perPartition.truth[partition] = (perPartition.truth[partition] ?? 0) + 1;

    if (rnd() < (options.missingPersona ?? 0)) continue;
    const windows = 2 + Math.floor(rnd() * 7);
    const skill = 0.45 + rnd() * 0.45; // final probability that a value is right
    let events = 0;
    let ingest = start + Math.floor(rnd() * 3_600_000);
    for (let w = 1; w <= windows; w++) {
      const pRight = 0.15 + (skill - 0.15) * (w / windows);
      const sample = (): Tag[] => {
        const tags: Tag[] = [];
        for (const d of dims) {
          const trueValues = truthTags.filter((t) => t.dimension === d.name).map((t) => t.value);
          if (d.multiValued) {
            for (const v of trueValues) if (rnd() < pRight) tags.push(tag(d.name, v, 0.5 + rnd() * 0.5));
            if (rnd() < 0.3) tags.push(tag(d.name, pick(rnd, d.values), 0.2 + rnd() * 0.4));
          } else {
            const right = rnd() < pRight;
            const v = right ? (trueValues[0] as string) : pick(rnd, d.values);
            tags.push(tag(d.name, v, Math.min(1, Math.max(0, (right ? 0.55 : 0.35) + (rnd() - 0.5) * 0.4))));
          }
        }
        // de-duplicate multi values
        const seen = new Set<string>();
        return tags.filter((t) => {
          const id = `${t.dimension}=${t.value}`;
          if (seen.has(id)) return false;
          seen.add(id);
          return true;
        });
      };
      const samples = Array.from({ length: k }, sample);
      const tags = samples[0] as Tag[];
      const windowEvents = 5 + Math.floor(rnd() * 60);
      events += windowEvents;
      const raw = windowEvents * (250 + Math.floor(rnd() * 150));
      ingest += 600_000 + Math.floor(rnd() * 3_600_000);
      const latency = 15 + Math.floor(rnd() * rnd() * 900);
      const update = create(PersonaUpdateSchema, {
        persona: create(PersonaSchema, {
          tenant,
          userId,
          version: w,
          updatedMs: ingest + latency,
          tags,
          summary: summaryFromTags(tags),
          windowsSeen: w,
          eventsSeen: events,
          model: 'synthetic/v1',
          lastEventTimeMs: ingest - 1000,
        }),
        windowId: `${userId}-w${w}`,
        runId: options.runId,
        samples: k > 1 ? samples.map((s) => create(TagSetSchema, { tags: s })) : [],
        rawBytes: raw,
        semantizedBytes: Math.max(40, Math.round(raw * (0.012 + rnd() * 0.03))),
        rawTokens: Math.round(raw / 3.2),
        semantizedTokens: Math.max(10, Math.round((raw / 4) * (0.012 + rnd() * 0.03))),
        ingestTimeMs: ingest,
      });
      out.updates.push({ partition, key, value: update });
      perPartition.updates[partition] = (perPartition.updates[partition] ?? 0) + 1;
    }
  }
  const end = start + 86_400_000 * 2;
  for (let p = 0; p < partitions; p++) {
    const base = { runId: options.runId, partition: p, totalPartitions: partitions, tenant, producedTimeMs: end };
    out.updateMarkers.push(
      create(EndOfRunSchema, { ...base, producer: 'persona', records: perPartition.updates[p] ?? 0 }),
    );
    out.truthMarkers.push(
      create(EndOfRunSchema, { ...base, producer: 'simulator', records: perPartition.truth[p] ?? 0 }),
    );
  }
  return out;
}

/** A record ready to produce (structurally the stream package's `OutRecord`). */
export interface EncodedRecord {
  key: string;
  value: Uint8Array;
  partition: number;
}

/**
 * Encodes a synthetic run as the records of the two topics (`PersonaUpdateRecord` /
 * `TruthRecord`), each partition ending with its end-of-run marker.
 */
export function encodeSyntheticRun(run: SyntheticRun): { updates: EncodedRecord[]; truth: EncodedRecord[] } {
  const updates: EncodedRecord[] = run.updates.map((u) => ({
    key: u.key,
    partition: u.partition,
    value: toBinary(
      PersonaUpdateRecordSchema,
      create(PersonaUpdateRecordSchema, { kind: { case: 'update', value: u.value } }),
    ),
  }));
  const truth: EncodedRecord[] = run.truths.map((t) => ({
    key: t.key,
    partition: t.partition,
    value: toBinary(TruthRecordSchema, create(TruthRecordSchema, { kind: { case: 'truth', value: t.value } })),
  }));
  for (const m of run.updateMarkers) {
    updates.push({
      key: `run/${m.runId}`,
      partition: m.partition,
      value: toBinary(
        PersonaUpdateRecordSchema,
        create(PersonaUpdateRecordSchema, { kind: { case: 'endOfRun', value: m } }),
      ),
    });
  }
  for (const m of run.truthMarkers) {
    truth.push({
      key: `run/${m.runId}`,
      partition: m.partition,
      value: toBinary(TruthRecordSchema, create(TruthRecordSchema, { kind: { case: 'endOfRun', value: m } })),
    });
  }
  return { updates, truth };
}
