// The chaos run (issue 20): a seeded simulated run through the whole stack — ingest HTTP →
// semantizer → persona → evaluator — on a private Kafka broker, Redis and ClickHouse of its own,
// twice: once fault-free (the reference), once while services are SIGKILLed (each at least once,
// with work in flight) and restarted by a restart-on-exit supervisor, and the broker, Redis and
// ClickHouse are SIGKILLed and restarted or paused (SIGSTOP … SIGCONT) at seeded times. Then the
// two end states are compared: personas, (user, version) updates, windows, ClickHouse rows.
//
//   npx personastream loadtest chaos [--users 200] [--seed 1] [--faults 10] [--no-faults]
//     [--port-base 29100] [--infra-port-base 29090] [--keep] [--json]
//
// Last line: JSON with `faults_injected` (counts by kind), `lost`, `duplicated`, `diverged`,
// `wall_s` and the details; `load-tests/README.md` ("chaos") defines them. `--no-faults` runs the
// second run fault-free too: the harness's own check (two fault-free runs must be equal).
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultPartitions, Topics } from '@personastream/contracts';
import { publishDatasetTruth, replayDataset } from '@personastream/ingest';
import { silentLogger } from '@personastream/runtime';
import { simulatorConfig, writeSimulatedDataset } from '@personastream/simulator';
import { createKafkaStream, type Stream } from '@personastream/stream';
import { Redis } from 'ioredis';
import { collectEndState, type RunStorage } from './chaos/collect.js';
import { compareStates, type EndState, PARTS } from './chaos/compare.js';
import { PrivateInfra } from './chaos/infra.js';
import { countByKind, type Fault, type FaultKind, faultPlan, type ServiceName, targetOf } from './chaos/plan.js';
import { Supervised } from './chaos/supervisor.js';

const { values: o } = parseArgs({
  options: {
    users: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    faults: { type: 'string', default: '10' },
    'no-faults': { type: 'boolean', default: false },
    'port-base': { type: 'string', default: '29100' },
    'infra-port-base': { type: 'string', default: '29090' },
    'input-s': { type: 'string', default: '75' },
    'timeout-s': { type: 'string', default: '1200' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false }, // (the CLI's flag: the last line is JSON either way)
  },
});
const users = Number(o.users);
const seed = Number(o.seed);
const faultCount = Number(o.faults);
const portBase = Number(o['port-base']);
const infraBase = Number(o['infra-port-base']);
const timeoutMs = Number(o['timeout-s']) * 1000;
const inputS = Number(o['input-s']);
if (!(inputS >= 0)) throw new Error(`chaos: --input-s must be a number of seconds ≥ 0, got ${o['input-s']}`);
if (!Number.isInteger(users) || users < 1) throw new Error(`chaos: --users must be a whole number ≥ 1, got ${o.users}`);
if (!Number.isInteger(seed)) throw new Error(`chaos: --seed must be a whole number, got ${o.seed}`);
for (const [flag, v] of [
  ['--port-base', portBase],
  ['--infra-port-base', infraBase],
] as const) {
  if (!Number.isInteger(v) || v < 1024 || v > 65_000) throw new Error(`chaos: ${flag} must be a port number, got ${v}`);
}
faultPlan({ seed, count: faultCount, firstS: 0, lastS: 1 }); // checks --faults before anything starts

const say = (m: string) => process.stderr.write(`chaos: ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const t0 = performance.now();
const sinceStart = () => ((performance.now() - t0) / 1000).toFixed(1);

const TENANT = 'chaos';
const RUN_ID = `chaos-s${seed}-u${users}`;
const id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const workDir = mkdtempSync(join(tmpdir(), 'ps-chaos-'));
const datasetDir = join(workDir, 'dataset');
const logDir = join(workDir, 'logs');
mkdirSync(logDir, { recursive: true });

// ---- ingest requests: paced, and counted while in flight (a kill of ingest "in the middle of a
// batch" waits for one). The replay (`replayDataset`, as `personastream replay` sends) posts batches
// one after another as fast as ingest answers; the faulty run spreads them evenly over `--input-s`
// so that the faults land while input still flows.
const ports = {
  ingestHttp: portBase,
  ingestOps: portBase + 1,
  personaGrpc: portBase + 2,
  personaOps: portBase + 3,
  evaluatorHttp: portBase + 4,
  semantizerOps: portBase + 5,
};
const ingestUrl = `http://127.0.0.1:${ports.ingestHttp}`;
let ingestInFlight = 0;
let pace: { startMs: number; intervalMs: number; batches: number } | undefined;
const realFetch = globalThis.fetch;
globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const mine = url.startsWith(ingestUrl);
  if (mine && pace && url.endsWith('/v1/events')) {
    const due = pace.startMs + pace.batches++ * pace.intervalMs;
    if (due > Date.now()) await sleep(due - Date.now());
  }
  if (mine) ingestInFlight++;
  try {
    return await realFetch(input, init);
  } finally {
    if (mine) ingestInFlight--;
  }
}) as typeof fetch;

