import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  type ApplyWindowsRequest,
  type ApplyWindowsResponse,
  ApplyWindowsResponseSchema,
  type BatchGetPersonasRequest,
  type BatchGetPersonasResponse,
  BatchGetPersonasResponseSchema,
  type DeletePersonaRequest,
  type DeletePersonaResponse,
  DeletePersonaResponseSchema,
  DimensionSchema,
  type EndOfRun,
  ErasureSchema,
  ErrorCode,
  EventRecordSchema,
  enabledDimensions,
  endOfRun,
  entryMsOf,
  firstEntryMsOf,
  type GetPersonaRequest,
  type GetPersonaResponse,
  GetPersonaResponseSchema,
  type ListDimensionsRequest,
  type ListDimensionsResponse,
  ListDimensionsResponseSchema,
  type Persona,
  PersonaSchema,
  PersonaStreamError,
  type PersonaUpdate,
  PersonaUpdateRecordSchema,
  PersonaUpdateSchema,
  partitionForKey,
  runKey,
  type SemantizedWindow,
  SemantizedWindowSchema,
  type Tag,
  type TagSet,
  Topics,
  userKey,
  type WatchPersonaRequest,
  type WatchPersonaResponse,
  WatchPersonaResponseSchema,
  WindowRecordSchema,
} from '@personastream/contracts';
import { Counter, Gauge, Histogram, type Logger, type Registry } from '@personastream/runtime';
import type { InBatch, OutRecord, Stream, StreamConsumer, StreamProducer } from '@personastream/stream';
import type { AppliedWindow, PendingRef, PersonaChange, PersonaStore, PlanUser, UserBatch } from './adapters/store.js';
import type { ModelBackend } from './core/backend.js';
import { encodePersona, encodePersonaUpdate, type UpdateFields } from './core/encode.js';
import { defineLazy } from './core/lazy.js';
import { applyWindowsInOrderAsync, type WindowStep } from './core/state.js';
import { AsyncQueue } from './util.js';

export interface PersonaServiceConfig {
  /** Topic overrides (tests use their own). */
  topics?: { windows?: string; updates?: string; events?: string };
  /** Consumer group of the windows consumer. Default "persona". */
  groupId?: string;
  /** Samples per update (Avg@k). Default 1 (the builtin backend is deterministic). */
  samples?: number;
  /** Half-life of the recent horizon, days of event time. Default 14. */
  halfLifeDays?: number;
  /** Tenants with sensitive dimensions off: never predicted, stored, returned or listed. */
  sensitiveOffTenants?: readonly string[];
  /** Partitions handled concurrently by the consumer. Default 4. */
  partitionConcurrency?: number;
  /** Users planned concurrently within one batch (asynchronous backends, e.g. openai). Default 64. */
  userConcurrency?: number;
  /** Concurrent WatchPersona streams allowed. Default 1,000. */
  maxWatches?: number;
  /** Ids per BatchGetPersonas. Default 1,000. */
  maxBatchGet?: number;
  /** Windows per ApplyWindows call. Default 1,000. */
  maxApplyWindows?: number;
  /** Start the windows consumer in `start()`. Default true. */
  consume?: boolean;
}

export interface PersonaServiceDeps {
  stream: Stream;
  store: PersonaStore;
  backend: ModelBackend;
  logger: Logger;
  registry: Registry;
}

/** Who calls: the tenant of the caller's token (set by the transport after authentication). */
export interface Caller {
  tenant: string;
}

type Init<T> = Partial<Omit<T, '$typeName' | '$unknown'>>;

/** The persona API, transport-free: gRPC (and anything else) adapts to it. Errors are `PersonaStreamError`s. */
export interface PersonaApi {
  getPersona(caller: Caller, req: Init<GetPersonaRequest>): Promise<GetPersonaResponse>;
  batchGetPersonas(caller: Caller, req: Init<BatchGetPersonasRequest>): Promise<BatchGetPersonasResponse>;
  /** Current persona first (if its version > from_version), then every change, until `signal` aborts. */
  watchPersona(
    caller: Caller,
    req: Init<WatchPersonaRequest>,
    signal?: AbortSignal,
  ): AsyncIterable<WatchPersonaResponse>;
  deletePersona(caller: Caller, req: Init<DeletePersonaRequest>): Promise<DeletePersonaResponse>;
  applyWindows(caller: Caller, req: Init<ApplyWindowsRequest>): Promise<ApplyWindowsResponse>;
  listDimensions(caller: Caller, req: Init<ListDimensionsRequest>): Promise<ListDimensionsResponse>;
  /** Lifts an erasure marker explicitly (windows for the user are applied again). */
  restorePersona(caller: Caller, req: { tenant?: string; userId?: string }): Promise<{ restored: boolean }>;
}

