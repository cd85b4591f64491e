/**
 * Where run reports go: the `ScoreSink` port with a ClickHouse adapter (tables of
 * deploy/clickhouse/migrations) and an in-memory twin (embedded mode, fast tests). A sink also keeps
 * the evaluator's checkpoint (the records of unfinished runs), so the service can commit offsets
 * before a run completes without losing state on a restart. Runs are (tenant, run id) everywhere:
 * reports, checkpoints and reads take both. Live runs' updates go to `live_updates`, one row each
 * (`writeLiveUpdates`), and are read back as per minute metrics.
 */
import { createHash } from 'node:crypto';
import { DIMENSION_NAMES, runKey } from '@personastream/contracts';
import {
  type LiveMinute,
  type LiveTagShare,
  type LiveUpdateRow,
  liveMinutes,
  liveTagDistribution,
  MINUTE_MS,
} from '../core/live.js';
import type { DimensionScore } from '../core/metrics/classification.js';
import type { RunReport, StreamRole, UpdateRow, UserRow } from '../core/run.js';
import type { ClickHouseClient } from './clickhouse.js';
import { liveMinutesSql, liveTagDistributionSql, liveTenantsSql } from './live-sql.js';
import { ident, sql } from './sql.js';

/** A run as listed: the report without its per-dimension, per-user and per-update rows. */
export type RunSummary = Omit<
  RunReport,
  'tag_per_dimension' | 'dimensions' | 'convergence' | 'user_rows' | 'update_rows'
>;

/** One consumed record kept until its run is scored (protobuf bytes of the topic's record type). */
export interface CheckpointRecord {
  tenant: string;
  runId: string;
  /** Deterministic id: a re-delivered record replaces itself. */
  recordId: string;
  role: StreamRole;
  payload: Uint8Array;
}

export interface GetRunOptions {
  /** Include the per-update rows (default true; the dashboard skips them). */
  updates?: boolean;
}

/** A tenant with live updates: its latest update time. */
export interface LiveTenant {
  tenant: string;
  last_ms: number;
}

export interface ScoreSink {
  /** Stores a run's report (idempotent: writing the same run again replaces it). */
  writeRun(report: RunReport): Promise<void>;
  /** Runs (of one tenant when given), most recently completed first. */
  listRuns(limit?: number, tenant?: string): Promise<RunSummary[]>;
  /** A stored run of a tenant, rebuilt from what is stored; undefined when unknown. */
  getRun(tenant: string, runId: string, options?: GetRunOptions): Promise<RunReport | undefined>;
  /** Durably keeps records of a run until it is scored (idempotent by tenant, run and record id). */
  checkpoint(records: readonly CheckpointRecord[]): Promise<void>;
  /**
   * The checkpointed records of a tenant's run. May include records stored before runs were keyed
   * by tenant (tenant ''): the caller keeps those whose payload is of the tenant.
   */
  loadCheckpoint(tenant: string, runId: string): Promise<CheckpointRecord[]>;
  /** Stores live updates, one row each (idempotent: a re-delivered update replaces its row). */
  writeLiveUpdates(rows: readonly LiveUpdateRow[]): Promise<void>;
  /**
   * Erases a user: every row that names the user (scores, convergence, latency, live updates, the
   * checkpointed updates and truths) is deleted, and the erasure is recorded under a digest of the
   * user (`erasures`, read back by `erasures()`), never the id.
   */
  eraseUser(tenant: string, userId: string, erasedMs: number): Promise<void>;
  /** Recorded erasures: tenant, user digest (`userDigest`) and erasure time. */
  erasures(): Promise<ErasureRow[]>;
  /** Tenants with live updates whose minute is at or after `sinceMs`. */
  liveTenants(sinceMs: number): Promise<LiveTenant[]>;
  /** Per minute live metrics of a tenant, minutes in [fromMs, toMs). */
  liveMinutes(tenant: string, fromMs: number, toMs: number): Promise<LiveMinute[]>;
  /** Tag value distribution per dimension of a tenant's live users in [fromMs, toMs) (per minute when asked). */
  liveTags(tenant: string, fromMs: number, toMs: number, perMinute?: boolean): Promise<LiveTagShare[]>;
}

