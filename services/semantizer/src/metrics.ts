import { Counter, Gauge, Histogram, type Registry } from '@personastream/runtime';
import type { CoreStats } from './core/engine.js';

/** The core's running totals that counters follow. */
type CountKey = { [K in keyof CoreStats]: CoreStats[K] extends number ? K : never }[keyof CoreStats];

/** The semantizer's Prometheus metrics; `report` adds what the core counted since the last call. */
export function createSemantizerMetrics(registry: Registry) {
  const events = new Counter({
    name: 'semantizer_events_total',
    help: 'Valid behaviour events taken into windowing',
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'semantizer_dropped_total',
    help: 'Events dropped by cleaning, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  const dlq = new Counter({
    name: 'semantizer_dlq_total',
    help: 'Records sent to the dead-letter topic, by step and reason',
    labelNames: ['step', 'reason'],
    registers: [registry],
  });
  const late = new Counter({
    name: 'late_events_total',
    help: 'Events later than the allowed lateness (folded into the next window)',
    registers: [registry],
  });
  const windows = new Counter({ name: 'semantizer_windows_total', help: 'Windows produced', registers: [registry] });
  const rawBytes = new Counter({
    name: 'semantizer_raw_bytes_total',
    help: 'Raw bytes (canonical JSON lines) of windowed events, dropped ones included',
    registers: [registry],
  });
  const semBytes = new Counter({
    name: 'semantizer_semantized_bytes_total',
    help: 'Semantized bytes (UTF-8 window text) of produced windows',
    registers: [registry],
  });
  const rawTokens = new Counter({
    name: 'semantizer_raw_tokens_total',
    help: 'Raw tokens of windowed events',
    registers: [registry],
  });
  const semTokens = new Counter({
    name: 'semantizer_semantized_tokens_total',
    help: 'Tokens of produced window texts',
    registers: [registry],
  });
  const markers = new Counter({
    name: 'semantizer_end_of_run_total',
    help: 'End-of-run markers forwarded',
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: 'semantizer_batch_seconds',
    help: 'Time to handle one input batch, produce and checkpoint',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const ticks = new Counter({
    name: 'semantizer_ticks_total',
    help: 'Processing-time ticks consumed (live runs: idle windows close and early windows are written on ticks)',
    registers: [registry],
  });
  const early = new Counter({
    name: 'semantizer_early_windows_total',
    help: 'Early windows written (previews of live sessions in progress; superseded by their final window)',
    registers: [registry],
  });
  const idleClosed = new Counter({
    name: 'semantizer_idle_closed_total',
    help: 'Live users whose windows closed on processing time (quiet for gap + lateness)',
    registers: [registry],
  });
  const evicted = new Counter({
    name: 'semantizer_evicted_users_total',
    help: 'Live users whose state left memory for the idle store (compact facts)',
    registers: [registry],
  });
  const revived = new Counter({
    name: 'semantizer_revived_users_total',
    help: 'Live users brought back from the idle store when they returned',
    registers: [registry],
  });
  const erasures = new Counter({
    name: 'semantizer_erasures_total',
    help: "Erasure records applied: a user's state dropped on its partition and the user suppressed",
    registers: [registry],
  });
  const orphans = new Counter({
    name: 'semantizer_orphan_events_total',
    help: 'Dropped events that belong to no window (a user with nothing but noise)',
    registers: [registry],
  });
  const unmapped = new Counter({
    name: 'semantizer_unmapped_events_total',
    help: 'Engaged events of final windows whose category path (and product title) matched no taxonomy term (SemantizedWindow.unmapped)',
    registers: [registry],
  });
  const rollbacks = new Counter({
    name: 'semantizer_state_rollbacks_total',
    help: "Partition states found behind the group's committed offset (Redis lost checkpoint writes), by recovery: replay from the topic, or stopped (the records are gone)",
    labelNames: ['recovery'],
    registers: [registry],
  });
  const stateUsers = new Gauge({
    name: 'semantizer_state_users',
    help: 'Users with state in memory on the partitions this instance holds (all runs)',
    registers: [registry],
  });
  /** Each counter and the core's running total it follows. */
  const follows: [Counter, CountKey][] = [
    [events, 'events'],
    [late, 'late'],
    [windows, 'windows'],
    [rawBytes, 'rawBytes'],
    [semBytes, 'semantizedBytes'],
    [rawTokens, 'rawTokens'],
    [semTokens, 'semantizedTokens'],
    [early, 'early'],
    [idleClosed, 'idleClosed'],
    [evicted, 'evicted'],
    [revived, 'revived'],
    [erasures, 'erasures'],
    [orphans, 'orphanEvents'],
    [unmapped, 'unmapped'],
  ];
  let last: CoreStats | undefined;
  return {
    dlq,
    markers,
    rollbacks,
    batchSeconds,
    ticks,
    report(s: CoreStats, usersInMemory: number) {
      stateUsers.set(usersInMemory);
      const prev = last;
      for (const [counter, k] of follows) counter.inc(s[k] - (prev?.[k] ?? 0));
      for (const [reason, n] of Object.entries(s.dropped)) {
        const delta = n - (prev?.dropped[reason] ?? 0);
        if (delta > 0) dropped.inc({ reason }, delta);
      }
      last = { ...s, dropped: { ...s.dropped } };
    },
  };
}

export type SemantizerMetrics = ReturnType<typeof createSemantizerMetrics>;
