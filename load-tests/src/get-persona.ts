// GetPersona over gRPC with ghz (a benchmark command, not a test): starts `get-persona-server.js` (the
// persona service's gRPC server over Redis with N seeded personas, or with --floor a bare grpc-js server
// answering the same response bytes), sends GetPersona with ghz at a fixed rate, and reports
// ghz's figures with the CPU the server and ghz used per request; then `redis-benchmark -t get`
// against the same Redis as the reference.
//
//   npx personastream loadtest get-persona [--users 1000] [--rps 2000] [--requests 40000] [--concurrency 20]
//     [--connections 4] [--data bin|json] [--floor] [--no-redis-reference]
//
// ghz (github.com/bojand/ghz, GHZ_VERSION) is taken from PATH or `.tools/bin`, and installed there with
// `go install` when missing. Ends with one JSON line.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuSecondsOf } from './lib/proc.js';
import { infraVar, repoRoot } from './lib/repo.js';

export const GHZ_VERSION = 'v0.120.0';

const { values: o } = parseArgs({
  options: {
    users: { type: 'string', default: '1000' },
    rps: { type: 'string', default: '2000' },
    requests: { type: 'string', default: '40000' },
    concurrency: { type: 'string', default: '20' },
    connections: { type: 'string', default: '4' },
    data: { type: 'string', default: 'bin' },
    floor: { type: 'boolean', default: false },
    'no-redis-reference': { type: 'boolean', default: false },
  },
});
const num = (name: string, v: string | undefined) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`get-persona: --${name} must be a positive whole number (got ${v})`);
  return n;
};
const users = num('users', o.users);
const rps = num('rps', o.rps);
const requests = num('requests', o.requests);
const concurrency = num('concurrency', o.concurrency);
const connections = num('connections', o.connections);
if (o.data !== 'bin' && o.data !== 'json') throw new Error(`get-persona: --data must be bin or json (got ${o.data})`);
const redisUrl = infraVar('REDIS_URL');
if (!redisUrl) throw new Error('get-persona needs REDIS_URL (run "npx personastream infra up")');

/** ghz from PATH, else `.tools/bin/ghz`, else installed there with `go install`. */
function ghzBinary(): string {
  const onPath = spawnSync('ghz', ['--version'], { encoding: 'utf8' });
  if (onPath.status === 0) return 'ghz';
  const bin = join(repoRoot(), '.tools', 'bin');
  const local = join(bin, 'ghz');
  if (existsSync(local)) return local;
  process.stderr.write(`get-persona: installing ghz ${GHZ_VERSION} into ${bin} (go install)…\n`);
  const go = spawnSync('go', ['install', `github.com/bojand/ghz/cmd/ghz@${GHZ_VERSION}`], {
    stdio: ['ignore', 2, 2],
    env: { ...process.env, GOBIN: bin },
  });
  if (go.error || go.status !== 0 || !existsSync(local)) {
    throw new Error(`could not install ghz (needs Go): go install github.com/bojand/ghz/cmd/ghz@${GHZ_VERSION}`);
  }
  return local;
}

/** Starts the server; resolves with its port and pid once it prints READY. */
function startServer(dir: string): Promise<{ child: ChildProcess; port: number; pid: number }> {
  const script = fileURLToPath(new URL('./get-persona-server.js', import.meta.url));
  const child = spawn(process.execPath, [script, String(users), '--requests', dir, ...(o.floor ? ['--floor'] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, REDIS_URL: redisUrl },
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /READY (\d+) \S+ (\d+)/.exec(buf);
      if (m?.[1] && m[2]) resolve({ child, port: Number(m[1]), pid: Number(m[2]) });
    });
    child.once('exit', (code) => reject(new Error(`get-persona-server exited (${code})`)));
  });
}

interface GhzReport {
  count: number;
  total: number;
  average: number;
  fastest: number;
  slowest: number;
  rps: number;
  latencyDistribution: Array<{ percentage: number; latency: number }> | null;
  statusCodeDistribution: Record<string, number>;
  errorDistribution: Record<string, number> | null;
}

