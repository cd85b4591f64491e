import { fromBinary } from '@bufbuild/protobuf';
import { type EndOfRun, EventRecordSchema } from '@personastream/contracts';
import { createRegistry, silentLogger } from '@personastream/runtime';
import { MemoryBroker, type OutRecord, type StreamProducer } from '@personastream/stream';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_APP_CONFIG, type IngestAppConfig } from '../config.js';
import { ApiKeyStore } from '../core/api-keys.js';
import { buildIngestApp } from './http.js';
import type { RunCoordinator } from './run-coordinator.js';

const ACME = 'acme-secret-key-1';
const GLOBEX = 'globex-secret-key';
const keys = ApiKeyStore.fromSpec(`acme:${ACME},globex:${GLOBEX}`);
const T0 = Date.UTC(2025, 0, 1);
const as = (key: string) => ({ authorization: `Bearer ${key}` });

const ev = (id: string, runId?: string) => ({
  eventId: id,
  userId: `u-${id}`,
  eventTimeMs: T0,
  type: 'PAGE_VIEW',
  ...(runId ? { runId } : {}),
});

let apps: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  await Promise.all(apps.map((a) => a.close()));
  apps = [];
});

type Entry = { kind: 'event'; id: string; tenant: string; run: string } | ({ kind: 'marker' } & EndOfRun);

