import { create, toBinary } from '@bufbuild/protobuf';
import { DefaultPartitions, EventRecordSchema, endOfRun, partitionForKey, Topics } from '@personastream/contracts';
import { Counter, Gauge, Histogram, type Logger, type Registry } from '@personastream/runtime';
import type { OutRecord, StreamProducer } from '@personastream/stream';
import type { IngestAppConfig } from './config.js';
import { RecentIds } from './core/recent-ids.js';
import { TokenBuckets } from './core/token-bucket.js';
import { type EventError, issueReason } from './core/types.js';
import { type ValidEvent, validateBatch } from './core/validate.js';
import { createDedupStep } from './steps/dedup.js';
import type { EventShape } from './steps/map-event.js';

export interface IngestTopics {
  /** Where valid events go (default `behavior.events.v1`). */
  events: string;
  /** Where events rejected on asynchronous paths go (default `behavior.events.dlq.v1`). */
  dlq: string;
}

export interface IngestServiceDeps {
  producer: StreamProducer;
  logger: Logger;
  registry: Registry;
  topics?: Partial<IngestTopics>;
  /** Partition count of the events topic (for end-of-run markers and per-partition counts). */
  eventPartitions?: () => Promise<number>;
  /** Clock, epoch ms (tests). */
  now?: () => number;
}

/** Body of a 200/400 answer to an ingest request. */
export interface IngestReply {
  /** Events written to Kafka and acknowledged by every in-sync replica (acks=all) in this request. */
  accepted: number;
  /** Events whose id was already accepted (earlier request or earlier in this one): not written again. */
  duplicates: number;
  /** Incoming events rejected (each has one or more entries in `errors`). */
  rejected: number;
  errors: EventError[];
}

/** Body of an answer that refuses the whole request. */
export interface ErrorReply {
  error: string;
  message: string;
  errors?: EventError[];
}

export type IngestOutcome =
  | { status: 200 | 400; body: IngestReply; retryAfterS?: undefined }
  | { status: 400 | 403 | 413 | 429 | 503; body: ErrorReply; retryAfterS?: number };

export interface IngestRequest {
  /** Tenant of the API key. */
  tenant: string;
  shape: EventShape;
  body: unknown;
}

export interface IngestService {
  /** Validates, rate-limits, de-duplicates and produces one request; resolves after Kafka acknowledged. */
  ingest(req: IngestRequest): Promise<IngestOutcome>;
  /**
   * Ends a run: writes an `EndOfRun` marker (producer `ingest`) to every partition of the events
   * topic, after everything this instance accepted for the run. `records` counts this instance's records.
   */
  endRun(tenant: string, runId: string): Promise<{ partitions: number }>;
  /** False while the last produce attempt failed (Kafka unreachable). */
  kafkaUp(): boolean;
  topics: IngestTopics;
}

class ProduceTimeout extends Error {}

function metric<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/**
 * The ingest pipeline behind every entry point (HTTP now, anything else later): validation core →
 * tenant check → per-tenant rate limit → id de-duplication → Kafka (acks=all) → answer.
 * Nothing is reported accepted before the producer resolved; on a produce failure or timeout the
 * request answers 503 and the taken rate tokens are given back.
 */
