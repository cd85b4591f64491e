import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunReport } from '@personastream/evaluator';
import type { SimulatorConfig } from '@personastream/simulator';
import { runInfra } from '../commands/infra.js';
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
  /** Report wait limit, ms. */
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
  /** Bearer token of the run's tenant for the persona gRPC API (and the ingest API key). */
  token: string;
  /** Stops what the pipeline started (services; the infra if it started it). Idempotent. */
  stop(): Promise<void>;
}

export async function runLocalPipeline(opts: LocalPipelineOptions): Promise<LocalPipelineResult> {
  let startedInfra = false;
  if (runInfra(['status']) !== 0) {
    say('starting the local infrastructure (Kafka, Redis, ClickHouse)…');
    if (runInfra(['up']) !== 0) throw new Error('infra up failed (see above)');
    startedInfra = true;
  }
  const infra = readInfraEnv();
  const token = `demo-token-${Date.now().toString(36)}`;
  const common = { ...infra, LOG_LEVEL: 'info' };
  const services: ServiceProcess[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(services.map((s) => s.stop()));
    if (startedInfra) runInfra(['down']);
  };
  try {
    const semantizer = startService('semantizer', { ...common, OPS_PORT: String(LOCAL_PORTS.semantizerOps) });
    const persona = startService('persona', {
      ...common,
      PERSONA_GRPC_PORT: String(LOCAL_PORTS.personaGrpc),
      OPS_PORT: String(LOCAL_PORTS.personaOps),
      PERSONA_TENANT_TOKENS: `${opts.sim.tenant}:${token}`,
      PERSONA_SAMPLES: String(opts.samples ?? 1),
    });
    const evaluator = startService('evaluator', {
      ...common,
      EVALUATOR_HTTP_PORT: String(LOCAL_PORTS.evaluatorHttp),
      EVALUATOR_SCORE_ALL_USERS: String(Boolean(opts.scoreAllUsers)),
      EVALUATOR_INCLUDE_SENSITIVE: 'true',
    });
    const ingest = startService('ingest', {
      ...common,
      INGEST_HTTP_PORT: String(LOCAL_PORTS.ingestHttp),
      OPS_PORT: String(LOCAL_PORTS.ingestOps),
      INGEST_API_KEYS: `${opts.sim.tenant}:${token}`,
    });
    services.push(semantizer, persona, evaluator, ingest);
    say('starting semantizer, persona, evaluator and ingest…');
    await Promise.all([
      waitHealthy(semantizer, `http://127.0.0.1:${LOCAL_PORTS.semantizerOps}/healthz`),
      waitHealthy(persona, `http://127.0.0.1:${LOCAL_PORTS.personaOps}/healthz`),
      waitHealthy(evaluator, `http://127.0.0.1:${LOCAL_PORTS.evaluatorHttp}/healthz`),
      waitHealthy(ingest, `http://127.0.0.1:${LOCAL_PORTS.ingestOps}/healthz`),
    ]);

    // run facts the streams do not carry: the evaluator uses them when the run completes
    const scoreAllUsers = Boolean(opts.scoreAllUsers);
    const inputs = baselineInputs(opts.sim);
    const facts = {
      info: {
        seed: opts.sim.seed,
        stack: 'local',
        events: inputs.events,
        raw_tag_avg_at_k: opts.rawTagScore?.() ?? null,
        started_ms: Date.now(),
      },
      baselines: runBaselines(inputs, { includeSensitive: true, scoreAllUsers }),
    };
    const put = await fetch(
      `http://127.0.0.1:${LOCAL_PORTS.evaluatorHttp}/api/runs/${encodeURIComponent(opts.sim.runId)}/facts`,
      {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(facts),
      },
    );
    if (!put.ok) throw new Error(`evaluator refused the run facts: ${put.status} ${await put.text()}`);

    say(`simulator: publishing ${opts.sim.users} users to Kafka…`);
    const simulator = startService('simulator', {
      ...common,
      SIM_USERS: String(opts.sim.users),
      SIM_SEED: String(opts.sim.seed),
      SIM_TENANT: opts.sim.tenant,
      SIM_RUN_ID: opts.sim.runId,
    });
    services.push(simulator);
    const code = await simulator.exited;
    if (code !== 0) throw new Error(`simulator exited with ${code}; see ${simulator.logFile}`);

    const report = await waitForReport(opts.sim.runId, opts.timeoutMs ?? 600_000);
    if (opts.keepRunning) {
      say(
        `left running: persona gRPC 127.0.0.1:${LOCAL_PORTS.personaGrpc} (tenant ${opts.sim.tenant}), ` +
          `dashboard http://127.0.0.1:${LOCAL_PORTS.evaluatorHttp}/ — stop with Ctrl-C`,
      );
    } else {
      await stop();
    }
    return { report, token, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Reads the run from the evaluator's API once the evaluator has written it (after the markers):
 * a long poll (`?wait=`), asked again every 30 s so a dropped connection costs nothing.
 */
async function waitForReport(runId: string, timeoutMs: number): Promise<RunReport> {
  const url = `http://127.0.0.1:${LOCAL_PORTS.evaluatorHttp}/api/runs/${encodeURIComponent(runId)}?wait=30000`;
  const deadline = Date.now() + timeoutMs;
  say("evaluator: waiting for every partition's end-of-run marker…");
  while (Date.now() < deadline) {
    const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
    if (res.ok) return (await res.json()) as RunReport;
    if (res.status !== 404) throw new Error(`evaluator answered ${res.status}: ${await res.text()}`);
  }
  throw new Error(`run ${runId} was not complete after ${timeoutMs} ms (see .infra/logs/*.log)`);
}
