import { create, toBinary } from '@bufbuild/protobuf';
import {
  DefaultPartitions,
  EventRecordSchema,
  endOfRun,
  isLiveRun,
  LIVE_RUN_ID,
  partitionForKey,
  runKey,
  Topics,
} from '@personastream/contracts';
import { Counter, Gauge, Histogram, type Logger, type Registry } from '@personastream/runtime';
import type { OutRecord, StreamProducer } from '@personastream/stream';
import {
  createRunCoordinator,
  EndTimeoutError,
  MemoryRunStore,
  type RunCoordinator,
  type SendTicket,
} from './adapters/run-coordinator.js';
import type { IngestAppConfig } from './config.js';
import { RecentIds } from './core/recent-ids.js';
import { runIdProblem } from './core/run-ids.js';
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
  /**
   * Coordinates finite runs' sends and ends with the other replicas (Redis). Default: one in this
   * process's memory (one replica); the service then closes it in `close`.
   */
  coordinator?: RunCoordinator;
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
  | { status: 400 | 403 | 409 | 413 | 429 | 503; body: ErrorReply; retryAfterS?: number };

/** Body of a 200 answer to an end of run. */
export interface EndRunReply {
  /** Partitions of the events topic, each of which got an `EndOfRun` marker. */
  partitions: number;
  /** Records of the run that ingest (every replica) had written before the markers. */
  records: number;
}

export type EndRunOutcome =
  | { status: 200; body: EndRunReply; retryAfterS?: undefined }
  | { status: 400 | 409 | 503; body: ErrorReply; retryAfterS?: number };

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
   * Ends the finite run (tenant, runId): from now on every replica refuses its events (409
   * `run_ended`); once no replica has a send of it in flight, an `EndOfRun` marker (producer
   * `ingest`, the run's tenant, the records every replica wrote to that partition) goes to every
   * partition of the events topic. Refuses the live run (409 `live_run_never_ends`). Idempotent: a
   * retry (e.g. after a 503) writes the markers again.
   */
  endRun(tenant: string, runId: string): Promise<EndRunOutcome>;
  /** False while the last produce attempt failed (Kafka unreachable). */
  kafkaUp(): boolean;
  /** Closes the run coordinator when the service made it (no coordinator in deps). */
  close(): Promise<void>;
  topics: IngestTopics;
}

