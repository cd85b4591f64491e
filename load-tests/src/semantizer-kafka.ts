/**
 * Semantizer throughput through the local Kafka (a command, not a test):
 *
 *   npx personastream loadtest semantizer-kafka [users=1000] [--tokenizer cl100k_base|o200k_base|none]
 *        [--concurrency N] [--partitions N] [--instances N] [--profile DIR] [--dist DIR]
 *
 * (after `npm run build`; the CLI passes KAFKA_BROKERS and REDIS_URL from `.infra/env`). Steps:
 * 1. creates private topics `bench.sem.<id>.{events,windows,dlq,truth}` (never the pipeline's);
 * 2. pre-loads the events topic with a simulated run (the simulator's `publishRun`: events,
 *    malformed records, an end-of-run marker on every partition) and reports that rate too;
 * 3. starts the semantizer service (`services/semantizer/dist/main.js`, or `DIR/main.js` of another
 *    build with `--dist DIR` for an A/B; `--instances` child processes in one consumer
 *    group, the documented way to scale; its own group and Redis checkpoint prefix) and reads the windows topic until every partition's forwarded
 *    end-of-run marker arrived;
 * 4. prints one JSON line — input records ÷ seconds from the service's start to the last marker,
 *    the same without the service's start-up (until every instance's `/healthz` answers 200: the
 *    process loaded, connected and joined the group — the time before its first fetch), the
 *    service's CPU seconds and
 *    those of the broker, Redis and this process over the same interval —
 *    then deletes the topics and checkpoint keys.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLogger, deleteKeysWithPrefix } from '@personastream/runtime';
import { publishRun, simulatorConfig } from '@personastream/simulator';
import { createKafkaStream, type Stream } from '@personastream/stream';
import { Redis } from 'ioredis';
import { cpuSecondsOf } from './lib/proc.js';
import { repoRoot, serviceMain } from './lib/repo.js';

export interface KafkaBenchOptions {
  users: number;
  tokenizer: 'cl100k_base' | 'o200k_base' | 'none';
  concurrency: number;
  partitions: number;
  /** Service processes in the consumer group. */
  instances: number;
  /** Writes a V8 CPU profile of the service process into this directory. */
  profileDir?: string;
  /** Another build's `dist/` folder whose `main.js` runs instead of this checkout's service. */
  dist?: string;
}

export interface KafkaBenchResult {
  users: number;
  /** Records the service consumed: events, malformed records and end-of-run markers. */
  records: number;
  events: number;
  windows: number;
  tokenizer: string;
  concurrency: number;
  partitions: number;
  instances: number;
  /** Pre-loading the topic (simulator → Kafka), events/s. */
  publishEventsPerSecond: number;
  /** Service start → last end-of-run marker on the windows topic. */
  seconds: number;
  eventsPerSecond: number;
  /**
   * Service start → every instance ready (`/healthz` 200: modules loaded, Kafka and Redis
   * connected, consumer group joined). Nothing is fetched before that.
   */
  startupSeconds: number;
  /** Service start → its first output record (start-up, then the first batch processed). */
  firstOutputSeconds: number;
  /**
   * The processing rate without start-up: the events left at readiness (the group's lag then, as a
   * share of the records) ÷ (every instance ready → last marker). Exact with one instance (nothing is
   * fetched before it is ready); with several, high by at most the batches in flight at readiness.
   */
  steadyEventsPerSecond: number;
  /** CPU seconds of the service processes together (Linux `/proc`; null elsewhere). */
  serviceCpuSeconds: number | null;
  /**
   * CPU seconds the rest of the stack used over the same interval (service start → last marker):
   * the local broker and Redis (found through `.infra/{kafka,redis}/*.pid`, the `infra.sh` layout;
   * null when not there) and this benchmark process (reading the windows topic). With the service's,
   * the CPU the whole pipeline spends per event on this machine.
   */
  stackCpuSeconds: { broker: number | null; redis: number | null; benchmark: number };
}

