import { create } from '@bufbuild/protobuf';
import {
  type BehaviorEvent,
  type EndOfRun,
  EndOfRunSchema,
  ErrorCode,
  EventRecordSchema,
  encode,
  entryHeaders,
  isLiveRun,
  PersonaStreamError,
  type SemantizedWindow,
  TickSchema,
  tenantIdProblem,
  userKey,
  WindowRecordSchema,
} from '@personastream/contracts';
import type { Logger, Registry } from '@personastream/runtime';
import type {
  Assignment,
  InBatch,
  InRecord,
  OutRecord,
  Stream,
  StreamConsumer,
  StreamProducer,
} from '@personastream/stream';
import { StreamRewind } from '@personastream/stream';
import {
  CheckpointBaseMismatch,
  type CheckpointScope,
  type CheckpointStore,
  type CheckpointWrite,
} from './adapters/checkpoints.js';
import type { SemantizerConfig } from './config.js';
import type { ClosedWindow, PartitionEngine } from './core/engine.js';
import { Semantizer } from './core/semantizer.js';
import { encodeWindowRecord } from './core/window-binary.js';
import { createSemantizerMetrics } from './metrics.js';
import { createDecodeStep } from './steps/decode.js';
import { createValidateStep } from './steps/validate.js';

export interface SemantizerDeps {
  stream: Stream;
  checkpoints: CheckpointStore;
  logger: Logger;
  registry: Registry;
  /** Processing time for ticks, epoch ms (default `Date.now`; tests drive a fake clock). */
  clock?: () => number;
}

export interface SemantizerService {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): boolean;
  /** Writes a tick to every partition this instance holds that needs one (the timer calls it; tests too). */
  punctuate(): Promise<void>;
}

/** Records handled between two yields to the event loop. */
const YIELD_EVERY = 2000;
const yieldToIo = () => new Promise<void>((resolve) => setImmediate(resolve));

/** DLQ headers added to the original record's headers. */
export const DlqHeaders = {
  reason: 'ps-dlq-reason',
  step: 'ps-dlq-step',
  sourceTopic: 'ps-source-topic',
  sourcePartition: 'ps-source-partition',
  sourceOffset: 'ps-source-offset',
} as const;

interface PartitionState {
  engine: PartitionEngine;
  /** Last input offset reflected in `engine` (−1: none). */
  offset: bigint;
  /** The stored checkpoint offset `engine` was loaded from or last saved at ('' = none): the next delta's base. */
  base: string;
}

/**
 * Encodes a window as a `WindowRecord` on the windows topic, keyed `tenant/user_id` (the direct
 * encoder of `core/window-binary.ts`: the bytes protobuf-es writes). `entryMs` — when the window's
 * newest event entered the pipeline (`ClosedWindow.entryMs`; 0 unknown) — and `firstEntryMs` — the
 * oldest event it is the first to show — travel as the `ps-entry-ms` / `ps-entry-first-ms`
 * headers, outside the deterministic window bytes.
 */
export function windowRecord(key: string, window: SemantizedWindow, entryMs = 0, firstEntryMs = 0): OutRecord {
  const headers = entryHeaders(entryMs, firstEntryMs);
  return headers ? { key, value: encodeWindowRecord(window), headers } : { key, value: encodeWindowRecord(window) };
}

/** A processing-time tick for partition `partition` of the events topic (see `PartitionEngine.tick`). */
export function tickRecord(partition: number, nowMs: number): OutRecord {
  return {
    key: `tick/${partition}`,
    partition,
    value: encode(
      EventRecordSchema,
      create(EventRecordSchema, {
        kind: { case: 'tick', value: create(TickSchema, { nowMs, partition, producer: 'semantizer' }) },
      }),
    ),
  };
}

/**
 * Why an erasure record cannot be applied (dead-lettered), or undefined. It must name a valid tenant
 * and a user, an erasure time, and be keyed `tenant/user_id` (the user's partition: elsewhere it
 * would miss the user's state).
 */
export function erasureProblem(key: string | null | undefined, tenant: string, userId: string, erasedMs: number) {
  if (tenantIdProblem(tenant) !== undefined) return 'erasure_invalid_tenant';
  if (userId === '') return 'erasure_without_user';
  if (!(erasedMs > 0) || !Number.isFinite(erasedMs)) return 'erasure_without_time';
  if (key !== userKey(tenant, userId)) return 'key_mismatch';
  return undefined;
}

