import { mulberry32 } from '@personastream/contracts';

/**
 * The pure part of the chaos run: which faults, when. Seeded: the same seed gives the same plan.
 *
 * Services are SIGKILLed and come back through the harness's supervisor (restart on exit, as
 * Kubernetes does). The private infrastructure's servers are SIGKILLed and restarted
 * (`restart_*`), or stopped with SIGSTOP and continued with SIGCONT after a few seconds (`pause_*`:
 * a network partition as the clients see it — connections stay open, nothing answers).
 */
export const SERVICE_KILLS = ['kill_ingest', 'kill_semantizer', 'kill_persona', 'kill_evaluator'] as const;
export const INFRA_FAULTS = [
  'restart_kafka',
  'restart_redis',
  'restart_clickhouse',
  'pause_redis',
  'pause_kafka',
] as const;
export const FAULT_KINDS = [...SERVICE_KILLS, ...INFRA_FAULTS] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
export type ServiceName = 'ingest' | 'semantizer' | 'persona' | 'evaluator';
export type InfraName = 'kafka' | 'redis' | 'clickhouse';

export interface Fault {
  kind: FaultKind;
  /** Seconds after the run's input started (a fault waits for the one before it to recover). */
  atS: number;
  /** For `pause_*`: how long the process stays stopped, s. */
  pauseS?: number;
}

export interface FaultPlanOptions {
  seed: number;
  /** Faults in all (at least one of every kind: `FAULT_KINDS.length`). */
  count: number;
  /** Faults are spread over [firstS, lastS]. */
  firstS: number;
  lastS: number;
  /** Longest pause, s (each pause lasts 2 s to this). */
  maxPauseS?: number;
}

/** What a fault acts on. */
export function targetOf(kind: FaultKind): { service: ServiceName } | { infra: InfraName } {
  const [verb, name] = kind.split('_') as [string, string];
  return verb === 'kill' ? { service: name as ServiceName } : { infra: name as InfraName };
}

/**
 * Every kind once, the rest service kills (the services are what restarts most often), in a seeded
 * order, at seeded times spread over [firstS, lastS] (sorted; one per equal slice of the span, so
 * the faults cover the whole run rather than bunching).
 */
export function faultPlan(o: FaultPlanOptions): Fault[] {
  if (!Number.isInteger(o.count) || o.count < FAULT_KINDS.length) {
    throw new Error(
      `chaos: --faults must be a whole number ≥ ${FAULT_KINDS.length} (one of every kind), got ${o.count}`,
    );
  }
  if (!(o.lastS > o.firstS && o.firstS >= 0)) {
    throw new Error(`chaos: the fault span must be 0 ≤ first < last, got [${o.firstS}, ${o.lastS}]`);
  }
  const random = mulberry32(o.seed >>> 0 || 1);
  const kinds: FaultKind[] = [...FAULT_KINDS];
  while (kinds.length < o.count) kinds.push(SERVICE_KILLS[Math.floor(random() * SERVICE_KILLS.length)] as FaultKind);
  // Fisher–Yates, seeded
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j] as FaultKind, kinds[i] as FaultKind];
  }
  const slice = (o.lastS - o.firstS) / kinds.length;
  const maxPause = Math.max(2, o.maxPauseS ?? 6);
  return kinds.map((kind, i) => {
    const atS = Number((o.firstS + slice * (i + random())).toFixed(2));
    const pauseS = kind.startsWith('pause_') ? Number((2 + random() * (maxPause - 2)).toFixed(2)) : undefined;
    return pauseS === undefined ? { kind, atS } : { kind, atS, pauseS };
  });
}

/** Counts by kind, every kind present (0 when none happened). */
export function countByKind(kinds: readonly FaultKind[]): Record<FaultKind, number> {
  const out = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  for (const k of kinds) out[k]++;
  return out;
}
