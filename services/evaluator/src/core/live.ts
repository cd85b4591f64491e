/**
 * The live run (pure): each tenant's never-ending clickstream (run id `live`, `isLiveRun`). Its
 * persona updates are not accumulated: each one becomes one row of the ClickHouse table
 * `live_updates` ({@link liveUpdateRow}), and the per tenant per minute metrics are SQL over those
 * rows (adapters/live-sql.ts); {@link liveMinutes} and {@link liveTagDistribution} are the same
 * definitions in TypeScript (the in-memory sink, and the tests that hold the SQL to them).
 *
 * Ground truth that arrives for live users (truth records of run `live`) is kept per labelled user
 * ({@link LiveTruths}: bounded by the labelled users, never by the users seen), and every later update
 * of such a user is scored with the same code as a run's updates (tag score = mean over the update's
 * samples of the HPR-Bench tag score) into the row's `tag_score`.
 */
import type { GroundTruth, PersonaUpdate } from '@personastream/contracts';
import { type LabelSet, labelsFromTags, type ScoringDimension, updateSamples } from './metrics/labels.js';
import { freshnessMs, mean } from './metrics/stats.js';
import { userAvgAtK } from './metrics/tags.js';

/** One persona update of a live run: one row of `live_updates`. */
export interface LiveUpdateRow {
  tenant: string;
  user_id: string;
  persona_version: number;
  window_id: string;
  /** persona.updated_ms: the persona service's wall clock when it applied the window, epoch ms. */
  time_ms: number;
  /** Start of the minute of `time_ms`, epoch ms (the row's minute). */
  minute_ms: number;
  early: boolean;
  /** persona.updated_ms − update.first_entry_ms; null when first_entry_ms is unknown (0). */
  freshness_ms: number | null;
  /** Dimensions whose value set changed against the previous version. */
  flipped: number;
  /** Mean confidence of the persona's tags; null when it has none. */
  mean_confidence: number | null;
  /** The persona's tags, one entry per (dimension, value): parallel arrays. */
  tag_dimension: string[];
  tag_value: string[];
  tag_confidence: number[];
  /** Tag score against the user's live truth (HPR-Bench, mean over samples); null for unlabelled users. */
  tag_score: number | null;
  model: string;
}

export const MINUTE_MS = 60_000;

export function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

/**
 * The `live_updates` row of one (non-tombstone) live persona update; scored when the user's truth
 * is known (`truth`), on `dims`.
 */
export function liveUpdateRow(
  update: PersonaUpdate,
  truth?: LabelSet,
  dims: readonly ScoringDimension[] = [],
): LiveUpdateRow {
  const p = update.persona;
  if (!p) throw new Error('a live update row needs a persona');
  const tags = p.tags;
  return {
    tenant: p.tenant,
    user_id: p.userId,
    persona_version: p.version,
    window_id: update.windowId,
    time_ms: p.updatedMs,
    minute_ms: minuteOf(p.updatedMs),
    early: update.early,
    freshness_ms: freshnessMs(p.updatedMs, update.firstEntryMs),
    flipped: update.flipped,
    mean_confidence: tags.length > 0 ? mean(tags.map((t) => t.confidence)) : null,
    tag_dimension: tags.map((t) => t.dimension),
    tag_value: tags.map((t) => t.value),
    tag_confidence: tags.map((t) => t.confidence),
    tag_score: truth ? userAvgAtK(updateSamples(update), truth, dims) : null,
    model: p.model,
  };
}

/** A labelled live user's truth, and the record bytes it came from (to recognise a re-delivery). */
interface KeptTruth {
  labels: LabelSet;
  payload: Uint8Array;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Ground truth of live users, per tenant and labelled user. Bounded by the labelled users (one entry
 * each, whatever the number of users or updates seen); the latest truth of a user wins (labels can be
 * corrected), an identical one is a duplicate. Tenants are loaded lazily, at their first live record.
 */
export class LiveTruths {
  private readonly tenants = new Map<string, Map<string, KeptTruth>>();

  /** True when the tenant's truths are loaded (or it has been seen with none). */
  has(tenant: string): boolean {
    return this.tenants.has(tenant);
  }

  /** Marks a tenant as loaded (before its stored truths are set). */
  open(tenant: string): void {
    if (!this.tenants.has(tenant)) this.tenants.set(tenant, new Map());
  }

  /** True when exactly this truth (same record bytes) is kept for its user. */
  holds(truth: GroundTruth, payload: Uint8Array): boolean {
    const kept = this.tenants.get(truth.tenant)?.get(truth.userId);
    return kept !== undefined && sameBytes(kept.payload, payload);
  }

  /** Keeps a truth; false when the same truth (same bytes) is already kept. */
  set(truth: GroundTruth, payload: Uint8Array): boolean {
    this.open(truth.tenant);
    const users = this.tenants.get(truth.tenant) as Map<string, KeptTruth>;
    const kept = users.get(truth.userId);
    if (kept && sameBytes(kept.payload, payload)) return false;
    users.set(truth.userId, {
      labels: labelsFromTags(truth.tags),
      payload: new Uint8Array(payload),
    });
    return true;
  }

  /** Forgets a user's truth (an erasure). */
  forget(tenant: string, userId: string): void {
    this.tenants.get(tenant)?.delete(userId);
  }

  /** The user's labels, when the user is labelled. */
  labels(tenant: string, userId: string): LabelSet | undefined {
    return this.tenants.get(tenant)?.get(userId)?.labels;
  }