export interface PersonaService {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): Promise<boolean>;
  api: PersonaApi;
  /** Handles one batch of the windows topic (exposed for tests and benchmarks). */
  handleBatch(batch: InBatch): Promise<void>;
}

/** The erasure record of a user on the events topic, keyed `tenant/user_id`: the user's own partition. */
export function erasureRecord(tenant: string, userId: string, erasedMs: number): OutRecord {
  return {
    key: userKey(tenant, userId),
    value: toBinary(
      EventRecordSchema,
      create(EventRecordSchema, {
        kind: { case: 'erasure', value: create(ErasureSchema, { tenant, userId, erasedMs }) },
      }),
    ),
  };
}

/** The fate of one window; `bytes` = its encoded PersonaUpdate, `key` = the user's record key. */
type Outcome =
  | {
      status: 'applied';
      key: string;
      bytes: Uint8Array;
      seconds: number;
      /** For the freshness histogram: the update's early flag, first entry time and wall time. */
      early: boolean;
      firstEntryMs: number;
      updatedMs: number;
    }
  | { status: 'republish'; key: string; bytes: Uint8Array }
  | { status: 'duplicate' }
  | { status: 'erased' };

/** One user's windows of a batch, in order. */
interface UserWindows extends UserBatch {
  windows: SemantizedWindow[];
  /** Input positions of the windows. */
  at: number[];
}

const MAX_ID = 512;

/** A message's pre-computed protobuf encoding (transports send it instead of encoding again). */
export const ENCODED: unique symbol = Symbol.for('personastream.persona.encoded');

export function withEncoding<T extends object>(msg: T, bytes: Uint8Array): T {
  Object.defineProperty(msg, ENCODED, { value: bytes, enumerable: false });
  return msg;
}

export function encodingOf(msg: unknown): Uint8Array | undefined {
  return (msg as { [ENCODED]?: Uint8Array } | null)?.[ENCODED];
}