/** One input record after decode and validate (pass 1 of a batch). */
type Decoded =
  | { kind: 'dlq'; r: InRecord; step: string; reason: string }
  | { kind: 'event'; r: InRecord; event: BehaviorEvent }
  | { kind: 'marker'; r: InRecord; marker: EndOfRun }
  | { kind: 'tick'; nowMs: number }
  | { kind: 'erasure'; r: InRecord; tenant: string; userId: string; erasedMs: number }
  | { kind: 'skip' };

/**
 * The semantizer service: consumes `topics.events` in a consumer group, runs each partition's batch
 * through decode → validate → the partition's core engine, produces closed windows (keyed
 * `tenant/user_id`) and forwarded end-of-run markers to `topics.windows` and rejected records to
 * `topics.dlq`, then checkpoints the partition's open-window state; only then does the batch handler
 * resolve (and the consumer commit). On a partition it does not hold in memory — start, restart,
 * rebalance — or whose batch starts beyond what its memory covers, it restores the checkpoint; it
 * always skips records at offsets ≤ the state's offset.
 *
 * Live runs: every `tickMs` the service writes a tick record to each partition it holds whose
 * engine has live users (or that it has not restored yet): their windows close on processing time
 * and sessions in progress get early windows when the tick is consumed — in band, so a replay of the
 * partition does exactly what the first pass did. Before a batch, the compact facts of returning live
 * users are read from the idle store in one round trip.
 */