class ProduceTimeout extends Error {}
/** The run coordinator did not answer: nothing was sent. */
class CoordinatorUnavailable extends Error {}
/** Kafka acknowledged, but this replica's lease on the run lapsed meanwhile: not reported accepted. */
class LeaseLapsed extends Error {}

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
  const coordinator =
    deps.coordinator ??
    createRunCoordinator(new MemoryRunStore({ now, retentionMs: config.runRetentionMs }), {
      replica: 'local',
      leaseMs: config.replicaLeaseMs,
      logger: deps.logger,
    });
  const buckets = new TokenBuckets(config.ratePerS, config.burst, now);
  const seen = new RecentIds(config.dedupCapacity);
  const dedup = createDedupStep({ seen });
  /** Per tenant: ids of events in a send that has not settled yet → that send (true when acknowledged). */
  const inflight = new Map<string, Map<string, Promise<boolean>>>();
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
        help: 'Incoming events by tenant and outcome (accepted, duplicate, rejected, rate_limited, forbidden, run_ended, unavailable)',
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

  function refuse<S extends 400 | 403 | 409 | 413 | 429 | 503>(
    status: S,
    error: string,
    message: string,
    extra: { retryAfterS?: number; errors?: EventError[] } = {},
  ): { status: S; body: ErrorReply; retryAfterS?: number } {
    const body: ErrorReply = { error, message };
    if (extra.errors) body.errors = extra.errors;
    return { status, body, retryAfterS: extra.retryAfterS };
  }

  /** The finite runs among `events` (undefined when all are live: the common case, no allocation). */
  function finiteRuns(events: ValidEvent[]): string[] | undefined {
    let runs: string[] | undefined;
    let last = LIVE_RUN_ID;
    for (const v of events) {
      const id = v.event.runId;
      if (id === last || isLiveRun(id)) continue;
      last = id;
      if (runs === undefined) runs = [id];
      else if (!runs.includes(id)) runs.push(id);
    }
    return runs;
  }

  /** Records of finite runs acknowledged per run key and partition (the partitions were set before the send). */
  function countRecords(tenant: string, events: ValidEvent[], n: number): Map<string, number[]> {
    const out = new Map<string, number[]>();
    let runId = LIVE_RUN_ID;
    let counts: number[] | undefined;
    for (const v of events) {
      if (v.event.runId !== runId) {
        runId = v.event.runId;
        if (isLiveRun(runId)) counts = undefined;
        else {
          const key = runKey(tenant, runId);
          counts = out.get(key);
          if (counts === undefined) {
            counts = new Array<number>(n).fill(0);
            out.set(key, counts);
          }
        }
      }
      if (counts !== undefined) {
        const p = v.record.partition as number;
        counts[p] = (counts[p] ?? 0) + 1;
      }
    }
    return out;
  }

  /** Ids of a send in flight, so that a concurrent request with the same ids waits for it. */
  function holdIds(tenant: string, events: ValidEvent[], settled: Promise<boolean>): void {
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
  }

  /**
   * Sends with a deadline; marks ids seen whenever Kafka acknowledges, even after the deadline. A send
   * with events of finite runs first starts on the run coordinator: when one of its runs has ended,
   * nothing is sent and the ended run ids are returned.
   */
  async function produce(tenant: string, events: ValidEvent[]): Promise<{ ended: string[] } | undefined> {
    let settle: (ok: boolean) => void = () => {};
    const settled = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    // held before the first await, so that no concurrent request sends the same ids meanwhile
    holdIds(tenant, events, settled);
    let n: number;
    let ticket: SendTicket | undefined;
    try {
      n = await partitionCount();
      const runs = finiteRuns(events);
      if (runs !== undefined) {
        const keys = runs.map((r) => runKey(tenant, r));
        let started: SendTicket | { ended: string[] };
        try {
          started = await coordinator.begin(keys);
        } catch (err) {
          deps.logger.error({ err }, 'run coordinator unreachable: answering 503');
          throw new CoordinatorUnavailable('run coordinator unreachable');
        }
        if ('ended' in started) {
          settle(false);
          return { ended: started.ended.map((k) => runs[keys.indexOf(k)] as string) };
        }
        ticket = started;
      }
    } catch (err) {
      settle(false);
      throw err;
    }
    const records: OutRecord[] = new Array(events.length);
    for (let i = 0; i < events.length; i++) {
      const r = (events[i] as ValidEvent).record;
      // partitioned once here (the producer takes it as given), and counted per run on the ack
      r.partition = partitionForKey(r.key, n);
      records[i] = r;
    }
    const started = process.hrtime.bigint();
    let lapsed = false;
    deps.producer.send(topics.events, records).then(
      () => {
        produceSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
        if (ticket !== undefined) {
          // judged before finish: the lease must have held from begin until this acknowledgement
          lapsed = !ticket.valid();
          ticket.finish(countRecords(tenant, events, n));
          if (lapsed) deps.logger.error('lease on the run lapsed during the send: answering 503');
        }
        if (!lapsed) for (const v of events) seen.add(tenant, v.event.eventId);
        if (!up) deps.logger.info('kafka reachable again');
        up = true;
        kafkaUpGauge.set(1);
        settle(!lapsed);
      },
      (err: unknown) => {
        ticket?.finish();
        if (up) deps.logger.error({ err }, 'produce failed: answering 503');
        up = false;
        kafkaUpGauge.set(0);
        settle(false);
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ProduceTimeout('produce timed out')), config.produceTimeoutMs);
    });
    try {
      const ok = await Promise.race([settled, deadline]);
      if (lapsed) throw new LeaseLapsed('lease lapsed');
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
    return undefined;
  }

  /** 409: some events of the request belong to finite runs that have ended; nothing was accepted. */
  function runEnded(tenant: string, received: number, fresh: ValidEvent[], ended: string[]): IngestOutcome {
    buckets.refund(tenant, received);
    eventsTotal.inc({ tenant, outcome: 'run_ended' }, received);
    const errors: EventError[] = [];
    let lastIndex = -1;
    for (const ve of fresh) {
      if (ve.index !== lastIndex && ended.includes(ve.event.runId)) {
        errors.push({ index: ve.index, field: 'run_id', reason: 'run_ended' });
        lastIndex = ve.index;
      }
    }
    const names = ended.map((r) => `"${r}"`).join(', ');
    return refuse(
      409,
      'run_ended',
      `run ${names} of tenant "${tenant}" has ended (its end-of-run markers are written): its events are no longer accepted. Nothing of this request was accepted; send new events under another run id.`,
      { errors },
    );
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
        let refused: { ended: string[] } | undefined;
        try {
          refused = await produce(tenant, fresh);
        } catch (err) {
          buckets.refund(tenant, v.received);
          eventsTotal.inc({ tenant, outcome: 'unavailable' }, v.received);
          const why =
            err instanceof CoordinatorUnavailable
              ? 'The run coordinator (Redis) did not answer'
              : err instanceof LeaseLapsed
                ? 'This replica lost its claim on the run while Kafka was acknowledging (the coordinator was unreachable); the events may have reached Kafka but are not reported accepted'
                : 'Kafka did not acknowledge the events';
          return refuse(503, 'unavailable', `${why}; nothing of this request was accepted, retry later`, {
            retryAfterS: config.retryAfterS,
          });
        }
        if (refused !== undefined) return runEnded(tenant, v.received, fresh, refused.ended);
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
      if (isLiveRun(runId)) {
        return refuse(
          409,
          'live_run_never_ends',
          `"${runId}" is the live run: tenant "${tenant}"'s never-ending clickstream (events without a run id). It takes no end-of-run marker — its windows close when a user goes quiet. Only finite runs (any other run id) are ended.`,
        );
      }
      const problem = runIdProblem(runId);
      if (problem !== undefined) return refuse(400, 'invalid_body', `runId ${problem}`);
      const run = runKey(tenant, runId);
      let counts: number[];
      try {
        // marks the run ended for every replica, then waits for the sends of it still in flight
        ({ counts } = await coordinator.end(run, config.endRunTimeoutMs));
      } catch (err) {
        const timedOut = err instanceof EndTimeoutError;
        deps.logger.error({ err, run }, timedOut ? 'end of run: sends still in flight' : 'end of run: coordinator');
        return refuse(
          503,
          'unavailable',
          timedOut
            ? `run "${runId}" is ended (no new events of it are accepted), but ${err.busy} send(s) of it on ${err.replicas} replica(s) had no answer from Kafka after ${config.endRunTimeoutMs} ms, so the end-of-run markers are not written yet; retry the call`
            : 'the run coordinator (Redis) did not answer; retry the call',
          { retryAfterS: config.retryAfterS },
        );
      }
      try {
        const n = await partitionCount();
        const records: OutRecord[] = [];
        let total = 0;
        for (let p = 0; p < n; p++) {
          const count = counts[p] ?? 0;
          total += count;
          const marker = endOfRun({
            runId,
            producer: 'ingest',
            partition: p,
            totalPartitions: n,
            records: count,
            tenant,
          });
          records.push({
            key: `eor/${runId}`,
            partition: p,
            value: toBinary(
              EventRecordSchema,
              create(EventRecordSchema, { kind: { case: 'endOfRun', value: marker } }),
            ),
          });
        }
        await deps.producer.send(topics.events, records);
        return { status: 200, body: { partitions: n, records: total } };
      } catch (err) {
        deps.logger.error({ err, run }, 'end-of-run markers not acknowledged');
        return refuse(
          503,
          'unavailable',
          `run "${runId}" is ended (no new events of it are accepted), but Kafka did not acknowledge its end-of-run markers; retry the call`,
          { retryAfterS: config.retryAfterS },
        );
      }
    },

    async close() {
      if (deps.coordinator === undefined) await coordinator.close();
    },
  };
}
