import { create } from '@bufbuild/protobuf';
import {
  EndOfRunSchema,
  ErrorCode,
  encode,
  entryHeaders,
  PersonaStreamError,
  type SemantizedWindow,
  WindowRecordSchema,
} from '@personastream/contracts';
import type { Logger, Registry } from '@personastream/runtime';
import type { InBatch, InRecord, OutRecord, Stream, StreamConsumer, StreamProducer } from '@personastream/stream';
import type { CheckpointScope, CheckpointStore } from './adapters/checkpoints.js';
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
}

export interface SemantizerService {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): boolean;
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
}

/**
 * Encodes a window as a `WindowRecord` on the windows topic, keyed `tenant/user_id` (the direct
 * encoder of `core/window-binary.ts`: the bytes protobuf-es writes). `entryMs` — when the window's
 * newest event entered the pipeline (`ClosedWindow.entryMs`; 0 unknown) — travels as the
 * `ps-entry-ms` header, outside the deterministic window bytes.
 */
export function windowRecord(key: string, window: SemantizedWindow, entryMs = 0): OutRecord {
  const headers = entryHeaders(entryMs);
  return headers ? { key, value: encodeWindowRecord(window), headers } : { key, value: encodeWindowRecord(window) };
}

/**
 * The semantizer service: consumes `topics.events` in a consumer group, runs each partition's batch
 * through decode → validate → the partition's core engine, produces closed windows (keyed
 * `tenant/user_id`) and forwarded end-of-run markers to `topics.windows` and rejected records to
 * `topics.dlq`, then checkpoints the partition's open-window state; only then does the batch handler
 * resolve (and the consumer commit). On a partition it does not hold in memory — start, restart,
 * rebalance — or whose batch starts beyond what its memory covers, it restores the checkpoint; it
 * always skips records at offsets ≤ the state's offset.
 */
export function createSemantizerService(config: SemantizerConfig, deps: SemantizerDeps): SemantizerService {
  const { stream, checkpoints, logger } = deps;
  const semantizer = new Semantizer(config);
  const metrics = createSemantizerMetrics(deps.registry);
  const decode = createDecodeStep();
  const validate = createValidateStep();
  const parts = new Map<number, PartitionState>();
  let consumer: StreamConsumer | undefined;
  let producer: StreamProducer | undefined;
  let running = false;
  let failed = false;

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
    logger.info(
      { partition: batch.partition, checkpoint: cp ? cp.offset : null, firstOffset: first.toString() },
      'partition state restored',
    );
    const state = { engine, offset };
    parts.set(batch.partition, state);
    return state;
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

  async function handle(batch: InBatch): Promise<void> {
    if (batch.records.length === 0) return;
    const timer = metrics.batchSeconds.startTimer();
    const state = await stateFor(batch);
    const { engine } = state;
    const out: OutRecord[] = [];
    const dlq: OutRecord[] = [];
    const closed: ClosedWindow[] = [];
    const flushClosed = () => {
      for (const c of closed) out.push(windowRecord(c.key, c.window, c.entryMs));
      closed.length = 0;
    };
    // Records come in offset order: skip the re-delivered ones (≤ the state's offset) once.
    const records = batch.records;
    let from = 0;
    while (from < records.length && BigInt((records[from] as InRecord).offset) <= state.offset) from++;
    const last = from < records.length ? BigInt((records[records.length - 1] as InRecord).offset) : state.offset;
    for (let i = from; i < records.length; i++) {
      // A big batch is tens of thousands of records: let I/O in between (heartbeats, a rebalance
      // noticed, other partitions' acknowledgements) instead of holding the thread for a second.
      if ((i - from) % YIELD_EVERY === YIELD_EVERY - 1) await yieldToIo();
      const r = records[i] as InRecord;
      const d = decode(r);
      if (d.type !== 'ok') {
        dlq.push(dlqRecord(r, 'decode', d.reason));
        continue;
      }
      const kind = d.value.kind;
      if (kind.case === 'endOfRun') {
        const marker = kind.value;
        const { windows, records } = engine.endOfRun(marker.runId);
        closed.push(...windows);
        flushClosed();
        out.push({
          key: `eor/${marker.runId}`,
          partition: batch.partition,
          value: encode(
            WindowRecordSchema,
            create(WindowRecordSchema, {
              kind: {
                case: 'endOfRun',
                value: create(EndOfRunSchema, {
                  runId: marker.runId,
                  producer: 'semantizer',
                  partition: batch.partition,
                  totalPartitions: marker.totalPartitions,
                  records,
                  tenant: marker.tenant,
                  producedTimeMs: Date.now(),
                }),
              },
            }),
          ),
        });
        metrics.markers.inc();
        continue;
      }
      if (kind.case !== 'event') continue;
      const v = validate(kind.value, r.key);
      if (v.type !== 'ok') {
        dlq.push(dlqRecord(r, 'validate', v.reason));
        continue;
      }
      if (engine.ingest(v.value, closed, r.timestamp) === 'after_end_of_run') {
        dlq.push(dlqRecord(r, 'window', 'after_end_of_run'));
      }
    }
    flushClosed();
    await Promise.all([
      out.length > 0 ? (producer as StreamProducer).send(config.topics.windows, out) : undefined,
      dlq.length > 0 ? (producer as StreamProducer).send(config.topics.dlq, dlq) : undefined,
    ]);
    if (last > state.offset) {
      const delta = engine.takeDelta();
      const saved = await checkpoints.save(scope(batch.partition), { offset: last.toString(), ...delta });
      if (saved) state.offset = last;
      else {
        // Another instance checkpointed further: our copy is stale; the next batch reloads.
        parts.delete(batch.partition);
        logger.warn({ partition: batch.partition, offset: last.toString() }, 'stale partition state dropped');
      }
    }
    metrics.report(semantizer.stats);
    timer();
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
        fetch: {
          maxBytesPerPartition: config.fetchBytesPerPartition,
          maxBytes: Math.max(10 * 1024 * 1024, config.fetchBytesPerPartition * config.concurrency),
        },
      });
      await consumer.start(async (batch) => {
        try {
          await handle(batch);
        } catch (err) {
          failed = true;
          logger.error({ err, partition: batch.partition }, 'batch failed; it will be redelivered');
          parts.delete(batch.partition);
          throw err;
        }
        failed = false;
      });
      running = true;
      logger.info({ groupId: config.groupId, topics: config.topics }, 'semantizer started');
    },
    async stop() {
      running = false;
      await consumer?.stop();
      await producer?.close();
      logger.info('semantizer stopped');
    },
    health() {
      return running && !failed;
    },
  };
}