// ---- one run of the stack -------------------------------------------------------------------------

interface RunResult {
  label: string;
  state: EndState;
  /** Seconds from the input's start until the evaluator had written the run. */
  runS: number;
  faults: FaultRecord[];
  restarts: Record<ServiceName, number>;
  exits: Record<ServiceName, string[]>;
  report: Record<string, unknown>;
  replay: { accepted: number; duplicates: number };
}

interface FaultRecord {
  kind: FaultKind;
  atS: number;
  /** Work in flight when it hit: a service's consumer lag > 0, or an ingest request open. */
  midBatch: boolean | null;
  /** Uncommitted records of the killed service's group (services), or ingest requests open. */
  inFlight: number | null;
  /** Seconds until the component answered again. */
  recoveredS: number | null;
  pauseS?: number;
  error?: string;
}

const SERVICES: readonly ServiceName[] = ['semantizer', 'persona', 'evaluator', 'ingest'];

function serviceEnvs(
  infra: PrivateInfra,
  iso: string,
  topics: Record<'events' | 'dlq' | 'windows' | 'updates' | 'truth', string>,
  token: string,
  adminToken: string,
  storage: { personaPrefix: string; semantizerPrefix: string; ingestPrefix: string; clickhouseDatabase: string },
): Record<ServiceName, NodeJS.ProcessEnv> {
  const common = {
    ...process.env,
    ...infra.addresses,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    SHUTDOWN_DEADLINE_MS: '8000',
  };
  const tokens = `${TENANT}:${token}`;
  return {
    semantizer: {
      ...common,
      OPS_PORT: String(ports.semantizerOps),
      SEMANTIZER_GROUP_ID: `semantizer-${iso}`,
      SEMANTIZER_EVENTS_TOPIC: topics.events,
      SEMANTIZER_WINDOWS_TOPIC: topics.windows,
      SEMANTIZER_DLQ_TOPIC: topics.dlq,
      SEMANTIZER_CHECKPOINT_PREFIX: storage.semantizerPrefix,
    },
    persona: {
      ...common,
      PERSONA_GRPC_PORT: String(ports.personaGrpc),
      OPS_PORT: String(ports.personaOps),
      PERSONA_TENANT_TOKENS: tokens,
      PERSONA_SAMPLES: '1',
      PERSONA_GROUP_ID: `persona-${iso}`,
      PERSONA_WINDOWS_TOPIC: topics.windows,
      PERSONA_UPDATES_TOPIC: topics.updates,
      PERSONA_REDIS_PREFIX: storage.personaPrefix,
    },
    evaluator: {
      ...common,
      EVALUATOR_HTTP_PORT: String(ports.evaluatorHttp),
      EVALUATOR_TENANT_TOKENS: tokens,
      EVALUATOR_ADMIN_TOKEN: adminToken,
      EVALUATOR_SCORE_ALL_USERS: 'true',
      EVALUATOR_INCLUDE_SENSITIVE: 'true',
      EVALUATOR_GROUP_ID: `evaluator-${iso}`,
      EVALUATOR_UPDATES_TOPIC: topics.updates,
      EVALUATOR_TRUTH_TOPIC: topics.truth,
      CLICKHOUSE_DATABASE: storage.clickhouseDatabase,
    },
    ingest: {
      ...common,
      INGEST_HTTP_PORT: String(ports.ingestHttp),
      OPS_PORT: String(ports.ingestOps),
      INGEST_API_KEYS: tokens,
      INGEST_EVENTS_TOPIC: topics.events,
      INGEST_DLQ_TOPIC: topics.dlq,
      // the run coordinator (ended runs, per-partition counts) in Redis, as with several replicas
      INGEST_REDIS_URL: infra.addresses.REDIS_URL,
      INGEST_REDIS_PREFIX: storage.ingestPrefix,
    },
  };
}

