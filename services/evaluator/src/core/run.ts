/**
 * The run accumulator (pure): gathers one run's persona updates, ground truths and end-of-run
 * markers from the two topics (updates and truth), and computes the run's HPR-Bench report.
 *
 * - A run is (tenant, run id): an accumulator holds one tenant's run. Records of any other tenant
 *   (updates, truths and end-of-run markers alike) are refused, so nothing another tenant sends can
 *   complete or change it. The tenant is given (`options.tenant`) or taken from the first record.
 * - Completion: the run is complete when, for each of the two topics, it holds `totalPartitions`
 *   markers for distinct partitions.
 * - Idempotence: an update is identified by (user, persona version, tombstone), a truth by user, a
 *   marker by (topic, partition); a re-delivered record changes nothing, so the report is a pure
 *   function of the set of distinct records.
 * - Scoring: test-split users (`truth.split === 'test'`) by default, or every user with truth. A
 *   user with truth but no persona (or an erased one) scores 0 — never skipped.
 */
import { type EndOfRun, type GroundTruth, type PersonaUpdate, splitOf } from '@personastream/contracts';
import { DeterministicFactExtractor, type FactExtractor, type FactRef } from './facts.js';
import { type BaselineScore, type Baselines, fitPrior, priorPrediction, scoreBaseline } from './metrics/baselines.js';
import { type DimensionScore, overallCalibrationError, perDimensionScores } from './metrics/classification.js';
import { compression, retention } from './metrics/compression.js';
import { CONVERGENCE_BUCKETS, type ConvergencePoint, convergenceCurve, historyBucket } from './metrics/convergence.js';
import {
  type LabelSet,
  labelsFromTags,
  type ScoringDimension,
  scoringDimensions,
  updateSamples,
} from './metrics/labels.js';
import { freshnessMs, type LatencyPercentiles, latencyPercentiles, mean, percentileOrNull } from './metrics/stats.js';
import { accEx, countHallucinations, hallucinationRate } from './metrics/summary.js';
import { userAvgAtK } from './metrics/tags.js';

/** Which of the evaluator's two input topics a record came from. */
export type StreamRole = 'updates' | 'truth';

export interface AccumulatorOptions {
  /** The run's tenant; records of other tenants are refused. Default: the tenant of the first record. */
  tenant?: string;
  /** Score every user with truth instead of the test split only (small demos). Default false. */
  scoreAllUsers?: boolean;
  /** Score sensitive dimensions (tenant switched them on). Default false: excluded everywhere. */
  includeSensitive?: boolean;
  /** Dimensions the truth labels (datasets may label a subset). Default: every enabled dimension. */
  labeledDimensions?: readonly string[];
  /** Fact extractor for Acc_Ex and hallucinations. Default: the deterministic one for the dimensions. */
  extractor?: FactExtractor;
  /** Convergence buckets (deciles of history by default). */
  buckets?: number;
  /** Stack name reported when the caller gives none (e.g. "local"). */
  stack?: string;
}

/** What the caller knows about a run that the streams do not carry. */
export interface RunInfo {
  seed?: number | null;
  backend?: string;
  stack?: string;
  /** Raw events of the run (default: Σ events seen by the users' final personas). */
  events?: number;
  /** Wall time of the run, seconds (default: `started_ms`, else the first ingest time → last update marker). */
  wall_s?: number;
  /** When the run started (wall clock, epoch ms), e.g. when the caller began publishing it. */
  started_ms?: number;
  /**
   * Tag Avg@k of the same backend on less-filtered semantized input, for `retention_vs_unfiltered`
   * (null: unavailable).
   */
  raw_tag_avg_at_k?: number | null;
  /**
   * Dimensions the run's truth labels (a real dataset labels a subset, e.g. MovieLens: age_band,
   * gender, occupation_group): only these are scored, intersected with the accumulator's own.
   */
  labeled_dimensions?: readonly string[];
}

/** Extra inputs of {@link RunAccumulator.report}. */
export interface ReportInputs {
  /** Baselines from the caller (override the accumulator's own `prior`). */
  baselines?: Baselines;
  info?: RunInfo;
  /** Stated facts per user key (`tenant/user_id`) from an LLM judge; others use the extractor. */
  statedFacts?: ReadonlyMap<string, readonly FactRef[]>;
}

