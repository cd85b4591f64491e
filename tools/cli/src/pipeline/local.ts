import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultPartitions, Topics } from '@personastream/contracts';
import type { RunReport } from '@personastream/evaluator';
import { createLogger } from '@personastream/runtime';
import type { SimulatorConfig } from '@personastream/simulator';
import { createKafkaStream } from '@personastream/stream';
import { runInfra } from '../commands/infra.js';
import { answers, portOpen } from '../net.js';
import { repoRoot } from '../paths.js';
import { say } from '../progress.js';
import { type ServiceProcess, startService, waitHealthy } from './processes.js';
import { baselineInputs, runBaselines } from './run-info.js';

export interface LocalPipelineOptions {
  sim: SimulatorConfig;
  scoreAllUsers?: boolean;
  /** Samples per persona update (Avg@k). */
  samples?: number;
  /** Tag score of the backend on raw input (retention), computed by the caller. */
  rawTagScore?: () => number | null;
  /** Leave the services (and the infra) running after the report. */
  keepRunning?: boolean;
  quiet?: boolean;
  /** Limit for the whole run (simulator publishing, then the report), ms; on expiry the services are stopped. */
  timeoutMs?: number;
}

/** Ports of the services on the local stack (127.0.0.1). */
export const LOCAL_PORTS = {
  semantizerOps: 19102,
  personaGrpc: 50051,
  personaOps: 19103,
  evaluatorHttp: 18081,
  ingestHttp: 18080,
  ingestOps: 19105,
} as const;

/**
 * True when the addresses in `.infra/env` answer: Kafka and Redis accept connections and ClickHouse
 * answers `/ping`. (Asked before `infra status`, which only knows the processes its own folder
 * started — a git worktree whose `.infra` links to another checkout's would look stopped.)
 */
export async function infraReachable(): Promise<boolean> {
  let env: Record<string, string>;
  try {
    env = readInfraEnv();
  } catch {
    return false;
  }
  const hostPort = (s: string | undefined): [string, number] | undefined => {
    const m = /^(?:[a-z]+:\/\/)?([^:/,]+):(\d+)/.exec(s ?? '');
    return m?.[1] && m[2] ? [m[1], Number(m[2])] : undefined;
  };
  const kafka = hostPort(env.KAFKA_BROKERS);
  const redis = hostPort(env.REDIS_URL);
  if (!kafka || !redis || !env.CLICKHOUSE_URL) return false;
  const local = (host: string) => host === '127.0.0.1' || host === 'localhost';
  if (!local(kafka[0]) || !local(redis[0])) return false;
  const [k, r, c] = await Promise.all([
    portOpen(kafka[1]),
    portOpen(redis[1]),
    answers(`${env.CLICKHOUSE_URL.replace(/\/+$/, '')}/ping`),
  ]);
  return k && r && c;
}

/** Reads `.infra/env` (written by `infra up`) into a plain object. */
export function readInfraEnv(): Record<string, string> {
  const file = join(repoRoot(), '.infra', 'env');
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m?.[1]) env[m[1]] = (m[2] ?? '').replace(/^['"]|['"]$/g, '');
  }
  return env;
}

/**
 * The local stack: real Kafka, Redis and ClickHouse (started by `infra up` if they are not running)
 * and the five services as separate processes. The simulator publishes the run and exits; the run
 * is complete when the evaluator has every end-of-run marker and has written the run to ClickHouse,
 * and its report is read back from the evaluator's HTTP API.
 */
export interface LocalPipelineResult {
  report: RunReport;
  /** Bearer token of the run's tenant for the persona gRPC API and the evaluator API (and the ingest API key). */
  token: string;
  /** The evaluator's admin token (the dashboard: `/#token=…`). */
  adminToken: string;
  /** Stops what the pipeline started (services; the infra if it started it). Idempotent. */
  stop(): Promise<void>;
}

export type LocalPorts = { [K in keyof typeof LOCAL_PORTS]: number };

/** Topics of one local stack. */
export interface LocalTopics {
  events: string;
  dlq: string;
  windows: string;
  updates: string;
  truth: string;
}

export interface LocalStackOptions {
  /** The tenant the persona token and the ingest API key belong to. */
  tenant: string;
  /** More tenants, each with a token of its own (`LocalStack.tokens`). */
  otherTenants?: readonly string[];
  /** Service variables for all four services (e.g. `SEMANTIZER_GAP_MS`), over the caller's environment. */
  env?: Readonly<Record<string, string>>;
  scoreAllUsers?: boolean;
  /** Samples per persona update (Avg@k). */
  samples?: number;
  /** Builtin model weights for the persona service (default: its bundled model). */
  modelPath?: string;
  /** Ports of the services (default {@link LOCAL_PORTS}). */
  ports?: LocalPorts;
  /**
   * Runs a private pipeline beside any other on the same infrastructure: its own topics (created
   * with the contract's partition counts) and consumer groups, all named with this suffix. Default:
   * the contract's topics and the services' default groups.
   */
  isolate?: string;
  /** Suffix of the services' log files under `.infra/logs/`. */
  logSuffix?: string;
}