const healthUrls: Record<ServiceName, string> = {
  semantizer: `http://127.0.0.1:${ports.semantizerOps}/healthz`,
  persona: `http://127.0.0.1:${ports.personaOps}/healthz`,
  evaluator: `http://127.0.0.1:${ports.evaluatorHttp}/healthz`,
  ingest: `http://127.0.0.1:${ports.ingestOps}/healthz`,
};

/** The consumer group and input topics of a service (its lag = records taken but not committed). */
function inputOf(service: ServiceName, iso: string, topics: Record<string, string>): [string, string[]] | undefined {
  switch (service) {
    case 'semantizer':
      return [`semantizer-${iso}`, [topics.events as string]];
    case 'persona':
      return [`persona-${iso}`, [topics.windows as string]];
    case 'evaluator':
      return [`evaluator-${iso}`, [topics.updates as string, topics.truth as string]];
    default:
      return undefined;
  }
}

async function withRetry<T>(what: string, f: () => Promise<T>, deadlineMs: number): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await f();
    } catch (err) {
      if (Date.now() > deadlineMs) throw new Error(`chaos: ${what}: ${(err as Error).message}`);
      if (attempt % 10 === 9) say(`  ${what}: still retrying (${(err as Error).message})`);
      await sleep(1000);
    }
  }
}

