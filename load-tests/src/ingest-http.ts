// HTTP ingest benchmark (loopback only, bounded duration): events/s accepted by POST /v1/events with
// batches of N events (autocannon), beside the raw Kafka produce rate of the same records measured
// in the same run with the project's producer (acks=all).
//
//   npx personastream loadtest ingest-http [--duration 10] [--connections 16] [--batch 100] [--profile DIR]
//   (after `npm run build`; or `node load-tests/dist/ingest-http.js …` with KAFKA_BROKERS set)
//
// --profile DIR writes a CPU profile of the API process (node --cpu-prof); BENCH_SERVER_FLAGS passes
// node flags to it (e.g. --max-semi-space-size=32).
//
// Prints a table and, last, one JSON line. Writes to its own topics (ingest-bench-*), never to the
// pipeline's.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import { BehaviorEventSchema, EventRecordSchema, EventType, userKey } from '@personastream/contracts';
import { silentLogger } from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';
import autocannon from 'autocannon';
import { benchEventJson } from './lib/ingest-events.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : def;
};
const duration = opt('duration', 10);
const connections = opt('connections', 16);
const batch = opt('batch', 100);
if (!process.env.KAFKA_BROKERS) {
  console.error('KAFKA_BROKERS is not set: run "npx personastream infra up" and "set -a; . .infra/env; set +a"');
  process.exit(2);
}
const brokers = process.env.KAFKA_BROKERS.split(',');
for (const b of brokers) {
  if (!/^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(b)) {
    console.error(`refusing to benchmark against a non-loopback broker: ${b}`);
    process.exit(2);
  }
}
const loadBefore = loadavg() as [number, number, number];
const suffix = `${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
const httpTopic = `ingest-bench-http-${suffix}`;
const rawTopic = `ingest-bench-raw-${suffix}`;
const key = `bench-${randomBytes(12).toString('hex')}`;
const stream = createKafkaStream({ brokers, clientId: 'ingest-bench' }, { logger: silentLogger() });
const admin = stream.admin();
await admin.ensureTopics([
  { topic: httpTopic, partitions: 4 },
  { topic: rawTopic, partitions: 4 },
]);

const t0 = Date.now() - 3_600_000;
const eventJson = (id: string, i: number) => benchEventJson(t0, id, i);

// 1. raw Kafka produce rate: the same records, pre-encoded (so only Kafka is measured),
//    `connections` concurrent sends of `batch` records each
const producer = stream.producer();
const pool = Array.from({ length: 50 }, (_, b) =>
  Array.from({ length: batch }, (_, j) => {
    const i = b * batch + j;
    // The HTTP path's event, as the protobuf the ingest service would produce from it.
    const e = create(BehaviorEventSchema, {
      ...eventJson(`raw-${i}`, i),
      tenant: 'bench',
      type: EventType.ITEM_VIEW,
      receivedTimeMs: Date.now(),
    });
    return {
      key: userKey('bench', e.userId),
      value: toBinary(EventRecordSchema, create(EventRecordSchema, { kind: { case: 'event', value: e } })),
    };
  }),
);
await producer.send(rawTopic, pool[0] ?? []); // connect + metadata outside the timed part
/** Produces for `seconds` with `concurrency` sends in flight, each of `size` records; events/s. */
async function rawRun(seconds: number, concurrency: number, size: number): Promise<number> {
  const flat = pool.flat();
  const sendsOf = Array.from({ length: Math.ceil(flat.length / size) }, (_, i) => flat.slice(i * size, (i + 1) * size));
  let n = 0;
  let seq = 0;
  const start = Date.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const records = sendsOf[seq++ % sendsOf.length] ?? [];
        await producer.send(rawTopic, records);
        n += records.length;
      }
    }),
  );
  return n / ((Date.now() - start) / 1000);
}
// as the API's clients send: `connections` concurrent sends of `batch` records
const rawCpu0 = process.cpuUsage();
const rawRate = await rawRun(duration / 2, connections, batch);
const rawCpu = process.cpuUsage(rawCpu0);
const rawCpuPer1k = ((rawCpu.user + rawCpu.system) / 1000 / (rawRate * (duration / 2))) * 1000;
// the same records in flight, in 4 larger sends (closer to the broker's capacity)
const rawLargeRate = await rawRun(duration / 2, 4, Math.ceil((batch * connections) / 4));
await producer.close();

// 2. HTTP: the server in its own process, autocannon here
const profileDir = args.includes('--profile') ? args[args.indexOf('--profile') + 1] : undefined;
const server = fork(fileURLToPath(new URL('./ingest-http-server.js', import.meta.url)), {
  env: { ...process.env, BENCH_TOPIC: httpTopic, BENCH_KEY: key },
  execArgv: [
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
    // node flags of the API process, e.g. BENCH_SERVER_FLAGS=--max-semi-space-size=32
    ...(process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean),
  ],
});
const address = await new Promise<string>((resolve, reject) => {
  server.once('message', (m: { address: string }) => resolve(m.address));
  server.once('exit', (code) => reject(new Error(`bench server exited (${code})`)));
});
// a body template with a placeholder per event id; each request gets fresh ids
const template = JSON.stringify({ events: Array.from({ length: batch }, (_, i) => eventJson(`@@-${i}`, i)) });
let requestNo = 0;
server.send('start');
const clientCpu0 = process.cpuUsage();
const result = await autocannon({
  url: `${address}/v1/events`,
  method: 'POST',
  connections,
  duration,
  headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
  requests: [
    {
      setupRequest: (req) => ({ ...req, body: template.replaceAll('@@', `r${requestNo++}`) }),
    },
  ],
});
const clientCpu = process.cpuUsage(clientCpu0);
const metrics = await (await fetch(`${address}/metrics`)).text();
const accepted = Number(/ingest_events_total\{tenant="bench",outcome="accepted"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
const httpRate = accepted / duration;
server.send('cpu');
const serverCpuMs = await new Promise<number>((resolve) =>
  server.once('message', (m: { cpuMs: number }) => resolve(m.cpuMs)),
);
server.send('stop');
await new Promise((r) => server.once('exit', r));
await admin.close();

const report = {
  duration_s: duration,
  load_avg_1m_before: Number(loadBefore[0].toFixed(2)),
  cpus: cpus().length,
  connections,
  batch,
  http_requests_2xx: result['2xx'],
  http_non_2xx: result.non2xx,
  http_errors: result.errors,
  http_timeouts: result.timeouts,
  http_latency_ms_p50: result.latency.p50,
  http_latency_ms_p99: result.latency.p99,
  http_events_accepted: accepted,
  http_events_per_s: Math.round(httpRate),
  kafka_raw_events_per_s: Math.round(rawRate),
  kafka_raw_large_sends_events_per_s: Math.round(rawLargeRate),
  http_vs_raw: Number((httpRate / rawRate).toFixed(3)),
  /** CPU the producer process used per 1,000 events in the raw run (the Kafka client alone). */
  raw_client_cpu_ms_per_1k_events: Number(rawCpuPer1k.toFixed(2)),
  /** CPU the API process used per 1,000 accepted events (validation, encoding, HTTP, Kafka client). */
  server_cpu_ms_per_1k_events: Number(((serverCpuMs / Math.max(1, accepted)) * 1000).toFixed(2)),
  /** Events/s one fully available core would sustain at that cost. */
  server_events_per_cpu_s: Math.round(accepted / (serverCpuMs / 1000)),
  /** CPU the load generator (autocannon, this process) used per 1,000 accepted events, on the same cores. */
  client_cpu_ms_per_1k_events: Number(
    (((clientCpu.user + clientCpu.system) / 1000 / Math.max(1, accepted)) * 1000).toFixed(2),
  ),
  load_avg_1m_after: Number((loadavg()[0] ?? 0).toFixed(2)),
};
console.log('\ningest HTTP benchmark (loopback)');
console.log(`  batches of ${batch}, ${connections} connections, ${duration} s each`);
console.log(
  `  HTTP accepted   ${report.http_events_per_s.toLocaleString('en')} events/s (p50 ${report.http_latency_ms_p50} ms, p99 ${report.http_latency_ms_p99} ms per batch, ${report.http_non_2xx} non-2xx)`,
);
console.log(
  `  raw Kafka       ${report.kafka_raw_events_per_s.toLocaleString('en')} events/s (same records, ${connections} concurrent sends of ${batch}, acks=all)`,
);
console.log(
  `  raw Kafka       ${report.kafka_raw_large_sends_events_per_s.toLocaleString('en')} events/s (4 concurrent sends of ${Math.ceil((batch * connections) / 4)}, acks=all)`,
);
console.log(
  `  API process     ${report.server_cpu_ms_per_1k_events} ms CPU per 1,000 events (≈ ${report.server_events_per_cpu_s.toLocaleString('en')} events per CPU-second)`,
);
console.log(
  `  load generator  ${report.client_cpu_ms_per_1k_events} ms CPU per 1,000 events (autocannon, same machine)`,
);
console.log(
  `  (machine load average before the run: ${loadBefore.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} CPUs)`,
);
console.log(JSON.stringify(report));
