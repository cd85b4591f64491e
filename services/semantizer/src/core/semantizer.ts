import { type BehaviorEvent, partitionForKey, runKey, type SemantizedWindow, userKey } from '@personastream/contracts';
import { createValidateStep } from '../steps/validate.js';
import { type ClosedWindow, type CoreStats, emptyStats, type IngestOutcome, PartitionEngine } from './engine.js';
import { PathTable } from './path-table.js';
import { RawSizer } from './raw-size.js';
import { TaxonomyMapper } from './taxonomy.js';
import { TokenCounter } from './tokens.js';
import { type CoreConfig, defaultCoreConfig } from './types.js';

/**
 * The semantizer core over any number of partitions: one `PartitionEngine` per partition, shared
 * counters and tokenizer. The service drives it from Kafka batches; `semantizeEvents` drives it
 * from an iterable — the same code path.
 */
export class Semantizer {
  readonly config: CoreConfig;
  readonly stats: CoreStats = emptyStats();
  readonly tokens: TokenCounter | undefined;
  private readonly engines = new Map<number, PartitionEngine>();
  /** Raw-size caches and interned category paths, shared by this semantizer's engines. */
  private readonly shared: { sizer: RawSizer; paths: PathTable; taxonomy: TaxonomyMapper };

  constructor(config: Partial<CoreConfig> = {}) {
    this.config = { ...defaultCoreConfig, ...config };
    this.tokens = this.config.tokenizer === 'none' ? undefined : new TokenCounter(this.config.tokenizer);
    this.shared = {
      sizer: new RawSizer(this.tokens),
      paths: new PathTable(),
      taxonomy: new TaxonomyMapper(this.config.taxonomy),
    };
  }

  /** The engine of a partition (created empty when missing). */
  partition(p: number): PartitionEngine {
    let e = this.engines.get(p);
    if (!e) {
      e = this.newEngine();
      this.engines.set(p, e);
    }
    return e;
  }

  /** A fresh engine sharing this semantizer's config, counters and tokenizer. */
  newEngine(): PartitionEngine {
    return new PartitionEngine(this.config, this.stats, this.tokens, this.shared);
  }

  /** Replaces a partition's engine (restored from a checkpoint). */
  adopt(p: number, engine: PartitionEngine): void {
    this.engines.set(p, engine);
  }

  /** Forgets a partition's state (another instance owns it now). */
  release(p: number): void {
    this.engines.delete(p);
  }

  partitions(): number[] {
    return [...this.engines.keys()].sort((a, b) => a - b);
  }

  ingest(p: number, event: BehaviorEvent, out: ClosedWindow[], receivedMs = 0): IngestOutcome {
    return this.partition(p).ingest(event, out, receivedMs);
  }

  endOfRun(p: number, tenant: string, runId: string): { windows: ClosedWindow[]; records: number } {
    return this.partition(p).endOfRun(tenant, runId);
  }

  /** A processing-time tick of a partition (see `PartitionEngine.tick`). */
  tick(p: number, nowMs: number, out: ClosedWindow[]): void {
    this.partition(p).tick(nowMs, out);
  }
}

export interface SemantizeOptions extends Partial<CoreConfig> {
  /** Partitions the events are spread over, as on Kafka (default 4, `behavior.events.v1`). */
  partitions?: number;
}

export interface SemantizeStats extends CoreStats {
  /** Events that failed validation, by reason (the service sends them to the DLQ). */
  dlq: Record<string, number>;
  tokenizer: string;
  /** 1 − semantized bytes / raw bytes over all windows. */
  compressionBytes: number;
  /** 1 − semantized tokens / raw tokens over all windows (0 when tokens are not counted). */
  compressionTokens: number;
  /** Per user key: raw and semantized bytes and tokens, summed over the user's windows. */
  perUser: Record<string, { rawBytes: number; semantizedBytes: number; rawTokens: number; semantizedTokens: number }>;
}

/**
 * Semantizes a finite set of events (one or more runs) in one call: validation, then the very same
 * per-partition core as the service (events routed with `partitionForKey`, in the given order),
 * ending every run on every partition with an end-of-run flush. Windows come out partition by
 * partition, each in the order the service would produce them.
 */
export function semantizeEvents(
  events: Iterable<BehaviorEvent>,
  options: SemantizeOptions = {},
): { windows: SemantizedWindow[]; stats: SemantizeStats } {
  const { partitions = 4, ...core } = options;
  const semantizer = new Semantizer(core);
  const validate = createValidateStep();
  const dlq: Record<string, number> = {};
  const runs = new Map<string, { tenant: string; runId: string }>();
  const closed: ClosedWindow[][] = Array.from({ length: partitions }, () => []);
  // The previous event's user, partition and run: consecutive events are mostly one user's.
  let lastTenant: string | undefined;
  let lastUser: string | undefined;
  let lastRun: string | undefined;
  let lastRunTenant: string | undefined;
  let p = 0;
  for (const event of events) {
    const v = validate(event);
    if (v.type !== 'ok') {
      dlq[v.reason] = (dlq[v.reason] ?? 0) + 1;
      continue;
    }
    if (event.userId !== lastUser || event.tenant !== lastTenant) {
      p = partitionForKey(userKey(event.tenant, event.userId), partitions);
      lastUser = event.userId;
      lastTenant = event.tenant;
    }
    if (event.runId !== lastRun || event.tenant !== lastRunTenant) {
      runs.set(runKey(event.tenant, event.runId), { tenant: event.tenant, runId: event.runId });
      lastRun = event.runId;
      lastRunTenant = event.tenant;
    }
    semantizer.ingest(p, event, closed[p] as ClosedWindow[]);
  }
  for (const p of semantizer.partitions()) {
    const out = closed[p] as ClosedWindow[];
    for (const run of [...runs.values()].sort(byTenantThenRun))
      out.push(...semantizer.endOfRun(p, run.tenant, run.runId).windows);
    // the live run never ends: its users' windows close on processing time, here the end of time
    semantizer.tick(p, Number.POSITIVE_INFINITY, out);
  }
  const windows = closed.flat().map((c) => c.window);
  const perUser: SemantizeStats['perUser'] = {};
  for (const w of windows) {
    const k = userKey(w.tenant, w.userId);
    let u = perUser[k];
    if (!u) {
      u = { rawBytes: 0, semantizedBytes: 0, rawTokens: 0, semantizedTokens: 0 };
      perUser[k] = u;
    }
    u.rawBytes += w.compression?.rawBytes ?? 0;
    u.semantizedBytes += w.compression?.semantizedBytes ?? 0;
    u.rawTokens += w.compression?.rawTokens ?? 0;
    u.semantizedTokens += w.compression?.semantizedTokens ?? 0;
  }
  const s = semantizer.stats;
  return {
    windows,
    stats: {
      ...s,
      dropped: { ...s.dropped },
      dlq,
      tokenizer: semantizer.tokens?.name ?? 'none',
      compressionBytes: s.rawBytes > 0 ? 1 - s.semantizedBytes / s.rawBytes : 0,
      compressionTokens: s.rawTokens > 0 ? 1 - s.semantizedTokens / s.rawTokens : 0,
      perUser,
    },
  };
}

function byTenantThenRun(a: { tenant: string; runId: string }, b: { tenant: string; runId: string }): number {
  if (a.tenant !== b.tenant) return a.tenant < b.tenant ? -1 : 1;
  return a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0;
}