/** One user's final scores. */
export interface UserRow {
  tenant: string;
  user_id: string;
  split: string;
  scored: boolean;
  has_truth: boolean;
  has_persona: boolean;
  tombstoned: boolean;
  persona_version: number;
  windows_seen: number;
  events_seen: number;
  updates: number;
  /** Mean tag score over the final persona's k samples (0 without persona or truth). */
  tag_score: number;
  /** Null when the truth has no key fact on a scored dimension (or there is no truth). */
  acc_ex: number | null;
  key_facts: number;
  key_facts_stated: number;
  stated_facts: number;
  hallucinated_facts: number;
  raw_bytes: number;
  semantized_bytes: number;
  raw_tokens: number;
  semantized_tokens: number;
  compression_bytes: number | null;
  model: string;
  summary: string;
}

/** One persona update: convergence point and pipeline latency. */
export interface UpdateRow {
  tenant: string;
  user_id: string;
  persona_version: number;
  window_id: string;
  windows_seen: number;
  events_seen: number;
  /** windows_seen / the user's final windows_seen. */
  history_fraction: number;
  bucket: number;
  /** Tag score of this update (mean over its samples); null when the user is not scored. */
  tag_score: number | null;
  /**
   * Wall clock at which the window's newest event entered the pipeline (`PersonaUpdate.ingest_time_ms`,
   * from the window record's `ps-entry-ms` header), epoch ms; 0 unknown. See README, "Pipeline latency".
   */
  ingest_time_ms: number;
  updated_ms: number;
  /** updated_ms − ingest_time_ms; null when either is unknown. */
  latency_ms: number | null;
  raw_bytes: number;
  semantized_bytes: number;
}

/**
 * A run's report. The HPR-BENCH.md §5 contract fields come first (snake_case, as printed by
 * `personastream bench --json`); see {@link reportContract} for exactly those.
 */
export interface RunReport {
  run_id: string;
  tenant: string;
  users: number;
  test_users: number;
  events: number;
  seed: number | null;
  backend: string;
  stack: string;
  samples: number;
  tag_avg_at_k: number;
  tag_per_dimension: Record<string, number>;
  acc_ex: number;
  hallucination_rate: number;
  compression_bytes: number | null;
  compression_tokens: number | null;
  /** tag_avg_at_k / baselines.raw_items.tag_avg_at_k (the raw-events reference learner); null without it. */
  retention: number | null;
  /** tag_avg_at_k / the same backend's tag score on less-filtered semantized input (the old `retention`). */
  retention_vs_unfiltered: number | null;
  baselines: Baselines;
  /**
   * Expected calibration error of the reported confidences: 10 equal-width bins over [0, 1]; one
   * prediction = one predicted value (single-valued: the value, multi-valued: each value) of a scored
   * dimension in a sample of a scored user's final persona, weighted 1/k; correct = the value is in
   * the truth. Null when no prediction reports a confidence. Same as `calibration_ece`.
   */
  ece: number | null;
  events_per_s: number;
  wall_s: number;
  /**
   * Freshness percentiles (nearest rank) over the run's updates of persona.updated_ms −
   * update.first_entry_ms, for updates whose first_entry_ms is known (> 0); null when none is.
   */
  freshness_p50_ms: number | null;
  freshness_p99_ms: number | null;
  // beyond the contract
  scored_split: 'test' | 'all';
  calibration_ece: number | null;
  updates: number;
  started_ms: number;
  completed_ms: number;
  raw_bytes: number;
  semantized_bytes: number;
  raw_tokens: number;
  semantized_tokens: number;
  latency: LatencyPercentiles;
  dimensions: DimensionScore[];
  convergence: ConvergencePoint[];
  user_rows: UserRow[];
  update_rows: UpdateRow[];
}

