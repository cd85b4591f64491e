import { create, toBinary } from '@bufbuild/protobuf';
import {
  DefaultPartitions,
  EventRecordSchema,
  isLiveRun,
  partitionForKey,
  runKey,
  Topics,
} from '@personastream/contracts';
import { readDatasetEventLines, readDatasetManifest } from '@personastream/dataset';
import { type ClientTls, tlsFetch } from '@personastream/runtime';
import type { OutRecord, StreamProducer } from '@personastream/stream';
import { isObject } from '../core/fields.js';
import { RecentIds } from '../core/recent-ids.js';
import { type EventError, issueReason } from '../core/types.js';
import { validateBatch } from '../core/validate.js';
import { markerCountKey, replayMarkers } from './markers.js';

export interface ReplayProgress {
  /** Events read from the dataset so far / in it (from the manifest). */
  events: number;
  totalEvents: number;
  accepted: number;
  rejected: number;
}

export interface ReplayOptions {
  /** Folder of a canonical dataset. */
  path: string;
  /** `http`: POST batches to an ingest API; `kafka`: produce straight to Kafka. Both use the same validation core. */
  target: 'http' | 'kafka';
  /** Base URL of the ingest API (http), e.g. http://127.0.0.1:8080. */
  url?: string;
  /** API key (http); its tenant must be the events' tenant. */
  apiKey?: string;
  /** CA (and client certificate) for an https URL whose certificate the system's CAs do not vouch for. */
  tls?: ClientTls;
  /** Producer (kafka). */
  producer?: StreamProducer;
  /** Replay speed relative to event time: 1 = real time, 60 = an hour per minute; absent/0 = as fast as possible. */
  speedup?: number;
  /** Events per batch (default 500). */
  batchSize?: number;
  /** Rewrites every event's tenant (default: keep the dataset's). */
  tenant?: string;
  /** Rewrites every event's run id (default: keep the dataset's), so one dataset can be replayed as several runs. */
  runId?: string;
  /** Topics (kafka; default the contract's events and DLQ topics). */
  topics?: { events?: string; dlq?: string };
  /** Partitions of the events topic (kafka: end-of-run markers; default the contract's default). */
  partitions?: number;
  /** End each run with EndOfRun markers on every partition after its events (default true). */
  endOfRun?: boolean;
  /** Retries of one HTTP batch on 429/503/network errors before giving up (default 30). */
  maxRetries?: number;
  onProgress?: (p: ReplayProgress) => void;
}

export interface ReplaySummary {
  target: 'http' | 'kafka';
  /** Events read from the dataset. */
  events: number;
  /** Events written to Kafka (acknowledged). */
  accepted: number;
  /** Events whose id was already accepted (not written again). */
  duplicates: number;
  /** Rejected events by reason (`<field>_<reason>`, e.g. `event_time_ms_out_of_range`). */
  rejected: Record<string, number>;
  /** Runs that were ended with markers. */
  runs: string[];
  wallMs: number;
}

