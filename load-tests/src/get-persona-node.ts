// GetPersona load test with a Node client (a benchmark command, not a test): open-loop at a fixed
// rate on loopback, latency measured from each request's scheduled time (no coordinated omission).
//
//   npx personastream loadtest get-persona-node [--rate 2000] [--seconds 10] [--users 1000]
//     [--address host:port --token T --tenant t [--ca-file PEM]]
//
// --ca-file: the server serves TLS (PERSONA_TLS_CERT_FILE) with a certificate that CA signed.
//
// Without --address it starts `get-persona-server.js` as a separate process (Redis store, seeded
// personas) and stops it afterwards. With redis-benchmark on PATH it also runs `redis-benchmark -t get`
// against the same Redis as the reference. Ends with one JSON line.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { create, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { GetPersonaRequestSchema } from '@personastream/contracts';
import { createPersonaClient, grpcChannelCredentials } from '@personastream/persona';
import { loadClientTls } from '@personastream/runtime';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(String(process.argv[i]).replace(/^--/, ''), String(process.argv[i + 1]));
const rate = Number(args.get('rate') ?? 2000);
const seconds = Number(args.get('seconds') ?? 10);
const users = Number(args.get('users') ?? 1000);
const channels = Number(args.get('channels') ?? 4);
const caFile = args.get('ca-file');
const tls = loadClientTls(caFile === undefined ? {} : { caFile });

let child: ChildProcess | undefined;
let address = args.get('address');
let token = args.get('token') ?? 'load-token';
let tenant = args.get('tenant') ?? 'load';
if (!address) {
  const script = fileURLToPath(new URL('./get-persona-server.js', import.meta.url));
  // Node itself (not npx), so the SIGTERM below reaches the server process.
  const c = spawn(process.execPath, [script, String(users)], { stdio: ['ignore', 'pipe', 'inherit'] });
  child = c;
  const port = await new Promise<string>((resolve, reject) => {
    let buf = '';
    c.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /READY (\d+)/.exec(buf);
      if (m?.[1]) resolve(m[1]);
    });
    c.on('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  address = `127.0.0.1:${port}`;
  token = 'load-token';
  tenant = 'load';
}

// Like ghz, the load client does not decode responses into objects (it checks the status and that
// bytes arrived), so the client's own CPU does not dominate what is measured on a 2-core machine.
const md = new grpc.Metadata();
md.set('authorization', `Bearer ${token}`);
const rawClients = Array.from(
  { length: channels },
  (_, i) => new grpc.Client(address as string, grpcChannelCredentials(tls), { 'grpc.channel_id': i }),
);
const requestBytes = new Map<string, Buffer>();
function getRaw(i: number, userId: string, timeoutMs: number): Promise<number> {
  let req = requestBytes.get(userId);
  if (!req) {
    req = Buffer.from(toBinary(GetPersonaRequestSchema, create(GetPersonaRequestSchema, { tenant, userId })));
    requestBytes.set(userId, req);
  }
  return new Promise((resolve, reject) => {
    (rawClients[i % channels] as grpc.Client).makeUnaryRequest(
      '/personastream.v1.PersonaService/GetPersona',
      (b: Buffer) => b,
      (b: Buffer) => b,
      req,
      md,
      { deadline: Date.now() + timeoutMs },
      (err, res) => (err ? reject(err) : resolve(res?.length ?? 0)),
    );
  });
}
const ids = Array.from({ length: users }, (_, i) => `u${String(i).padStart(5, '0')}`);
// Check one answer with the typed client, then warm up.
const typed = createPersonaClient(address as string, token, {}, tls);
const sample = await typed.getPersona({ tenant, userId: ids[0] as string });
if (!sample.persona?.tags.length) throw new Error('the seeded persona has no tags');
typed.close();
await Promise.all(ids.slice(0, 200).map((u, i) => getRaw(i, u, 5000)));
let firstError: string | undefined;

const total = Math.round(rate * seconds);
const latencies = new Float64Array(total);
let errors = 0;
let sent = 0;
let done = 0;
const start = performance.now();
await new Promise<void>((resolve) => {
  const tick = () => {
    const now = performance.now();
    const due = Math.min(total, Math.floor(((now - start) / 1000) * rate));
    while (sent < due) {
      const i = sent++;
      const scheduled = start + (i / rate) * 1000;
      getRaw(i, ids[i % ids.length] as string, 1000)
        .then(
          () => {
            latencies[i] = performance.now() - scheduled;
          },
          (err: Error) => {
            errors++;
            firstError ??= err.message;
            latencies[i] = performance.now() - scheduled;
          },
        )
        .finally(() => {
          if (++done === total) resolve();
        });
    }
    if (sent < total) setImmediate(tick);
  };
  tick();
});
const elapsed = (performance.now() - start) / 1000;
const sorted = Array.from(latencies).sort((a, b) => a - b);
const q = (p: number) => (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0).toFixed(3);
const summary: Record<string, unknown> = {
  loadtest: 'get-persona-node',
  requests: total,
  rate_target: rate,
  achieved_rps: Math.round(total / elapsed),
  errors,
  latency_ms: {
    p50: Number(q(0.5)),
    p90: Number(q(0.9)),
    p99: Number(q(0.99)),
    p999: Number(q(0.999)),
    max: Number(q(1)),
  },
};
console.log(
  `GetPersona: ${total} requests at ${rate}/s target, ${(total / elapsed).toFixed(0)}/s achieved, ${errors} errors; ` +
    `latency ms p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} p99.9 ${q(0.999)} max ${q(1)}`,
);
if (firstError) console.log(`first error: ${firstError}`);
for (const c of rawClients) c.close();
if (child) child.kill('SIGTERM');

const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  const u = new URL(redisUrl);
  try {
    const out = execFileSync(
      'redis-benchmark',
      ['-h', u.hostname, '-p', u.port || '6379', '-t', 'get', '-n', '100000', '-c', '50', '-q', '--precision', '3'],
      { encoding: 'utf8', timeout: 120_000 },
    );
    const line = out.trim().split('\r').pop()?.trim();
    summary.redis_benchmark_get = line;
    console.log(`reference (redis-benchmark GET, same Redis): ${line}`);
  } catch (err) {
    console.log(`reference redis-benchmark not run: ${(err as Error).message}`);
  }
}
console.log(JSON.stringify(summary));
