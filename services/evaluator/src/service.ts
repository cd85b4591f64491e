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
 */
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  dimensionSpec,
  type EndOfRun,
  ErrorCode,
  PersonaStreamError,
  type PersonaUpdate,
  type PersonaUpdateRecord,
  PersonaUpdateRecordSchema,
  Topics,
  type TruthRecord,
  TruthRecordSchema,
} from '@personastream/contracts';
import { Counter, Gauge, Histogram, type Logger, type Registry } from '@personastream/runtime';
import type { InBatch, Stream, StreamConsumer } from '@personastream/stream';
import type { CheckpointRecord, ScoreSink } from './adapters/sink.js';
import type { FactRef, LLMJudge } from './core/facts.js';
import type { Baselines } from './core/metrics/baselines.js';
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
}

export interface EvaluatorDeps {
  stream: Stream;
  sink: ScoreSink;
  logger: Logger;
  registry: Registry;
  /** Baselines of a run from the caller (e.g. the CLI's raw_frequency); merged over the run's own prior. */
  baselines?: (runId: string) => Promise<Baselines>;
  /** Run facts the streams do not carry (seed, stack, backend, raw-input score). */
  runInfo?: (runId: string) => Promise<RunInfo>;
  /** Optional LLM judge for Acc_Ex; the deterministic extractor is the default. */
  judge?: LLMJudge;
}

export type RunCompleteCallback = (report: RunReport) => void | Promise<void>;

export interface EvaluatorService {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True while consuming, unless the last 5 batches failed in a row. */
  health(): boolean;
  /** Resolves with the run's report once it is complete and written to the sink. */
  waitForRun(runId: string, timeoutMs?: number): Promise<RunReport>;
  /** Called after each run is written; returns an unsubscribe function. */
  onRunComplete(cb: RunCompleteCallback): () => void;
  /** Progress of a run held in memory (undefined when unknown or already evicted). */
  progress(runId: string): RunProgress | undefined;
}

interface Decoded {
  runId: string;
  record: CheckpointRecord;
  apply: (acc: RunAccumulator) => boolean;
}

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

function stripEvidence(u: PersonaUpdate): void {
  for (const t of u.persona?.tags ?? []) t.evidence = [];
  for (const s of u.samples) for (const t of s.tags) t.evidence = [];
}

/**
 * An end-of-run marker of either topic. Markers without a partition count (older producers) take the
 * partition the record was read from.
 */
function decodeMarker(
  m: EndOfRun,
  role: StreamRole,
  bytes: Uint8Array,
  recordPartition: number,
): Decoded | { invalid: string } {
  if (m.runId === '') return { invalid: 'end-of-run marker without run id' };
  const partition = m.totalPartitions > 0 ? m.partition : recordPartition;
  return {
    runId: m.runId,
    record: { runId: m.runId, recordId: `m|${role}|${partition}`, role, payload: bytes },
    apply: (acc) => acc.addMarker(role, { ...m, partition }),
  };
}