  /** Labelled users kept, over every tenant (the bound of this state). */
  get size(): number {
    let n = 0;
    for (const users of this.tenants.values()) n += users.size;
    return n;
  }
}

/** Per tenant per minute metrics of the live run (the same fields as the SQL in adapters/live-sql.ts). */
export interface LiveMinute {
  /** Start of the minute, epoch ms. */
  minute_ms: number;
  /** Persona updates in the minute. */
  updates: number;
  /** Distinct users updated in the minute. */
  users: number;
  /** Updates from early windows / updates. */
  early_share: number;
  /** Updates with flipped > 0 (a dimension's value set changed) / updates. */
  flip_rate: number;
  /** Mean over the minute's updates (those with tags) of each update's mean tag confidence. */
  mean_confidence: number | null;
  /** Updates with a known freshness. */
  freshness_count: number;
  /** ClickHouse `quantileExact` of freshness_ms: the value at index floor(p · n) of the sorted values. */
  freshness_p50_ms: number | null;
  freshness_p99_ms: number | null;
  /** Updates of labelled users (scored). */
  scored_updates: number;
  /** Mean tag score of the scored updates of the minute (the rolling score); null when none. */
  tag_score: number | null;
}

/** One tag value's share of a dimension among users (their latest update in the period). */
export interface LiveTagShare {
  /** Start of the minute, epoch ms; absent for a distribution over the whole range. */
  minute_ms?: number;
  dimension: string;
  value: string;
  /** Users whose latest update in the period carries the value. */
  users: number;
  /** users / users with any value of the dimension in the period. */
  share: number;
}

/** ClickHouse's `quantileExact(level)`: sorted[floor(level · n)] (clamped); null for no values. */
export function quantileExact(values: readonly number[], level: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(level * sorted.length))] as number;
}

/** Rows of one tenant whose minute is in [fromMs, toMs) (bounds in whole seconds, as the SQL binds them). */
function inRange(rows: readonly LiveUpdateRow[], tenant: string, fromMs: number, toMs: number): LiveUpdateRow[] {
  const from = Math.floor(fromMs / 1000) * 1000;
  const to = Math.floor(toMs / 1000) * 1000;
  return rows.filter((r) => r.tenant === tenant && r.minute_ms >= from && r.minute_ms < to);
}

/** Per minute metrics of one tenant's live rows whose minute is in [fromMs, toMs). */
export function liveMinutes(
  rows: readonly LiveUpdateRow[],
  tenant: string,
  fromMs: number,
  toMs: number,
): LiveMinute[] {
  const byMinute = new Map<number, LiveUpdateRow[]>();
  for (const r of inRange(rows, tenant, fromMs, toMs)) {
    const list = byMinute.get(r.minute_ms) ?? [];
    list.push(r);
    byMinute.set(r.minute_ms, list);
  }
  return [...byMinute.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([minute, list]) => {
      const fresh = list.flatMap((r) => (r.freshness_ms === null ? [] : [r.freshness_ms]));
      const conf = list.flatMap((r) => (r.mean_confidence === null ? [] : [r.mean_confidence]));
      const scores = list.flatMap((r) => (r.tag_score === null ? [] : [r.tag_score]));
      return {
        minute_ms: minute,
        updates: list.length,
        users: new Set(list.map((r) => r.user_id)).size,
        early_share: list.filter((r) => r.early).length / list.length,
        flip_rate: list.filter((r) => r.flipped > 0).length / list.length,
        mean_confidence: conf.length > 0 ? mean(conf) : null,
        freshness_count: fresh.length,
        freshness_p50_ms: quantileExact(fresh, 0.5),
        freshness_p99_ms: quantileExact(fresh, 0.99),
        scored_updates: scores.length,
        tag_score: scores.length > 0 ? mean(scores) : null,
      };
    });
}

/**
 * Tag value distribution per dimension: for each period (each minute when `perMinute`, else the
 * whole range), each user counts once with their latest update (highest persona version) of the
 * period; a value's share is its users / the users with any value of that dimension. Ordered by
 * minute, dimension, users descending, value.
 */
export function liveTagDistribution(
  rows: readonly LiveUpdateRow[],
  tenant: string,
  fromMs: number,
  toMs: number,
  perMinute = false,
): LiveTagShare[] {
  const latest = new Map<string, LiveUpdateRow>();
  for (const r of inRange(rows, tenant, fromMs, toMs)) {
    const key = `${perMinute ? r.minute_ms : ''}|${r.user_id}`;
    const prev = latest.get(key);
    if (!prev || r.persona_version > prev.persona_version) latest.set(key, r);
  }
  const counts = new Map<string, { minute: number; dimension: string; value: string; users: Set<string> }>();
  const dimUsers = new Map<string, Set<string>>();
  for (const r of latest.values()) {
    const minute = perMinute ? r.minute_ms : 0;
    r.tag_dimension.forEach((dimension, i) => {
      const value = r.tag_value[i] as string;
      const key = `${minute}|${dimension}|${value}`;
      const c = counts.get(key) ?? { minute, dimension, value, users: new Set<string>() };
      c.users.add(r.user_id);
      counts.set(key, c);
      const dk = `${minute}|${dimension}`;
      const d = dimUsers.get(dk) ?? new Set<string>();
      d.add(r.user_id);
      dimUsers.set(dk, d);
    });
  }
  return [...counts.values()]
    .map((c) => ({
      ...(perMinute ? { minute_ms: c.minute } : {}),
      dimension: c.dimension,
      value: c.value,
      users: c.users.size,
      share: c.users.size / (dimUsers.get(`${c.minute}|${c.dimension}`)?.size ?? 1),
    }))
    .sort(
      (a, b) =>
        (a.minute_ms ?? 0) - (b.minute_ms ?? 0) ||
        (a.dimension < b.dimension ? -1 : a.dimension > b.dimension ? 1 : 0) ||
        b.users - a.users ||
        (a.value < b.value ? -1 : a.value > b.value ? 1 : 0),
    );
}
