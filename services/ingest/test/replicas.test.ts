import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromBinary } from '@bufbuild/protobuf';
import { type EndOfRun, EventRecordSchema } from '@personastream/contracts';
import { deleteKeysWithPrefix, silentLogger } from '@personastream/runtime';
import { createKafkaStream, type Stream, type StreamAdmin } from '@personastream/stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireEnv, uniqueSuffix } from './helpers.js';

/**
 * Two ingest processes (the built dist/main.js) on two ports, sharing one Redis run coordinator,
 * producing to one private topic of the real Kafka. A client keeps sending events of the finite run R
 * to replica B while R is ended on replica A. Then, in the topic: every event B answered 200 for lies
 * before R's end-of-run marker in its partition, nothing of R lies after it, the markers count every
 * replica's records, and both replicas answer 409 for R afterwards.
 */
const brokers = requireEnv('KAFKA_BROKERS');
const redisUrl = requireEnv('REDIS_URL');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const main = resolve(root, 'services/ingest/dist/main.js');
const suffix = uniqueSuffix();
const topics = { events: `ingest-replicas-events-${suffix}`, dlq: `ingest-replicas-dlq-${suffix}` };
const prefix = `ingest-replicas-${suffix}:`;
const KEY = 'acme-replicas-integration-key';
const PARTITIONS = 4;
const RUN = `replay-${suffix}`;
const replicas = {
  a: { port: 23111, ops: 23113 },
  b: { port: 23112, ops: 23114 },
};
const children: ChildProcess[] = [];

function startReplica(name: string, ports: { port: number; ops: number }): ChildProcess {
  const child = spawn(process.execPath, [main], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      KAFKA_BROKERS: brokers,
      INGEST_API_KEYS: `acme:${KEY}`,
      INGEST_HTTP_PORT: String(ports.port),
      OPS_PORT: String(ports.ops),
      INGEST_REDIS_URL: redisUrl,
      INGEST_REDIS_PREFIX: prefix,
      INGEST_EVENTS_TOPIC: topics.events,
      INGEST_DLQ_TOPIC: topics.dlq,
      // each send waits 50 ms for company: B always has sends in flight while the end runs on A
      INGEST_PRODUCE_LINGER_MS: '50',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') process.stderr.write(`ingest ${name} exited: ${code ?? signal}\n`);
  });
  children.push(child);
  return child;
}

