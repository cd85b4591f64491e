/**
 * The evaluator service: consumes persona updates and ground truth (with their end-of-run markers),
 * scores each run when it is complete, writes the report to the score sink, then tells waiters.
 *
 * Offsets and durability (at-least-once + idempotence, CONTRIBUTING.md): the `Stream` consumer
 * commits a batch's offsets when the handler resolves, and a run spans many batches on many
 * partitions, so "commit only when the run is done" would block a partition on its own marker.
 * Instead every batch is checkpointed before it resolves: its records (updates without evidence,
 * truths, markers; deterministic record ids) are written to the sink's checkpoint (ClickHouse table
 * `evaluator_inbox`) and only then applied to the in-memory accumulator and committed. When a run is
 * seen for the first time in this process — new, or after a restart — its checkpointed records are
 * loaded first, so the accumulator always holds every record ever committed for it. The batch that
 * completes a run resolves only after the report is written, so a crash in between redelivers that
 * batch and the run is scored again (a run restored from the checkpoint is always re-scored once it
 * is complete). Re-delivered records never double count: records whose ids are already durable (in
 * this process: checkpointed, or part of a recently scored run) are recognised without any I/O, the
 * accumulator de-duplicates the rest, and the score tables are ReplacingMergeTrees keyed by
 * deterministic ids. A completed run is evicted from memory (its record ids are kept for the last
 * `keepCompleted` runs); a genuinely new record of a scored run rebuilds it from the checkpoint and
 * scores it again.
 *
 * Runs are (tenant, run id) (`runKey`): accumulators, record ids, checkpoints, reports and waiters
 * are per tenant, and a record (end-of-run markers included) only ever touches its own tenant's run.
 *
 * The live run (`isLiveRun`, each tenant's clickstream) is not accumulated: each of its persona
 * updates becomes one row of the sink's live table as it arrives (idempotent by the row's identity),
 * scored when the user is labelled. Its ground truths are kept per labelled user (`LiveTruths`,
 * checkpointed under the tenant's `live` run, loaded when the tenant's first live record of this
 * process arrives and read again every `liveTruthRefreshMs` while its live records arrive — another
 * instance may own a user's truth partition). It takes no end-of-run marker.
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  dimensionSpec,
  type EndOfRun,
  ErrorCode,
  type GroundTruth,
  isLiveRun,
  LIVE_RUN_ID,
  PersonaStreamError,
  type PersonaUpdate,
  type PersonaUpdateRecord,
  PersonaUpdateRecordSchema,
  runKey,
  Topics,
  type TruthRecord,
  TruthRecordSchema,
  tenantIdProblem,
} from '@personastream/contracts';
import { Counter, Gauge, Histogram, type Logger, type Registry } from '@personastream/runtime';
import type { InBatch, Stream, StreamConsumer } from '@personastream/stream';
import { type CheckpointRecord, type ScoreSink, userDigest } from './adapters/sink.js';
import type { FactRef, LLMJudge } from './core/facts.js';
import { LiveTruths, type LiveUpdateRow, liveUpdateRow } from './core/live.js';
import type { Baselines } from './core/metrics/baselines.js';
import { type ScoringDimension, scoringDimensions } from './core/metrics/labels.js';
import {
  type AccumulatorOptions,
  RunAccumulator,
  type RunInfo,
  type RunProgress,
  type RunReport,
  type StreamRole,
} from './core/run.js';

export interface EvaluatorServiceConfig {
  /** Consumer group (default "evaluator"). */
  groupId?: string;
  /** Topic names (default `Topics.updates`, `Topics.truth`). */
  topics?: { updates?: string; truth?: string };
  /** Score every user with truth, not only the test split (small demos). */
  scoreAllUsers?: boolean;
  includeSensitive?: boolean;
  labeledDimensions?: readonly string[];
  /** Stack name put in reports when `runInfo` gives none. */
  stack?: string;
  /** Partitions handled concurrently (default 4). */
  concurrency?: number;
  /** Where a group without committed offsets starts (default true). */
  fromBeginning?: boolean;
  /**
   * Completed runs remembered in memory (default 20): their report for late `waitForRun` calls, and
   * their record ids, so re-delivered records of a scored run are recognised without any I/O.
   */
  keepCompleted?: number;
  /** Default `waitForRun` timeout, ms (default 10 min). */
  waitTimeoutMs?: number;
  /**
   * How often a tenant's live truths are read again from the checkpoint while its live updates
   * arrive, ms (default 60 000): with several evaluator instances, another one may own the truth
   * partition of a user whose updates this one scores.
   */
  liveTruthRefreshMs?: number;
}

