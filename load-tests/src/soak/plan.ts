/**
 * The pure part of the live soak: who sends what when, and how the figures are summarised.
 *
 * Users arrive at `usersPerS` (user i at i / usersPerS seconds), each sends one session of
 * `eventsPerSession` events spread evenly over `sessionS` seconds, then never comes back. Users arrive
 * during [0, durationS − sessionS], so every session ends within the run: the rate ramps up over the
 * first session, holds at `usersPerS × eventsPerSession` events/s, and ramps down over the last.
 */

export interface SoakOptions {
  /** Steady events per second. */
  rate: number;
  /** Seconds of sending. */
  durationS: number;
  /** Seconds one user's session lasts. */
  sessionS: number;
  /** New users per second. */
  usersPerS: number;
}

export interface SoakPlan extends SoakOptions {
  eventsPerSession: number;
  /** Seconds between two events of a session. */
  spacingS: number;
  /** Users over the whole run. */
  users: number;
  /** Events over the whole run. */
  events: number;
  /** Users in a session at once, in the steady part. */
  concurrentUsers: number;
}

/** Checks the options and derives the schedule; errors name the option. */
export function soakPlan(o: SoakOptions): SoakPlan {
  const positive = (name: string, v: number) => {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`live-soak: --${name} must be a positive number (got ${v})`);
  };
  positive('rate', o.rate);
  positive('duration', o.durationS);
  positive('session-s', o.sessionS);
  positive('users-per-s', o.usersPerS);
  if (o.sessionS >= o.durationS) {
    throw new Error(`live-soak: --session-s (${o.sessionS}) must be shorter than --duration (${o.durationS})`);
  }
  const eventsPerSession = Math.max(1, Math.round(o.rate / o.usersPerS));
  const users = Math.floor((o.durationS - o.sessionS) * o.usersPerS) + 1;
  return {
    ...o,
    eventsPerSession,
    spacingS: eventsPerSession > 1 ? o.sessionS / (eventsPerSession - 1) : 0,
    users,
    events: users * eventsPerSession,
    concurrentUsers: Math.ceil(o.sessionS * o.usersPerS),
  };
}

/** Time of user `u`'s event `k`, seconds from the start. */
export function eventTimeS(plan: SoakPlan, u: number, k: number): number {
  return u / plan.usersPerS + k * plan.spacingS;
}

/** One event to send: user index and the event's index in the user's session. */
export interface DueEvent {
  user: number;
  k: number;
}

/**
 * The events due in (fromS, toS], in time order. Only users whose session overlaps the interval are
 * looked at, so each call costs what it returns plus the users in a session.
 */
export function dueEvents(plan: SoakPlan, fromS: number, toS: number): DueEvent[] {
  const out: Array<DueEvent & { t: number }> = [];
  const firstUser = Math.max(0, Math.floor((fromS - plan.sessionS) * plan.usersPerS) - 1);
  const lastUser = Math.min(plan.users - 1, Math.floor(toS * plan.usersPerS) + 1);
  for (let u = firstUser; u <= lastUser; u++) {
    for (let k = 0; k < plan.eventsPerSession; k++) {
      const t = eventTimeS(plan, u, k);
      if (t > toS) break;
      if (t > fromS || (fromS === 0 && t === 0)) out.push({ user: u, k, t });
    }
  }
  out.sort((a, b) => a.t - b.t || a.user - b.user);
  return out.map(({ user, k }) => ({ user, k }));
}

/** Users whose last event was sent at or after `sinceMs` (`lastSentMs[u]`, 0 = never). */
export function activeUsers(lastSentMs: Float64Array, sinceMs: number): number {
  let n = 0;
  for (const t of lastSentMs) if (t > 0 && t >= sinceMs) n++;
  return n;
}

/** The `p` quantile (0..1) of ascending values, nearest rank; null when empty. */
export function quantile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i] ?? null;
}

/** First, largest and last of a sampled series (nulls left out); nulls when nothing was sampled. */
export function startMaxEnd(series: ReadonlyArray<number | null>): {
  start: number | null;
  max: number | null;
  end: number | null;
} {
  const xs = series.filter((x): x is number => x !== null);
  if (xs.length === 0) return { start: null, max: null, end: null };
  const r = (x: number) => Math.round(x * 10) / 10;
  return { start: r(xs[0] as number), max: r(Math.max(...xs)), end: r(xs[xs.length - 1] as number) };
}

/** What the windows, the semantizer's counters and the DLQ account for of the accepted events. */
export interface Accounting {
  /** Σ event_count of final (non-provisional) windows, each window id once. */
  finalWindowEvents: number;
  /** Σ of the final windows' `dropped` values (events cleaning dropped). */
  dropped: number;
  /** `semantizer_orphan_events_total` (dropped events that belong to no window). */
  orphans: number;
  /** Records on the pipeline's dead-letter topic. */
  dlq: number;
}

export function accounted(a: Accounting): number {
  return a.finalWindowEvents + a.dropped + a.orphans + a.dlq;
}

/** A window's contribution, once per window id (redeliveries repeat windows). */
export class WindowTally {
  private readonly seen = new Set<string>();
  finalWindows = 0;
  earlyWindows = 0;
  finalWindowEvents = 0;
  dropped = 0;

  add(w: { windowId: string; provisional: boolean; eventCount: number; dropped: Record<string, number> }): void {
    if (w.provisional) {
      this.earlyWindows++;
      return;
    }
    if (this.seen.has(w.windowId)) return;
    this.seen.add(w.windowId);
    this.finalWindows++;
    this.finalWindowEvents += w.eventCount;
    for (const n of Object.values(w.dropped)) this.dropped += n;
  }
}

/** A Prometheus text exposition's value of `name` (summed over its label sets); null when absent. */
export function metricValue(text: string, name: string): number | null {
  let found = false;
  let sum = 0;
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'gm');
  for (const m of text.matchAll(re)) {
    found = true;
    sum += Number(m[1]);
  }
  return found ? sum : null;
}