/** A recorded erasure (see `ScoreSink.eraseUser`). */
export interface ErasureRow {
  tenant: string;
  user_digest: string;
  erased_ms: number;
}

/** The digest an erasure is recorded under: a 128-bit SHA-256 prefix of `tenant/user_id` (hex). */
export function userDigest(tenant: string, userId: string): string {
  return createHash('sha256').update(`${tenant}/${userId}`).digest('hex').slice(0, 32);
}

/** Tables whose rows carry `tenant` and `user_id` (an erasure deletes the user's rows from each). */
export const USER_TABLES = ['user_scores', 'convergence', 'latency', 'live_updates'] as const;

const SUMMARY_OMIT = ['tag_per_dimension', 'dimensions', 'convergence', 'user_rows', 'update_rows'] as const;

function summaryOf(r: RunReport): RunSummary {
  const copy: Record<string, unknown> = { ...r };
  for (const k of SUMMARY_OMIT) delete copy[k];
  return copy as RunSummary;
}

/** Orders exactly as the accumulator does (user key, then version). */
function userKeyOf(r: { tenant: string; user_id: string }): string {
  return `${r.tenant}/${r.user_id}`;
}
function byUser<T extends { tenant: string; user_id: string }>(a: T, b: T): number {
  const ka = userKeyOf(a);
  const kb = userKeyOf(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
function byDimension(a: { dimension: string }, b: { dimension: string }): number {
  return DIMENSION_NAMES.indexOf(a.dimension as never) - DIMENSION_NAMES.indexOf(b.dimension as never);
}

/** The identity of a live row (the sorting key of `live_updates`). */
function liveRowId(r: LiveUpdateRow): string {
  return `${r.tenant}\u0000${r.minute_ms}\u0000${r.user_id}\u0000${r.persona_version}\u0000${r.window_id}`;
}

/**
 * In-memory sink (embedded mode, tests): stores deep copies, so callers see what was stored, not
 * their own objects. Live rows are kept as `live_updates` keeps them (one per identity, the latest
 * write wins) for `liveRetentionMs` before the newest row's minute (default 24 h), so embedded mode
 * stays bounded too.
 */
export class MemoryScoreSink implements ScoreSink {
  private readonly runs = new Map<string, RunReport>();
  private readonly inbox = new Map<string, Map<string, CheckpointRecord>>();
  private readonly live = new Map<string, LiveUpdateRow>();
  private readonly erased = new Map<string, ErasureRow>();
  private newestMinute = 0;
  /** Number of `writeRun` calls (tests check idempotence with it). */
  writes = 0;

  constructor(private readonly liveRetentionMs = 24 * 60 * MINUTE_MS) {}

  async writeRun(report: RunReport): Promise<void> {
    this.writes++;
    this.runs.set(runKey(report.tenant, report.run_id), structuredClone(report));
  }

  async listRuns(limit = 200, tenant?: string): Promise<RunSummary[]> {
    return [...this.runs.values()]
      .filter((r) => tenant === undefined || r.tenant === tenant)
      .sort(
        (a, b) =>
          b.completed_ms - a.completed_ms ||
          (a.run_id < b.run_id ? -1 : a.run_id > b.run_id ? 1 : a.tenant < b.tenant ? -1 : 1),
      )
      .slice(0, limit)
      .map((r) => structuredClone(summaryOf(r)));
  }

  async getRun(tenant: string, runId: string, options: GetRunOptions = {}): Promise<RunReport | undefined> {
    const r = this.runs.get(runKey(tenant, runId));
    if (!r) return undefined;
    const copy = structuredClone(r);
    if (options.updates === false) copy.update_rows = [];
    return copy;
  }

  async checkpoint(records: readonly CheckpointRecord[]): Promise<void> {
    for (const r of records) {
      const key = runKey(r.tenant, r.runId);
      let m = this.inbox.get(key);
      if (!m) {
        m = new Map();
        this.inbox.set(key, m);
      }
      m.set(r.recordId, { ...r, payload: new Uint8Array(r.payload) });
    }
  }

  async loadCheckpoint(tenant: string, runId: string): Promise<CheckpointRecord[]> {
    return [...(this.inbox.get(runKey(tenant, runId))?.values() ?? [])].map((r) => ({
      ...r,
      payload: new Uint8Array(r.payload),
    }));
  }

  async eraseUser(tenant: string, userId: string, erasedMs: number): Promise<void> {
    const mine = (r: { tenant: string; user_id: string }) => r.tenant === tenant && r.user_id === userId;
    for (const r of this.runs.values()) {
      r.user_rows = r.user_rows.filter((u) => !mine(u));
      r.update_rows = r.update_rows.filter((u) => !mine(u));
    }
    for (const [id, r] of this.live) if (mine(r)) this.live.delete(id);
    for (const m of this.inbox.values()) {
      for (const id of [...m.keys()]) if (isUserRecord(id, tenant, userId)) m.delete(id);
    }
    const d = userDigest(tenant, userId);
    this.erased.set(`${tenant}/${d}`, { tenant, user_digest: d, erased_ms: erasedMs });
  }

  async erasures(): Promise<ErasureRow[]> {
    return [...this.erased.values()].map((e) => ({ ...e }));
  }

  async writeLiveUpdates(rows: readonly LiveUpdateRow[]): Promise<void> {
    for (const r of rows) {
      this.live.set(liveRowId(r), structuredClone(r));
      this.newestMinute = Math.max(this.newestMinute, r.minute_ms);
    }
    const horizon = this.newestMinute - this.liveRetentionMs;
    for (const [id, r] of this.live) if (r.minute_ms < horizon) this.live.delete(id);
  }

  async liveTenants(sinceMs: number): Promise<LiveTenant[]> {
    const last = new Map<string, number>();
    for (const r of this.live.values()) {
      if (r.minute_ms >= Math.floor(sinceMs / 1000) * 1000)
        last.set(r.tenant, Math.max(last.get(r.tenant) ?? 0, r.time_ms));
    }
    return [...last.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([tenant, last_ms]) => ({ tenant, last_ms }));
  }

  async liveMinutes(tenant: string, fromMs: number, toMs: number): Promise<LiveMinute[]> {
    return liveMinutes([...this.live.values()], tenant, fromMs, toMs);
  }

  async liveTags(tenant: string, fromMs: number, toMs: number, perMinute = false): Promise<LiveTagShare[]> {
    return liveTagDistribution([...this.live.values()], tenant, fromMs, toMs, perMinute);
  }
}

type Row = Record<string, unknown>;
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
const bool = (v: unknown): boolean => num(v) === 1;
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
/** Non-finite numbers cannot be stored in Float64 JSON; they never occur in a report, but guard. */
const fin = (v: number): number => (Number.isFinite(v) ? v : 0);
const finOrNull = (v: number | null | undefined): number | null =>
  v === null || v === undefined || !Number.isFinite(v) ? null : v;

/** The ClickHouse sink (tables of deploy/clickhouse/migrations/). */
export class ClickHouseScoreSink implements ScoreSink {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly now: () => number = Date.now,
  ) {}

  async writeRun(r: RunReport): Promise<void> {
    const written_ms = this.now();
    const run_id = r.run_id;
    await this.client.insert(
      'user_scores',
      r.user_rows.map((u) => ({
        run_id,
        tenant: u.tenant,
        user_id: u.user_id,
        written_ms,
        split: u.split,
        scored: u.scored ? 1 : 0,
        has_truth: u.has_truth ? 1 : 0,
        has_persona: u.has_persona ? 1 : 0,
        tombstoned: u.tombstoned ? 1 : 0,
        persona_version: u.persona_version,
        windows_seen: u.windows_seen,
        events_seen: u.events_seen,
        updates: u.updates,
        tag_score: fin(u.tag_score),
        acc_ex: finOrNull(u.acc_ex),
        key_facts: u.key_facts,
        key_facts_stated: u.key_facts_stated,
        stated_facts: u.stated_facts,
        hallucinated_facts: u.hallucinated_facts,
        raw_bytes: u.raw_bytes,
        semantized_bytes: u.semantized_bytes,
        raw_tokens: u.raw_tokens,
        semantized_tokens: u.semantized_tokens,
        compression_bytes: finOrNull(u.compression_bytes),
        model: u.model,
        summary: u.summary,
      })),
    );
    await this.client.insert(
      'dimension_scores',
      r.dimensions.map((d) => ({
        tenant: r.tenant,
        run_id,
        dimension: d.dimension,
        written_ms,
        multi_valued: d.multi_valued ? 1 : 0,
        accuracy: fin(d.accuracy),
        macro_f1: fin(d.macro_f1),
        ece: finOrNull(d.ece),
        support: d.support,
        prior_accuracy: finOrNull(r.baselines.prior?.per_dimension?.[d.dimension]),
        raw_frequency_accuracy: finOrNull(r.baselines.raw_frequency?.per_dimension?.[d.dimension]),
        raw_items_accuracy: finOrNull(r.baselines.raw_items?.per_dimension?.[d.dimension]),
      })),
    );
    await this.client.insert(
      'convergence',
      r.update_rows.map((u) => ({
        run_id,
        tenant: u.tenant,
        user_id: u.user_id,
        persona_version: u.persona_version,
        written_ms,
        window_id: u.window_id,
        windows_seen: u.windows_seen,
        events_seen: u.events_seen,
        history_fraction: fin(u.history_fraction),
        bucket: fin(u.bucket),
        scored: u.tag_score === null ? 0 : 1,
        tag_score: fin(u.tag_score ?? 0),
        raw_bytes: u.raw_bytes,
        semantized_bytes: u.semantized_bytes,
      })),
    );
    await this.client.insert(
      'latency',
      r.update_rows
        .filter((u) => u.latency_ms !== null)
        .map((u) => ({
          run_id,
          tenant: u.tenant,
          user_id: u.user_id,
          persona_version: u.persona_version,
          written_ms,
          window_id: u.window_id,
          ingest_time_ms: u.ingest_time_ms,
          updated_ms: u.updated_ms,
          latency_ms: fin(u.latency_ms ?? 0),
        })),
    );
    // the run row last: a listed run always has its detail rows
    await this.client.insert('runs', [
      {
        run_id,
        tenant: r.tenant,
        written_ms,
        started_ms: fin(r.started_ms),
        completed_ms: fin(r.completed_ms),
        users: r.users,
        test_users: r.test_users,
        events: r.events,
        updates: r.updates,
        seed: r.seed,
        backend: r.backend,
        stack: r.stack,
        samples: r.samples,
        scored_split: r.scored_split,
        tag_avg_at_k: fin(r.tag_avg_at_k),
        acc_ex: fin(r.acc_ex),
        hallucination_rate: fin(r.hallucination_rate),
        calibration_ece: finOrNull(r.calibration_ece),
        compression_bytes: finOrNull(r.compression_bytes),
        compression_tokens: finOrNull(r.compression_tokens),
        retention: finOrNull(r.retention),
        retention_vs_unfiltered: finOrNull(r.retention_vs_unfiltered),
        prior_tag_avg_at_k: finOrNull(r.baselines.prior?.tag_avg_at_k),
        prior_acc_ex: finOrNull(r.baselines.prior?.acc_ex),
        raw_frequency_tag_avg_at_k: finOrNull(r.baselines.raw_frequency?.tag_avg_at_k),
        raw_frequency_acc_ex: finOrNull(r.baselines.raw_frequency?.acc_ex),
        raw_items_tag_avg_at_k: finOrNull(r.baselines.raw_items?.tag_avg_at_k),
        raw_items_acc_ex: finOrNull(r.baselines.raw_items?.acc_ex),
        raw_items_ece: finOrNull(r.baselines.raw_items?.ece),
        events_per_s: fin(r.events_per_s),
        wall_s: fin(r.wall_s),
        raw_bytes: r.raw_bytes,
        semantized_bytes: r.semantized_bytes,
        raw_tokens: r.raw_tokens,
        semantized_tokens: r.semantized_tokens,
        latency_count: r.latency.count,
        latency_mean_ms: fin(r.latency.mean_ms),
        latency_p50_ms: fin(r.latency.p50_ms),
        latency_p90_ms: fin(r.latency.p90_ms),
        latency_p99_ms: fin(r.latency.p99_ms),
        latency_max_ms: fin(r.latency.max_ms),
        freshness_p50_ms: finOrNull(r.freshness_p50_ms),
        freshness_p99_ms: finOrNull(r.freshness_p99_ms),
      },
    ]);
  }

  private static summaryFromRow(row: Row): RunSummary {
    const baselines: RunReport['baselines'] = {};
    if (row.prior_tag_avg_at_k !== null && row.prior_tag_avg_at_k !== undefined) {
      baselines.prior = { tag_avg_at_k: num(row.prior_tag_avg_at_k), acc_ex: num(row.prior_acc_ex ?? 0) };
    }
    if (row.raw_frequency_tag_avg_at_k !== null && row.raw_frequency_tag_avg_at_k !== undefined) {
      baselines.raw_frequency = {
        tag_avg_at_k: num(row.raw_frequency_tag_avg_at_k),
        acc_ex: num(row.raw_frequency_acc_ex ?? 0),
      };
    }
    if (row.raw_items_tag_avg_at_k !== null && row.raw_items_tag_avg_at_k !== undefined) {
      baselines.raw_items = {
        tag_avg_at_k: num(row.raw_items_tag_avg_at_k),
        acc_ex: num(row.raw_items_acc_ex ?? 0),
        ece: numOrNull(row.raw_items_ece),
      };
    }
    return {
      run_id: str(row.run_id),
      tenant: str(row.tenant),
      users: num(row.users),
      test_users: num(row.test_users),
      events: num(row.events),
      seed: numOrNull(row.seed),
      backend: str(row.backend),
      stack: str(row.stack),
      samples: num(row.samples),
      tag_avg_at_k: num(row.tag_avg_at_k),
      acc_ex: num(row.acc_ex),
      hallucination_rate: num(row.hallucination_rate),
      compression_bytes: numOrNull(row.compression_bytes),
      compression_tokens: numOrNull(row.compression_tokens),
      retention: numOrNull(row.retention),
      retention_vs_unfiltered: numOrNull(row.retention_vs_unfiltered),
      baselines,
      ece: numOrNull(row.calibration_ece),
      events_per_s: num(row.events_per_s),
      wall_s: num(row.wall_s),
      freshness_p50_ms: numOrNull(row.freshness_p50_ms),
      freshness_p99_ms: numOrNull(row.freshness_p99_ms),
      scored_split: str(row.scored_split) === 'all' ? 'all' : 'test',
      calibration_ece: numOrNull(row.calibration_ece),
      updates: num(row.updates),
      started_ms: num(row.started_ms),
      completed_ms: num(row.completed_ms),
      raw_bytes: num(row.raw_bytes),
      semantized_bytes: num(row.semantized_bytes),
      raw_tokens: num(row.raw_tokens),
      semantized_tokens: num(row.semantized_tokens),
      latency: {
        count: num(row.latency_count),
        mean_ms: num(row.latency_mean_ms),
        p50_ms: num(row.latency_p50_ms),
        p90_ms: num(row.latency_p90_ms),
        p99_ms: num(row.latency_p99_ms),
        max_ms: num(row.latency_max_ms),
      },
    };
  }

  async listRuns(limit = 200, tenant?: string): Promise<RunSummary[]> {
    const where = tenant === undefined ? sql`` : sql`WHERE tenant = ${tenant} `;
    const rows = await this.client.query<Row>(
      sql`SELECT * FROM runs FINAL ${where}ORDER BY completed_ms DESC, run_id, tenant LIMIT ${Math.max(1, Math.floor(limit))}`,
    );
    return rows.map((r) => ClickHouseScoreSink.summaryFromRow(r));
  }

  async getRun(tenant: string, runId: string, options: GetRunOptions = {}): Promise<RunReport | undefined> {
    const run = sql`run_id = ${runId} AND tenant = ${tenant}`;
    const [runRow] = await this.client.query<Row>(sql`SELECT * FROM runs FINAL WHERE ${run}`);
    if (!runRow) return undefined;
    const summary = ClickHouseScoreSink.summaryFromRow(runRow);
    const dimensionRows = await this.client.query<Row>(
      sql`SELECT dimension, multi_valued, accuracy, macro_f1, ece, support, prior_accuracy, raw_frequency_accuracy, raw_items_accuracy
          FROM dimension_scores FINAL WHERE ${run}`,
    );
    // each baseline's per-dimension scores, where the run stored them
    for (const [name, column] of [
      ['prior', 'prior_accuracy'],
      ['raw_frequency', 'raw_frequency_accuracy'],
      ['raw_items', 'raw_items_accuracy'],
    ] as const) {
      const b = summary.baselines[name];
      const known = dimensionRows.filter((d) => d[column] !== null && d[column] !== undefined);
      if (b && known.length > 0) {
        b.per_dimension = Object.fromEntries(
          known
            .map((d) => ({ dimension: str(d.dimension), value: num(d[column]) }))
            .sort(byDimension)
            .map((d) => [d.dimension, d.value]),
        );
      }
    }
    const dimensions = dimensionRows
      .map(
        (d): DimensionScore => ({
          dimension: str(d.dimension),
          multi_valued: bool(d.multi_valued),
          accuracy: num(d.accuracy),
          macro_f1: num(d.macro_f1),
          ece: numOrNull(d.ece),
          support: num(d.support),
        }),
      )
      .sort(byDimension);
    const users = (await this.client.query<Row>(sql`SELECT * FROM user_scores FINAL WHERE ${run}`))
      .map(
        (u): UserRow => ({
          tenant: str(u.tenant),
          user_id: str(u.user_id),
          split: str(u.split),
          scored: bool(u.scored),
          has_truth: bool(u.has_truth),
          has_persona: bool(u.has_persona),
          tombstoned: bool(u.tombstoned),
          persona_version: num(u.persona_version),
          windows_seen: num(u.windows_seen),
          events_seen: num(u.events_seen),
          updates: num(u.updates),
          tag_score: num(u.tag_score),
          acc_ex: numOrNull(u.acc_ex),
          key_facts: num(u.key_facts),
          key_facts_stated: num(u.key_facts_stated),
          stated_facts: num(u.stated_facts),
          hallucinated_facts: num(u.hallucinated_facts),
          raw_bytes: num(u.raw_bytes),
          semantized_bytes: num(u.semantized_bytes),
          raw_tokens: num(u.raw_tokens),
          semantized_tokens: num(u.semantized_tokens),
          compression_bytes: numOrNull(u.compression_bytes),
          model: str(u.model),
          summary: str(u.summary),
        }),
      )
      .sort(byUser);
    const convergence = (
      await this.client.query<Row>(
        sql`SELECT bucket, avg(tag_score) AS tag_score, count() AS points, uniqExact(tenant, user_id) AS users
            FROM convergence FINAL WHERE ${run} AND scored = 1
            GROUP BY bucket ORDER BY bucket`,
      )
    ).map((c) => ({ bucket: num(c.bucket), tag_score: num(c.tag_score), points: num(c.points), users: num(c.users) }));
    let updateRows: UpdateRow[] = [];
    if (options.updates !== false) {
      const lat = new Map<string, Row>();
      for (const l of await this.client.query<Row>(
        sql`SELECT tenant, user_id, persona_version, ingest_time_ms, updated_ms, latency_ms FROM latency FINAL WHERE ${run}`,
      )) {
        lat.set(`${str(l.tenant)}/${str(l.user_id)}#${num(l.persona_version)}`, l);
      }
      updateRows = (await this.client.query<Row>(sql`SELECT * FROM convergence FINAL WHERE ${run}`))
        .map((c): UpdateRow => {
          const l = lat.get(`${str(c.tenant)}/${str(c.user_id)}#${num(c.persona_version)}`);
          return {
            tenant: str(c.tenant),
            user_id: str(c.user_id),
            persona_version: num(c.persona_version),
            window_id: str(c.window_id),
            windows_seen: num(c.windows_seen),
            events_seen: num(c.events_seen),
            history_fraction: num(c.history_fraction),
            bucket: num(c.bucket),
            tag_score: bool(c.scored) ? num(c.tag_score) : null,
            ingest_time_ms: l ? num(l.ingest_time_ms) : 0,
            updated_ms: l ? num(l.updated_ms) : 0,
            latency_ms: l ? num(l.latency_ms) : null,
            raw_bytes: num(c.raw_bytes),
            semantized_bytes: num(c.semantized_bytes),
          };
        })
        .sort((a, b) => byUser(a, b) || a.persona_version - b.persona_version);
    }
    return {
      ...summary,
      tag_per_dimension: Object.fromEntries(dimensions.map((d) => [d.dimension, d.accuracy])),
      dimensions,
      convergence,
      user_rows: users,
      update_rows: updateRows,
    };
  }

  async checkpoint(records: readonly CheckpointRecord[]): Promise<void> {
    if (records.length === 0) return;
    const written_ms = this.now();
    await this.client.insert(
      'evaluator_inbox',
      records.map((r) => ({
        tenant: r.tenant,
        run_id: r.runId,
        record_id: r.recordId,
        written_ms,
        role: r.role,
        payload: Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength).toString('base64'),
      })),
    );
  }

  async loadCheckpoint(tenant: string, runId: string): Promise<CheckpointRecord[]> {
    // tenant '': rows checkpointed before runs were keyed by tenant (migration 003)
    const rows = await this.client.query<{ tenant: string; record_id: string; role: string; payload: string }>(
      sql`SELECT tenant, record_id, role, payload FROM evaluator_inbox FINAL WHERE run_id = ${runId} AND tenant IN (${tenant}, '')`,
    );
    return rows.map((r) => ({
      tenant: r.tenant,
      runId,
      recordId: r.record_id,
      role: r.role === 'truth' ? 'truth' : 'updates',
      payload: new Uint8Array(Buffer.from(r.payload, 'base64')),
    }));
  }

  /**
   * `ALTER TABLE … DELETE WHERE` mutations (ClickHouse ≥ 1.1.54388, so 18.16 and current ones alike;
   * asynchronous: the rows go as the server rewrites the parts that hold them, and rows inserted
   * afterwards are not touched — the evaluator erases after the user's earlier records of the batch
   * are written, and drops the user's older records that come later).
   */
  async eraseUser(tenant: string, userId: string, erasedMs: number): Promise<void> {
    for (const table of USER_TABLES) {
      await this.client.exec(sql`ALTER TABLE ${ident(table)} DELETE WHERE tenant = ${tenant} AND user_id = ${userId}`);
    }
    const update = `u|${tenant}/${userId}|`;
    await this.client.exec(
      sql`ALTER TABLE evaluator_inbox DELETE WHERE tenant IN (${tenant}, '') AND (record_id = ${`t|${tenant}/${userId}`} OR substring(record_id, 1, ${Buffer.byteLength(update)}) = ${update})`,
    );
    await this.client.insert('erasures', [
      { tenant, user_digest: userDigest(tenant, userId), erased_ms: Math.round(erasedMs) },
    ]);
  }

  async erasures(): Promise<ErasureRow[]> {
    const rows = await this.client.query<{ tenant: string; user_digest: string; erased_ms: string | number }>(
      sql`SELECT tenant, user_digest, max(erased_ms) AS erased_ms FROM erasures GROUP BY tenant, user_digest`,
    );
    return rows.map((r) => ({ tenant: r.tenant, user_digest: r.user_digest, erased_ms: Number(r.erased_ms) }));
  }

  async writeLiveUpdates(rows: readonly LiveUpdateRow[]): Promise<void> {
    if (rows.length === 0) return;
    const written_ms = this.now();
    await this.client.insert(
      'live_updates',
      rows.map((r) => ({
        tenant: r.tenant,
        minute: Math.floor(r.minute_ms / 1000), // DateTime from unix seconds (no time zone involved)
        user_id: r.user_id,
        persona_version: r.persona_version,
        window_id: r.window_id,
        written_ms,
        time_ms: fin(r.time_ms),
        early: r.early ? 1 : 0,
        freshness_ms: finOrNull(r.freshness_ms),
        flipped: r.flipped,
        mean_confidence: finOrNull(r.mean_confidence),
        tag_dimension: r.tag_dimension,
        tag_value: r.tag_value,
        tag_confidence: r.tag_confidence.map(fin),
        tag_score: finOrNull(r.tag_score),
        model: r.model,
      })),
    );
  }

  async liveTenants(sinceMs: number): Promise<LiveTenant[]> {
    return (await this.client.query<Row>(liveTenantsSql(sinceMs))).map((r) => ({
      tenant: str(r.tenant),
      last_ms: num(r.last_ms),
    }));
  }

  async liveMinutes(tenant: string, fromMs: number, toMs: number): Promise<LiveMinute[]> {
    return (await this.client.query<Row>(liveMinutesSql(tenant, fromMs, toMs))).map((r) => ({
      minute_ms: num(r.minute_ms),
      updates: num(r.updates),
      users: num(r.users),
      early_share: num(r.early_share),
      flip_rate: num(r.flip_rate),
      mean_confidence: numOrNull(r.avg_confidence),
      freshness_count: num(r.freshness_count),
      freshness_p50_ms: numOrNull(r.freshness_p50_ms),
      freshness_p99_ms: numOrNull(r.freshness_p99_ms),
      scored_updates: num(r.scored_updates),
      tag_score: numOrNull(r.avg_tag_score),
    }));
  }

  async liveTags(tenant: string, fromMs: number, toMs: number, perMinute = false): Promise<LiveTagShare[]> {
    return (await this.client.query<Row>(liveTagDistributionSql(tenant, fromMs, toMs, perMinute))).map((r) => ({
      ...(perMinute ? { minute_ms: num(r.minute_ms) } : {}),
      dimension: str(r.dimension),
      value: str(r.value),
      users: num(r.users),
      share: num(r.share),
    }));
  }
}

/** True when a checkpoint record id is one of the user's (an update `u|tenant/user|…` or the truth `t|tenant/user`). */
function isUserRecord(id: string, tenant: string, userId: string): boolean {
  return id === `t|${tenant}/${userId}` || id.startsWith(`u|${tenant}/${userId}|`);
}