/** The §5 contract fields of a report (what `bench --json` prints), plus the run id. */
export function reportContract(r: RunReport) {
  return {
    run_id: r.run_id,
    users: r.users,
    test_users: r.test_users,
    events: r.events,
    seed: r.seed,
    backend: r.backend,
    stack: r.stack,
    samples: r.samples,
    tag_avg_at_k: r.tag_avg_at_k,
    tag_per_dimension: r.tag_per_dimension,
    acc_ex: r.acc_ex,
    hallucination_rate: r.hallucination_rate,
    compression_bytes: r.compression_bytes,
    compression_tokens: r.compression_tokens,
    retention: r.retention,
    retention_vs_unfiltered: r.retention_vs_unfiltered,
    baselines: r.baselines,
    ece: r.ece,
    events_per_s: r.events_per_s,
    wall_s: r.wall_s,
    freshness_p50_ms: r.freshness_p50_ms,
    freshness_p99_ms: r.freshness_p99_ms,
  };
}

interface UpdatePoint {
  version: number;
  tombstone: boolean;
  windowId: string;
  windowsSeen: number;
  eventsSeen: number;
  samples: LabelSet[];
  rawBytes: number;
  semBytes: number;
  rawTokens: number;
  semTokens: number;
  ingestTimeMs: number;
  firstEntryMs: number;
  updatedMs: number;
  summary: string;
  model: string;
}

interface TruthState {
  labels: LabelSet;
  keyFacts: FactRef[];
  split: string;
}

interface UserState {
  tenant: string;
  userId: string;
  truth?: TruthState;
  updates: Map<string, UpdatePoint>;
}

export interface RunProgress {
  runId: string;
  users: number;
  truths: number;
  updates: number;
  markers: Record<StreamRole, { received: number[]; total: number }>;
  complete: boolean;
}

const ROLES: readonly StreamRole[] = ['updates', 'truth'];

export class RunAccumulator {
  private readonly users = new Map<string, UserState>();
  private readonly markers: Record<StreamRole, Map<number, EndOfRun>> = { updates: new Map(), truth: new Map() };
  private readonly dims: ScoringDimension[];
  private readonly extractor: FactExtractor;
  private tenant: string;
  private updateCount = 0;

  constructor(
    readonly runId: string,
    private readonly options: AccumulatorOptions = {},
  ) {
    this.tenant = options.tenant ?? '';
    this.dims = scoringDimensions({
      includeSensitive: options.includeSensitive ?? false,
      ...(options.labeledDimensions ? { labeled: options.labeledDimensions } : {}),
    });
    this.extractor =
      options.extractor ?? new DeterministicFactExtractor({ includeSensitive: options.includeSensitive ?? false });
  }

  /** Scored dimensions of this run. */
  get dimensions(): readonly ScoringDimension[] {
    return this.dims;
  }

  /** Scored dimensions of a report: the accumulator's, narrowed to the run's labelled ones when given. */
  private dimsOf(info: RunInfo): ScoringDimension[] {
    const labeled = info.labeled_dimensions;
    if (!labeled) return this.dims;
    return this.dims.filter((d) => labeled.includes(d.name));
  }

  /** True when a record of `tenant` belongs to this run (binding the run to it when not bound yet). */
  private owns(tenant: string): boolean {
    if (this.tenant === '') this.tenant = tenant;
    return tenant === this.tenant;
  }

  private user(tenant: string, userId: string): UserState {
    const key = `${tenant}/${userId}`;
    let u = this.users.get(key);
    if (!u) {
      u = { tenant, userId, updates: new Map() };
      this.users.set(key, u);
    }
    return u;
  }

  /** Forgets everything of a user (an erasure): updates and truth; true when the run held any. */
  forgetUser(tenant: string, userId: string): boolean {
    if (tenant !== this.tenant) return false;
    return this.users.delete(`${tenant}/${userId}`);
  }