async function runOnce(
  label: string,
  infra: PrivateInfra,
  stream: Stream,
  redis: Redis,
  plan: Fault[] | undefined,
): Promise<RunResult> {
  const iso = `chaos-${label}-${id}`;
  const topics = {
    events: `${Topics.events}-${iso}`,
    dlq: `${Topics.eventsDlq}-${iso}`,
    windows: `${Topics.windows}-${iso}`,
    updates: `${Topics.updates}-${iso}`,
    truth: `${Topics.truth}-${iso}`,
  };
  const storage = {
    personaPrefix: `chaos:${iso}:persona:`,
    semantizerPrefix: `chaos:${iso}:sem:`,
    ingestPrefix: `chaos:${iso}:ingest:`,
    clickhouseDatabase: `chaos_${label}_${id}`,
  };
  const admin = stream.admin();
  await admin.ensureTopics([
    { topic: topics.events, partitions: DefaultPartitions[Topics.events] },
    { topic: topics.dlq, partitions: DefaultPartitions[Topics.eventsDlq] },
    { topic: topics.windows, partitions: DefaultPartitions[Topics.windows] },
    { topic: topics.updates, partitions: DefaultPartitions[Topics.updates] },
    { topic: topics.truth, partitions: DefaultPartitions[Topics.truth] },
  ]);
  const token = `pst_${randomBytes(16).toString('hex')}`;
  const adminToken = `psa_${randomBytes(16).toString('hex')}`;
  const envs = serviceEnvs(infra, iso, topics, token, adminToken, storage);
  const services = Object.fromEntries(
    SERVICES.map((s) => [s, new Supervised(s, envs[s], join(logDir, `${label}-${s}.log`), healthUrls[s])]),
  ) as Record<ServiceName, Supervised>;
  const deadline = Date.now() + timeoutMs;
  const faults: FaultRecord[] = [];
  try {
    for (const s of SERVICES) services[s].start();
    say(`[${label}] starting ${SERVICES.join(', ')} (logs ${logDir}/${label}-*.log)…`);
    await Promise.all(SERVICES.map((s) => services[s].healthy()));
    const evaluatorRun = `http://127.0.0.1:${ports.evaluatorHttp}/api/tenants/${TENANT}/runs/${RUN_ID}`;
    const auth = { authorization: `Bearer ${token}` };
    await withRetry(
      'run facts',
      async () => {
        const res = await fetch(`${evaluatorRun}/facts`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', ...auth },
          body: JSON.stringify({ info: { seed, stack: 'local', events: null } }),
        });
        if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
      },
      deadline,
    );
    const producer = stream.producer();
    try {
      const truth = await publishDatasetTruth({
        path: datasetDir,
        producer,
        topic: topics.truth,
        partitions: DefaultPartitions[Topics.truth],
        tenant: TENANT,
        runId: RUN_ID,
      });
      say(`[${label}] truth: ${truth.truths} users → ${topics.truth}`);
    } finally {
      await producer.close();
    }

    // input through ingest HTTP; faults (if any) from the same moment
    const inputStart = performance.now();
    const elapsedS = () => (performance.now() - inputStart) / 1000;
    pace =
      plan && inputS > 0
        ? { startMs: Date.now(), intervalMs: (inputS * 1000) / Math.ceil(manifest.counts.events / 500), batches: 0 }
        : undefined;
    const replaying = replayDataset({
      path: datasetDir,
      target: 'http',
      url: ingestUrl,
      apiKey: token,
      tenant: TENANT,
      runId: RUN_ID,
      batchSize: 500,
      maxRetries: 600,
    }).then((r) => {
      say(`[${label}] replay done at ${elapsedS().toFixed(1)} s: ${r.accepted} accepted, ${r.duplicates} duplicates`);
      return r;
    });
    let reportReady = false;
    const injecting = plan
      ? injectFaults(plan, elapsedS, () => reportReady, services, infra, admin, iso, topics, faults)
      : Promise.resolve();
    const report = await waitForReport(evaluatorRun, auth, deadline);
    reportReady = true;
    const runS = elapsedS();
    say(`[${label}] evaluator wrote the run after ${runS.toFixed(1)} s`);
    const replay = await replaying;
    await injecting;
    // whatever restarted last must be up before the end state is read
    await Promise.all(SERVICES.map((s) => services[s].healthy()));
    await stopAll(services);
    const state = await collectEndState(
      stream,
      redis,
      {
        tenant: TENANT,
        runId: RUN_ID,
        topics,
        personaPrefix: storage.personaPrefix,
        clickhouseUrl: infra.addresses.CLICKHOUSE_URL,
        clickhouseDatabase: storage.clickhouseDatabase,
      } satisfies RunStorage,
      `chaos-read-${iso}`,
    );
    say(
      `[${label}] end state: ${PARTS.map((p) => `${state[p].size} ${p}`).join(', ')}; restarts ${SERVICES.map((s) => `${s} ${services[s].restarts}`).join(', ')}`,
    );
    return {
      label,
      state,
      runS,
      faults,
      restarts: Object.fromEntries(SERVICES.map((s) => [s, services[s].restarts])) as Record<ServiceName, number>,
      exits: Object.fromEntries(SERVICES.map((s) => [s, services[s].exits])) as Record<ServiceName, string[]>,
      report,
      replay: { accepted: replay.accepted, duplicates: replay.duplicates },
    };
  } finally {
    await stopAll(services);
    await admin.close().catch(() => undefined);
  }
}

async function stopAll(services: Record<ServiceName, Supervised>): Promise<void> {
  // ingest first (nothing new enters), then the rest
  await services.ingest.stop();
  await Promise.all(SERVICES.filter((s) => s !== 'ingest').map((s) => services[s].stop()));
}

/** The run's report from the evaluator (long poll), through the evaluator's restarts. */
async function waitForReport(
  url: string,
  headers: Record<string, string>,
  deadline: number,
): Promise<Record<string, unknown>> {
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}?wait=20000`, { headers, signal: AbortSignal.timeout(40_000) });
      if (res.ok) return (await res.json()) as Record<string, unknown>;
      if (res.status !== 404) say(`  evaluator answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    } catch {
      // restarting
    }
    await sleep(500);
  }
  throw new Error(`chaos: the run was not complete after ${timeoutMs / 1000} s (logs in ${logDir})`);
}

/**
 * Fires each fault at its planned time, whatever else is still recovering (a broker restart and a
 * service's rejoin overlap, as they would in production); faults on the same target wait for each
 * other, so every kill hits a running process.
 */