/** Parses `[users] [--tokenizer T] [--concurrency N] [--partitions N] [--instances N] [--profile DIR] [--dist DIR]`. */
export function parseBenchArgs(argv: string[]): KafkaBenchOptions {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const positive = (v: string | undefined, fallback: number, what: string) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`semantizer-kafka: ${what} must be a positive integer (got ${v})`);
    return n;
  };
  const tokenizer = flag('tokenizer') ?? 'cl100k_base';
  if (tokenizer !== 'cl100k_base' && tokenizer !== 'o200k_base' && tokenizer !== 'none')
    throw new Error(`semantizer-kafka: --tokenizer must be cl100k_base, o200k_base or none (got ${tokenizer})`);
  const flagValues = new Set(
    ['tokenizer', 'concurrency', 'partitions', 'instances', 'profile', 'dist'].map((f) => flag(f)),
  );
  const usersArg = argv.find((a) => /^\d+$/.test(a) && !flagValues.has(a));
  return {
    users: positive(usersArg, 1000, 'users'),
    tokenizer,
    concurrency: positive(flag('concurrency'), 4, '--concurrency'),
    partitions: positive(flag('partitions'), 4, '--partitions'),
    instances: positive(flag('instances'), 1, '--instances'),
    profileDir: flag('profile'),
    dist: flag('dist'),
  };
}