function sameTags(a: readonly Tag[], b: readonly Tag[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

/**
 * `PersonaUpdateRecord{update}` from an already encoded `PersonaUpdate`: field 1, length-delimited
 * (tag 0x0a, varint length, bytes) — the same bytes `toBinary` writes, without encoding twice.
 */
export function wrapUpdate(updateBytes: Uint8Array): Uint8Array {
  return field1(updateBytes);
}

/**
 * Encodes a PersonaUpdate whose persona is already encoded: field 1 (persona) followed by the other
 * fields — valid protobuf, and the same bytes `toBinary` writes (fields in number order; see core/encode.ts).
 */
export function encodeUpdate(update: UpdateFields, personaBytes: Uint8Array): Uint8Array {
  return encodePersonaUpdate(personaBytes, update);
}

/** `bytes` as field 1, length-delimited (tag 0x0a, varint length, bytes). */
function field1(updateBytes: Uint8Array): Uint8Array {
  return lengthDelimited(0x0a, updateBytes);
}

/** A length-delimited field: tag byte, varint length, bytes. */
function lengthDelimited(tag: number, updateBytes: Uint8Array): Uint8Array {
  const len = updateBytes.length;
  const head: number[] = [tag];
  let v = len;
  while (v >= 0x80) {
    head.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  head.push(v);
  const out = new Uint8Array(head.length + len);
  out.set(head, 0);
  out.set(updateBytes, head.length);
  return out;
}

function invalid(message: string, field: string): PersonaStreamError {
  return new PersonaStreamError(ErrorCode.InvalidArgument, message, field);
}

/** Where a window stands in its user's run: by seq, early windows (by revision) before the final one. */
function orderOf(w: SemantizedWindow): [number, number] {
  return [w.seq, w.provisional ? w.revision : Number.POSITIVE_INFINITY];
}

function describeOrder(w: SemantizedWindow): string {
  return w.provisional ? `seq ${w.seq}, early revision ${w.revision}` : `seq ${w.seq}, final`;
}

/**
 * ApplyWindows follows the rule of the Kafka path: windows of a user within a run are identified by
 * `seq` (a window at or below what was applied is a duplicate), so a request must list them in that
 * order — increasing seq, a session's early windows by increasing revision before its final window.
 * A window repeated by id is allowed (it is a duplicate); any other step back is refused, naming the
 * field, instead of being dropped silently as a duplicate (e.g. windows that all left `seq` at 0).
 */
function checkWindowOrder(windows: readonly SemantizedWindow[]): void {
  const last = new Map<string, { order: [number, number]; at: number; ids: Set<string> }>();
  windows.forEach((w, i) => {
    const key = `${runKey(w.tenant, w.runId)}\u0000${w.userId}`;
    const order = orderOf(w);
    const prev = last.get(key);
    if (!prev) {
      last.set(key, { order, at: i, ids: new Set([w.windowId]) });
      return;
    }
    if (prev.ids.has(w.windowId)) return;
    const [s0, r0] = prev.order;
    if (order[0] < s0 || (order[0] === s0 && order[1] <= r0)) {
      const before = windows[prev.at] as SemantizedWindow;
      throw invalid(
        `windows[${i}] (${describeOrder(w)}) does not come after windows[${prev.at}] (${describeOrder(before)}) ` +
          'of the same user and run: windows of a user within a run are identified by seq and must be in seq order',
        `windows[${i}].seq`,
      );
    }
    prev.order = order;
    prev.at = i;
    prev.ids.add(w.windowId);
  });
}

export function createPersonaService(config: PersonaServiceConfig, deps: PersonaServiceDeps): PersonaService {
  const { store, backend, logger, registry } = deps;
  const windowsTopic = config.topics?.windows ?? Topics.windows;
  const updatesTopic = config.topics?.updates ?? Topics.updates;
  const eventsTopic = config.topics?.events ?? Topics.events;
  const samples = Math.max(1, config.samples ?? 1);
  const halfLifeDays = config.halfLifeDays ?? 14;
  const sensitiveOff = new Set(config.sensitiveOffTenants ?? []);
  const userConcurrency = config.userConcurrency ?? 64;
  const maxWatches = config.maxWatches ?? 1000;
  const maxBatchGet = config.maxBatchGet ?? 1000;
  const maxApply = config.maxApplyWindows ?? 1000;

  const updatesTotal = new Counter({
    name: 'persona_updates_total',
    help: 'Persona updates applied, by source (kafka|api).',
    labelNames: ['source'],
    registers: [registry],
  });
  const duplicatesTotal = new Counter({
    name: 'persona_duplicate_windows_total',
    help: 'Windows skipped as already applied or superseded (per-run seq marks, the early-window overlay).',
    registers: [registry],
  });
  const erasedTotal = new Counter({
    name: 'persona_erased_windows_total',
    help: 'Windows ignored because the user is erased (no consent yet).',
    registers: [registry],
  });
  const malformedTotal = new Counter({
    name: 'persona_malformed_records_total',
    help: 'Window records that could not be decoded or lack ids.',
    registers: [registry],
  });
  const updateSeconds = new Histogram({
    name: 'persona_update_seconds',
    help: 'Model time per window (the store read and write are batched per consumer batch).',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  const watchersGauge = new Gauge({
    name: 'persona_watch_streams',
    help: 'Open WatchPersona streams.',
    registers: [registry],
  });
  const markersTotal = new Counter({
    name: 'persona_end_of_run_markers_total',
    help: 'End-of-run markers forwarded.',
    registers: [registry],
  });
  const freshnessSeconds = new Histogram({
    name: 'persona_freshness_seconds',
    help:
      'Per applied update whose window record carried ps-entry-first-ms: persona.updated_ms - first_entry_ms ' +
      '(the longest any newly shown event waited from entering the pipeline), by early (true|false).',
    labelNames: ['early'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  });

  const producer: StreamProducer = deps.stream.producer();
  let consumer: StreamConsumer | undefined;
  let running = false;
  let updatesPartitions: number | undefined;
  /**
   * Updates written per run — (tenant, run id), `runKey` — and updates-topic partition: the `records`
   * of forwarded markers. Keyed `<runKey>|<partition>`.
   */
  const runCounts = new Map<string, number>();
  const watches = new Set<AbortController>();
  /** Offset of the last marker forwarded per input partition (redeliveries are not forwarded again). */
  const forwardedMarkers = new Map<string, bigint>();
  /**
   * Entry times of windows consumed from the windows topic, by window object: `entry` of the newest
   * event (`ps-entry-ms`), `first` of the oldest newly shown one (`ps-entry-first-ms`); 0 unknown.
   */
  const entriesOf = new WeakMap<SemantizedWindow, { entry: number; first: number }>();

  const dimsFor = (tenant: string) => enabledDimensions(!sensitiveOff.has(tenant));

  /** Drops tags of dimensions the tenant has switched off (also for personas stored before a switch). */
  function visible(persona: Persona): Persona {
    if (!sensitiveOff.has(persona.tenant)) return persona;
    const allowed = new Set(dimsFor(persona.tenant).map((d) => d.name as string));
    if (persona.tags.every((t) => allowed.has(t.dimension))) return persona;
    return create(PersonaSchema, { ...persona, tags: persona.tags.filter((t) => allowed.has(t.dimension)) });
  }

  /** The fields of a window's PersonaUpdate besides the persona. */
  function updateFields(w: SemantizedWindow, persona: Persona, tagSets: TagSet[], flipped: number): UpdateFields {
    return {
      windowId: w.windowId,
      runId: w.runId,
      tombstone: false,
      // One sample equal to the persona's tags (deterministic backends) is sent as "empty", which
      // the contract defines as "the persona's tags": same meaning, half the bytes.
      samples: tagSets.length === 1 && sameTags(tagSets[0]?.tags ?? [], persona.tags) ? [] : tagSets,
      semantizedBytes: w.compression?.semantizedBytes ?? 0,
      rawBytes: w.compression?.rawBytes ?? 0,
      semantizedTokens: w.compression?.semantizedTokens ?? 0,
      rawTokens: w.compression?.rawTokens ?? 0,
      // Pipeline latency starts when the window's newest event entered the pipeline: the window
      // record's `ps-entry-ms` header (not the window's `ingest_time_ms`, the events' own receipt
      // times, which for backfills and simulations lie far in the past). Unknown → 0 → no latency.
      ingestTimeMs: entriesOf.get(w)?.entry ?? 0,
      early: w.provisional,
      // Freshness: the oldest event this window is the first to show (absent → 0: nothing new, or unknown).
      firstEntryMs: entriesOf.get(w)?.first ?? 0,
      flipped,
    };
  }

  /** Groups windows by user, keeping each user's windows in input order. */
  function groupByUser(windows: readonly SemantizedWindow[]): UserWindows[] {
    const groups = new Map<string, UserWindows>();
    windows.forEach((w, i) => {
      const key = userKey(w.tenant, w.userId);
      const g = groups.get(key);
      if (g) {
        g.windows.push(w);
        g.at.push(i);
        (g.windowIds as string[]).push(w.windowId);
      } else groups.set(key, { tenant: w.tenant, userId: w.userId, windows: [w], at: [i], windowIds: [w.windowId] });
    });
    return [...groups.values()];
  }

  /** Turns one applied step into the window's update: the persona encoded once, for the store and the update. */
  function appliedWindow(w: SemantizedWindow, step: Extract<WindowStep, { status: 'applied' }>): AppliedWindow {
    const { persona } = step;
    const personaBytes = encodePersona(persona);
    const bytes = encodePersonaUpdate(personaBytes, updateFields(w, persona, step.samples, step.flipped));
    return { windowId: w.windowId, persona, personaBytes, pending: bytes };
  }

  /** Plans one user's windows from the store's snapshot: the model in memory, one write for the store. */
  const planUser: PlanUser<UserWindows, Outcome[]> = async (snapshot, user) => {
    const started = performance.now();
    const seq = await applyWindowsInOrderAsync(snapshot, user.windows, backend, {
      halfLifeDays,
      samples,
      enabledDimensions: dimsFor(user.tenant),
      // The store hands out a fresh copy of the state, so statistics are updated in place.
      inPlace: true,
    });
    const seconds = (performance.now() - started) / 1000 / Math.max(1, user.windows.length);
    const key = userKey(user.tenant, user.userId);
    const applied: AppliedWindow[] = [];
    const outcomes = seq.steps.map((step, k): Outcome => {
      if (step.status === 'applied') {
        const w = user.windows[k] as SemantizedWindow;
        const a = appliedWindow(w, step);
        applied.push(a);
        return {
          status: 'applied',
          key,
          bytes: a.pending,
          seconds,
          early: w.provisional,
          firstEntryMs: entriesOf.get(w)?.first ?? 0,
          updatedMs: step.persona.updatedMs,
        };
      }
      if (step.status === 'duplicate' && step.pending) return { status: 'republish', key, bytes: step.pending };
      return { status: step.status };
    });
    if (!seq.state || applied.length === 0) return { result: outcomes };
    return { write: { state: seq.state, applied }, result: outcomes };
  };

  /** Applies windows: in order per user, users together (one store round trip each way). Outcomes in input order. */
  async function applyMany(windows: readonly SemantizedWindow[]): Promise<Outcome[]> {
    const outcomes = new Array<Outcome>(windows.length);
    if (windows.length === 0) return outcomes;
    const groups = groupByUser(windows);
    const perUser = await store.applyBatch(groups, planUser, { concurrency: userConcurrency });
    perUser.forEach((os, g) => {
      const at = (groups[g] as UserWindows).at;
      os.forEach((o, k) => {
        outcomes[at[k] as number] = o;
        if (o.status === 'duplicate' || o.status === 'republish') duplicatesTotal.inc();
        else if (o.status === 'erased') erasedTotal.inc();
      });
    });
    return outcomes;
  }

  function updateRecord(update: PersonaUpdate): OutRecord {
    const p = update.persona as Persona;
    return {
      key: userKey(p.tenant, p.userId),
      value: toBinary(
        PersonaUpdateRecordSchema,
        create(PersonaUpdateRecordSchema, { kind: { case: 'update', value: update } }),
      ),
    };
  }

  async function partitionsOfUpdates(): Promise<number> {
    if (updatesPartitions === undefined) {
      const admin = deps.stream.admin();
      try {
        updatesPartitions = await admin.partitionCount(updatesTopic);
      } finally {
        await admin.close();
      }
    }
    return updatesPartitions;
  }

  /** Publishes the updates of applied windows, then acknowledges them in the store. */
  async function publish(
    windows: readonly SemantizedWindow[],
    outcomes: readonly Outcome[],
    source: string,
    extra: (count: (key: string) => number) => OutRecord[] = () => [],
  ) {
    const records: OutRecord[] = [];
    const refs: PendingRef[] = [];
    const parts = await partitionsOfUpdates();
    const delta = new Map<string, number>();
    outcomes.forEach((o, i) => {
      if (o.status !== 'applied' && o.status !== 'republish') return;
      const w = windows[i] as SemantizedWindow;
      const rec: OutRecord = { key: o.key, value: wrapUpdate(o.bytes) };
      records.push(rec);
      refs.push({ tenant: w.tenant, userId: w.userId, windowId: w.windowId });
      const countKey = `${runKey(w.tenant, w.runId)}|${partitionForKey(rec.key, parts)}`;
      delta.set(countKey, (delta.get(countKey) ?? 0) + 1);
      if (o.status === 'applied') {
        updatesTotal.inc({ source });
        updateSeconds.observe(o.seconds);
        if (o.firstEntryMs > 0) {
          // Clock skew between hosts can make it negative: counted as 0.
          const seconds = Math.max(0, o.updatedMs - o.firstEntryMs) / 1000;
          freshnessSeconds.observe({ early: o.early ? 'true' : 'false' }, seconds);
        }
      }
    });
    records.push(...extra((key) => (runCounts.get(key) ?? 0) + (delta.get(key) ?? 0)));
    if (records.length > 0) await producer.send(updatesTopic, records);
    for (const [key, n] of delta) runCounts.set(key, (runCounts.get(key) ?? 0) + n);
    if (refs.length > 0) await store.ackPending(refs);
  }

  async function handleBatch(batch: InBatch): Promise<void> {
    let segment: SemantizedWindow[] = [];
    const flush = async (marker?: EndOfRun) => {
      const windows = segment;
      segment = [];
      const outcomes = await applyMany(windows);
      // The marker is built after the segment's updates are counted, and sent after them.
      const extra = (count: (key: string) => number): OutRecord[] => {
        if (!marker) return [];
        const forwarded = endOfRun({
          runId: marker.runId,
          producer: 'persona',
          partition: batch.partition,
          totalPartitions: marker.totalPartitions,
          // Only this marker's run, (tenant, run id): another tenant's run of the same id is not counted.
          records: count(`${runKey(marker.tenant, marker.runId)}|${batch.partition}`),
          tenant: marker.tenant,
        });
        return [
          {
            key: `eor/${marker.runId}`,
            partition: batch.partition,
            value: toBinary(
              PersonaUpdateRecordSchema,
              create(PersonaUpdateRecordSchema, { kind: { case: 'endOfRun', value: forwarded } }),
            ),
          },
        ];
      };
      await publish(windows, outcomes, 'kafka', extra);
      if (marker) {
        markersTotal.inc();
        logger.info({ tenant: marker.tenant, runId: marker.runId, partition: batch.partition }, 'end of run forwarded');
      }
    };
    for (const rec of batch.records) {
      let decoded: ReturnType<typeof fromBinary<typeof WindowRecordSchema>>;
      try {
        decoded = fromBinary(WindowRecordSchema, rec.value);
      } catch (err) {
        malformedTotal.inc();
        logger.warn({ err, partition: rec.partition, offset: rec.offset }, 'undecodable window record skipped');
        continue;
      }
      if (decoded.kind.case === 'window') {
        const w = decoded.kind.value;
        if (!w.windowId || !w.tenant || !w.userId) {
          malformedTotal.inc();
          logger.warn({ partition: rec.partition, offset: rec.offset }, 'window without id/tenant/user skipped');
          continue;
        }
        const entry = entryMsOf(rec.headers);
        const first = firstEntryMsOf(rec.headers);
        if (entry > 0 || first > 0) entriesOf.set(w, { entry, first });
        segment.push(w);
      } else if (decoded.kind.case === 'endOfRun') {
        // A marker redelivered within this process (same offset) is not forwarded twice.
        const markerKey = `${batch.topic}|${batch.partition}`;
        const offset = BigInt(rec.offset);
        const last = forwardedMarkers.get(markerKey);
        if (last !== undefined && offset <= last) {
          await flush();
          continue;
        }
        await flush(decoded.kind.value);
        forwardedMarkers.set(markerKey, offset);
      }
    }
    if (segment.length > 0) await flush();
  }

  // ---- API -------------------------------------------------------------------------------------

  function tenantOf(caller: Caller, requested: string | undefined): string {
    const tenant = requested || caller.tenant;
    if (tenant !== caller.tenant) {
      throw new PersonaStreamError(
        ErrorCode.PermissionDenied,
        `tenant "${tenant}" is not the caller's tenant`,
        'tenant',
      );
    }
    return tenant;
  }

  function requireUserId(userId: string | undefined, field = 'user_id'): string {
    if (!userId) throw invalid(`${field} is required`, field);
    if (userId.length > MAX_ID) throw invalid(`${field} is longer than ${MAX_ID} characters`, field);
    return userId;
  }

  const api: PersonaApi = {
    async getPersona(caller, req) {
      const tenant = tenantOf(caller, req.tenant);
      const userId = requireUserId(req.userId);
      if (store.getBytes && !sensitiveOff.has(tenant)) {
        // Fast path: the stored bytes are the persona's encoding; the response is sent as is and
        // only decoded if someone reads `persona` (transport-free callers).
        const bytes = await store.getBytes(tenant, userId);
        if (!bytes) throw new PersonaStreamError(ErrorCode.NotFound, `no persona for user "${userId}"`, 'user_id');
        const res = defineLazy(create(GetPersonaResponseSchema), 'persona', () => fromBinary(PersonaSchema, bytes));
        return withEncoding(res, field1(bytes));
      }
      const persona = await store.get(tenant, userId);
      if (!persona) throw new PersonaStreamError(ErrorCode.NotFound, `no persona for user "${userId}"`, 'user_id');
      return create(GetPersonaResponseSchema, { persona: visible(persona) });
    },

    async batchGetPersonas(caller, req) {
      const tenant = tenantOf(caller, req.tenant);
      const ids = req.userIds ?? [];
      if (ids.length === 0) throw invalid('user_ids is required', 'user_ids');
      if (ids.length > maxBatchGet) {
        throw new PersonaStreamError(
          ErrorCode.ResourceExhausted,
          `user_ids has ${ids.length} ids; at most ${maxBatchGet} per call`,
          'user_ids',
        );
      }
      ids.forEach((id, i) => {
        requireUserId(id, `user_ids[${i}]`);
      });
      if (store.batchGetBytes && !sensitiveOff.has(tenant)) {
        // Fast path, as in getPersona: BatchGetPersonasResponse{personas=1 (stored bytes), missing=2}.
        const raw = await store.batchGetBytes(tenant, ids);
        const parts: Uint8Array[] = [];
        const missing: string[] = [];
        const present: Uint8Array[] = [];
        raw.forEach((b, i) => {
          if (b) {
            present.push(b);
            parts.push(field1(b));
          } else missing.push(ids[i] as string);
        });
        for (const m of missing) parts.push(lengthDelimited(0x12, new TextEncoder().encode(m)));
        let size = 0;
        for (const p of parts) size += p.length;
        const out = new Uint8Array(size);
        let at = 0;
        for (const p of parts) {
          out.set(p, at);
          at += p.length;
        }
        const res = defineLazy(create(BatchGetPersonasResponseSchema, { missingUserIds: missing }), 'personas', () =>
          present.map((b) => fromBinary(PersonaSchema, b)),
        );
        return withEncoding(res, out);
      }
      const found = await store.batchGet(tenant, ids);
      const personas: Persona[] = [];
      const missing: string[] = [];
      found.forEach((p, i) => {
        if (p) personas.push(visible(p));
        else missing.push(ids[i] as string);
      });
      return create(BatchGetPersonasResponseSchema, { personas, missingUserIds: missing });
    },

    watchPersona(caller, req, signal) {
      const tenant = tenantOf(caller, req.tenant);
      const userId = requireUserId(req.userId);
      if (watches.size >= maxWatches) {
        throw new PersonaStreamError(
          ErrorCode.ResourceExhausted,
          `too many concurrent watches (at most ${maxWatches})`,
        );
      }
      const controller = new AbortController();
      watches.add(controller);
      watchersGauge.set(watches.size);
      const queue = new AsyncQueue<PersonaChange>();
      const onAbort = () => queue.close();
      signal?.addEventListener('abort', onAbort, { once: true });
      controller.signal.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) queue.close();
      return (async function* () {
        let unsubscribe: (() => Promise<void>) | undefined;
        try {
          unsubscribe = await store.subscribe(tenant, userId, (c) => queue.push(c));
          let last = req.fromVersion ?? 0;
          const current = await store.get(tenant, userId);
          if (current && current.version > last) {
            last = current.version;
            yield create(WatchPersonaResponseSchema, { persona: visible(current) });
          }
          for await (const change of queue) {
            if (change.tombstone) {
              last = 0;
              yield create(WatchPersonaResponseSchema, {
                persona: create(PersonaSchema, { tenant, userId, version: change.version }),
                tombstone: true,
              });
            } else if (change.persona && change.version > last) {
              last = change.version;
              yield create(WatchPersonaResponseSchema, { persona: visible(change.persona) });
            }
          }
        } finally {
          signal?.removeEventListener('abort', onAbort);
          watches.delete(controller);
          watchersGauge.set(watches.size);
          await unsubscribe?.();
        }
      })();
    },

    async deletePersona(caller, req) {
      const tenant = tenantOf(caller, req.tenant);
      const userId = requireUserId(req.userId);
      // The erasure time: windows starting at or before it are never applied again (replays), and
      // the semantizer drops the user's events up to it for good (see the README's erasure policy).
      const erasedMs = Date.now();
      const r = await store.delete(tenant, userId, erasedMs);
      // Both records go out on every delete (also a repeated one), so a retry after a failed publish
      // still reaches every consumer: the erasure to the user's partition of the events topic (the
      // semantizer drops the user's state and suppresses the user, in order with the user's events),
      // then the tombstone to the updates topic (the evaluator deletes the user's rows; Watch).
      await producer.send(eventsTopic, [erasureRecord(tenant, userId, erasedMs)]);
      const tombstone = create(PersonaUpdateSchema, {
        persona: create(PersonaSchema, { tenant, userId, version: r.version, updatedMs: erasedMs }),
        tombstone: true,
      });
      await producer.send(updatesTopic, [updateRecord(tombstone)]);
      logger.info({ tenant, existed: r.existed }, 'persona erased');
      return create(DeletePersonaResponseSchema, { existed: r.existed });
    },

    async applyWindows(caller, req) {
      const windows = req.windows ?? [];
      if (windows.length === 0) throw invalid('windows is required', 'windows');
      if (windows.length > maxApply) {
        throw new PersonaStreamError(
          ErrorCode.ResourceExhausted,
          `windows has ${windows.length} windows; at most ${maxApply} per call`,
          'windows',
        );
      }
      windows.forEach((w, i) => {
        if (!w.windowId) throw invalid(`windows[${i}].window_id is required`, `windows[${i}].window_id`);
        requireUserId(w.userId, `windows[${i}].user_id`);
        const tenant = w.tenant || caller.tenant;
        if (tenant !== caller.tenant) {
          throw new PersonaStreamError(
            ErrorCode.PermissionDenied,
            `windows[${i}] belongs to tenant "${tenant}", not the caller's`,
            `windows[${i}].tenant`,
          );
        }
      });
      const ws = windows.map((w) => (w.tenant ? w : create(SemantizedWindowSchema, { ...w, tenant: caller.tenant })));
      checkWindowOrder(ws);
      const outcomes = await applyMany(ws);
      await publish(ws, outcomes, 'api');
      const touched = [...new Set(ws.map((w) => w.userId))];
      const personas = (await store.batchGet(caller.tenant, touched)).filter((p): p is Persona => p !== undefined);
      return create(ApplyWindowsResponseSchema, {
        applied: outcomes.filter((o) => o.status === 'applied').length,
        duplicates: outcomes.filter((o) => o.status === 'duplicate' || o.status === 'republish').length,
        personas: personas.map(visible),
      });
    },

    async listDimensions(caller, req) {
      const tenant = tenantOf(caller, req.tenant);
      return create(ListDimensionsResponseSchema, {
        dimensions: dimsFor(tenant).map((d) =>
          create(DimensionSchema, {
            name: d.name,
            values: [...d.values],
            multiValued: d.multiValued,
            sensitive: d.sensitive,
          }),
        ),
      });
    },

    async restorePersona(caller, req) {
      const tenant = tenantOf(caller, req.tenant);
      const userId = requireUserId(req.userId);
      return { restored: await store.restore(tenant, userId) };
    },
  };

  return {
    api,
    handleBatch,
    async start() {
      if (running) return;
      running = true;
      if (config.consume === false) return;
      consumer = deps.stream.consumer({
        groupId: config.groupId ?? 'persona',
        topics: [windowsTopic],
        concurrency: config.partitionConcurrency ?? 4,
      });
      await consumer.start(handleBatch);
      logger.info({ windowsTopic, updatesTopic, backend: backend.name }, 'persona service consuming');
    },
    async stop() {
      if (!running) return;
      running = false;
      for (const w of watches) w.abort();
      if (consumer) await consumer.stop();
      consumer = undefined;
      await producer.close();
    },
    async health() {
      return running && (await store.ping());
    },
  };
}