/** Reason of one rejected event: its first error. */
function reasonsByIndex(errors: EventError[]): Map<number, string> {
  const m = new Map<number, string>();
  for (const e of errors) if (!m.has(e.index)) m.set(e.index, issueReason(e));
  return m;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends a canonical dataset through ingest: over HTTP in batches to `POST /v1/events` (the API
 * validates), or straight to Kafka through the same validation core (`validateBatch`), invalid
 * events going to the DLQ topic with their reason in headers. Events go in file order (imports
 * are time-sorted), paced by `speedup` when given. At the end each run id seen gets EndOfRun
 * markers on every partition (HTTP: `POST /v1/runs/:run/end`), so downstream stages flush it.
 */
export async function replayDataset(opts: ReplayOptions): Promise<ReplaySummary> {
  const started = Date.now();
  const manifest = await readDatasetManifest(opts.path);
  const batchSize = Math.max(1, Math.min(opts.batchSize ?? 500, 10_000));
  const summary: ReplaySummary = {
    target: opts.target,
    events: 0,
    accepted: 0,
    duplicates: 0,
    rejected: {},
    runs: [],
    wallMs: 0,
  };
  const runs = new Set<string>();
  const reject = (reason: string, n = 1) => {
    summary.rejected[reason] = (summary.rejected[reason] ?? 0) + n;
  };
  let rejectedTotal = 0;
  const progress = () =>
    opts.onProgress?.({
      events: summary.events,
      totalEvents: manifest.counts.events,
      accepted: summary.accepted,
      rejected: rejectedTotal,
    });

  let sendBatch: (batch: Record<string, unknown>[], tenant: string) => Promise<void>;
  let finish: () => Promise<void>;

  if (opts.target === 'http') {
    if (!opts.url || !opts.apiKey) throw new Error('replay --target http needs url and apiKey');
    const base = opts.url.replace(/\/+$/, '');
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${opts.apiKey}` };
    const maxRetries = opts.maxRetries ?? 30;
    const fetch = tlsFetch(opts.tls);
    const post = async (path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
      for (let attempt = 0; ; attempt++) {
        let status = 0;
        let json: Record<string, unknown> = {};
        let wait = 1000;
        try {
          const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body ?? {}) });
          status = res.status;
          json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
          wait = Number(res.headers.get('retry-after') ?? 1) * 1000;
        } catch (err) {
          if (attempt >= maxRetries) throw new Error(`replay: ${base}${path} unreachable: ${(err as Error).message}`);
        }
        if (status !== 0 && status !== 429 && status !== 503) return { status, json };
        if (attempt >= maxRetries)
          throw new Error(`replay: ${base}${path} still answers ${status} after ${maxRetries} retries`);
        await sleep(wait);
      }
    };
    sendBatch = async (batch) => {
      const { status, json } = await post('/v1/events', { events: batch });
      if (status === 200 || status === 400) {
        if (status === 400 && !Array.isArray(json.errors))
          throw new Error(`replay: ingest refused a batch: ${String(json.message)}`);
        summary.accepted += Number(json.accepted ?? 0);
        summary.duplicates += Number(json.duplicates ?? 0);
        for (const reason of reasonsByIndex((json.errors as EventError[] | undefined) ?? []).values()) {
          reject(reason);
          rejectedTotal++;
        }
        return;
      }
      if (status === 401) throw new Error('replay: the API key was refused (401)');
      if (status === 403) {
        throw new Error(
          `replay: 403 ${String(json.message)} — the dataset's tenant must be the API key's tenant (pass tenant to rewrite it)`,
        );
      }
      throw new Error(`replay: ingest answered ${status}: ${String(json.message ?? '')}`);
    };
    finish = async () => {
      for (const run of runs) {
        if (isLiveRun(run)) continue; // the live run never ends
        const { status, json } = await post(`/v1/runs/${encodeURIComponent(run)}/end`, undefined);
        if (status !== 200)
          throw new Error(`replay: ending run ${run} failed (${status} ${String(json.message ?? '')})`);
      }
    };
  } else {
    const producer = opts.producer;
    if (!producer) throw new Error('replay --target kafka needs a producer');
    const eventsTopic = opts.topics?.events ?? Topics.events;
    const dlqTopic = opts.topics?.dlq ?? Topics.eventsDlq;
    const partitions = opts.partitions ?? DefaultPartitions[Topics.events];
    const seen = new RecentIds(1_000_000);
    const counts = new Map<string, number>();
    /** runKey → [run id, tenant] of the runs written */
    const runsSeen = new Map<string, readonly [string, string]>();
    sendBatch = async (batch, tenant) => {
      if (tenant === '') {
        reject('tenant_required', batch.length);
        rejectedTotal += batch.length;
        return;
      }
      const nowMs = Date.now();
      const v = validateBatch(batch, {
        shape: 'native',
        tenant,
        nowMs,
        defaultRunId: 'replay',
        minEventTimeMs: Date.UTC(1990, 0, 1),
        maxEventTimeMs: nowMs + 86_400_000,
        maxBatch: batch.length,
      });
      if (!v.ok) throw new Error(`replay: batch not valid: ${v.issue.field} ${v.issue.reason}`);
      const records: OutRecord[] = [];
      const batchIds = new Set<string>();
      const fresh: typeof v.valid = [];
      for (const ve of v.valid) {
        const id = ve.event.eventId;
        if (seen.has(ve.event.tenant, id) || batchIds.has(id)) {
          summary.duplicates++;
          continue;
        }
        batchIds.add(id);
        fresh.push(ve);
        records.push(ve.record);
      }
      const dlq: OutRecord[] = [];
      for (const [index, reason] of reasonsByIndex(v.errors)) {
        const raw = batch[index] ?? {};
        const user = typeof raw.userId === 'string' ? raw.userId : '';
        dlq.push({
          key: `${tenant}/${user}`,
          value: Buffer.from(JSON.stringify(raw), 'utf8'),
          headers: {
            'ps-malformed': '1',
            'ps-dlq-reason': reason,
            'ps-dlq-errors': JSON.stringify(
              v.errors.filter((e) => e.index === index).map(({ field, reason: r }) => ({ field, reason: r })),
            ),
            'ps-source': 'ingest-replay',
          },
        });
        reject(reason);
        rejectedTotal++;
      }
      await Promise.all([
        records.length > 0 ? producer.send(eventsTopic, records) : undefined,
        dlq.length > 0 ? producer.send(dlqTopic, dlq) : undefined,
      ]);
      summary.accepted += records.length;
      for (const ve of fresh) {
        seen.add(ve.event.tenant, ve.event.eventId);
        const key = markerCountKey(ve.event.tenant, ve.event.runId, partitionForKey(ve.record.key, partitions));
        counts.set(key, (counts.get(key) ?? 0) + 1);
        runsSeen.set(runKey(ve.event.tenant, ve.event.runId), [ve.event.runId, ve.event.tenant]);
      }
    };
    finish = async () => {
      // every run written, per tenant; a run of the file none of whose events was valid still ends
      const written = new Set<string>();
      for (const [run] of runsSeen.values()) {
        runs.add(run);
        written.add(run);
      }
      const ending = [...runsSeen.values()];
      for (const run of runs) if (!written.has(run)) ending.push([run, opts.tenant ?? ''] as const);
      const markers = replayMarkers(ending, partitions, counts, (marker) =>
        toBinary(EventRecordSchema, create(EventRecordSchema, { kind: { case: 'endOfRun', value: marker } })),
      );
      if (markers.length > 0) await producer.send(eventsTopic, markers);
    };
  }

  let batch: Record<string, unknown>[] = [];
  let batchTenant = '';
  const flush = async () => {
    if (batch.length === 0) return;
    const b = batch;
    batch = [];
    await sendBatch(b, batchTenant);
    progress();
  };
  const speedup = opts.speedup ?? 0;
  let firstEventMs: number | undefined;
  const wallStart = Date.now();
  for await (const line of readDatasetEventLines(opts.path)) {
    summary.events++;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      reject('invalid_json');
      rejectedTotal++;
      continue;
    }
    if (!isObject(raw)) {
      reject('invalid_type');
      rejectedTotal++;
      continue;
    }
    if (opts.tenant !== undefined) raw.tenant = opts.tenant;
    if (opts.runId !== undefined) raw.runId = opts.runId;
    const tenant = typeof raw.tenant === 'string' && raw.tenant !== '' ? raw.tenant : (opts.tenant ?? '');
    if (batch.length > 0 && tenant !== batchTenant) await flush();
    batchTenant = tenant;
    const run = typeof raw.runId === 'string' && raw.runId !== '' ? raw.runId : undefined;
    if (run) runs.add(run);
    if (speedup > 0) {
      const t = Number(raw.eventTimeMs);
      if (Number.isFinite(t)) {
        firstEventMs ??= t;
        const due = wallStart + (t - firstEventMs) / speedup;
        const wait = due - Date.now();
        if (wait > 0) {
          // send what is due before waiting for the next event's time
          await flush();
          const left = due - Date.now();
          if (left > 0) await sleep(left);
        }
      }
    }
    batch.push(raw);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  if (opts.endOfRun ?? true) await finish();
  summary.runs = [...runs];
  summary.wallMs = Date.now() - started;
  return summary;
}