function setup(
  over: Partial<IngestAppConfig> = {},
  deps: { broker?: MemoryBroker; producer?: StreamProducer; coordinator?: RunCoordinator } = {},
) {
  const broker = deps.broker ?? new MemoryBroker(4);
  const app = buildIngestApp(
    { ...DEFAULT_APP_CONFIG, ...over },
    {
      producer: deps.producer ?? broker.producer(),
      coordinator: deps.coordinator,
      keys,
      logger: silentLogger(),
      registry: createRegistry('ingest-runs-test', false),
      now: () => T0 + 60_000,
    },
  );
  apps.push(app);
  /** Each partition's records in order. */
  const partitions = (): Entry[][] =>
    broker.partitions('behavior.events.v1').map((log) =>
      log.records.map((r): Entry => {
        const rec = fromBinary(EventRecordSchema, r.value);
        if (rec.kind.case === 'event') {
          const e = rec.kind.value;
          return { kind: 'event', id: e.eventId, tenant: e.tenant, run: e.runId };
        }
        if (rec.kind.case === 'endOfRun') return { kind: 'marker', ...rec.kind.value };
        throw new Error('unexpected record');
      }),
    );
  const post = (url: string, payload: unknown, key = ACME) =>
    app.inject({
      method: 'POST',
      url,
      headers: as(key),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  return { app, broker, partitions, post };
}

/** A producer whose sends wait until released (a slow Kafka). */
function heldProducer(broker: MemoryBroker): StreamProducer & { release(): void; held(): number } {
  let waiting: Array<() => void> = [];
  return {
    send: (topic: string, records: OutRecord[]) =>
      new Promise<void>((resolve) => {
        waiting.push(() => {
          broker.append(topic, records);
          resolve();
        });
      }),
    close: async () => {},
    release() {
      const w = waiting;
      waiting = [];
      for (const f of w) f();
    },
    held: () => waiting.length,
  };
}

describe('ending runs', () => {
  it('refuses to end the live run with 409 and writes nothing', async () => {
    const { post, partitions } = setup();
    for (const url of ['/v1/runs/live/end', '/v1/tenants/acme/runs/live/end']) {
      const res = await post(url, undefined);
      expect(res.statusCode).toBe(409);
      expect(res.json()).toEqual({
        error: 'live_run_never_ends',
        message: expect.stringMatching(
          /"live" is the live run: tenant "acme"'s never-ending clickstream.*no end-of-run marker/,
        ),
      });
    }
    expect(partitions().flat()).toEqual([]);
    // live events still flow
    expect((await post('/v1/events', [ev('l1')])).json()).toMatchObject({ accepted: 1 });
  });

  it("400 for a run id that is not one; 403 for another tenant's path", async () => {
    const { post } = setup();
    expect((await post('/v1/runs/%20%20/end', undefined)).json()).toEqual({
      error: 'invalid_body',
      message: 'runId is empty or only spaces',
    });
    expect((await post('/v1/runs/a%0Ab/end', undefined)).statusCode).toBe(400);
    expect((await post(`/v1/runs/${'r'.repeat(257)}/end`, undefined)).statusCode).toBe(400);
    expect((await post('/v1/tenants/globex/runs/r1/end', undefined)).statusCode).toBe(403);
  });

  it("ends only the key's tenant's run: markers carry the tenant and its counts; then 409 run_ended", async () => {
    const { post, partitions } = setup();
    const batch = Array.from({ length: 12 }, (_, i) => ev(`r-${i}`));
    expect((await post('/v1/events', { run_id: 'bench-1', events: batch })).json()).toMatchObject({ accepted: 12 });
    expect((await post('/v1/events', { run_id: 'bench-1', events: [ev('g-1')] }, GLOBEX)).statusCode).toBe(200);

    const end = await post('/v1/runs/bench-1/end', undefined);
    expect(end.statusCode).toBe(200);
    expect(end.json()).toEqual({ partitions: 4, records: 12 });
    const parts = partitions();
    for (const [p, log] of parts.entries()) {
      const markers = log.filter((e) => e.kind === 'marker');
      expect(markers).toHaveLength(1);
      const m = markers[0] as EndOfRun;
      expect(m).toMatchObject({
        runId: 'bench-1',
        tenant: 'acme',
        producer: 'ingest',
        partition: p,
        totalPartitions: 4,
      });
      // the marker counts acme's records of the run on this partition (not globex's)
      const mine = log.filter((e) => e.kind === 'event' && e.tenant === 'acme' && e.run === 'bench-1');
      expect(m.records).toBe(mine.length);
      expect(log.at(-1)).toMatchObject({ kind: 'marker' });
    }

    // acme's events of the ended run: 409, nothing written
    const before = parts.flat().length;
    const late = await post('/v1/events', { events: [ev('late-1', 'bench-1'), ev('live-1'), ev('late-2', 'bench-1')] });
    expect(late.statusCode).toBe(409);
    expect(late.json()).toEqual({
      error: 'run_ended',
      message: expect.stringMatching(
        /^run "bench-1" of tenant "acme" has ended .*Nothing of this request was accepted/,
      ),
      errors: [
        { index: 0, field: 'run_id', reason: 'run_ended' },
        { index: 2, field: 'run_id', reason: 'run_ended' },
      ],
    });
    expect(partitions().flat().length).toBe(before);
    // a retry of a batch accepted before the end is answered as duplicates (it is in, before the markers)
    expect((await post('/v1/events', { run_id: 'bench-1', events: batch })).json()).toMatchObject({
      accepted: 0,
      duplicates: 12,
    });
    // globex's run of the same name is still open; acme's other runs and live are too
    expect((await post('/v1/events', { run_id: 'bench-1', events: [ev('g-2')] }, GLOBEX)).statusCode).toBe(200);
    expect((await post('/v1/events', { run_id: 'bench-2', events: [ev('b2')] })).statusCode).toBe(200);
    expect((await post('/v1/events', [ev('live-2')])).statusCode).toBe(200);
    // ending again is allowed (a retry) and writes the same counts
    expect((await post('/v1/tenants/acme/runs/bench-1/end', undefined)).json()).toEqual({ partitions: 4, records: 12 });
  });

  it('gives the rate tokens of a 409 back', async () => {
    const { post } = setup({ ratePerS: 0.001, burst: 3, maxBatch: 3 });
    await post('/v1/runs/done/end', undefined);
    for (let i = 0; i < 5; i++) {
      expect((await post('/v1/events', { run_id: 'done', events: [ev(`d${i}`), ev(`e${i}`)] })).statusCode).toBe(409);
    }
    expect((await post('/v1/events', [ev('x1'), ev('x2'), ev('x3')])).statusCode).toBe(200);
  });

  it('an end waits for the sends of the run in flight, then its markers follow their events', async () => {
    const broker = new MemoryBroker(4);
    const producer = heldProducer(broker);
    const { post, partitions } = setup({}, { broker, producer });
    const sending = post('/v1/events', { run_id: 'r', events: Array.from({ length: 20 }, (_, i) => ev(`s${i}`)) });
    while (producer.held() === 0) await new Promise((r) => setImmediate(r));
    let ended = false;
    const ending = post('/v1/runs/r/end', undefined).then((res) => {
      ended = true;
      return res;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(ended).toBe(false);
    // meanwhile new events of the run are refused
    const refused = post('/v1/events', { run_id: 'r', events: [ev('after')] });
    expect((await refused).statusCode).toBe(409);
    producer.release();
    expect((await sending).json()).toMatchObject({ accepted: 20 });
    while (producer.held() === 0) await new Promise((r) => setImmediate(r));
    producer.release();
    const end = await ending;
    expect(end.json()).toEqual({ partitions: 4, records: 20 });
    const logs = partitions();
    expect(logs.flat()).toHaveLength(24);
    for (const log of logs) {
      const markerAt = log.findIndex((e) => e.kind === 'marker');
      expect(markerAt).toBe(log.length - 1);
      expect(log.slice(0, markerAt).every((e) => e.kind === 'event' && e.run === 'r')).toBe(true);
    }
  });

  it('503 when the sends in flight outlast the end timeout; the run stays ended and a retry completes', async () => {
    const broker = new MemoryBroker(4);
    const producer = heldProducer(broker);
    const { post, partitions } = setup({ endRunTimeoutMs: 60, retryAfterS: 3 }, { broker, producer });
    const sending = post('/v1/events', { run_id: 'slow', events: [ev('s1')] });
    while (producer.held() === 0) await new Promise((r) => setImmediate(r));
    const end = await post('/v1/runs/slow/end', undefined);
    expect(end.statusCode).toBe(503);
    expect(end.headers['retry-after']).toBe('3');
    expect(end.json().message).toMatch(
      /run "slow" is ended \(no new events of it are accepted\), but 1 send\(s\) of it on 1 replica\(s\) had no answer from Kafka after 60 ms.*retry the call/,
    );
    expect((await post('/v1/events', { run_id: 'slow', events: [ev('s2')] })).statusCode).toBe(409);
    producer.release();
    expect((await sending).statusCode).toBe(200);
    const retry = post('/v1/runs/slow/end', undefined);
    while (producer.held() === 0) await new Promise((r) => setImmediate(r));
    producer.release();
    expect((await retry).json()).toEqual({ partitions: 4, records: 1 });
    expect(
      partitions()
        .flat()
        .filter((e) => e.kind === 'marker'),
    ).toHaveLength(4);
  });

  it('503 for finite runs while the coordinator is unreachable (live events are not affected)', async () => {
    const down: RunCoordinator = {
      replica: 'x',
      begin: async () => {
        throw new Error('ECONNREFUSED');
      },
      end: async () => {
        throw new Error('ECONNREFUSED');
      },
      close: async () => {},
    };
    const { post, partitions } = setup({ retryAfterS: 2 }, { coordinator: down });
    const res = await post('/v1/events', { run_id: 'r', events: [ev('a')] });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    expect(res.json().message).toMatch(
      /run coordinator \(Redis\) did not answer; nothing of this request was accepted/,
    );
    expect((await post('/v1/runs/r/end', undefined)).statusCode).toBe(503);
    expect((await post('/v1/events', [ev('b')])).json()).toMatchObject({ accepted: 1 });
    expect(partitions().flat()).toEqual([expect.objectContaining({ id: 'b' })]);
  });

  it('does not report a send accepted when its lease lapsed before Kafka acknowledged', async () => {
    let finished = 0;
    const lapsed: RunCoordinator = {
      replica: 'x',
      begin: async () => ({
        valid: () => false,
        finish: () => {
          finished++;
        },
      }),
      end: async () => ({ counts: [] }),
      close: async () => {},
    };
    const { post } = setup({}, { coordinator: lapsed });
    const res = await post('/v1/events', { run_id: 'r', events: [ev('a')] });
    expect(res.statusCode).toBe(503);
    expect(res.json().message).toMatch(/lost its claim on the run/);
    expect(finished).toBe(1);
    // not remembered as accepted: a retry is not answered as a duplicate
    expect((await post('/v1/events', { run_id: 'r', events: [ev('a')] })).statusCode).toBe(503);
  });
});