async function injectFaults(
  plan: Fault[],
  elapsedS: () => number,
  done: () => boolean,
  services: Record<ServiceName, Supervised>,
  infra: PrivateInfra,
  admin: ReturnType<Stream['admin']>,
  iso: string,
  topics: Record<string, string>,
  out: FaultRecord[],
): Promise<void> {
  const busy = new Map<string, Promise<void>>();
  // (injectOne never throws: a failed fault is recorded with its error)
  const one = async (f: Fault) => {
    const target = targetOf(f.kind);
    const key = 'service' in target ? target.service : target.infra;
    const wait = f.atS - elapsedS();
    if (wait > 0) await sleep(wait * 1000);
    const mine = (busy.get(key) ?? Promise.resolve()).then(() =>
      injectOne(f, elapsedS, done, services, infra, admin, iso, topics),
    );
    busy.set(
      key,
      mine.then(() => undefined),
    );
    out.push(await mine);
  };
  await Promise.all(plan.map(one));
  out.sort((a, b) => a.atS - b.atS);
}

async function injectOne(
  f: Fault,
  elapsedS: () => number,
  done: () => boolean,
  services: Record<ServiceName, Supervised>,
  infra: PrivateInfra,
  admin: ReturnType<Stream['admin']>,
  iso: string,
  topics: Record<string, string>,
): Promise<FaultRecord> {
  if (done()) say(`  (the run is already complete: ${f.kind} hits an idle pipeline)`);
  const rec: FaultRecord = {
    kind: f.kind,
    atS: Number(elapsedS().toFixed(1)),
    midBatch: null,
    inFlight: null,
    recoveredS: null,
  };
  const target = targetOf(f.kind);
  try {
    if ('service' in target) {
      const svc = services[target.service];
      // a restarting service is not killed again: wait until it is back
      await svc.healthy();
      // with work in flight: wait (≤ 5 s) until the service holds records it has not committed
      // (consumer lag) or, for ingest, a request is open
      const inFlight = async () => {
        if (target.service === 'ingest') return ingestInFlight;
        const [group, inputs] = inputOf(target.service, iso, topics) as [string, string[]];
        const lag = await admin.groupLag(group, inputs);
        return lag.reduce((n, l) => n + l.lag, 0);
      };
      let n = await inflightOr0(inFlight);
      for (let i = 0; i < 50 && n === 0; i++) {
        await sleep(100);
        n = await inflightOr0(inFlight);
      }
      rec.atS = Number(elapsedS().toFixed(1));
      const killed = await svc.killNow();
      rec.inFlight = n;
      rec.midBatch = killed && n > 0;
      const k0 = performance.now();
      await svc.healthy();
      rec.recoveredS = Number(((performance.now() - k0) / 1000).toFixed(1));
    } else if (f.kind.startsWith('restart_')) {
      rec.recoveredS = Number((await infra.killAndRestart(target.infra)).toFixed(1));
    } else {
      rec.pauseS = f.pauseS ?? 4;
      await infra.pause(target.infra, rec.pauseS);
      rec.recoveredS = rec.pauseS;
    }
  } catch (err) {
    rec.error = (err as Error).message;
  }
  say(
    `  t=${rec.atS}s ${rec.kind}${rec.pauseS ? ` (${rec.pauseS} s)` : ''}` +
      `${rec.inFlight !== null ? `, in flight ${rec.inFlight}` : ''}` +
      `${rec.recoveredS !== null ? `, back after ${rec.recoveredS} s` : ''}${rec.error ? `, ERROR ${rec.error}` : ''}`,
  );
  return rec;
}

async function inflightOr0(f: () => Promise<number>): Promise<number> {
  try {
    return await f();
  } catch {
    return 0;
  }
}

// ---- main ---------------------------------------------------------------------------------------

const loadBefore = loadavg()[0] ?? 0;
say(`${users} users, seed ${seed}, run ${TENANT}/${RUN_ID}; work folder ${workDir}`);
const sim = simulatorConfig({ users, seed, tenant: TENANT, runId: RUN_ID });
const manifest = await writeSimulatedDataset(sim, datasetDir);
say(`dataset: ${manifest.counts.events} events of ${manifest.counts.users} users (${sinceStart()} s)`);

