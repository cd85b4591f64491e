import type { BehaviorEvent, GroundTruth } from '@personastream/contracts';
import { corrupt, generateBehaviour, type RunContext, runContext, type UserBehaviour } from './behaviour.js';
import type { SimulatorConfig } from './config.js';
import { eventRecordBinary } from './event-binary.js';
import { eventJson, toBehaviorEvent, type UserJson, userJson } from './event-json.js';
import { samplePersona } from './persona-sampler.js';
import { groundTruth } from './truth.js';
import type { Persona } from './types.js';

/** One record of a simulated run, in emission order per user. */
export type SimRecord =
  | { kind: 'event'; event: BehaviorEvent }
  | { kind: 'malformed'; key: string; json: string; reason: string }
  | { kind: 'truth'; truth: GroundTruth };

/** Everything generated for one user, before serialization (hidden labels included). */
export interface RawUser {
  persona: Persona;
  behaviour: UserBehaviour;
  json: UserJson;
  ctx: RunContext;
}

/** Generates user `index` (0-based) of a run: persona and behaviour. Pure and independent of other users. */
export function simulateRawUser(ctx: RunContext, index: number): RawUser {
  const persona = samplePersona(ctx.config, index);
  const behaviour = generateBehaviour(ctx, persona);
  return { persona, behaviour, json: userJson(ctx.config.tenant, ctx.config.runId, persona.userId), ctx };
}

/** The malformed records of a user, rendered: raw JSON text and reason. */
export function malformedRecords(raw: RawUser): Array<{ at: number; json: string; reason: string }> {
  const c = raw.ctx.catalogue;
  return raw.behaviour.malformed.map((m) => ({ at: m.at, ...corrupt(eventJson(c, raw.json, m.source), m.variant) }));
}

/** The records of one user: events (with malformed ones interleaved) in emission order, then the truth. */
export function userRecords(raw: RawUser): SimRecord[] {
  const { config, catalogue } = raw.ctx;
  const key = `${config.tenant}/${raw.persona.userId}`;
  const malformed = malformedRecords(raw);
  const records: SimRecord[] = [];
  const events = raw.behaviour.events;
  let m = 0;
  for (let k = 0; k <= events.length; k++) {
    while (m < malformed.length && (malformed[m] as { at: number }).at === k) {
      const x = malformed[m++] as { json: string; reason: string };
      records.push({ kind: 'malformed', key, json: x.json, reason: x.reason });
    }
    const e = events[k];
    if (e) records.push({ kind: 'event', event: toBehaviorEvent(catalogue, raw.json, e) });
  }
  records.push({ kind: 'truth', truth: groundTruth(raw.persona, config) });
  return records;
}

/**
 * Simulates a run one user at a time (memory stays flat however many users). Each user's records are
 * in emission order: events may be out of event-time order (late delivery) and repeated (duplicates);
 * malformed records are interleaved; the ground truth comes last.
 */
export function* simulateUsers(config: SimulatorConfig): Generator<{ userId: string; records: SimRecord[] }> {
  const ctx = runContext(config);
  for (let i = 0; i < config.users; i++) {
    const raw = simulateRawUser(ctx, i);
    yield { userId: raw.persona.userId, records: userRecords(raw) };
  }
}

/** Fast path for files and benchmarks: one user's canonical event JSON lines (emission order) and truth. */
export interface UserLines {
  userId: string;
  lines: string[];
  truth: GroundTruth;
  malformed: number;
}

export function* simulateUserLines(config: SimulatorConfig): Generator<UserLines> {
  const ctx = runContext(config);
  for (let i = 0; i < config.users; i++) {
    const raw = simulateRawUser(ctx, i);
    const lines = raw.behaviour.events.map((e) => eventJson(ctx.catalogue, raw.json, e));
    yield {
      userId: raw.persona.userId,
      lines,
      truth: groundTruth(raw.persona, config),
      malformed: raw.behaviour.malformed.length,
    };
  }
}

/** Wire payloads of one user in emission order (what `publishRun` sends), truth last. */
export type UserPayload =
  | { kind: 'event'; receivedMs: number; bytes: Uint8Array }
  | { kind: 'malformed'; key: string; json: string; reason: string }
  | { kind: 'truth'; truth: GroundTruth };

export function* simulateUserPayloads(config: SimulatorConfig): Generator<{ userId: string; payloads: UserPayload[] }> {
  const ctx = runContext(config);
  for (let i = 0; i < config.users; i++) {
    const raw = simulateRawUser(ctx, i);
    const key = `${config.tenant}/${raw.persona.userId}`;
    const malformed = malformedRecords(raw);
    const payloads: UserPayload[] = [];
    const events = raw.behaviour.events;
    let m = 0;
    for (let k = 0; k <= events.length; k++) {
      while (m < malformed.length && (malformed[m] as { at: number }).at === k) {
        const x = malformed[m++] as { json: string; reason: string };
        payloads.push({ kind: 'malformed', key, json: x.json, reason: x.reason });
      }
      const e = events[k];
      if (e)
        payloads.push({
          kind: 'event',
          receivedMs: e.receivedMs,
          bytes: eventRecordBinary(ctx.catalogue, raw.json, e),
        });
    }
    payloads.push({ kind: 'truth', truth: groundTruth(raw.persona, config) });
    yield { userId: raw.persona.userId, payloads };
  }
}