export function createSemantizerService(config: SemantizerConfig, deps: SemantizerDeps): SemantizerService {
  const { stream, checkpoints, logger } = deps;
  const clock = deps.clock ?? Date.now;
  const semantizer = new Semantizer(config);
  const metrics = createSemantizerMetrics(deps.registry);
  const decode = createDecodeStep();
  const validate = createValidateStep();
  const parts = new Map<number, PartitionState>();
  /** Partitions of the events topic the group gave this instance (ticks go there). */
  let owned = new Set<number>();
  const ticking = new Map<number, Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let consumer: StreamConsumer | undefined;
  let producer: StreamProducer | undefined;
  let running = false;
  let failed = false;
  /** Partitions stopped by a rollback that cannot be replayed (counted once; unhealthy until one of their batches passes). */
  const stopped = new Set<number>();

  const scope = (partition: number): CheckpointScope => ({
    group: config.groupId,
    topic: config.topics.events,
    partition,
  });

  async function stateFor(batch: InBatch): Promise<PartitionState> {
    const first = BigInt((batch.records[0] as InRecord).offset);
    const held = parts.get(batch.partition);
    // A batch that starts at or before where our memory is (a re-delivery) can continue from it: the
    // state at `held.offset` is exactly what we checkpointed. A batch starting further on means
    // another instance processed the gap: reload.
    if (held && first <= held.offset + 1n) {
      if (first <= held.offset) {
        logger.debug(
          { partition: batch.partition, firstOffset: first.toString(), held: held.offset.toString() },
          're-delivered records skipped',
        );
      }
      return held;
    }
    const engine = semantizer.newEngine();
    const cp = await checkpoints.load(scope(batch.partition));
    let offset = -1n;
    if (cp) {
      engine.restore({ meta: cp.meta, fields: cp.fields });
      offset = BigInt(cp.offset);
    }
    if (first > offset + 1n) await checkRollback(batch.partition, offset);
    logger.info(
      {
        partition: batch.partition,
        checkpoint: cp ? cp.offset : null,
        legacy: cp?.legacy === true,
        firstOffset: first.toString(),
      },
      'partition state restored',
    );
    // a legacy checkpoint is saved to the current key, where none is stored yet
    const state = { engine, offset, base: cp && cp.legacy !== true ? cp.offset : '' };
    parts.set(batch.partition, state);
    return state;
  }

  /**
   * The restored state ends at `offset` but the partition's batch starts further on. When the group
   * committed beyond `offset + 1`, the state lost writes its commits relied on (Redis restored from an
   * older snapshot, a failover to a lagging replica): the records in between are replayed from the
   * topic (a `StreamRewind` to `offset + 1`) — windows are deterministic and consumers de-duplicate
   * them by id — or, when retention has removed them, the partition stops with an error naming the
   * offsets and the recovery (README, "Redis rollback"). A group without a commit (a fresh start on a
   * log that no longer begins at 0) or with a commit at `offset + 1` (offsets without records) is not
   * a rollback.
   */
  async function checkRollback(partition: number, offset: bigint): Promise<void> {
    const admin = stream.admin();
    let at: Awaited<ReturnType<typeof admin.partitionOffsets>>[number] | undefined;
    try {
      at = (await admin.partitionOffsets(config.groupId, config.topics.events)).find((p) => p.partition === partition);
    } finally {
      await admin.close();
    }
    if (at?.committed === undefined || BigInt(at.committed) <= offset + 1n) return;
    const from = offset + 1n;
    const facts = {
      partition,
      topic: config.topics.events,
      checkpointOffset: offset.toString(),
      committedOffset: at.committed,
      logStart: at.low,
    };
    if (BigInt(at.low) > from) {
      if (!stopped.has(partition)) metrics.rollbacks.inc({ recovery: 'stopped' });
      stopped.add(partition);
      logger.error(facts, 'semantizer state rolled back and the records to rebuild it are gone: partition stopped');
      throw new PersonaStreamError(
        ErrorCode.FailedPrecondition,
        `semantizer state of ${config.topics.events} partition ${partition} (group ${config.groupId}) was rolled back: its checkpoint ends at offset ${offset} but the group committed offset ${at.committed} (Redis lost acknowledged writes), and the topic now starts at offset ${at.low}, so offsets ${from}..${BigInt(at.low) - 1n} cannot be replayed; the partition stops here — see "Redis rollback" in services/semantizer/README.md for the recovery`,
      );
    }
    metrics.rollbacks.inc({ recovery: 'replay' });
    logger.warn(
      facts,
      'semantizer state rolled back (Redis lost checkpoint writes): replaying the partition from the checkpoint',
    );
    throw new StreamRewind(
      from.toString(),
      `semantizer state of partition ${partition} rolled back to offset ${offset} (committed ${at.committed}): replaying from ${from}`,
    );
  }

  function dlqRecord(r: InRecord, step: string, reason: string): OutRecord {
    metrics.dlq.inc({ step, reason });
    return {
      key: r.key,
      value: r.value,
      headers: {
        ...r.headers,
        [DlqHeaders.reason]: reason,
        [DlqHeaders.step]: step,
        [DlqHeaders.sourceTopic]: r.topic,
        [DlqHeaders.sourcePartition]: String(r.partition),
        [DlqHeaders.sourceOffset]: r.offset,
      },
    };
  }

  /** Pass 1: decode and validate every record; note the idle-store fields of returning live users. */
  async function decodeAll(records: readonly InRecord[], from: number, engine: PartitionEngine) {
    const items: Decoded[] = [];
    const lookups = new Set<string>();
    for (let i = from; i < records.length; i++) {
      if ((i - from) % YIELD_EVERY === YIELD_EVERY - 1) await yieldToIo();
      const r = records[i] as InRecord;
      const d = decode(r);
      if (d.type !== 'ok') {
        items.push({ kind: 'dlq', r, step: 'decode', reason: d.reason });
        continue;
      }
      const kind = d.value.kind;
      if (kind.case === 'endOfRun') items.push({ kind: 'marker', r, marker: kind.value });
      else if (kind.case === 'tick') items.push({ kind: 'tick', nowMs: kind.value.nowMs });
      else if (kind.case === 'erasure') {
        const { tenant, userId, erasedMs } = kind.value;
        const problem = erasureProblem(r.key, tenant, userId, erasedMs);
        if (problem) items.push({ kind: 'dlq', r, step: 'validate', reason: problem });
        else items.push({ kind: 'erasure', r, tenant, userId, erasedMs });
      } else if (kind.case !== 'event') items.push({ kind: 'skip' });
      else {
        const v = validate(kind.value, r.key);
        if (v.type !== 'ok') {
          items.push({ kind: 'dlq', r, step: 'validate', reason: v.reason });
          continue;
        }
        const e = v.value;
        const field = engine.idleField(e.tenant, e.userId, e.runId);
        if (field !== undefined) lookups.add(field);
        items.push({ kind: 'event', r, event: e });
      }
    }
    return { items, lookups };
  }

  /** Brings returning live users back from the idle store (one round trip for the batch). */
  async function reviveUsers(partition: number, engine: PartitionEngine, lookups: Set<string>): Promise<void> {
    if (lookups.size === 0) return;
    const fields = [...lookups];
    const values = await checkpoints.loadIdle(scope(partition), fields);
    values.forEach((v, i) => {
      if (v !== undefined) engine.revive(fields[i] as string, v);
    });
  }

  /** The forwarded end-of-run marker of a run, after its windows, on the same partition index. */
  function markerRecord(partition: number, marker: EndOfRun, records: number): OutRecord {
    return {
      key: `eor/${marker.runId}`,
      partition,
      value: encode(
        WindowRecordSchema,
        create(WindowRecordSchema, {
          kind: {
            case: 'endOfRun',
            value: create(EndOfRunSchema, {
              runId: marker.runId,
              producer: 'semantizer',
              partition,
              totalPartitions: marker.totalPartitions,
              records,
              tenant: marker.tenant,
              producedTimeMs: Date.now(),
            }),
          },
        }),
      ),
    };
  }

  /** Why a marker cannot end a run (dead-lettered), or undefined when it can. */
  function markerProblem(marker: EndOfRun): string | undefined {
    if (marker.tenant === '') return 'marker_without_tenant';
    if (isLiveRun(marker.runId)) return 'live_run_never_ends';
    return undefined;
  }

  async function handle(batch: InBatch): Promise<void> {
    if (batch.records.length === 0) return;
    const timer = metrics.batchSeconds.startTimer();
    const state = await stateFor(batch);
    const { engine } = state;
    const out: OutRecord[] = [];
    const dlq: OutRecord[] = [];
    const closed: ClosedWindow[] = [];
    const flushClosed = () => {
      for (const c of closed) out.push(windowRecord(c.key, c.window, c.entryMs, c.firstEntryMs));
      closed.length = 0;
    };
    // Records come in offset order: skip the re-delivered ones (≤ the state's offset) once.
    const records = batch.records;
    let from = 0;
    while (from < records.length && BigInt((records[from] as InRecord).offset) <= state.offset) from++;
    const last = from < records.length ? BigInt((records[records.length - 1] as InRecord).offset) : state.offset;
    const { items, lookups } = await decodeAll(records, from, engine);
    await reviveUsers(batch.partition, engine, lookups);
    for (let i = 0; i < items.length; i++) {
      // A big batch is tens of thousands of records: let I/O in between (heartbeats, a rebalance
      // noticed, other partitions' acknowledgements) instead of holding the thread for a second.
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToIo();
      const item = items[i] as Decoded;
      switch (item.kind) {
        case 'dlq':
          dlq.push(dlqRecord(item.r, item.step, item.reason));
          break;
        case 'event':
          if (engine.ingest(item.event, closed, item.r.timestamp) === 'after_end_of_run') {
            dlq.push(dlqRecord(item.r, 'window', 'after_end_of_run'));
          }
          break;
        case 'tick':
          engine.tick(item.nowMs, closed);
          metrics.ticks.inc();
          break;
        case 'erasure':
          engine.erase(item.tenant, item.userId, item.erasedMs);
          logger.info({ partition: batch.partition, tenant: item.tenant }, 'user erased on its partition');
          break;
        case 'marker': {
          const problem = markerProblem(item.marker);
          if (problem) {
            dlq.push(dlqRecord(item.r, 'window', problem));
            break;
          }
          const { windows, records: count } = engine.endOfRun(item.marker.tenant, item.marker.runId);
          closed.push(...windows);
          flushClosed();
          out.push(markerRecord(batch.partition, item.marker, count));
          metrics.markers.inc();
          break;
        }
      }
    }
    flushClosed();
    await Promise.all([
      out.length > 0 ? (producer as StreamProducer).send(config.topics.windows, out) : undefined,
      dlq.length > 0 ? (producer as StreamProducer).send(config.topics.dlq, dlq) : undefined,
    ]);
    if (last > state.offset) {
      const delta = engine.takeDelta();
      const saved = await saveOver(batch.partition, state, { offset: last.toString(), ...delta });
      if (saved) {
        state.offset = last;
        state.base = last.toString();
      } else {
        // Another instance checkpointed further: our copy is stale; the next batch reloads.
        parts.delete(batch.partition);
        logger.warn({ partition: batch.partition, offset: last.toString() }, 'stale partition state dropped');
      }
    }
    metrics.report(semantizer.stats, usersInMemory());
    timer();
  }

  /**
   * Saves a delta over the checkpoint `state` was built on. Should the stored one be another (Redis
   * lost writes under a running instance), the state is dropped and the batch comes again from its
   * first record: the reload then sees the rollback (`checkRollback`).
   */
  async function saveOver(partition: number, state: PartitionState, write: CheckpointWrite): Promise<boolean> {
    try {
      return await checkpoints.save(scope(partition), { ...write, base: state.base });
    } catch (err) {
      if (!(err instanceof CheckpointBaseMismatch)) throw err;
      parts.delete(partition);
      logger.warn(
        { partition, base: err.base || null, stored: err.stored || null },
        'checkpoint is not the one this state was saved at (Redis lost writes?): state reloaded',
      );
      const first = state.offset + 1n;
      throw new StreamRewind(first.toString(), err.message);
    }
  }

  function usersInMemory(): number {
    let n = 0;
    for (const st of parts.values()) n += st.engine.userCount();
    return n;
  }

  /** The group handed out partitions: forget the state of those given to someone else. */
  function assigned(assignment: Assignment[]): void {
    const mine = assignment.find((a) => a.topic === config.topics.events)?.partitions ?? [];
    owned = new Set(mine);
    for (const p of [...parts.keys()]) if (!owned.has(p)) parts.delete(p);
    metrics.report(semantizer.stats, usersInMemory());
  }

  /** A tick for every held partition with live users, or not restored yet (one in flight per partition). */
  async function punctuate(): Promise<void> {
    if (!producer) return;
    const sends: Promise<void>[] = [];
    for (const p of owned) {
      const st = parts.get(p);
      if ((st && !st.engine.wantsTicks()) || ticking.has(p)) continue;
      const send = (producer as StreamProducer)
        .send(config.topics.events, [tickRecord(p, clock())])
        .catch((err: unknown) => logger.warn({ err, partition: p }, 'tick not written; the next one follows'))
        .finally(() => ticking.delete(p));
      ticking.set(p, send);
      sends.push(send);
    }
    await Promise.all(sends);
  }

  return {
    async start() {
      const admin = stream.admin();
      try {
        const [inP, outP] = await Promise.all([
          admin.partitionCount(config.topics.events),
          admin.partitionCount(config.topics.windows),
        ]);
        if (inP !== outP) {
          throw new PersonaStreamError(
            ErrorCode.FailedPrecondition,
            `topic ${config.topics.windows} has ${outP} partitions but ${config.topics.events} has ${inP}: end-of-run markers are forwarded partition by partition, so they must match`,
          );
        }
      } finally {
        await admin.close();
      }
      producer = stream.producer();
      consumer = stream.consumer({
        groupId: config.groupId,
        topics: [config.topics.events],
        concurrency: config.concurrency,
        onAssignment: assigned,
        fetch: {
          maxBytesPerPartition: config.fetchBytesPerPartition,
          maxBytes: Math.max(10 * 1024 * 1024, config.fetchBytesPerPartition * config.concurrency),
        },
      });
      await consumer.start(async (batch) => {
        try {
          await handle(batch);
        } catch (err) {
          if (err instanceof StreamRewind) {
            // a rollback being repaired (already logged): the partition is consumed again from there
            parts.delete(batch.partition);
            throw err;
          }
          failed = true;
          logger.error({ err, partition: batch.partition }, 'batch failed; it will be redelivered');
          parts.delete(batch.partition);
          throw err;
        }
        failed = false;
        stopped.delete(batch.partition);
      });
      running = true;
      if (config.tickMs > 0) {
        timer = setInterval(() => void punctuate(), config.tickMs);
        timer.unref();
      }
      logger.info({ groupId: config.groupId, topics: config.topics, tickMs: config.tickMs }, 'semantizer started');
    },
    punctuate,
    async stop() {
      running = false;
      if (timer) clearInterval(timer);
      await Promise.allSettled([...ticking.values()]);
      await consumer?.stop();
      await producer?.close();
      logger.info('semantizer stopped');
    },
    health() {
      // a partition stopped by a rollback keeps the service unhealthy while other partitions go on
      return running && !failed && stopped.size === 0;
    },
  };
}
