import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunReport } from '@personastream/evaluator';
import type { SimulatorConfig } from '@personastream/simulator';
import { runInfra } from '../commands/infra.js';
import { repoRoot } from '../paths.js';
import { progressBar, say } from '../progress.js';
import { type ServiceProcess, startService, waitHealthy } from './processes.js';

export interface LocalPipelineOptions {
  sim: SimulatorConfig;
  scoreAllUsers?: boolean;
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
export async function runLocalPipeline(opts: LocalPipelineOptions): Promise<{ report: RunReport; tokens: string }> {
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
  try {
    const semantizer = startService('semantizer', { ...common, OPS_PORT: String(LOCAL_PORTS.semantizerOps) });
    const persona = startService('persona', {
      ...common,
      PERSONA_GRPC_PORT: String(LOCAL_PORTS.personaGrpc),
      OPS_PORT: String(LOCAL_PORTS.personaOps),
      PERSONA_TENANT_TOKENS: `${opts.sim.tenant}:${token}`,
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

    const report = await waitForReport(opts.sim.runId, opts.sim.users, opts.timeoutMs ?? 600_000, opts.quiet);
    return { report, tokens: token };
  } finally {
    if (!opts.keepRunning) {
      await Promise.all(services.map((s) => s.stop()));
      if (startedInfra) runInfra(['down']);
    } else {
      say(`left running: persona gRPC 127.0.0.1:${LOCAL_PORTS.personaGrpc} (token in the report), dashboard http://127.0.0.1:${LOCAL_PORTS.evaluatorHttp}/`);
    }
  }
}

/** Reads the run from the evaluator's API once the evaluator has written it (after the markers). */
async function waitForReport(runId: string, users: number, timeoutMs: number, quiet?: boolean): Promise<RunReport> {
  const url = `http://127.0.0.1:${LOCAL_PORTS.evaluatorHttp}/api/runs/${encodeURIComponent(runId)}`;
  const deadline = Date.now() + timeoutMs;
  const bar = progressBar('evaluate', users, quiet);
  while (Date.now() < deadline) {
    const res = await fetch(url);
    if (res.ok) {
      bar.update(users);
      bar.stop();
      return ((await res.json()) as { report: RunReport }).report;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  bar.stop();
  throw new Error(`run ${runId} was not complete after ${timeoutMs} ms (see .infra/logs/*.log)`);
}