export interface EvaluatorDeps {
  stream: Stream;
  sink: ScoreSink;
  logger: Logger;
  registry: Registry;
  /** Baselines of a run from the caller (e.g. the CLI's raw_frequency); merged over the run's own prior. */
  baselines?: (tenant: string, runId: string) => Promise<Baselines>;
  /**
   * Run facts the streams do not carry (seed, stack, backend, raw-input score). For the live run
   * only `labeled_dimensions` is used: the dimensions its truths label (scored on those only).
   */
  runInfo?: (tenant: string, runId: string) => Promise<RunInfo>;
  /** Optional LLM judge for Acc_Ex; the deterministic extractor is the default. */
  judge?: LLMJudge;
  /** Wall clock (default Date.now): when a tenant's live truths were last read. */
  now?: () => number;
}

export type RunCompleteCallback = (report: RunReport) => void | Promise<void>;

export interface EvaluatorService {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True while consuming, unless the last 5 batches failed in a row. */
  health(): boolean;
  /**
   * Resolves with the tenant's run's report once it is complete and written to the sink. The live
   * run never completes: asking for it is refused.
   */
  waitForRun(tenant: string, runId: string, timeoutMs?: number): Promise<RunReport>;
  /** Called after each run is written; returns an unsubscribe function. */
  onRunComplete(cb: RunCompleteCallback): () => void;
  /** Progress of a tenant's run held in memory (undefined when unknown or already evicted). */
  progress(tenant: string, runId: string): RunProgress | undefined;
}

/** A record of a finite run: checkpointed, then applied to the (tenant, run)'s accumulator. */
interface RunDecoded {
  kind: 'run';
  tenant: string;
  runId: string;
  /** `runKey(tenant, runId)`. */
  key: string;
  record: CheckpointRecord;
  apply: (acc: RunAccumulator) => boolean;
  /** The user of an update or truth (markers have none), and an update's persona time. */
  user?: { userId: string; updatedMs?: number };
}

/** A persona update of the live run: one live row. */
interface LiveUpdateDecoded {
  kind: 'live-update';
  tenant: string;
  update: PersonaUpdate;
}

/** Ground truth of a live user: kept per labelled user (and checkpointed under the tenant's live run). */
interface LiveTruthDecoded {
  kind: 'live-truth';
  tenant: string;
  truth: GroundTruth;
  record: CheckpointRecord;
}

/**
 * A persona tombstone (`DeletePersona`): the user is erased from every run of the tenant — memory,
 * every ClickHouse table, the checkpoint. Its run id is empty (an erasure is of the user, not of a run)
 * or any run's: either way it erases everything.
 */
interface ErasureDecoded {
  kind: 'erasure';
  tenant: string;
  userId: string;
  /** The erasure time (the tombstone persona's `updated_ms`; 0 when an older producer left it out). */
  erasedMs: number;
}

export type Decoded = RunDecoded | LiveUpdateDecoded | LiveTruthDecoded | ErasureDecoded;

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

function stripEvidence(u: PersonaUpdate): void {
  for (const t of u.persona?.tags ?? []) t.evidence = [];
  for (const s of u.samples) for (const t of s.tags) t.evidence = [];
}

/** Why a record's tenant cannot be used, or undefined (ids of every kind are built from it). */
function badTenant(what: string, tenant: string): { invalid: string } | undefined {
  const problem = tenantIdProblem(tenant);
  return problem ? { invalid: `${what} with tenant "${tenant}": the tenant id ${problem}` } : undefined;
}