/** Runs ghz; its CPU seconds are read from `/proc` every 50 ms until it exits (the last reading). */
async function runGhz(
  ghz: string,
  port: number,
  dir: string,
): Promise<{ report: GhzReport; cpuSeconds: number | null }> {
  const root = repoRoot();
  const data = o.data === 'bin' ? ['-B', join(dir, 'get-requests.bin')] : ['-D', join(dir, 'get-requests.json')];
  const child = spawn(
    ghz,
    [
      '--insecure',
      '--import-paths',
      join(root, 'proto'),
      '--proto',
      join(root, 'proto', 'personastream', 'v1', 'persona_service.proto'),
      '--call',
      'personastream.v1.PersonaService.GetPersona',
      ...data,
      '--rps',
      String(rps),
      '-c',
      String(concurrency),
      '--connections',
      String(connections),
      '-n',
      String(requests),
      '--metadata',
      '{"authorization":"Bearer load-token"}',
      '-O',
      'json',
      `127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  let cpu: number | null = null;
  const poll = setInterval(() => {
    cpu = cpuSecondsOf(child.pid) ?? cpu;
  }, 50);
  const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  clearInterval(poll);
  if (code !== 0) throw new Error(`ghz exited with ${code}`);
  return { report: JSON.parse(out) as GhzReport, cpuSeconds: cpu };
}

const ms = (ns: number | undefined) => (ns === undefined ? null : Number((ns / 1e6).toFixed(2)));

const loadBefore = loadavg();
const ghz = ghzBinary();
const dir = mkdtempSync(join(tmpdir(), 'ps-get-persona-'));
const server = await startServer(dir);
let summary: Record<string, unknown>;
try {
  const cpu0 = cpuSecondsOf(server.pid);
  const { report, cpuSeconds: ghzCpu } = await runGhz(ghz, server.port, dir);
  const cpu1 = cpuSecondsOf(server.pid);
  const p = (pct: number) => ms(report.latencyDistribution?.find((l) => l.percentage === pct)?.latency);
  const ok = report.statusCodeDistribution.OK ?? 0;
  summary = {
    loadtest: 'get-persona',
    server: o.floor ? 'floor (bare grpc-js, fixed response bytes)' : 'persona service (Redis store)',
    users,
    requests: report.count,
    rps_target: rps,
    rps_achieved: Math.round(report.rps),
    concurrency,
    connections,
    data: o.data,
    ok,
    errors: report.count - ok,
    latency_ms: { p50: p(50), p90: p(90), p99: p(99), average: ms(report.average), max: ms(report.slowest) },
    server_cpu_ms_per_request:
      cpu0 === null || cpu1 === null ? null : Number((((cpu1 - cpu0) * 1000) / report.count).toFixed(3)),
    ghz_cpu_ms_per_request: ghzCpu === null ? null : Number(((ghzCpu * 1000) / report.count).toFixed(3)),
    load_avg_1m_before: Number((loadBefore[0] ?? 0).toFixed(2)),
    cpus: cpus().length,
  };
} finally {
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
if (!o['no-redis-reference']) {
  const u = new URL(redisUrl);
  try {
    const out = execFileSync(
      'redis-benchmark',
      ['-h', u.hostname, '-p', u.port || '6379', '-t', 'get', '-c', '50', '-n', '200000', '-q'],
      { encoding: 'utf8', timeout: 120_000 },
    );
    summary.redis_benchmark_get = out.trim().split('\r').pop()?.trim();
  } catch (err) {
    summary.redis_benchmark_get = `not run: ${(err as Error).message.split('\n')[0]}`;
  }
}
const l = summary.latency_ms as Record<string, number | null>;
console.log(`\nGetPersona over gRPC (ghz ${GHZ_VERSION}, loopback, ${summary.server})`);
console.log(
  `  ${summary.requests} requests at ${rps}/s target: ${summary.rps_achieved}/s achieved, ${summary.errors} errors; ` +
    `latency p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms`,
);
console.log(
  `  CPU per request: server ${summary.server_cpu_ms_per_request} ms, ghz ${summary.ghz_cpu_ms_per_request} ms`,
);
if (summary.redis_benchmark_get) console.log(`  reference redis-benchmark GET: ${summary.redis_benchmark_get}`);
console.log(JSON.stringify(summary));
