import { type BehaviorEvent, type GroundTruth, splitOf } from '@personastream/contracts';
import { labelsFromTags, scoringDimensions, tagScore } from '@personastream/evaluator';
import { applyWindow, type PersonaState, type SyncModelBackend } from '@personastream/persona';
import { semantizeEvents } from '@personastream/semantizer';
import { type SimulatorConfig, simulateUsers } from '@personastream/simulator';

/**
 * How the less-filtered input of `retention_vs_unfiltered` is built: the same sessions, with no
 * de-noising (no payload de-duplication, bot-burst or accidental-click filtering) and no compression
 * of category paths, brands or search terms, in the shape the backend reads. retention_vs_unfiltered
 * = tag score on semantized input / tag score on this input, same backend. (`retention` itself divides
 * by the `raw_items` reference learner on the raw events: docs/hpr-bench.md.)
 */
export const RAW_INPUT = {
  payloadDedupMs: 0,
  burstMinEvents: Number.MAX_SAFE_INTEGER,
  accidentalDwellMs: 0,
  categoryDepth: 8,
  maxBrands: 10_000,
  maxIntents: 10_000,
  tokenizer: 'none',
} as const;

/** Mean tag score of the backend on less-filtered input over the scored users (test split unless `scoreAllUsers`). */
export function rawInputTagScore(
  sim: SimulatorConfig,
  backend: SyncModelBackend,
  opts: { includeSensitive: boolean; scoreAllUsers: boolean },
): number | null {
  const dims = scoringDimensions({ includeSensitive: opts.includeSensitive });
  const scores: number[] = [];
  for (const user of simulateUsers(sim)) {
    if (!opts.scoreAllUsers && splitOf(user.userId) !== 'test') continue;
    const events: BehaviorEvent[] = [];
    let truth: GroundTruth | undefined;
    for (const r of user.records) {
      if (r.kind === 'event') events.push(r.event);
      else if (r.kind === 'truth') truth = r.truth;
    }
    if (!truth) continue;
    const { windows } = semantizeEvents(events, RAW_INPUT);
    let state: PersonaState | undefined;
    for (const w of windows) state = applyWindow(state, w, backend, { inPlace: true }).state;
    const predicted = labelsFromTags(state?.persona.tags ?? []);
    scores.push(tagScore(predicted, labelsFromTags(truth.tags), dims));
  }
  return scores.length === 0 ? null : scores.reduce((a, b) => a + b, 0) / scores.length;
}