  /** Adds a persona update; returns false for a duplicate (or an update without persona, or of another tenant). */
  addUpdate(update: PersonaUpdate): boolean {
    const p = update.persona;
    if (!p || p.userId === '') return false;
    if (!this.owns(p.tenant)) return false;
    const u = this.user(p.tenant, p.userId);
    const id = `${p.version}|${update.tombstone ? 't' : 'u'}`;
    if (u.updates.has(id)) return false;
    u.updates.set(id, {
      version: p.version,
      tombstone: update.tombstone,
      windowId: update.windowId,
      windowsSeen: p.windowsSeen,
      eventsSeen: p.eventsSeen,
      samples: update.tombstone ? [] : updateSamples(update),
      rawBytes: update.rawBytes,
      semBytes: update.semantizedBytes,
      rawTokens: update.rawTokens,
      semTokens: update.semantizedTokens,
      ingestTimeMs: update.ingestTimeMs,
      firstEntryMs: update.firstEntryMs,
      updatedMs: p.updatedMs,
      summary: update.tombstone ? '' : p.summary,
      model: p.model,
    });
    this.updateCount++;
    return true;
  }

  /** Adds a user's ground truth; returns false when the user's truth is already known (or of another tenant). */
  addTruth(truth: GroundTruth): boolean {
    if (truth.userId === '') return false;
    if (!this.owns(truth.tenant)) return false;
    const u = this.user(truth.tenant, truth.userId);
    if (u.truth) return false;
    u.truth = {
      labels: labelsFromTags(truth.tags),
      keyFacts: truth.keyFacts.map((f) => ({ dimension: f.dimension, value: f.value })),
      split: truth.split || splitOf(truth.userId),
    };
    return true;
  }

  /** Adds an end-of-run marker read from one of the two topics; false for a duplicate (or another tenant's). */
  addMarker(role: StreamRole, marker: EndOfRun): boolean {
    if (!this.owns(marker.tenant)) return false;
    const m = this.markers[role];
    if (m.has(marker.partition)) return false;
    m.set(marker.partition, marker);
    return true;
  }

  /** True when both topics delivered a marker for each of their partitions. */
  isComplete(): boolean {
    return ROLES.every((role) => {
      const m = this.markers[role];
      const total = this.totalPartitions(role);
      if (total <= 0) return false;
      for (let p = 0; p < total; p++) if (!m.has(p)) return false;
      return true;
    });
  }

  private totalPartitions(role: StreamRole): number {
    let total = 0;
    for (const m of this.markers[role].values()) total = Math.max(total, m.totalPartitions);
    return total;
  }

  progress(): RunProgress {
    let truths = 0;
    for (const u of this.users.values()) if (u.truth) truths++;
    const markers = Object.fromEntries(
      ROLES.map((role) => [
        role,
        { received: [...this.markers[role].keys()].sort((a, b) => a - b), total: this.totalPartitions(role) },
      ]),
    ) as RunProgress['markers'];
    return {
      runId: this.runId,
      users: this.users.size,
      truths,
      updates: this.updateCount,
      markers,
      complete: this.isComplete(),
    };
  }

