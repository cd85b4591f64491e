import { create } from '@bufbuild/protobuf';
import {
  EventRecordSchema,
  encode,
  endOfRun,
  partitionForKey,
  Topics,
  TruthRecordSchema,
  userKey,
} from '@personastream/contracts';
import type { Logger } from '@personastream/runtime';
import type { OutRecord, Stream } from '@personastream/stream';
import type { SimulatorConfig } from '../core/config.js';
import { simulateUserPayloads, type UserPayload } from '../core/run.js';

/** Header marking a malformed record (raw JSON bytes, not an EventRecord) on the events topic. */
export const MALFORMED_HEADER = 'ps-malformed';
/** Producer name on end-of-run markers. */
export const PRODUCER = 'simulator';

export interface RunSummary {
  runId: string;
  tenant: string;
  users: number;
  events: number;
  malformed: number;
  truths: number;
  /** Records sent to each partition (index = partition), per topic, markers excluded. */
  partitions: { events: number[]; truth: number[] };
  /** True when stopped by the abort signal: no end-of-run markers were written. */
  aborted: boolean;
}

export interface PublishOptions {
  /** Called after each user's records were handed to the batcher. */
  onProgress?(usersDone: number): void;
  /** Called after each acknowledged batch with what it held. */
  onBatch?(sent: { events: number; malformed: number; truths: number }): void;
  /** Records per send (default 1,000). */
  batchSize?: number;
  /**
   * Real-time pacing for live demos: events are sent when their receipt time, scaled down by this
   * factor, has passed (1 = real time, 3600 = an hour per second). 0 / undefined = full speed.
   * Paced mode merges all users by time and so holds the run in memory (meant for demo sizes).
   */
  speedup?: number;
  /** Stops after the current batch; no markers are written (see `RunSummary.aborted`). */
  signal?: AbortSignal;
  /** Topic names (default `Topics.events` / `Topics.truth`); tests and benchmarks use their own. */
  topics?: { events: string; truth: string };
  /** Clock and sleep (tests). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface Pending {
  topic: 'events' | 'truth';
  record: OutRecord;
  kind: 'event' | 'malformed' | 'truth';
  /** Scheduled receipt time (paced mode), epoch ms of simulated time. */
  at: number;
}

const utf8 = new TextEncoder();

function toPending(tenant: string, userId: string, r: UserPayload, lastAt: number): Pending {
  const key = userKey(tenant, userId);
  switch (r.kind) {
    case 'event':
      return { topic: 'events', kind: 'event', at: r.receivedMs, record: { key, value: r.bytes } };
    case 'malformed':
      return {
        topic: 'events',
        kind: 'malformed',
        at: lastAt,
        record: {
          key: r.key,
          value: utf8.encode(r.json),
          headers: { [MALFORMED_HEADER]: '1', 'ps-malformed-reason': r.reason },
        },
      };
    case 'truth':
      return {
        topic: 'truth',
        kind: 'truth',
        at: Number.NEGATIVE_INFINITY,
        record: {
          key,
          value: encode(TruthRecordSchema, create(TruthRecordSchema, { kind: { case: 'truth', value: r.truth } })),
        },
      };
  }
}

/**
 * Publishes one simulated run: events (EventRecord, binary protobuf) and malformed records (raw JSON,
 * header `ps-malformed: 1`) to `behavior.events.v1`, ground truth (TruthRecord) to `hpr.truth.v1`, all
 * keyed `tenant/user_id`; sends are batched and each batch is awaited, so one user's records keep
 * their order on their partition. Ends with an EndOfRun marker on every partition of both topics
 * carrying the number of records sent to that partition.
 */