/** Semantizer, persona, evaluator and ingest running as processes on the local infrastructure. */
export interface LocalStack {
  ports: LocalPorts;
  topics: LocalTopics;
  /** `.infra/env` (KAFKA_BROKERS, REDIS_URL, CLICKHOUSE_URL). */
  infra: Record<string, string>;
  /** Persona and evaluator bearer token and ingest API key of the tenant. */
  token: string;
  /** Token (persona and evaluator bearer token, ingest API key) of every tenant, `tenant` and `otherTenants`. */
  tokens: Record<string, string>;
  /** The evaluator's admin token (every tenant's runs; the dashboard: `/#token=…`). */
  adminToken: string;
  /** Run facts the streams do not carry, used by the evaluator when the tenant's run completes (sent with the tenant's token). */
  putFacts(
    tenant: string,
    runId: string,
    facts: { info?: Record<string, unknown>; baselines?: unknown },
  ): Promise<void>;
  /** The tenant's run's report, once the evaluator has every end-of-run marker and has written it. */
  waitForReport(tenant: string, runId: string, timeoutMs?: number): Promise<RunReport>;
  /** Adds a process (e.g. the simulator) that `stop` stops too. */
  track(process: ServiceProcess): void;
  /** Stops one service (SIGTERM: it finishes its batch and commits) and starts it again; resolves once healthy. */
  restart(name: StackService): Promise<void>;
  /** Stops the services (and the infra if this started it). Idempotent. */
  stop(): Promise<void>;
}

