import type { CleanStep } from './context.js';

export interface PayloadDedupDeps {
  /** Identical payloads of one user within this many ms of the previous one are duplicates. */
  windowMs: number;
}

/**
 * De-duplication of identical payloads under different ids (client retries, double submits): an
 * event whose payload hash (everything but id and timestamps) equals an earlier event's of the same
 * user within `windowMs` is dropped as `duplicate_payload`. Chains are measured between neighbours.
 */
export function createPayloadDedupStep(deps: PayloadDedupDeps): CleanStep {
  return (e, ctx) => {
    const prev = ctx.lastByHash.get(e.h);
    ctx.lastByHash.set(e.h, e.t);
    if (prev !== undefined && e.t - prev <= deps.windowMs) return { type: 'drop', reason: 'duplicate_payload' };
    return { type: 'ok', value: e };
  };
}