/** A record of a finite run. */
function runRecord(
  tenant: string,
  runId: string,
  recordId: string,
  role: StreamRole,
  payload: Uint8Array,
  apply: (acc: RunAccumulator) => boolean,
  user?: { userId: string; updatedMs?: number },
): RunDecoded {
  const d: RunDecoded = {
    kind: 'run',
    tenant,
    runId,
    key: runKey(tenant, runId),
    record: { tenant, runId, recordId, role, payload },
    apply,
  };
  if (user) d.user = user;
  return d;
}

/**
 * An end-of-run marker of either topic: it touches its own tenant's run only. Markers without a
 * partition count (older producers) take the partition the record was read from. The live run takes
 * none (it never ends).
 */
function decodeMarker(
  m: EndOfRun,
  role: StreamRole,
  bytes: Uint8Array,
  recordPartition: number,
): Decoded | { invalid: string } {
  if (m.runId === '') return { invalid: 'end-of-run marker without run id' };
  const bad = badTenant(`end-of-run marker of run ${m.runId}`, m.tenant);
  if (bad) return bad;
  if (isLiveRun(m.runId))
    return { invalid: `end-of-run marker for the live run of tenant ${m.tenant} (it never ends)` };
  const partition = m.totalPartitions > 0 ? m.partition : recordPartition;
  return runRecord(m.tenant, m.runId, `m|${role}|${partition}`, role, bytes, (acc) =>
    acc.addMarker(role, { ...m, partition }),
  );
}

/** Decodes one record of one of the two topics: a finite run's record, or a live update or truth. */
export function decodeRecord(role: StreamRole, bytes: Uint8Array, recordPartition = 0): Decoded | { invalid: string } {
  if (role === 'updates') {
    let rec: PersonaUpdateRecord;
    try {
      rec = fromBinary(PersonaUpdateRecordSchema, bytes);
    } catch (err) {
      return { invalid: `undecodable persona update record: ${(err as Error).message}` };
    }
    if (rec.kind.case === 'update') {
      const u = rec.kind.value;
      const p = u.persona;
      if (u.tombstone) {
        if (!p || p.userId === '') return { invalid: 'persona tombstone without persona or user id' };
        const bad = badTenant('persona tombstone', p.tenant);
        if (bad) return bad;
        return { kind: 'erasure', tenant: p.tenant, userId: p.userId, erasedMs: p.updatedMs };
      }
      if (!p || p.userId === '' || u.runId === '') return { invalid: 'persona update without persona, user or run id' };
      const bad = badTenant('persona update', p.tenant);
      if (bad) return bad;
      stripEvidence(u);
      if (isLiveRun(u.runId)) return { kind: 'live-update', tenant: p.tenant, update: u };
      return runRecord(
        p.tenant,
        u.runId,
        `u|${p.tenant}/${p.userId}|${p.version}|${u.tombstone ? 't' : 'u'}`,
        role,
        toBinary(PersonaUpdateRecordSchema, rec),
        (acc) => acc.addUpdate(u),
        { userId: p.userId, updatedMs: p.updatedMs },
      );
    }
    if (rec.kind.case === 'endOfRun') return decodeMarker(rec.kind.value, role, bytes, recordPartition);
    return { invalid: 'empty persona update record' };
  }
  let rec: TruthRecord;
  try {
    rec = fromBinary(TruthRecordSchema, bytes);
  } catch (err) {
    return { invalid: `undecodable truth record: ${(err as Error).message}` };
  }
  if (rec.kind.case === 'truth') {
    const t = rec.kind.value;
    if (t.userId === '' || t.runId === '') return { invalid: 'ground truth without user or run id' };
    const bad = badTenant('ground truth', t.tenant);
    if (bad) return bad;
    const recordId = `t|${t.tenant}/${t.userId}`;
    if (isLiveRun(t.runId)) {
      return {
        kind: 'live-truth',
        tenant: t.tenant,
        truth: t,
        record: { tenant: t.tenant, runId: t.runId, recordId, role, payload: bytes },
      };
    }
    return runRecord(t.tenant, t.runId, recordId, role, bytes, (acc) => acc.addTruth(t), { userId: t.userId });
  }
  if (rec.kind.case === 'endOfRun') return decodeMarker(rec.kind.value, role, bytes, recordPartition);
  return { invalid: 'empty truth record' };
}