/** Decodes one record of one of the two topics into something the accumulator can apply. */
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
      if (!p || p.userId === '' || u.runId === '') return { invalid: 'persona update without persona, user or run id' };
      stripEvidence(u);
      return {
        runId: u.runId,
        record: {
          runId: u.runId,
          recordId: `u|${p.tenant}/${p.userId}|${p.version}|${u.tombstone ? 't' : 'u'}`,
          role,
          payload: toBinary(PersonaUpdateRecordSchema, rec),
        },
        apply: (acc) => acc.addUpdate(u),
      };
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
    return {
      runId: t.runId,
      record: { runId: t.runId, recordId: `t|${t.tenant}/${t.userId}`, role, payload: bytes },
      apply: (acc) => acc.addTruth(t),
    };
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

  const runs = new Map<string, RunAccumulator>();
  /** Record ids of each open run that are durable in the checkpoint (and applied in memory). */
  const seenIds = new Map<string, Set<string>>();
  /** Record ids of recently completed (written) runs. */
  const completedIds = new Map<string, Set<string>>();
  const dirty = new Set<string>();
  const completed = new Map<string, RunReport>();
  const waiters = new Map<string, Set<{ resolve: (r: RunReport) => void; reject: (e: Error) => void }>>();
  const callbacks = new Set<RunCompleteCallback>();
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

  async function ensureRun(runId: string): Promise<RunAccumulator> {
    let acc = runs.get(runId);
    if (acc) return acc;
    acc = new RunAccumulator(runId, accOptions);
    const ids = new Set<string>();
    const stored = await deps.sink.loadCheckpoint(runId);
    for (const r of stored) {
      const d = decodeRecord(r.role, r.payload);
      if ('invalid' in d) log.warn({ runId, recordId: r.recordId, reason: d.invalid }, 'skipping checkpointed record');
      else {
        d.apply(acc);
        ids.add(r.recordId);
      }
    }
    seenIds.set(runId, ids);
    if (stored.length > 0) {
      dirty.add(runId); // a restart may have stopped between checkpoint and report: score again when complete
      log.info({ runId, records: stored.length }, 'run state restored from checkpoint');
    }
    runs.set(runId, acc);
    runsOpen.set(runs.size);
    return acc;
  }

  /** Forgets an open run that is complete and written; remembers its record ids. */
  function evict(runId: string): void {
    completedIds.delete(runId);
    completedIds.set(runId, seenIds.get(runId) ?? new Set());
    while (completedIds.size > keepCompleted) completedIds.delete(completedIds.keys().next().value as string);
    seenIds.delete(runId);
    runs.delete(runId);
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

  async function complete(runId: string, acc: RunAccumulator): Promise<void> {
    const [info, baselines, statedFacts] = await Promise.all([
      deps.runInfo ? deps.runInfo(runId) : Promise.resolve(undefined),
      deps.baselines ? deps.baselines(runId) : Promise.resolve(undefined),
      judgeFacts(acc),
    ]);
    const report = acc.report({
      ...(info ? { info } : {}),
      ...(baselines ? { baselines } : {}),
      ...(statedFacts ? { statedFacts } : {}),
    });
    await deps.sink.writeRun(report);
    dirty.delete(runId);
    evict(runId);
    completed.delete(runId);
    completed.set(runId, report);
    while (completed.size > keepCompleted) completed.delete(completed.keys().next().value as string);
    runsCompleted.inc();
    lastScore.set({ metric: 'tag_avg_at_k' }, report.tag_avg_at_k);
    lastScore.set({ metric: 'acc_ex' }, report.acc_ex);
    lastScore.set({ metric: 'hallucination_rate' }, report.hallucination_rate);
    if (report.compression_bytes !== null) lastScore.set({ metric: 'compression_bytes' }, report.compression_bytes);
    log.info(
      {
        runId,
        users: report.users,
        testUsers: report.test_users,
        tagAvgAtK: report.tag_avg_at_k,
        accEx: report.acc_ex,
        compression: report.compression_bytes,
      },
      'run scored',
    );
    for (const w of waiters.get(runId) ?? []) w.resolve(report);
    waiters.delete(runId);
    for (const cb of callbacks) {
      try {
        await cb(report);
      } catch (err) {
        log.error({ err, runId }, 'run-complete callback failed');
      }
    }
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
      // records already durable (checkpointed or scored in this process) need no I/O at all
      const known = (d: Decoded) =>
        (seenIds.get(d.runId)?.has(d.record.recordId) ?? false) ||
        (completedIds.get(d.runId)?.has(d.record.recordId) ?? false);
      let fresh = decoded.filter((d) => !known(d));
      records.inc({ role, outcome: 'duplicate' }, decoded.length - fresh.length);
      if (fresh.length === 0) return;
      const runIds = [...new Set(fresh.map((d) => d.runId))];
      for (const id of runIds) {
        completedIds.delete(id); // a new record for a scored run: rebuild it from the checkpoint
        await ensureRun(id);
      }
      const beforeLoad = fresh.length;
      fresh = fresh.filter((d) => !known(d));
      records.inc({ role, outcome: 'duplicate' }, beforeLoad - fresh.length);
      // durable before the batch resolves (and its offsets are committed)
      await deps.sink.checkpoint(fresh.map((d) => d.record));
      for (const d of fresh) {
        const acc = runs.get(d.runId) as RunAccumulator;
        seenIds.get(d.runId)?.add(d.record.recordId);
        if (d.apply(acc)) {
          dirty.add(d.runId);
          records.inc({ role, outcome: 'applied' });
        } else records.inc({ role, outcome: 'duplicate' });
      }
      for (const id of runIds) {
        const acc = runs.get(id) as RunAccumulator;
        if (!acc.isComplete()) continue;
        if (dirty.has(id)) await complete(id, acc);
        else evict(id); // complete and already written: only duplicates arrived
      }
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
      for (const [runId, ws] of waiters) {
        for (const w of ws)
          w.reject(new PersonaStreamError(ErrorCode.Unavailable, `evaluator stopped before run ${runId} completed`));
      }
      waiters.clear();
      log.info('evaluator stopped');
    },

    health() {
      return running && failures < 5;
    },

    waitForRun(runId, timeoutMs = config.waitTimeoutMs ?? 600_000) {
      const done = completed.get(runId);
      if (done) return Promise.resolve(done);
      return new Promise<RunReport>((resolve, reject) => {
        const set = waiters.get(runId) ?? new Set();
        waiters.set(runId, set);
        const timer = setTimeout(() => {
          set.delete(entry);
          const p = runs.get(runId)?.progress();
          const detail = p
            ? `updates markers ${p.markers.updates.received.length}/${p.markers.updates.total || '?'}, truth markers ` +
              `${p.markers.truth.received.length}/${p.markers.truth.total || '?'}, ${p.users} users, ${p.updates} updates`
            : 'no record of it consumed yet';
          reject(
            new PersonaStreamError(
              ErrorCode.DeadlineExceeded,
              `run ${runId} not complete after ${timeoutMs} ms (${detail})`,
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

    progress(runId) {
      return runs.get(runId)?.progress();
    },
  };
}