/** The pid in the first `*.pid` file of `dir`, if any. */
function pidIn(dir: string): number | undefined {
  try {
    const file = readdirSync(dir).find((f) => f.endsWith('.pid'));
    const pid = file ? Number(readFileSync(join(dir, file), 'utf8').trim()) : Number.NaN;
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds used since `start` (both null-safe). */
function cpuSince(pid: number | undefined, start: number | null): number | null {
  const now = cpuSecondsOf(pid);
  return now === null || start === null ? null : Number((now - start).toFixed(2));
}

/** A TCP port free on loopback right now (for a child's ops server). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Resolves once `GET /healthz` on the port answers 200 (polled every 20 ms). */
async function healthy(port: number): Promise<void> {
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves when the child exits (or at once if it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function runKafkaBench(
  opts: KafkaBenchOptions,
  env: { KAFKA_BROKERS: string; REDIS_URL: string },
): Promise<KafkaBenchResult> {
  const logger = createLogger('bench-kafka', 'warn');
  const stream: Stream = createKafkaStream(
    { brokers: env.KAFKA_BROKERS.split(','), clientId: 'bench-kafka' },
    { logger },
  );
  const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const topics = {
    events: `bench.sem.${id}.events`,
    windows: `bench.sem.${id}.windows`,
    dlq: `bench.sem.${id}.dlq`,
    truth: `bench.sem.${id}.truth`,
  };
  const groupId = `bench.sem.${id}`;
  const prefix = `bench:sem:${id}:`;
  const admin = stream.admin();
  const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 3 });
  const children: ChildProcess[] = [];
  const watcher = stream.consumer({ groupId: `${groupId}.watch`, topics: [topics.windows] });
  try {
    await admin.ensureTopics([
      { topic: topics.events, partitions: opts.partitions },
      { topic: topics.windows, partitions: opts.partitions },
      { topic: topics.truth, partitions: opts.partitions },
      { topic: topics.dlq, partitions: 1 },
    ]);

    // 1. pre-load
    const p0 = performance.now();
    const run = await publishRun(
      simulatorConfig({ users: opts.users, runId: `bench-${id}` }),
      { stream, logger },
      { topics: { events: topics.events, truth: topics.truth }, batchSize: 4000 },
    );
    const publishSeconds = (performance.now() - p0) / 1000;
    const records = run.events + run.malformed + opts.partitions;

    // 2. watch the windows topic: count windows, note every partition's forwarded marker
    let windows = 0;
    let firstOutputAt = 0;
    let lastMarkerAt = 0;
    const markers = new Set<number>();
    let allMarkers!: () => void;
    const done = new Promise<void>((resolve) => {
      allMarkers = resolve;
    });
    await watcher.start(async (batch) => {
      if (firstOutputAt === 0) firstOutputAt = performance.now();
      for (const r of batch.records) {
        if (r.key.startsWith('eor/')) markers.add(r.partition);
        else windows++;
      }
      if (markers.size === opts.partitions && lastMarkerAt === 0) {
        lastMarkerAt = performance.now();
        allMarkers();
      }
    });

    // 3. the service, as in production
    const main = opts.dist ? resolve(opts.dist, 'main.js') : serviceMain('semantizer');
    const infra = process.env.PS_INFRA_DIR ?? join(repoRoot(), '.infra');
    const brokerPid = pidIn(join(infra, 'kafka'));
    const redisPid = pidIn(join(infra, 'redis'));
    const stack0 = { broker: cpuSecondsOf(brokerPid), redis: cpuSecondsOf(redisPid), benchmark: process.cpuUsage() };
    const t0 = performance.now();
    const profile = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
    const ports = await Promise.all(Array.from({ length: opts.instances }, freePort));
    const start = (port: number) =>
      spawn(process.execPath, [...profile, main], {
        stdio: ['ignore', 2, 2], // the service's logs to stderr: stdout carries only the result
        env: {
          ...process.env,
          KAFKA_BROKERS: env.KAFKA_BROKERS,
          REDIS_URL: env.REDIS_URL,
          SEMANTIZER_GROUP_ID: groupId,
          SEMANTIZER_EVENTS_TOPIC: topics.events,
          SEMANTIZER_WINDOWS_TOPIC: topics.windows,
          SEMANTIZER_DLQ_TOPIC: topics.dlq,
          SEMANTIZER_CHECKPOINT_PREFIX: prefix,
          SEMANTIZER_TOKENIZER: opts.tokenizer,
          SEMANTIZER_CONCURRENCY: String(opts.concurrency),
          OPS_PORT: String(port),
          LOG_LEVEL: 'warn',
        },
      });
    for (const port of ports) children.push(start(port));
    const failed = Promise.race(
      children.map(
        (c) =>
          new Promise<never>((_, reject) =>
            c.once('exit', (code, signal) => reject(new Error(`semantizer exited early (${code ?? signal})`))),
          ),
      ),
    );
    const readyAt = await Promise.race([Promise.all(ports.map(healthy)).then(() => performance.now()), failed]);
    // What is left at readiness: with several instances the first to join starts before the others,
    // and their joining moves partitions (a rebalance). The group's lag (what it has not committed)
    // read right after readiness is that remainder; work done but not yet committed then counts as
    // left, so with several instances the steady rate can be high by up to one batch per partition.
    const left = (await admin.groupLag(groupId, [topics.events])).reduce((a, l) => a + l.lag, 0);
    await Promise.race([done, failed]);
    const cpu = children.map((c) => cpuSecondsOf(c.pid));
    const own = process.cpuUsage(stack0.benchmark);
    const stackCpuSeconds = {
      broker: cpuSince(brokerPid, stack0.broker),
      redis: cpuSince(redisPid, stack0.redis),
      benchmark: Number(((own.user + own.system) / 1e6).toFixed(2)),
    };
    const serviceCpuSeconds = cpu.some((c) => c === null)
      ? null
      : Number(cpu.reduce<number>((a, c) => a + (c as number), 0).toFixed(2));
    const seconds = (lastMarkerAt - t0) / 1000;
    const steady = (lastMarkerAt - readyAt) / 1000;
    const leftEvents = Math.min(run.events, Math.round((left / records) * run.events));
    return {
      users: opts.users,
      records,
      events: run.events,
      windows,
      tokenizer: opts.tokenizer,
      concurrency: opts.concurrency,
      partitions: opts.partitions,
      instances: opts.instances,
      publishEventsPerSecond: Math.round(run.events / publishSeconds),
      seconds: Number(seconds.toFixed(2)),
      eventsPerSecond: Math.round(run.events / seconds),
      startupSeconds: Number(((readyAt - t0) / 1000).toFixed(2)),
      firstOutputSeconds: Number(((firstOutputAt - t0) / 1000).toFixed(2)),
      steadyEventsPerSecond: Math.round(leftEvents / steady),
      serviceCpuSeconds,
      stackCpuSeconds,
    };
  } finally {
    await Promise.all(
      children.map(async (c) => {
        c.removeAllListeners('exit');
        if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
        await exited(c);
      }),
    );
    await watcher.stop().catch(() => undefined);
    await admin.deleteTopics(Object.values(topics)).catch(() => undefined);
    await admin.close();
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  const { KAFKA_BROKERS, REDIS_URL } = process.env;
  if (!KAFKA_BROKERS || !REDIS_URL)
    throw new Error('semantizer-kafka needs KAFKA_BROKERS and REDIS_URL (source .infra/env)');
  const result = await runKafkaBench(parseBenchArgs(process.argv.slice(2)), { KAFKA_BROKERS, REDIS_URL });
  process.stdout.write(`${JSON.stringify({ benchmark: 'semantizer-kafka', ...result })}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