/** Starts the infra if needed and the four long-running services; resolves once all are healthy. */
export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  let startedInfra = false;
  if (!(await infraReachable()) && runInfra(['status']) !== 0) {
    say('starting the local infrastructure (Kafka, Redis, ClickHouse)…');
    if (runInfra(['up']) !== 0) throw new Error('infra up failed (see above)');
    startedInfra = true;
  }
  const infra = readInfraEnv();
  const ports = opts.ports ?? LOCAL_PORTS;
  // made at run time, never written anywhere but the services' environments
  const tokens: Record<string, string> = {};
  for (const t of [opts.tenant, ...(opts.otherTenants ?? [])]) tokens[t] = randomToken('pst_');
  const adminToken = randomToken('psa_');
  const token = tokens[opts.tenant] as string;
  const tenantTokens = Object.entries(tokens)
    .map(([t, k]) => `${t}:${k}`)
    .join(',');
  const common = { ...infra, LOG_LEVEL: 'info', ...(opts.env ?? {}) };
  const iso = opts.isolate;
  const topics = localTopics(iso);
  if (iso) await createTopics(infra, topics);
  const isolated = isolationEnv(iso, topics);
  const services: ServiceProcess[] = [];
  /** Each service's environment and health address (for `restart`). */
  const specs: Record<StackService, { env: Record<string, string>; health: string }> = {
    semantizer: {
      env: { ...common, OPS_PORT: String(ports.semantizerOps), ...isolated.semantizer },
      health: `http://127.0.0.1:${ports.semantizerOps}/healthz`,
    },
    persona: {
      env: {
        ...common,
        PERSONA_GRPC_PORT: String(ports.personaGrpc),
        OPS_PORT: String(ports.personaOps),
        PERSONA_TENANT_TOKENS: tenantTokens,
        PERSONA_SAMPLES: String(opts.samples ?? 1),
        ...(opts.modelPath ? { PERSONA_MODEL_PATH: opts.modelPath } : {}),
        ...isolated.persona,
      },
      health: `http://127.0.0.1:${ports.personaOps}/healthz`,
    },
    evaluator: {
      env: {
        ...common,
        EVALUATOR_HTTP_PORT: String(ports.evaluatorHttp),
        EVALUATOR_SCORE_ALL_USERS: String(Boolean(opts.scoreAllUsers)),
        EVALUATOR_INCLUDE_SENSITIVE: 'true',
        EVALUATOR_TENANT_TOKENS: tenantTokens,
        EVALUATOR_ADMIN_TOKEN: adminToken,
        ...isolated.evaluator,
      },
      health: `http://127.0.0.1:${ports.evaluatorHttp}/healthz`,
    },
    ingest: {
      env: {
        ...common,
        INGEST_HTTP_PORT: String(ports.ingestHttp),
        OPS_PORT: String(ports.ingestOps),
        INGEST_API_KEYS: tenantTokens,
        ...isolated.ingest,
      },
      health: `http://127.0.0.1:${ports.ingestOps}/healthz`,
    },
  };
  const running = new Map<StackService, ServiceProcess>();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(services.map((s) => s.stop()));
    if (startedInfra) runInfra(['down']);
  };
  const log = opts.logSuffix ?? '';
  const launch = (name: StackService): ServiceProcess => {
    const p = startService(name, specs[name].env, log);
    running.set(name, p);
    services.push(p);
    return p;
  };
  const names: StackService[] = ['semantizer', 'persona', 'evaluator', 'ingest'];
  try {
    const started = names.map(launch);
    say('starting semantizer, persona, evaluator and ingest…');
    await Promise.all(started.map((p, i) => waitHealthy(p, specs[names[i] as StackService].health)));
  } catch (err) {
    await stop();
    throw err;
  }
  const evaluatorUrl = `http://127.0.0.1:${ports.evaluatorHttp}`;
  const tokenOf = (tenant: string) => {
    const t = tokens[tenant];
    if (t === undefined)
      throw new Error(`the local stack has no token of tenant ${tenant} (tenants: ${Object.keys(tokens).join(', ')})`);
    return t;
  };
  return {
    ports,
    topics,
    infra,
    token,
    tokens,
    adminToken,
    async putFacts(tenant, runId, facts) {
      const put = await fetch(`${evaluatorRunUrl(evaluatorUrl, tenant, runId)}/facts`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenOf(tenant)}` },
        body: JSON.stringify(facts),
      });
      if (!put.ok) throw new Error(`evaluator refused the run facts: ${put.status} ${await put.text()}`);
    },
    waitForReport: (tenant, runId, timeoutMs = 600_000) =>
      waitForReport(evaluatorUrl, tokenOf(tenant), tenant, runId, timeoutMs),
    track: (process) => {
      services.push(process);
    },
    async restart(name) {
      const old = running.get(name);
      if (old) {
        await old.stop();
        services.splice(services.indexOf(old), 1);
      }
      await waitHealthy(launch(name), specs[name].health);
    },
    stop,
  };
}

/** The topics of a stack: the contract's, or a private set named with the `isolate` suffix. */
export function localTopics(iso?: string): LocalTopics {
  return iso
    ? {
        events: `${Topics.events}-${iso}`,
        dlq: `${Topics.eventsDlq}-${iso}`,
        windows: `${Topics.windows}-${iso}`,
        updates: `${Topics.updates}-${iso}`,
        truth: `${Topics.truth}-${iso}`,
      }
    : {
        events: Topics.events,
        dlq: Topics.eventsDlq,
        windows: Topics.windows,
        updates: Topics.updates,
        truth: Topics.truth,
      };
}

/** Service names of the long-running local stack. */
export type StackService = 'semantizer' | 'persona' | 'evaluator' | 'ingest';

/**
 * The variables that make a stack private (its own topics and consumer groups, named with the
 * `isolate` suffix); empty for the default stack (the contract's topics, the services' default groups).
 */
export function isolationEnv(
  iso: string | undefined,
  topics: LocalTopics,
): Record<StackService, Record<string, string>> {
  if (!iso) return { semantizer: {}, persona: {}, evaluator: {}, ingest: {} };
  return {
    semantizer: {
      SEMANTIZER_GROUP_ID: `semantizer-${iso}`,
      SEMANTIZER_EVENTS_TOPIC: topics.events,
      SEMANTIZER_WINDOWS_TOPIC: topics.windows,
      SEMANTIZER_DLQ_TOPIC: topics.dlq,
    },
    persona: {
      PERSONA_GROUP_ID: `persona-${iso}`,
      PERSONA_WINDOWS_TOPIC: topics.windows,
      PERSONA_UPDATES_TOPIC: topics.updates,
      PERSONA_EVENTS_TOPIC: topics.events,
    },
    evaluator: {
      EVALUATOR_GROUP_ID: `evaluator-${iso}`,
      EVALUATOR_UPDATES_TOPIC: topics.updates,
      EVALUATOR_TRUTH_TOPIC: topics.truth,
    },
    ingest: { INGEST_EVENTS_TOPIC: topics.events, INGEST_DLQ_TOPIC: topics.dlq },
  };
}

/** Creates a private stack's topics with the contract's partition counts. */
export async function createTopics(infra: Record<string, string>, topics: LocalTopics): Promise<void> {
  const brokers = (infra.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
  const stream = createKafkaStream(
    { brokers, clientId: 'local-stack' },
    { logger: createLogger('local-stack', 'warn') },
  );
  const admin = stream.admin();
  try {
    await admin.ensureTopics([
      { topic: topics.events, partitions: DefaultPartitions[Topics.events] },
      { topic: topics.dlq, partitions: DefaultPartitions[Topics.eventsDlq] },
      { topic: topics.windows, partitions: DefaultPartitions[Topics.windows] },
      { topic: topics.updates, partitions: DefaultPartitions[Topics.updates] },
      { topic: topics.truth, partitions: DefaultPartitions[Topics.truth] },
    ]);
  } finally {
    await admin.close();
  }
}

export async function runLocalPipeline(opts: LocalPipelineOptions): Promise<LocalPipelineResult> {
  const stack = await startLocalStack({
    tenant: opts.sim.tenant,
    scoreAllUsers: opts.scoreAllUsers,
    samples: opts.samples,
  });
  try {
    // run facts the streams do not carry: the evaluator uses them when the run completes
    const scoreAllUsers = Boolean(opts.scoreAllUsers);
    const inputs = baselineInputs(opts.sim);
    await stack.putFacts(opts.sim.tenant, opts.sim.runId, {
      info: {
        seed: opts.sim.seed,
        stack: 'local',
        events: inputs.events,
        raw_tag_avg_at_k: opts.rawTagScore?.() ?? null,
        started_ms: Date.now(),
      },
      baselines: runBaselines(inputs, { includeSensitive: true, scoreAllUsers }),
    });

    say(`simulator: publishing ${opts.sim.users} users to Kafka…`);
    const simulator = startService('simulator', {
      ...stack.infra,
      LOG_LEVEL: 'info',
      SIM_USERS: String(opts.sim.users),
      SIM_SEED: String(opts.sim.seed),
      SIM_TENANT: opts.sim.tenant,
      SIM_RUN_ID: opts.sim.runId,
    });
    stack.track(simulator);
    const timeoutMs = opts.timeoutMs ?? 600_000;
    const deadline = Date.now() + timeoutMs;
    const code = await exitedWithin(simulator, timeoutMs);
    if (code !== 0) throw new Error(`simulator exited with ${code}; see ${simulator.logFile}`);

    const report = await stack.waitForReport(opts.sim.tenant, opts.sim.runId, Math.max(1, deadline - Date.now()));
    if (opts.keepRunning) {
      say(
        `left running: persona gRPC 127.0.0.1:${LOCAL_PORTS.personaGrpc} (tenant ${opts.sim.tenant}), ` +
          `dashboard http://127.0.0.1:${LOCAL_PORTS.evaluatorHttp}/#token=${stack.adminToken} (admin token) — stop with Ctrl-C`,
      );
    } else {
      await stack.stop();
    }
    return { report, token: stack.token, adminToken: stack.adminToken, stop: stack.stop };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