export function createEvaluatorService(config: EvaluatorServiceConfig, deps: EvaluatorDeps): EvaluatorService {
  const topics = { updates: config.topics?.updates ?? Topics.updates, truth: config.topics?.truth ?? Topics.truth };
  const log = deps.logger;
  const accOptions: AccumulatorOptions = {
    scoreAllUsers: config.scoreAllUsers ?? false,
    includeSensitive: config.includeSensitive ?? false,
    ...(config.labeledDimensions ? { labeledDimensions: config.labeledDimensions } : {}),
    ...(config.stack ? { stack: config.stack } : {}),
  };
  const keepCompleted = config.keepCompleted ?? 20;
  const liveTruthRefreshMs = config.liveTruthRefreshMs ?? 60_000;
  const now = deps.now ?? Date.now;

  const records = metric(
    deps.registry,
    'evaluator_records_total',
    () =>
      new Counter({
        name: 'evaluator_records_total',
        help: 'Records consumed by the evaluator, by topic role and outcome',
        labelNames: ['role', 'outcome'],
        registers: [deps.registry],
      }),
  );
  const runsCompleted = metric(
    deps.registry,
    'evaluator_runs_completed_total',
    () =>
      new Counter({ name: 'evaluator_runs_completed_total', help: 'Run reports written', registers: [deps.registry] }),
  );
  const runsOpen = metric(
    deps.registry,
    'evaluator_runs_open',
    () => new Gauge({ name: 'evaluator_runs_open', help: 'Runs held in memory', registers: [deps.registry] }),
  );
  const lastScore = metric(
    deps.registry,
    'evaluator_last_run_score',
    () =>
      new Gauge({
        name: 'evaluator_last_run_score',
        help: 'Headline metrics of the last completed run',
        labelNames: ['metric'],
        registers: [deps.registry],
      }),
  );
  const batchSeconds = metric(
    deps.registry,
    'evaluator_batch_seconds',
    () =>
      new Histogram({
        name: 'evaluator_batch_seconds',
        help: 'Time to checkpoint and apply one batch (including scoring a completed run)',
        buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [deps.registry],
      }),
  );
  const liveLabelled = metric(
    deps.registry,
    'evaluator_live_labelled_users',
    () =>
      new Gauge({
        name: 'evaluator_live_labelled_users',
        help: 'Labelled live users whose truth is held in memory (the bound of the live scoring state)',
        registers: [deps.registry],
      }),
  );
  const liveRowsWritten = metric(
    deps.registry,
    'evaluator_live_updates_total',
    () =>
      new Counter({
        name: 'evaluator_live_updates_total',
        help: 'Live persona updates written to the live table, by whether the user was labelled (scored)',
        labelNames: ['scored'],
        registers: [deps.registry],
      }),
  );

  /** Open finite runs by `runKey(tenant, runId)`. */
  const runs = new Map<string, RunAccumulator>();
  /** Record ids of each open run that are durable in the checkpoint (and applied in memory). */
  const seenIds = new Map<string, Set<string>>();
  /** Record ids of recently completed (written) runs. */
  const completedIds = new Map<string, Set<string>>();
  const dirty = new Set<string>();
  const completed = new Map<string, RunReport>();
  const waiters = new Map<string, Set<{ resolve: (r: RunReport) => void; reject: (e: Error) => void }>>();
  const callbacks = new Set<RunCompleteCallback>();
  /** Truths of labelled live users, per tenant (loaded at the tenant's first live record). */
  const liveTruths = new LiveTruths();
  /** Erased users: `tenant/digest` (`userDigest`) → erasure time; read from the sink at start. */
  const erased = new Map<string, number>();
  /** When each tenant's live truths were last read from the checkpoint. */
  const liveTruthsRead = new Map<string, number>();
  const baseDims = scoringDimensions({
    includeSensitive: accOptions.includeSensitive ?? false,
    ...(accOptions.labeledDimensions ? { labeled: accOptions.labeledDimensions } : {}),
  });
  let consumer: StreamConsumer | undefined;
  let running = false;
  let failures = 0;
  let lock: Promise<void> = Promise.resolve();

  function serialized<T>(fn: () => Promise<T>): Promise<T> {
    const result = lock.then(fn);
    lock = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  async function ensureRun(tenant: string, runId: string): Promise<RunAccumulator> {
    const key = runKey(tenant, runId);
    let acc = runs.get(key);
    if (acc) return acc;
    acc = new RunAccumulator(runId, { ...accOptions, tenant });
    const ids = new Set<string>();
    const stored = await deps.sink.loadCheckpoint(tenant, runId);
    let restored = 0;
    for (const r of stored) {
      const d = decodeRecord(r.role, r.payload);
      if ('invalid' in d)
        log.warn({ tenant, runId, recordId: r.recordId, reason: d.invalid }, 'skipping checkpointed record');
      else if (d.kind === 'run' && d.key === key) {
        d.apply(acc);
        ids.add(r.recordId);
        restored++;
      } // else: a record stored before runs were keyed by tenant, of another tenant's run of this id
    }
    seenIds.set(key, ids);
    if (restored > 0) {
      dirty.add(key); // a restart may have stopped between checkpoint and report: score again when complete
      log.info({ tenant, runId, records: restored }, 'run state restored from checkpoint');
    }
    runs.set(key, acc);
    runsOpen.set(runs.size);
    return acc;
  }

  /** Forgets an open run that is complete and written; remembers its record ids. */
  function evict(key: string): void {
    completedIds.delete(key);
    completedIds.set(key, seenIds.get(key) ?? new Set());
    while (completedIds.size > keepCompleted) completedIds.delete(completedIds.keys().next().value as string);
    seenIds.delete(key);
    runs.delete(key);
    runsOpen.set(runs.size);
  }

  async function judgeFacts(acc: RunAccumulator): Promise<Map<string, FactRef[]> | undefined> {
    const judge = deps.judge;
    if (!judge) return undefined;
    const out = new Map<string, FactRef[]>();
    const candidates = acc.dimensions.flatMap((d) =>
      (dimensionSpec(d.name)?.values ?? []).map((value) => ({ dimension: d.name, value })),
    );
    for (const [key, summary] of acc.summaries()) out.set(key, await judge.statedFacts(summary, candidates));
    return out;
  }

  async function complete(tenant: string, runId: string, acc: RunAccumulator): Promise<void> {
    const key = runKey(tenant, runId);
    const [info, baselines, statedFacts] = await Promise.all([
      deps.runInfo ? deps.runInfo(tenant, runId) : Promise.resolve(undefined),
      deps.baselines ? deps.baselines(tenant, runId) : Promise.resolve(undefined),
      judgeFacts(acc),
    ]);
    const report = acc.report({
      ...(info ? { info } : {}),
      ...(baselines ? { baselines } : {}),
      ...(statedFacts ? { statedFacts } : {}),
    });
    await deps.sink.writeRun(report);
    dirty.delete(key);
    evict(key);
    completed.delete(key);
    completed.set(key, report);
    while (completed.size > keepCompleted) completed.delete(completed.keys().next().value as string);
    runsCompleted.inc();
    lastScore.set({ metric: 'tag_avg_at_k' }, report.tag_avg_at_k);
    lastScore.set({ metric: 'acc_ex' }, report.acc_ex);
    lastScore.set({ metric: 'hallucination_rate' }, report.hallucination_rate);
    if (report.compression_bytes !== null) lastScore.set({ metric: 'compression_bytes' }, report.compression_bytes);
    log.info(
      {
        tenant,
        runId,
        users: report.users,
        testUsers: report.test_users,
        tagAvgAtK: report.tag_avg_at_k,
        accEx: report.acc_ex,
        compression: report.compression_bytes,
        freshnessP50Ms: report.freshness_p50_ms,
      },
      'run scored',
    );
    for (const w of waiters.get(key) ?? []) w.resolve(report);
    waiters.delete(key);
    for (const cb of callbacks) {
      try {
        await cb(report);
      } catch (err) {
        log.error({ err, tenant, runId }, 'run-complete callback failed');
      }
    }
  }

  /** Loads a tenant's labelled live users (its `live` checkpoint holds only truths). */
  async function loadLiveTruths(tenant: string): Promise<void> {
    const stored = await deps.sink.loadCheckpoint(tenant, LIVE_RUN_ID);
    liveTruthsRead.set(tenant, now());
    liveTruths.open(tenant);
    for (const r of stored) {
      const d = decodeRecord(r.role, r.payload);
      if (!('invalid' in d) && d.kind === 'live-truth' && d.tenant === tenant) liveTruths.set(d.truth, r.payload);
    }
    liveLabelled.set(liveTruths.size);
    if (stored.length > 0) log.debug({ tenant, labelled: stored.length }, 'live truths loaded');
  }

  /** The dimensions a tenant's live updates are scored on: the evaluator's, narrowed to the labelled ones. */
  async function liveDims(tenant: string): Promise<readonly ScoringDimension[]> {
    const labeled = deps.runInfo ? (await deps.runInfo(tenant, LIVE_RUN_ID)).labeled_dimensions : undefined;
    return labeled ? baseDims.filter((d) => labeled.includes(d.name)) : baseDims;
  }

  /**
   * Live records: truths are checkpointed (when new or changed) and kept per labelled user; updates
   * become live rows (scored for labelled users), written before the batch resolves. Nothing per
   * update stays in memory.
   */
  async function handleLive(role: StreamRole, items: readonly (LiveUpdateDecoded | LiveTruthDecoded)[]): Promise<void> {
    for (const tenant of new Set(items.map((d) => d.tenant))) {
      const read = liveTruthsRead.get(tenant);
      if (!liveTruths.has(tenant) || read === undefined || now() - read >= liveTruthRefreshMs) {
        await loadLiveTruths(tenant);
      }
    }
    const truths = items.filter((d): d is LiveTruthDecoded => d.kind === 'live-truth');
    const changed = truths.filter((d) => !liveTruths.holds(d.truth, d.record.payload));
    records.inc({ role, outcome: 'duplicate' }, truths.length - changed.length);
    if (changed.length > 0) {
      await deps.sink.checkpoint(changed.map((d) => d.record));
      for (const d of changed) liveTruths.set(d.truth, d.record.payload);
      records.inc({ role, outcome: 'applied' }, changed.length);
      liveLabelled.set(liveTruths.size);
    }
    const rows: LiveUpdateRow[] = [];
    const dims = new Map<string, readonly ScoringDimension[]>();
    for (const d of items) {
      if (d.kind !== 'live-update') continue;
      const userId = d.update.persona?.userId ?? '';
      const truth = liveTruths.labels(d.tenant, userId);
      let tenantDims = dims.get(d.tenant);
      if (!tenantDims) {
        tenantDims = await liveDims(d.tenant);
        dims.set(d.tenant, tenantDims);
      }
      rows.push(liveUpdateRow(d.update, truth, tenantDims));
    }
    if (rows.length > 0) {
      await deps.sink.writeLiveUpdates(rows);
      const scored = rows.filter((r) => r.tag_score !== null).length;
      liveRowsWritten.inc({ scored: 'true' }, scored);
      liveRowsWritten.inc({ scored: 'false' }, rows.length - scored);
      records.inc({ role, outcome: 'live' }, rows.length);
    }
  }

  /** Finite runs' records: checkpointed, applied, and a run scored when complete. */
  async function handleRuns(role: StreamRole, decoded: readonly RunDecoded[]): Promise<void> {
    // records already durable (checkpointed or scored in this process) need no I/O at all
    const known = (d: RunDecoded) =>
      (seenIds.get(d.key)?.has(d.record.recordId) ?? false) ||
      (completedIds.get(d.key)?.has(d.record.recordId) ?? false);
    let fresh = decoded.filter((d) => !known(d));
    records.inc({ role, outcome: 'duplicate' }, decoded.length - fresh.length);
    if (fresh.length === 0) return;
    const keys = new Map(fresh.map((d) => [d.key, d] as const));
    for (const [key, d] of keys) {
      completedIds.delete(key); // a new record for a scored run: rebuild it from the checkpoint
      await ensureRun(d.tenant, d.runId);
    }
    const beforeLoad = fresh.length;
    fresh = fresh.filter((d) => !known(d));
    records.inc({ role, outcome: 'duplicate' }, beforeLoad - fresh.length);
    // durable before the batch resolves (and its offsets are committed)
    await deps.sink.checkpoint(fresh.map((d) => d.record));
    for (const d of fresh) {
      const acc = runs.get(d.key) as RunAccumulator;
      seenIds.get(d.key)?.add(d.record.recordId);
      if (d.apply(acc)) {
        dirty.add(d.key);
        records.inc({ role, outcome: 'applied' });
      } else records.inc({ role, outcome: 'duplicate' });
    }
    for (const [key, d] of keys) {
      const acc = runs.get(key) as RunAccumulator;
      if (!acc.isComplete()) continue;
      if (dirty.has(key)) await complete(d.tenant, d.runId, acc);
      else evict(key); // complete and already written: only duplicates arrived
    }
  }

  /** The erasure time of an erased user (undefined: not erased). */
  function erasedAt(tenant: string, userId: string): number | undefined {
    if (erased.size === 0) return undefined;
    return erased.get(`${tenant}/${userDigest(tenant, userId)}`);
  }

  /**
   * True for a record of an erased user that must not bring anything of the user back: a truth (any
   * run), or a persona update from before the erasure (`updated_ms` at or before it). Updates of a
   * fresh persona after the erasure (the user consented again) are kept.
   */
  function ofErasedUser(d: RunDecoded | LiveUpdateDecoded | LiveTruthDecoded): boolean {
    if (erased.size === 0) return false;
    let userId: string;
    let updatedMs: number | undefined;
    if (d.kind === 'run') {
      if (!d.user) return false;
      userId = d.user.userId;
      updatedMs = d.user.updatedMs;
    } else if (d.kind === 'live-update') {
      userId = d.update.persona?.userId ?? '';
      updatedMs = d.update.persona?.updatedMs ?? 0;
    } else userId = d.truth.userId;
    const at = erasedAt(d.tenant, userId);
    if (at === undefined) return false;
    return updatedMs === undefined || !(updatedMs > at);
  }

  /**
   * Erases a user (a persona tombstone): the user leaves every open run of the tenant, the reports
   * kept in memory and the live truths; every ClickHouse row of the user is deleted; the erasure is
   * recorded (by digest) so that the user's truths and older updates arriving later are dropped.
   */
  async function erase(d: ErasureDecoded, role: StreamRole): Promise<void> {
    const key = `${d.tenant}/${userDigest(d.tenant, d.userId)}`;
    const at = Math.max(d.erasedMs > 0 ? d.erasedMs : now(), erased.get(key) ?? 0);
    erased.set(key, at);
    for (const [runKeyOf, acc] of runs) if (acc.forgetUser(d.tenant, d.userId)) dirty.add(runKeyOf);
    for (const r of completed.values()) {
      if (r.tenant !== d.tenant) continue;
      r.user_rows = r.user_rows.filter((u) => u.user_id !== d.userId);
      r.update_rows = r.update_rows.filter((u) => u.user_id !== d.userId);
    }
    liveTruths.forget(d.tenant, d.userId);
    liveLabelled.set(liveTruths.size);
    await deps.sink.eraseUser(d.tenant, d.userId, at);
    records.inc({ role, outcome: 'erasure' });
    log.info({ tenant: d.tenant }, 'user erased');
  }

  async function handle(batch: InBatch): Promise<void> {
    const role: StreamRole | undefined =
      batch.topic === topics.updates ? 'updates' : batch.topic === topics.truth ? 'truth' : undefined;
    if (!role) {
      log.warn({ topic: batch.topic }, 'batch from an unexpected topic ignored');
      return;
    }
    const end = batchSeconds.startTimer();
    const decoded: Decoded[] = [];
    for (const r of batch.records) {
      const d = decodeRecord(role, r.value, r.partition);
      if ('invalid' in d) {
        records.inc({ role, outcome: 'invalid' });
        log.warn({ topic: r.topic, partition: r.partition, offset: r.offset, reason: d.invalid }, 'record skipped');
      } else decoded.push(d);
    }
    if (decoded.length === 0) {
      end();
      return;
    }
    await serialized(async () => {
      // In record order: what came before an erasure is written first, then erased with it.
      let runRecords: RunDecoded[] = [];
      let liveRecords: (LiveUpdateDecoded | LiveTruthDecoded)[] = [];
      const flush = async () => {
        if (liveRecords.length > 0) await handleLive(role, liveRecords);
        if (runRecords.length > 0) await handleRuns(role, runRecords);
        runRecords = [];
        liveRecords = [];
      };
      for (const d of decoded) {
        if (d.kind === 'erasure') {
          await flush();
          await erase(d, role);
        } else if (ofErasedUser(d)) records.inc({ role, outcome: 'erased_user' });
        else if (d.kind === 'run') runRecords.push(d);
        else liveRecords.push(d);
      }
      await flush();
    });
    end();
  }

  return {
    async start() {
      if (running) return;
      // fail fast and clearly when a topic is missing (the evaluator does not own its input topics)
      const admin = deps.stream.admin();
      try {
        for (const topic of [topics.updates, topics.truth]) {
          const n = await admin.partitionCount(topic).catch((err: unknown) => {
            throw new PersonaStreamError(
              ErrorCode.FailedPrecondition,
              `evaluator input topic ${topic} is not available: ${(err as Error).message}`,
            );
          });
          if (n <= 0)
            throw new PersonaStreamError(ErrorCode.FailedPrecondition, `evaluator input topic ${topic} does not exist`);
        }
      } finally {
        await admin.close();
      }
      for (const e of await deps.sink.erasures()) {
        const key = `${e.tenant}/${e.user_digest}`;
        erased.set(key, Math.max(e.erased_ms, erased.get(key) ?? 0));
      }
      consumer = deps.stream.consumer({
        groupId: config.groupId ?? 'evaluator',
        topics: [topics.updates, topics.truth],
        fromBeginning: config.fromBeginning ?? true,
        concurrency: config.concurrency ?? 4,
      });
      running = true;
      failures = 0;
      await consumer.start(async (batch) => {
        try {
          await handle(batch);
          failures = 0;
        } catch (err) {
          failures++;
          log.error({ err, topic: batch.topic, partition: batch.partition }, 'batch failed; it will be redelivered');
          throw err;
        }
      });
      log.info({ topics, groupId: config.groupId ?? 'evaluator' }, 'evaluator started');
    },

    async stop() {
      if (!running) return;
      running = false;
      await consumer?.stop();
      await lock;
      for (const [key, ws] of waiters) {
        for (const w of ws)
          w.reject(new PersonaStreamError(ErrorCode.Unavailable, `evaluator stopped before run ${key} completed`));
      }
      waiters.clear();
      log.info('evaluator stopped');
    },

    health() {
      return running && failures < 5;
    },

    waitForRun(tenant, runId, timeoutMs = config.waitTimeoutMs ?? 600_000) {
      if (isLiveRun(runId)) {
        return Promise.reject(
          new PersonaStreamError(
            ErrorCode.InvalidArgument,
            `the live run of tenant ${tenant} never completes; its metrics are per minute (live view)`,
          ),
        );
      }
      const key = runKey(tenant, runId);
      const done = completed.get(key);
      if (done) return Promise.resolve(done);
      return new Promise<RunReport>((resolve, reject) => {
        const set = waiters.get(key) ?? new Set();
        waiters.set(key, set);
        const timer = setTimeout(() => {
          set.delete(entry);
          const p = runs.get(key)?.progress();
          const detail = p
            ? `updates markers ${p.markers.updates.received.length}/${p.markers.updates.total || '?'}, truth markers ` +
              `${p.markers.truth.received.length}/${p.markers.truth.total || '?'}, ${p.users} users, ${p.updates} updates`
            : 'no record of it consumed yet';
          reject(
            new PersonaStreamError(
              ErrorCode.DeadlineExceeded,
              `run ${runId} of tenant ${tenant} not complete after ${timeoutMs} ms (${detail})`,
            ),
          );
        }, timeoutMs);
        timer.unref?.();
        const entry = {
          resolve: (r: RunReport) => {
            clearTimeout(timer);
            resolve(r);
          },
          reject: (e: Error) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        set.add(entry);
      });
    },

    onRunComplete(cb) {
      callbacks.add(cb);
      return () => callbacks.delete(cb);
    },

    progress(tenant, runId) {
      return runs.get(runKey(tenant, runId))?.progress();
    },
  };
}
