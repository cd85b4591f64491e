import { runKey } from '@personastream/contracts';
import type { Baselines } from '../core/metrics/baselines.js';
import type { RunInfo } from '../core/run.js';
import type { ClickHouseClient } from './clickhouse.js';
import { sql } from './sql.js';

/** What a caller (the CLI) tells the evaluator about a run before it starts. */
export interface RunFacts {
  info?: RunInfo;
  baselines?: Baselines;
}

/** The part of the ClickHouse client the store uses (table `run_facts`, migration 007). */
export type RunFactsDb = Pick<ClickHouseClient, 'insert' | 'query'>;

/**
 * Run facts the streams do not carry (seed, backend, stack, raw-input score, caller baselines), put
 * by the caller over HTTP before it publishes the run and used when the run completes; per (tenant,
 * run id). With a database (the service's ClickHouse) a put is durable before it is acknowledged,
 * so a restarted evaluator still has the facts of a run put before the restart; the last `limit`
 * runs are also kept in memory. Without one (tests, embedded), memory only.
 */
export class RunFactsStore {
  private readonly facts = new Map<string, RunFacts>();

  constructor(
    private readonly limit = 1000,
    private readonly db?: RunFactsDb,
  ) {}

  async set(tenant: string, runId: string, facts: RunFacts): Promise<void> {
    if (this.db) {
      await this.db.insert('run_facts', [
        { tenant, run_id: runId, written_ms: Date.now(), facts: JSON.stringify(facts) },
      ]);
    }
    this.remember(runKey(tenant, runId), facts);
  }

  async info(tenant: string, runId: string): Promise<RunInfo> {
    return (await this.get(tenant, runId))?.info ?? {};
  }

  async baselines(tenant: string, runId: string): Promise<Baselines> {
    return (await this.get(tenant, runId))?.baselines ?? {};
  }

  private remember(key: string, facts: RunFacts): void {
    this.facts.delete(key);
    this.facts.set(key, facts);
    while (this.facts.size > this.limit) this.facts.delete(this.facts.keys().next().value as string);
  }

  private async get(tenant: string, runId: string): Promise<RunFacts | undefined> {
    const key = runKey(tenant, runId);
    const known = this.facts.get(key);
    if (known || !this.db) return known;
    const [row] = await this.db.query<{ facts: string }>(
      sql`SELECT facts FROM run_facts FINAL WHERE tenant = ${tenant} AND run_id = ${runId} ORDER BY written_ms DESC LIMIT 1`,
    );
    if (!row) return undefined;
    const facts = JSON.parse(row.facts) as RunFacts;
    this.remember(key, facts);
    return facts;
  }
}