export async function publishRun(
  config: SimulatorConfig,
  deps: { stream: Stream; logger: Logger },
  opts: PublishOptions = {},
): Promise<RunSummary> {
  const batchSize = Math.max(1, opts.batchSize ?? 1000);
  const producer = deps.stream.producer();
  const admin = deps.stream.admin();
  const log = deps.logger.child({ runId: config.runId, tenant: config.tenant });
  const topicOf = { events: opts.topics?.events ?? Topics.events, truth: opts.topics?.truth ?? Topics.truth };
  try {
    const nEvents = await admin.partitionCount(topicOf.events);
    const nTruth = await admin.partitionCount(topicOf.truth);
    const summary: RunSummary = {
      runId: config.runId,
      tenant: config.tenant,
      users: 0,
      events: 0,
      malformed: 0,
      truths: 0,
      partitions: { events: new Array(nEvents).fill(0), truth: new Array(nTruth).fill(0) },
      aborted: false,
    };
    const batches: Record<'events' | 'truth', Pending[]> = { events: [], truth: [] };
    const aborted = () => opts.signal?.aborted === true;

    const account = (topic: 'events' | 'truth', batch: Pending[]) => {
      const sent = { events: 0, malformed: 0, truths: 0 };
      const n = topic === 'events' ? nEvents : nTruth;
      for (const b of batch) {
        if (b.kind === 'event') sent.events++;
        else if (b.kind === 'malformed') sent.malformed++;
        else sent.truths++;
        const part = partitionForKey(b.record.key, n);
        summary.partitions[topic][part] = (summary.partitions[topic][part] as number) + 1;
      }
      summary.events += sent.events;
      summary.malformed += sent.malformed;
      summary.truths += sent.truths;
      opts.onBatch?.(sent);
    };
    // At most one send in flight per topic: the next batch is generated while the previous one is on
    // the wire, and a batch is sent only after the previous one was acknowledged, so per-key order holds.
    const inflight: Record<'events' | 'truth', Promise<void>> = { events: Promise.resolve(), truth: Promise.resolve() };
    const flush = async (topic: 'events' | 'truth') => {
      const batch = batches[topic];
      if (batch.length === 0) return;
      batches[topic] = [];
      await inflight[topic];
      if (aborted()) return;
      const sending = producer.send(
        topicOf[topic],
        batch.map((b) => b.record),
      );
      sending.catch(() => undefined); // rethrown where awaited
      inflight[topic] = sending.then(() => account(topic, batch));
    };
    const drain = async () => {
      await inflight.events;
      await inflight.truth;
    };
    const add = async (p: Pending) => {
      batches[p.topic].push(p);
      if (batches[p.topic].length >= batchSize) await flush(p.topic);
    };

    if (!opts.speedup) {
      for (const { userId, payloads: records } of simulateUserPayloads(config)) {
        let at = 0;
        for (const r of records) {
          const p = toPending(config.tenant, userId, r, at);
          at = p.at;
          await add(p);
          if (aborted()) break;
        }
        if (aborted()) break;
        summary.users++;
        opts.onProgress?.(summary.users);
      }
    } else {
      // Paced: truth first (the evaluator needs it before personas arrive), then events by receipt time.
      const all: Pending[] = [];
      for (const { userId, payloads: records } of simulateUserPayloads(config)) {
        let at = 0;
        for (const r of records) {
          const p = toPending(config.tenant, userId, r, at);
          if (p.kind !== 'truth') at = p.at;
          all.push(p);
        }
        summary.users++;
        opts.onProgress?.(summary.users);
      }
      all.sort((a, b) => a.at - b.at); // stable: per-user order is kept (receipt times are non-decreasing per user)
      const now = opts.now ?? Date.now;
      const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
      const first = all.find((p) => p.kind !== 'truth')?.at ?? 0;
      const wallStart = now();
      for (const p of all) {
        if (p.kind !== 'truth') {
          const due = wallStart + (p.at - first) / (opts.speedup as number);
          const wait = due - now();
          if (wait > 5) {
            await flush('truth');
            await flush('events');
            await drain();
            await sleep(wait);
          }
        }
        await add(p);
        if (aborted()) break;
      }
    }
    if (!aborted()) {
      await flush('events');
      await flush('truth');
    }
    await drain();
    if (aborted()) {
      // Stopped on request after the current batch: markers are deliberately not written, so consumers
      // never take an incomplete run for a complete one.
      summary.aborted = true;
      log.warn({ summary }, 'publishing aborted before end of run');
      return summary;
    }
    const markers = (topic: 'events' | 'truth', n: number) =>
      Array.from({ length: n }, (_, partition) => {
        const marker = endOfRun({
          runId: config.runId,
          producer: PRODUCER,
          partition,
          totalPartitions: n,
          records: summary.partitions[topic][partition] as number,
          tenant: config.tenant,
        });
        const value =
          topic === 'events'
            ? encode(EventRecordSchema, create(EventRecordSchema, { kind: { case: 'endOfRun', value: marker } }))
            : encode(TruthRecordSchema, create(TruthRecordSchema, { kind: { case: 'endOfRun', value: marker } }));
        return { key: userKey(config.tenant, '__end_of_run__'), value, partition } satisfies OutRecord;
      });
    await producer.send(topicOf.events, markers('events', nEvents));
    await producer.send(topicOf.truth, markers('truth', nTruth));
    log.info({ events: summary.events, truths: summary.truths, malformed: summary.malformed }, 'run published');
    return summary;
  } finally {
    await producer.close();
    await admin.close();
  }
}