export function createIngestService(config: IngestAppConfig, deps: IngestServiceDeps): IngestService {
  const topics: IngestTopics = {
    events: deps.topics?.events ?? Topics.events,
    dlq: deps.topics?.dlq ?? Topics.eventsDlq,
  };
  const now = deps.now ?? Date.now;
  const buckets = new TokenBuckets(config.ratePerS, config.burst, now);
  const seen = new RecentIds(config.dedupCapacity);
  const dedup = createDedupStep({ seen });
  /** Per tenant: ids of events in a send that has not settled yet → that send (true when acknowledged). */
  const inflight = new Map<string, Map<string, Promise<boolean>>>();
  /** Per `tenant\u0000runId`: records acknowledged per partition of the events topic (end-of-run markers). */
  const runCounts = new Map<string, number[]>();
  let partitions: Promise<number> | undefined;
  const partitionCount = () => {
    partitions ??= (deps.eventPartitions?.() ?? Promise.resolve(DefaultPartitions[Topics.events])).catch((err) => {
      partitions = undefined;
      throw err;
    });
    return partitions;
  };
  let up = true;

  const { registry } = deps;
  const eventsTotal = metric(
    registry,
    'ingest_events_total',
    () =>
      new Counter({
        name: 'ingest_events_total',
        help: 'Incoming events by tenant and outcome (accepted, duplicate, rejected, rate_limited, forbidden, unavailable)',
        labelNames: ['tenant', 'outcome'],
        registers: [registry],
      }),
  );
  const rejections = metric(
    registry,
    'ingest_rejections_total',
    () =>
      new Counter({
        name: 'ingest_rejections_total',
        help: 'Rejected events by reason (<field>_<reason>)',
        labelNames: ['reason'],
        registers: [registry],
      }),
  );
  const produceSeconds = metric(
    registry,
    'ingest_produce_seconds',
    () =>
      new Histogram({
        name: 'ingest_produce_seconds',
        help: 'Time from produce call to acks=all acknowledgement',
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      }),
  );
  const kafkaUpGauge = metric(
    registry,
    'ingest_kafka_up',
    () => new Gauge({ name: 'ingest_kafka_up', help: '1 while the last produce succeeded', registers: [registry] }),
  );
  kafkaUpGauge.set(1);

  function refuse(
    status: 400 | 403 | 413 | 429 | 503,
    error: string,
    message: string,
    extra: { retryAfterS?: number; errors?: EventError[] } = {},
  ): IngestOutcome {
    const body: ErrorReply = { error, message };
    if (extra.errors) body.errors = extra.errors;
    return { status, body, retryAfterS: extra.retryAfterS };
  }

  /** Counts acknowledged records per run and partition (the partitions were set before the send). */
  function countRecords(tenant: string, events: ValidEvent[], n: number): void {
    let runId = '';
    let counts: number[] | undefined;
    for (const v of events) {
      if (counts === undefined || v.event.runId !== runId) {
        runId = v.event.runId;
        const key = `${tenant}\u0000${runId}`;
        counts = runCounts.get(key);
        if (counts === undefined) {
          counts = new Array<number>(n).fill(0);
          runCounts.set(key, counts);
        }
      }
      const p = v.record.partition as number;
      counts[p] = (counts[p] ?? 0) + 1;
    }
  }

  /** Sends with a deadline; marks ids seen whenever Kafka acknowledges, even after the deadline. */
  async function produce(tenant: string, events: ValidEvent[]): Promise<void> {
    const n = await partitionCount();
    const records: OutRecord[] = new Array(events.length);
    for (let i = 0; i < events.length; i++) {
      const r = (events[i] as ValidEvent).record;
      // partitioned once here (the producer takes it as given), and counted per run on the ack
      r.partition = partitionForKey(r.key, n);
      records[i] = r;
    }
    const started = process.hrtime.bigint();
    const send = deps.producer.send(topics.events, records);
    const settled = send.then(
      () => {
        produceSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
        for (const v of events) seen.add(tenant, v.event.eventId);
        countRecords(tenant, events, n);
        if (!up) deps.logger.info('kafka reachable again');
        up = true;
        kafkaUpGauge.set(1);
        return true;
      },
      (err: unknown) => {
        if (up) deps.logger.error({ err }, 'produce failed: answering 503');
        up = false;
        kafkaUpGauge.set(0);
        return false;
      },
    );
    let pending = inflight.get(tenant);
    if (!pending) {
      pending = new Map();
      inflight.set(tenant, pending);
    }
    const sending = pending;
    for (const v of events) sending.set(v.event.eventId, settled);
    void settled.then(() => {
      for (const v of events) if (sending.get(v.event.eventId) === settled) sending.delete(v.event.eventId);
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProduceTimeout('produce timed out')), config.produceTimeoutMs);
    });
    try {
      const ok = await Promise.race([settled, deadline]);
      if (!ok) throw new Error('produce failed');
    } catch (err) {
      if (err instanceof ProduceTimeout) {
        if (up) deps.logger.error({ timeoutMs: config.produceTimeoutMs }, 'produce timed out: answering 503');
        up = false;
        kafkaUpGauge.set(0);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    topics,
    kafkaUp: () => up,

    async ingest(req) {
      const { tenant } = req;
      const nowMs = now();
      const v = validateBatch(req.body, {
        shape: req.shape,
        tenant,
        nowMs,
        defaultRunId: config.defaultRunId,
        minEventTimeMs: config.minEventTimeMs,
        maxEventTimeMs: nowMs + config.maxFutureMs,
        maxBatch: config.maxBatch,
      });
      if (!v.ok) {
        if (v.problem === 'too_many_events') {
          return refuse(413, 'too_many_events', `at most ${config.maxBatch} events per request`);
        }
        return refuse(400, 'invalid_body', `request body: ${v.issue.field || 'body'} ${v.issue.reason}`, {
          errors: [{ index: -1, ...v.issue }],
        });
      }
      const foreign = v.errors.filter((e) => e.reason === 'tenant_mismatch');
      if (foreign.length > 0) {
        eventsTotal.inc({ tenant, outcome: 'forbidden' }, v.received);
        return refuse(403, 'permission_denied', `the API key of tenant "${tenant}" cannot send other tenants' events`, {
          errors: foreign,
        });
      }
      const waitS = buckets.take(tenant, v.received);
      if (waitS > 0) {
        eventsTotal.inc({ tenant, outcome: 'rate_limited' }, v.received);
        return refuse(429, 'rate_limited', `tenant "${tenant}" is past ${config.ratePerS} events/s`, {
          retryAfterS: Math.max(1, Math.ceil(waitS)),
        });
      }

      const rejectedIdx = new Set(v.errors.map((e) => e.index));
      for (const e of v.errors) rejections.inc({ reason: issueReason(e) });
      let duplicates = 0;
      let fresh: ValidEvent[] = [];
      const batchIds = new Set<string>();
      for (const ve of v.valid) {
        const r = dedup(ve.event, batchIds);
        if (r.type === 'ok') fresh.push(ve);
        else duplicates++;
      }
      // the same ids in flight in a concurrent request: wait for it, then they are duplicates if it succeeded
      const pending = inflight.get(tenant);
      while (pending !== undefined && pending.size > 0) {
        const waits = new Set<Promise<boolean>>();
        for (const ve of fresh) {
          const p = pending.get(ve.event.eventId);
          if (p) waits.add(p);
        }
        if (waits.size === 0) break;
        await Promise.all(waits);
        const before = fresh.length;
        fresh = fresh.filter((ve) => !seen.has(tenant, ve.event.eventId));
        duplicates += before - fresh.length;
      }

      if (fresh.length > 0) {
        try {
          await produce(tenant, fresh);
        } catch {
          buckets.refund(tenant, v.received);
          eventsTotal.inc({ tenant, outcome: 'unavailable' }, v.received);
          return refuse(
            503,
            'unavailable',
            'Kafka did not acknowledge the events; nothing of this request was accepted, retry later',
            {
              retryAfterS: config.retryAfterS,
            },
          );
        }
      }
      const rejected = rejectedIdx.size;
      if (fresh.length > 0) eventsTotal.inc({ tenant, outcome: 'accepted' }, fresh.length);
      if (duplicates > 0) eventsTotal.inc({ tenant, outcome: 'duplicate' }, duplicates);
      if (rejected > 0) eventsTotal.inc({ tenant, outcome: 'rejected' }, rejected);
      const body: IngestReply = { accepted: fresh.length, duplicates, rejected, errors: v.errors };
      const allRejected = v.received > 0 && rejected === v.received;
      return { status: allRejected ? 400 : 200, body };
    },

    async endRun(tenant, runId) {
      // markers go after everything already sent: wait for the sends in flight
      await Promise.all(new Set([...inflight.values()].flatMap((m) => [...m.values()])));
      const n = await partitionCount();
      const records: OutRecord[] = [];
      for (let p = 0; p < n; p++) {
        const marker = endOfRun({
          runId,
          producer: 'ingest',
          partition: p,
          totalPartitions: n,
          records: runCounts.get(`${tenant}\u0000${runId}`)?.[p] ?? 0,
          tenant,
        });
        records.push({
          key: `eor/${runId}`,
          partition: p,
          value: toBinary(EventRecordSchema, create(EventRecordSchema, { kind: { case: 'endOfRun', value: marker } })),
        });
      }
      await deps.producer.send(topics.events, records);
      return { partitions: n };
    },
  };
}
