import type { Baselines } from '../core/metrics/baselines.js';
import type { RunInfo } from '../core/run.js';

/** What a caller (the CLI) tells the evaluator about a run before it starts. */
export interface RunFacts {
  info?: RunInfo;
  baselines?: Baselines;
}

/**
 * Run facts the streams do not carry (seed, backend, stack, raw-input score, caller baselines), put
 * by the caller over HTTP before it publishes the run and used when the run completes. Kept in
 * memory: after an evaluator restart a run is still scored, with the defaults.
 */
export class RunFactsStore {
  private readonly facts = new Map<string, RunFacts>();

  constructor(private readonly limit = 1000) {}

  set(runId: string, facts: RunFacts): void {
    this.facts.delete(runId);
    this.facts.set(runId, facts);
    while (this.facts.size > this.limit) this.facts.delete(this.facts.keys().next().value as string);
  }

  async info(runId: string): Promise<RunInfo> {
    return this.facts.get(runId)?.info ?? {};
  }

  async baselines(runId: string): Promise<Baselines> {
    return this.facts.get(runId)?.baselines ?? {};
  }
}
