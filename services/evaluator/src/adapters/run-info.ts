import { runKey } from '@personastream/contracts';
import type { Baselines } from '../core/metrics/baselines.js';
import type { RunInfo } from '../core/run.js';

/** What a caller (the CLI) tells the evaluator about a run before it starts. */
export interface RunFacts {
  info?: RunInfo;
  baselines?: Baselines;
}

/**
 * Run facts the streams do not carry (seed, backend, stack, raw-input score, caller baselines), put
 * by the caller over HTTP before it publishes the run and used when the run completes; per (tenant,
 * run id). Kept in memory (the last `limit` runs): after an evaluator restart a run is still scored,
 * with the defaults.
 */
export class RunFactsStore {
  private readonly facts = new Map<string, RunFacts>();

  constructor(private readonly limit = 1000) {}

  set(tenant: string, runId: string, facts: RunFacts): void {
    const key = runKey(tenant, runId);
    this.facts.delete(key);
    this.facts.set(key, facts);
    while (this.facts.size > this.limit) this.facts.delete(this.facts.keys().next().value as string);
  }

  async info(tenant: string, runId: string): Promise<RunInfo> {
    return this.facts.get(runKey(tenant, runId))?.info ?? {};
  }

  async baselines(tenant: string, runId: string): Promise<Baselines> {
    return this.facts.get(runKey(tenant, runId))?.baselines ?? {};
  }
}