const infra = new PrivateInfra(
  join(workDir, 'infra'),
  {
    kafka: infraBase + 2,
    kafkaController: infraBase + 3,
    redis: infraBase + 4,
    clickhouseHttp: infraBase + 5,
    clickhouseTcp: infraBase + 6,
  },
  say,
);
say(`private infrastructure in ${infra.dir}: ${JSON.stringify(infra.addresses)}…`);
await infra.up();
const stream = createKafkaStream(
  { brokers: [infra.addresses.KAFKA_BROKERS], clientId: `chaos-${id}` },
  { logger: silentLogger() },
);
const redis = new Redis(infra.addresses.REDIS_URL, { maxRetriesPerRequest: null });
redis.on('error', () => undefined);

let result: Record<string, unknown> | undefined;
let failed = false;
try {
  const reference = await runOnce('ref', infra, stream, redis, undefined);
  // faults while input flows (`--input-s`), or over the first 80 % of the reference run's time when
  // that is longer (a large run's pipeline lags behind its input)
  const plan = o['no-faults']
    ? undefined
    : faultPlan({ seed, count: faultCount, firstS: 3, lastS: Math.max(10, inputS, reference.runS * 0.8) });
  if (plan) say(`fault plan: ${plan.map((f) => `${f.atS}s ${f.kind}`).join(', ')}`);
  const faulty = await runOnce(plan ? 'faults' : 'ref2', infra, stream, redis, plan);
  const verdict = compareStates(reference.state, faulty.state);
  const injected = faulty.faults.filter((f) => !f.error);
  result = {
    loadtest: 'chaos',
    users,
    seed,
    events: manifest.counts.events,
    faults_injected: countByKind(injected.map((f) => f.kind)),
    faults_total: injected.length,
    fault_kinds: new Set(injected.map((f) => f.kind)).size,
    faults_failed: faulty.faults.filter((f) => f.error).map((f) => `${f.kind}: ${f.error}`),
    service_kills_mid_batch: injected.filter((f) => f.midBatch).length,
    lost: verdict.lost,
    duplicated: verdict.duplicated,
    diverged: verdict.diverged,
    parts: verdict.parts,
    reference_inconsistent: verdict.referenceInconsistent,
    restarts: faulty.restarts,
    exits: faulty.exits,
    fault_log: faulty.faults,
    reference_run_s: Number(reference.runS.toFixed(1)),
    faulty_run_s: Number(faulty.runS.toFixed(1)),
    tag_avg_at_k: { reference: reference.report.tag_avg_at_k, faulty: faulty.report.tag_avg_at_k },
    replay: { reference: reference.replay, faulty: faulty.replay },
    wall_s: Number(((performance.now() - t0) / 1000).toFixed(1)),
    load_avg_1m_before: Number(loadBefore.toFixed(2)),
  };
} catch (err) {
  failed = true;
  say(`FAILED: ${(err as Error).stack ?? err}`);
} finally {
  redis.disconnect();
  if (o.keep || failed) {
    say(`left for inspection: ${workDir} (stop the private servers: PS_INFRA_DIR=${infra.dir} … infra.sh down)`);
    if (!o.keep) await infra.down().catch((e) => say(`infra down: ${(e as Error).message}`));
  } else {
    await infra.down().catch((e) => say(`infra down: ${(e as Error).message}`));
    rmSync(workDir, { recursive: true, force: true });
  }
}
if (!result) process.exit(1);

const r = result;
console.log(`\nchaos (${users} users, seed ${seed}): ${r.faults_total} faults of ${r.fault_kinds} kinds`);
console.log(`  faults_injected  ${JSON.stringify(r.faults_injected)}`);
console.log(`  lost ${r.lost}  duplicated ${r.duplicated}  diverged ${r.diverged}`);
for (const p of PARTS) {
  const v = (r.parts as Record<string, { keys: number; lost: number; duplicated: number; diverged: number }>)[p];
  if (v)
    console.log(`  ${p.padEnd(9)} ${v.keys} keys: lost ${v.lost}, duplicated ${v.duplicated}, diverged ${v.diverged}`);
}
console.log(`  wall_s ${r.wall_s} (reference run ${r.reference_run_s} s, faulty run ${r.faulty_run_s} s)`);
// the last line, then exit (the Kafka client's sockets would keep the process alive)
process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0));