/** The process's exit code, or an error naming its log once `timeoutMs` passed without it exiting. */
async function exitedWithin(service: ServiceProcess, timeoutMs: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${service.name} had not finished after ${timeoutMs} ms; see ${service.logFile}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([service.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A fresh random token: `prefix` + 32 hex characters (128 bits). */
function randomToken(prefix: string): string {
  return `${prefix}${randomBytes(16).toString('hex')}`;
}

/** The evaluator's URL of a tenant's run (runs are (tenant, run id)). */
export function evaluatorRunUrl(evaluatorUrl: string, tenant: string, runId: string): string {
  return `${evaluatorUrl.replace(/\/+$/, '')}/api/tenants/${encodeURIComponent(tenant)}/runs/${encodeURIComponent(runId)}`;
}

/**
 * Reads the run from the evaluator's API once the evaluator has written it (after the markers):
 * a long poll (`?wait=`), asked again every 30 s so a dropped connection costs nothing.
 */
async function waitForReport(
  evaluatorUrl: string,
  token: string,
  tenant: string,
  runId: string,
  timeoutMs: number,
): Promise<RunReport> {
  const url = `${evaluatorRunUrl(evaluatorUrl, tenant, runId)}?wait=30000`;
  const deadline = Date.now() + timeoutMs;
  say("evaluator: waiting for every partition's end-of-run marker…");
  while (Date.now() < deadline) {
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(60_000),
    });
    if (res.ok) return (await res.json()) as RunReport;
    if (res.status !== 404) throw new Error(`evaluator answered ${res.status}: ${await res.text()}`);
  }
  throw new Error(`run ${runId} of tenant ${tenant} was not complete after ${timeoutMs} ms (see .infra/logs/*.log)`);
}