  /** Summaries that still need stated facts (for an LLM judge): user key → summary. */
  summaries(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [key, u] of this.users) {
      const latest = latestUpdate(u);
      if (latest && !latest.tombstone && u.truth) out.set(key, latest.summary);
    }
    return out;
  }

  /** Computes the report from everything received so far. Pure: same records → same report. */
  report(inputs: ReportInputs = {}): RunReport {
    const info = inputs.info ?? {};
    const dims = this.dimsOf(info);
    const dimNames = new Set(dims.map((d) => d.name));
    const scoreAll = this.options.scoreAllUsers ?? false;
    const buckets = this.options.buckets ?? CONVERGENCE_BUCKETS;

    const userRows: UserRow[] = [];
    const updateRows: UpdateRow[] = [];
    const scoredInputs: Array<{ truth: LabelSet; samples: LabelSet[] }> = [];
    const scoredKeyFacts: FactRef[][] = [];
    const hallucinations: Array<{ stated: number; contradicting: number }> = [];
    const accs: number[] = [];
    const trainTruths: LabelSet[] = [];
    const sizes = { raw: 0, sem: 0, rawT: 0, semT: 0 };
    const models = new Map<string, number>();
    let events = 0;
    let maxSamples = 0;
    const freshness: number[] = [];
    let startMs = Number.POSITIVE_INFINITY;
    let lastUpdateMs = 0;

    for (const key of [...this.users.keys()].sort()) {
      const u = this.users.get(key) as UserState;
      const truth = u.truth;
      const split = truth?.split ?? splitOf(u.userId);
      const scored = truth !== undefined && (scoreAll || truth.split === 'test');
      if (truth && truth.split === 'train') trainTruths.push(truth.labels);
      const points = [...u.updates.values()].sort((a, b) => a.version - b.version || (a.tombstone ? 1 : -1));
      const latest = points[points.length - 1];
      const live = points.filter((p) => !p.tombstone);
      const hasPersona = latest !== undefined && !latest.tombstone;
      const samples = hasPersona ? latest.samples : [];
      const totalWindows = Math.max(0, ...live.map((p) => p.windowsSeen));

      let userRaw = 0;
      let userSem = 0;
      let userRawT = 0;
      let userSemT = 0;
      for (const p of live) {
        userRaw += p.rawBytes;
        userSem += p.semBytes;
        userRawT += p.rawTokens;
        userSemT += p.semTokens;
        if (p.ingestTimeMs > 0) startMs = Math.min(startMs, p.ingestTimeMs);
        lastUpdateMs = Math.max(lastUpdateMs, p.updatedMs);
        const latency = p.ingestTimeMs > 0 && p.updatedMs > 0 ? p.updatedMs - p.ingestTimeMs : null;
        const fresh = freshnessMs(p.updatedMs, p.firstEntryMs);
        if (fresh !== null) freshness.push(fresh);
        updateRows.push({
          tenant: u.tenant,
          user_id: u.userId,
          persona_version: p.version,
          window_id: p.windowId,
          windows_seen: p.windowsSeen,
          events_seen: p.eventsSeen,
          history_fraction: totalWindows > 0 ? p.windowsSeen / totalWindows : 1,
          bucket: historyBucket(p.windowsSeen, totalWindows, buckets),
          tag_score: scored && truth ? userAvgAtK(p.samples, truth.labels, dims) : null,
          ingest_time_ms: p.ingestTimeMs,
          updated_ms: p.updatedMs,
          latency_ms: latency,
          raw_bytes: p.rawBytes,
          semantized_bytes: p.semBytes,
        });
      }
      sizes.raw += userRaw;
      sizes.sem += userSem;
      sizes.rawT += userRawT;
      sizes.semT += userSemT;
      if (hasPersona) {
        events += latest.eventsSeen;
        if (latest.model) models.set(latest.model, (models.get(latest.model) ?? 0) + 1);
      }

      const keyFacts = (truth?.keyFacts ?? []).filter((f) => dimNames.has(f.dimension));
      const stated: readonly FactRef[] = hasPersona
        ? (inputs.statedFacts?.get(key) ?? this.extractor.extract(latest.summary))
        : [];
      const statedOnDims = stated.filter((f) => dimNames.has(f.dimension));
      const statedIds = new Set(statedOnDims.map((f) => `${f.dimension}\u0000${f.value}`));
      const keyIds = new Set(keyFacts.map((f) => `${f.dimension}\u0000${f.value}`));
      const acc = truth ? accEx(keyFacts, statedOnDims) : null;
      const hall = truth ? countHallucinations(statedOnDims, truth.labels, dims) : { stated: 0, contradicting: 0 };
      const tag = truth ? userAvgAtK(samples, truth.labels, dims) : 0;

      if (scored && truth) {
        scoredInputs.push({ truth: truth.labels, samples });
        scoredKeyFacts.push(keyFacts);
        hallucinations.push(hall);
        if (acc !== null) accs.push(acc);
        maxSamples = Math.max(maxSamples, samples.length);
      }
      userRows.push({
        tenant: u.tenant,
        user_id: u.userId,
        split,
        scored,
        has_truth: truth !== undefined,
        has_persona: hasPersona,
        tombstoned: latest?.tombstone ?? false,
        persona_version: latest?.version ?? 0,
        windows_seen: hasPersona ? latest.windowsSeen : 0,
        events_seen: hasPersona ? latest.eventsSeen : 0,
        updates: live.length,
        tag_score: tag,
        acc_ex: acc,
        key_facts: keyIds.size,
        key_facts_stated: [...keyIds].filter((k) => statedIds.has(k)).length,
        stated_facts: hall.stated,
        hallucinated_facts: hall.contradicting,
        raw_bytes: userRaw,
        semantized_bytes: userSem,
        raw_tokens: userRawT,
        semantized_tokens: userSemT,
        compression_bytes: compression([{ raw: userRaw, semantized: userSem }]),
        model: latest?.model ?? '',
        summary: hasPersona ? latest.summary : '',
      });
    }

    const dimensions = perDimensionScores(scoredInputs, dims);
    const tagAvg = mean(scoredInputs.map((s) => userAvgAtK(s.samples, s.truth, dims)));

    // the accumulator's own prior baseline: fitted on the run's train-split truths
    const baselines: Baselines = {};
    if (trainTruths.length > 0 && scoredInputs.length > 0) {
      const prior = priorPrediction(fitPrior(trainTruths, dims));
      const score: BaselineScore = scoreBaseline(
        scoredInputs.map((s, i) => ({ truth: s.truth, keyFacts: scoredKeyFacts[i] ?? [], prediction: prior })),
        dims,
        this.extractor,
      );
      baselines.prior = score;
    }
    Object.assign(baselines, inputs.baselines ?? {});

    const markerTimes = [...this.markers.updates.values()].map((m) => m.producedTimeMs).filter((t) => t > 0);
    const truthMarkerTimes = [...this.markers.truth.values()].map((m) => m.producedTimeMs).filter((t) => t > 0);
    const completedMs = Math.max(0, lastUpdateMs, ...markerTimes, ...truthMarkerTimes);
    const started =
      info.started_ms ?? (Number.isFinite(startMs) ? startMs : Math.min(completedMs, ...truthMarkerTimes));
    const wallS = info.wall_s ?? Math.max(0, (completedMs - started) / 1000);
    const eventCount = info.events ?? events;
    const topModel = [...models.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];

    const convergence = convergenceCurve(
      updateRows
        .filter((r) => r.tag_score !== null)
        .map((r) => ({ userId: `${r.tenant}/${r.user_id}`, bucket: r.bucket, tagScore: r.tag_score as number })),
    );
    const calibration = overallCalibrationError(scoredInputs, dims);
    const latencies = updateRows.flatMap((r) => (r.latency_ms === null ? [] : [r.latency_ms]));

    return {
      run_id: this.runId,
      tenant: this.tenant,
      users: this.users.size,
      test_users: scoredInputs.length,
      events: eventCount,
      seed: info.seed ?? null,
      backend: info.backend ?? topModel ?? 'unknown',
      stack: info.stack ?? this.options.stack ?? 'unknown',
      samples: maxSamples,
      tag_avg_at_k: tagAvg,
      tag_per_dimension: Object.fromEntries(dimensions.map((d) => [d.dimension, d.accuracy])),
      acc_ex: mean(accs),
      hallucination_rate: hallucinationRate(hallucinations),
      compression_bytes: compression([{ raw: sizes.raw, semantized: sizes.sem }]),
      compression_tokens: compression([{ raw: sizes.rawT, semantized: sizes.semT }]),
      retention: retention(tagAvg, baselines.raw_items?.tag_avg_at_k),
      retention_vs_unfiltered: retention(tagAvg, info.raw_tag_avg_at_k),
      baselines,
      ece: calibration,
      events_per_s: wallS > 0 ? eventCount / wallS : 0,
      wall_s: wallS,
      freshness_p50_ms: percentileOrNull(freshness, 50),
      freshness_p99_ms: percentileOrNull(freshness, 99),
      scored_split: scoreAll ? 'all' : 'test',
      calibration_ece: calibration,
      updates: this.updateCount,
      started_ms: Number.isFinite(started) ? started : 0,
      completed_ms: completedMs,
      raw_bytes: sizes.raw,
      semantized_bytes: sizes.sem,
      raw_tokens: sizes.rawT,
      semantized_tokens: sizes.semT,
      latency: latencyPercentiles(latencies),
      dimensions,
      convergence,
      user_rows: userRows,
      update_rows: updateRows,
    };
  }
}

function latestUpdate(u: UserState): UpdatePoint | undefined {
  let best: UpdatePoint | undefined;
  for (const p of u.updates.values()) {
    if (!best || p.version > best.version || (p.version === best.version && p.tombstone)) best = p;
  }
  return best;
}
