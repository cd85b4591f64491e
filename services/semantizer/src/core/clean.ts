import { createAccidentalClickStep } from '../steps/accidental-click.js';
import { createBotFilterStep } from '../steps/bot-filter.js';
import type { CleanContext, CleanStep } from '../steps/context.js';
import { createEventIdDedupStep } from '../steps/dedup-id.js';
import { createPayloadDedupStep } from '../steps/dedup-payload.js';
import type { CoreConfig, Ev } from './types.js';

/** The cleaning pipeline: id de-duplication, then crawler/bot bursts, identical payloads, accidental clicks. */
export interface Cleaner {
  /**
   * Verdicts for events sorted by (t, id): `undefined` = kept, else the drop reason. Pure: the same
   * events and closed ids always give the same verdicts.
   */
  classify(events: readonly Ev[], closedIds: ReadonlyMap<string, number>): (string | undefined)[];
  /** How far ahead of an event (ms) its verdict may look; a verdict is final once the watermark is past t + this. */
  readonly lookaheadMs: number;
}

export function createCleaner(cfg: CoreConfig): Cleaner {
  const idStep = createEventIdDedupStep();
  // Called one by one (not through an array of steps) so that each call site sees one function:
  // V8 can inline it and drop its `{ type: 'ok', value }` result object.
  const botStep: CleanStep = createBotFilterStep({ radiusMs: cfg.burstRadiusMs, minEvents: cfg.burstMinEvents });
  const payloadStep: CleanStep = createPayloadDedupStep({ windowMs: cfg.payloadDedupMs });
  const accidentalStep: CleanStep = createAccidentalClickStep({ minDwellMs: cfg.accidentalDwellMs });
  return {
    lookaheadMs: Math.max(cfg.burstRadiusMs, cfg.accidentalDwellMs),
    classify(events, closedIds) {
      const verdicts: (string | undefined)[] = new Array<string | undefined>(events.length).fill(undefined);
      const times: number[] = [];
      const ctx: CleanContext = {
        events,
        index: 0,
        seenIds: new Set(),
        closedIds,
        lastByHash: new Map(),
        times,
      };
      for (let i = 0; i < events.length; i++) {
        const e = events[i] as Ev;
        ctx.index = i;
        const r = idStep(e, ctx);
        if (r.type === 'drop') verdicts[i] = r.reason;
        else times.push(e.t);
      }
      for (let i = 0; i < events.length; i++) {
        if (verdicts[i] !== undefined) continue;
        const e = events[i] as Ev;
        ctx.index = i;
        let r = botStep(e, ctx);
        if (r.type === 'ok') r = payloadStep(e, ctx);
        if (r.type === 'ok') r = accidentalStep(e, ctx);
        if (r.type === 'drop') verdicts[i] = r.reason;
      }
      return verdicts;
    },
  };
}