async function waitHealthy(port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`ingest on port ${port} did not become healthy`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const post = async (port: number, path: string, body?: unknown) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

const events = (ids: string[]) => ({
  run_id: RUN,
  events: ids.map((id, i) => ({
    eventId: id,
    userId: `user-${i}`,
    eventTimeMs: Date.now() - 1000,
    type: 'EVENT_TYPE_PAGE_VIEW',
  })),
});

type Entry = { kind: 'event'; id: string; run: string } | { kind: 'marker'; marker: EndOfRun };

/** Every record of the topic, per partition in offset order (read until the group has no lag). */
async function readTopic(stream: Stream, admin: StreamAdmin): Promise<Entry[][]> {
  const groupId = `ingest-replicas-read-${suffix}`;
  const logs: Entry[][] = Array.from({ length: PARTITIONS }, () => []);
  const consumer = stream.consumer({ groupId, topics: [topics.events], fromBeginning: true });
  await consumer.start(async (batch) => {
    for (const r of batch.records) {
      const rec = fromBinary(EventRecordSchema, r.value);
      const log = logs[r.partition] as Entry[];
      if (rec.kind.case === 'event') log.push({ kind: 'event', id: rec.kind.value.eventId, run: rec.kind.value.runId });
      else if (rec.kind.case === 'endOfRun') log.push({ kind: 'marker', marker: rec.kind.value });
    }
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const lag = await admin.groupLag(groupId, [topics.events]);
    const markers = logs.filter((l) => l.some((e) => e.kind === 'marker')).length;
    if (markers === PARTITIONS && lag.length === PARTITIONS && lag.every((p) => Number(p.lag) === 0)) break;
    if (Date.now() > deadline) throw new Error(`topic not read to its end: ${JSON.stringify(lag)}`);
  }
  await consumer.stop();
  return logs;
}

describe('two ingest replicas, one run coordinator (Redis)', () => {
  let stream: Stream;
  let admin: StreamAdmin;
  const redis = new Redis(redisUrl);

  beforeAll(async () => {
    execFileSync(
      process.execPath,
      [resolve(root, 'node_modules/typescript/bin/tsc'), '-p', 'services/ingest/tsconfig.json'],
      { cwd: root, stdio: 'inherit' },
    );
    stream = createKafkaStream(
      { brokers: brokers.split(','), clientId: 'ingest-replicas-it' },
      { logger: silentLogger() },
    );
    admin = stream.admin();
    await admin.ensureTopics([
      { topic: topics.events, partitions: PARTITIONS },
      { topic: topics.dlq, partitions: 1 },
    ]);
    startReplica('a', replicas.a);
    startReplica('b', replicas.b);
    await Promise.all([waitHealthy(replicas.a.port), waitHealthy(replicas.b.port)]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((res) => {
            if (c.exitCode !== null || c.signalCode !== null) return res();
            c.once('exit', () => res());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
          }),
      ),
    );
    await admin?.deleteTopics([topics.events, topics.dlq]).catch(() => {});
    await admin?.close();
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  it("no event B answered 200 for lands after R's markers written by A; then both refuse R with 409", async () => {
    type Sent = { ids: string[]; started: number; answered: number; status: number };
    const sent: Sent[] = [];
    let stop = false;
    let endDone = Number.POSITIVE_INFINITY;
    let refusedAfterEnd = 0;
    const worker = async (w: number) => {
      for (let k = 0; !stop; k++) {
        const ids = Array.from({ length: 10 }, (_, i) => `b-${w}-${k}-${i}`);
        const started = performance.now();
        const res = await post(replicas.b.port, '/v1/events', events(ids));
        const answered = performance.now();
        sent.push({ ids, started, answered, status: res.status });
        if (res.status === 409) {
          expect(res.body.error).toBe('run_ended');
          if (started > endDone) refusedAfterEnd++;
        }
        if (refusedAfterEnd >= 12) stop = true;
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    while (sent.filter((s) => s.status === 200).length < 20) await new Promise((r) => setTimeout(r, 20));

    const endStarted = performance.now();
    const end = await post(replicas.a.port, `/v1/runs/${RUN}/end`);
    endDone = performance.now();
    expect(end.status).toBe(200);
    await Promise.all(workers);

    // every request answered: 200 before the end took effect, 409 after; nothing else
    expect(new Set(sent.map((s) => s.status))).toEqual(new Set([200, 409]));
    const accepted = sent.filter((s) => s.status === 200);
    // requests that began after the end returned were all refused
    expect(sent.filter((s) => s.started > endDone).every((s) => s.status === 409)).toBe(true);
    // the race was real: B had accepted requests in flight while the end ran on A
    const overlapping = accepted.filter((s) => s.started < endStarted && s.answered > endStarted);
    expect(overlapping.length).toBeGreaterThan(0);
    // A refuses R as well, and neither takes new events of R
    const a = await post(replicas.a.port, '/v1/events', events(['a-after-1']));
    expect(a.status).toBe(409);
    expect(a.body.errors).toEqual([{ index: 0, field: 'run_id', reason: 'run_ended' }]);
    expect((await post(replicas.b.port, '/v1/events', events(['b-after-1']))).status).toBe(409);

    const acceptedIds = new Set(accepted.flatMap((s) => s.ids));
    const refusedIds = new Set(sent.filter((s) => s.status === 409).flatMap((s) => s.ids));

    const logs = await readTopic(stream, admin);
    const found = new Set<string>();
    for (const [p, log] of logs.entries()) {
      const at = log.findIndex((e) => e.kind === 'marker');
      expect(
        log.filter((e) => e.kind === 'marker'),
        `partition ${p}: one marker`,
      ).toHaveLength(1);
      const marker = (log[at] as { marker: EndOfRun }).marker;
      expect(marker).toMatchObject({ runId: RUN, tenant: 'acme', producer: 'ingest', partition: p });
      const before = log.slice(0, at).filter((e) => e.kind === 'event');
      const after = log.slice(at + 1);
      // nothing of R after its marker, and the marker counts what came before it (B's records)
      expect(after, `partition ${p}: records after the marker`).toEqual([]);
      expect(marker.records).toBe(before.length);
      for (const e of before) if (e.kind === 'event') found.add(e.id);
    }
    // every event answered 200 is before the markers; nothing answered 409 was written
    expect([...acceptedIds].filter((id) => !found.has(id))).toEqual([]);
    expect([...found].filter((id) => !acceptedIds.has(id))).toEqual([]);
    expect([...refusedIds].filter((id) => found.has(id))).toEqual([]);
    // the markers A wrote count the records B wrote
    expect(end.body).toEqual({ partitions: PARTITIONS, records: acceptedIds.size });
  });
});
