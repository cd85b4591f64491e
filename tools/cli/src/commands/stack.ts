import { readFileSync } from 'node:fs';
import { ErrorCode, PersonaStreamError } from '@personastream/contracts';
import { createLogger, deleteKeysWithPrefix } from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';
import { Redis } from 'ioredis';
import { choiceOption, parseOptions } from '../args.js';
import { answers, openPorts } from '../net.js';
import {
  createTopics,
  infraReachable,
  type LocalPorts,
  localTopics,
  readInfraEnv,
  type StackService,
} from '../pipeline/local.js';
import { type ServiceProcess, STOP_GRACE_MS, startDetachedService, waitHealthy } from '../pipeline/processes.js';
import { say } from '../progress.js';
import {
  checkIsolate,
  DEFAULT_TENANT,
  healthUrl,
  mergeTenants,
  newAdminToken,
  portBaseOf,
  portsOf,
  requestedTenants,
  STACK_ENV_DEFAULTS,
  STACK_SERVICES,
  type StackSummary,
  stackPorts,
  stackServiceEnv,
  stackStorage,
  summaryOf,
  type TenantCredentials,
} from '../stack/plan.js';
import {
  isRunning,
  pidFiles,
  readState,
  removeState,
  type StackState,
  stackDir,
  stackLogDir,
  startTicksOf,
  stopProcess,
  writeState,
} from '../stack/state.js';
import { runInfra } from './infra.js';

export const stackUsage =
  'personastream stack up|down|status [--tenant NAME]… [--json] [--port-base N] [--isolate NAME] [--purge]';

/** How long `up` waits for every service to answer its health check. */
const HEALTHY_WITHIN_MS = 90_000;

/**
 * `personastream stack up|down|status`: the local stack a platform engineer points a real client at
 * — the infrastructure (started when it is not running) plus semantizer, persona, evaluator and
 * ingest as detached processes that outlive the CLI, with an ingest API key, a persona and an
 * evaluator bearer token per tenant and an evaluator admin token. State, pid files and credentials live in `.infra/stack/` (`PS_STACK_DIR`), logs
 * in `.infra/logs/stack-<service>.log`.
 */
export async function runStack(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === undefined || action.startsWith('-')) {
    throw new PersonaStreamError(ErrorCode.InvalidArgument, `usage: ${stackUsage}`, 'action');
  }
  const verb = choiceOption('stack', 'action', action, ['up', 'down', 'status'] as const, 'status');
  const o = parseOptions(`stack ${verb}`, rest, {
    tenant: { type: 'string', multiple: true },
    json: { type: 'boolean', default: false },
    'port-base': { type: 'string' },
    isolate: { type: 'string' },
    purge: { type: 'boolean', default: false },
  });
  const json = Boolean(o.json);
  if (verb === 'up') {
    return stackUp({
      tenants: requestedTenants(o.tenant ?? []),
      portBase: portBaseOf(o['port-base'], process.env.PS_STACK_PORT_BASE),
      isolate: checkIsolate(o.isolate),
      json,
    });
  }
  if (verb === 'down') return stackDown({ json, purge: Boolean(o.purge) });
  return stackStatus({ json });
}

interface UpOptions {
  tenants: string[];
  portBase: number | undefined;
  isolate: string | undefined;
  json: boolean;
}

async function stackUp(o: UpOptions): Promise<number> {
  const dir = stackDir();
  const ports = stackPorts(o.portBase);
  const existing = readState(dir);
  if (existing) {
    checkSameStack(existing, ports, o);
    const dead = STACK_SERVICES.filter((s) => !existing.services[s] || !isRunning(existing.services[s]));
    const { tenants, added } = mergeTenants(existing.tenants, o.tenants);
    if (dead.length === 0 && added.length === 0) {
      say(`stack: already running (tenants ${Object.keys(tenants).join(', ')})`);
      printSummary(summaryOf(existing.ports, existing.tenants, existing.evaluatorAdminToken), o.json);
      return 0;
    }
    if (dead.length > 0) {
      say(`stack: ${dead.join(', ')} not running (logs: ${stackLogDir()}); restarting the services`);
    } else {
      say(
        `stack: new tenant(s) ${added.join(', ')}: restarting the services with tenants ${Object.keys(tenants).join(', ')}`,
      );
    }
    await stopServices(existing);
    return startStack({
      dir,
      ports: existing.ports,
      isolate: existing.isolate ?? undefined,
      tenants,
      adminToken: existing.evaluatorAdminToken,
      infraStartedBefore: existing.startedInfra,
      json: o.json,
    });
  }
  const { tenants } = mergeTenants({}, o.tenants.length > 0 ? o.tenants : [DEFAULT_TENANT]);
  return startStack({
    dir,
    ports,
    isolate: o.isolate,
    tenants,
    adminToken: newAdminToken(),
    infraStartedBefore: false,
    json: o.json,
  });
}

/** A running stack keeps its ports and isolation: asking for others is an error, not a silent no. */
function checkSameStack(state: StackState, ports: LocalPorts, o: UpOptions): void {
  const samePorts = (Object.keys(ports) as Array<keyof LocalPorts>).every((k) => state.ports[k] === ports[k]);
  const sameIsolate = (state.isolate ?? undefined) === o.isolate || o.isolate === undefined;
  if (samePorts && sameIsolate) return;
  throw new PersonaStreamError(
    ErrorCode.FailedPrecondition,
    `stack up: a stack already runs from ${stackDir()} (ingest http://127.0.0.1:${state.ports.ingestHttp}` +
      `${state.isolate ? `, isolate ${state.isolate}` : ''}); run "stack down" first to change its ports or isolation`,
    'port-base',
  );
}

interface StartOptions {
  dir: string;
  ports: LocalPorts;
  isolate: string | undefined;
  tenants: Record<string, TenantCredentials>;
  /** The evaluator's admin token (kept across restarts of the same stack). */
  adminToken: string;
  /** The infrastructure was started by the stack that is being restarted (so `down` still stops it). */
  infraStartedBefore: boolean;
  json: boolean;
}

async function startStack(o: StartOptions): Promise<number> {
  let startedInfra = o.infraStartedBefore;
  if (!(await infraReachable()) && runInfra(['status'], 'quiet') !== 0) {
    say('stack: starting the local infrastructure (Kafka, Redis, ClickHouse)…');
    if (runInfra(['up'], 'stderr') !== 0) throw new Error('infra up failed (see above)');
    startedInfra = true;
  }
  const stopInfra = () => {
    if (startedInfra && !o.infraStartedBefore) runInfra(['down'], 'stderr');
  };
  const busy = await openPorts(o.ports);
  if (busy.length > 0) {
    stopInfra();
    throw new PersonaStreamError(
      ErrorCode.FailedPrecondition,
      `stack up: port(s) ${busy.join(', ')} on 127.0.0.1 are in use (another stack or service?); ` +
        'stop it, or choose other ports with --port-base N / PS_STACK_PORT_BASE',
      'port-base',
    );
  }
  const infra = readInfraEnv();
  const topics = localTopics(o.isolate);
  if (o.isolate) await createTopics(infra, topics);
  const envs = stackServiceEnv({
    infra,
    ports: o.ports,
    tenants: o.tenants,
    adminToken: o.adminToken,
    topics,
    isolate: o.isolate,
  });
  // stack defaults below the caller's environment; the stack's own settings above it
  const defaults = Object.fromEntries(Object.entries(STACK_ENV_DEFAULTS).filter(([k]) => process.env[k] === undefined));
  const logDir = stackLogDir();
  const started: Array<[StackService, ServiceProcess]> = [];
  const state: StackState = {
    version: 1,
    startedMs: Date.now(),
    startedInfra,
    ports: o.ports,
    isolate: o.isolate ?? null,
    topics,
    tenants: o.tenants,
    evaluatorAdminToken: o.adminToken,
    services: {},
  };
  try {
    for (const name of STACK_SERVICES) {
      const svc = startDetachedService(name, { ...defaults, ...envs[name] }, `${logDir}/stack-${name}.log`);
      started.push([name, svc]);
      const pid = svc.child.pid;
      if (pid === undefined) throw new Error(`${name} did not start; see ${svc.logFile}`);
      state.services[name] = { pid, startTicks: startTicksOf(pid), log: svc.logFile };
    }
    writeState(o.dir, state);
    say(`stack: starting ${STACK_SERVICES.join(', ')} (logs: ${logDir}/stack-*.log)…`);
    await Promise.all(started.map(([name, svc]) => waitHealthy(svc, healthUrl(name, o.ports), HEALTHY_WITHIN_MS)));
  } catch (err) {
    await Promise.all(started.map(([, svc]) => svc.stop()));
    removeState(o.dir, STACK_SERVICES);
    stopInfra();
    throw err;
  }
  const summary = summaryOf(o.ports, o.tenants, o.adminToken);
  say(`stack: up — ingest ${summary.ingest}, persona ${summary.persona} (gRPC), evaluator ${summary.evaluator}`);
  printSummary(summary, o.json);
  return 0;
}

/** The addresses and credentials: the JSON line with `--json`, else a few readable lines. */
function printSummary(summary: StackSummary, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(summary));
    return;
  }
  console.log(`ingest     ${summary.ingest}   (POST /v1/batch, Segment batch; the key as Bearer or Basic user)`);
  console.log(`persona    ${summary.persona}   (gRPC; authorization: Bearer <token>)`);
  console.log(
    `evaluator  ${summary.evaluator}/#token=${summary.evaluator_admin_token}   (dashboard with the admin token; API: authorization: Bearer <token>)`,
  );
  for (const [tenant, c] of Object.entries(summary.tenants)) {
    console.log(
      `tenant ${tenant}: ingest key ${c.ingest_key}   persona token ${c.persona_token}   evaluator token ${c.evaluator_token}`,
    );
  }
  console.log(`(kept in ${stackDir()}/state.json, mode 600; new ones at every fresh "stack up")`);
}

/** Stops the stack's services (ingest first, so nothing new enters; then the rest together). */
async function stopServices(state: StackState): Promise<{ stopped: string[]; killed: string[] }> {
  const stopped: string[] = [];
  const killed: string[] = [];
  const stopOne = async (name: string) => {
    const p = state.services[name];
    if (!p || !isRunning(p)) return;
    const graceful = await stopProcess(p, STOP_GRACE_MS);
    (graceful ? stopped : killed).push(name);
  };
  await stopOne('ingest');
  await Promise.all(STACK_SERVICES.filter((s) => s !== 'ingest').map(stopOne));
  return { stopped, killed };
}

async function stackDown(o: { json: boolean; purge: boolean }): Promise<number> {
  const dir = stackDir();
  const state = readState(dir);
  const strayPids = pidFiles(dir, STACK_SERVICES);
  if (!state) {
    // pid files without a state: a stack whose state was lost; stop only processes that are our services
    const stray = [...strayPids].filter(([s, pid]) => isServiceProcess(pid, s));
    for (const [s, pid] of stray) {
      say(`stack: stopping ${s} (pid ${pid}, from its pid file)`);
      await stopProcess({ pid, startTicks: startTicksOf(pid) }, STOP_GRACE_MS);
    }
    removeState(dir, STACK_SERVICES);
    if (stray.length === 0) say('stack: not running');
    if (o.json) console.log(JSON.stringify({ stopped: stray.map(([s]) => s), killed: [], ports_open: [] }));
    return 0;
  }
  const { stopped, killed } = await stopServices(state);
  // every port the stack served must be closed now
  const servicePorts = STACK_SERVICES.flatMap((s) => portsOf(s, state.ports));
  let open = await openPorts(servicePorts);
  for (let i = 0; i < 50 && open.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    open = await openPorts(open);
  }
  const left = STACK_SERVICES.filter((s) => state.services[s] && isRunning(state.services[s]));
  if (o.purge) await purge(state);
  if (state.startedInfra) {
    say('stack: stopping the infrastructure it started…');
    runInfra(['down'], 'stderr');
  }
  if (left.length === 0) removeState(dir, STACK_SERVICES);
  say(
    `stack: stopped ${[...stopped, ...killed].join(', ') || 'nothing (no service was running)'}` +
      (killed.length > 0 ? ` (killed after ${STOP_GRACE_MS} ms: ${killed.join(', ')})` : '') +
      (open.length > 0 ? `; ports still open: ${open.join(', ')}` : '; every port closed'),
  );
  if (o.json) console.log(JSON.stringify({ stopped, killed, ports_open: open, running: left }));
  return left.length === 0 && open.length === 0 ? 0 : 1;
}

/** `down --purge` of a private stack: its topics, consumer groups, Redis keys and ClickHouse database. */
async function purge(state: StackState): Promise<void> {
  const iso = state.isolate;
  if (!iso) {
    say('stack: --purge applies to a stack started with --isolate (the shared topics and keys stay)');
    return;
  }
  const infra = readInfraEnv();
  const storage = stackStorage(iso);
  const stream = createKafkaStream(
    { brokers: (infra.KAFKA_BROKERS ?? '').split(',').filter(Boolean), clientId: 'stack' },
    { logger: createLogger('stack', 'warn') },
  );
  const admin = stream.admin();
  try {
    await admin.deleteTopics(Object.values(state.topics));
    // the services stopped first, so their groups are empty and can go
    await admin.deleteGroups(['semantizer', 'persona', 'evaluator'].map((s) => `${s}-${iso}`));
  } finally {
    await admin.close();
  }
  if (infra.REDIS_URL) {
    const redis = new Redis(infra.REDIS_URL, { maxRetriesPerRequest: 3 });
    try {
      await deleteKeysWithPrefix(redis, storage.redisRoot);
    } finally {
      redis.disconnect();
    }
  }
  if (infra.CLICKHOUSE_URL) {
    const res = await fetch(infra.CLICKHOUSE_URL, {
      method: 'POST',
      body: `DROP DATABASE IF EXISTS ${storage.clickhouseDatabase}`,
    });
    if (!res.ok) say(`stack: ClickHouse did not drop ${storage.clickhouseDatabase}: ${await res.text()}`);
  }
  say(
    `stack: purged the private topics, consumer groups, Redis keys (${storage.redisRoot}*) and ClickHouse database of ${iso}`,
  );
}

/** True when `pid` runs `services/<service>/dist/main.js` (a pid file's process, not a reused pid). */
function isServiceProcess(pid: number, service: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(`services/${service}/dist/main.js`);
  } catch {
    return false;
  }
}

interface ServiceStatus {
  pid: number | null;
  running: boolean;
  healthy: boolean;
  ports: number[];
  log: string | null;
}

async function stackStatus(o: { json: boolean }): Promise<number> {
  const state = readState(stackDir());
  if (!state) {
    say(`stack: not running (no state in ${stackDir()})`);
    if (o.json) console.log(JSON.stringify({ running: false }));
    return 1;
  }
  const services: Record<string, ServiceStatus> = Object.fromEntries(
    await Promise.all(
      STACK_SERVICES.map(async (s): Promise<[string, ServiceStatus]> => {
        const p = state.services[s];
        const running = p ? isRunning(p) : false;
        const healthy = running && (await answers(healthUrl(s, state.ports)));
        return [s, { pid: p?.pid ?? null, running, healthy, ports: portsOf(s, state.ports), log: p?.log ?? null }];
      }),
    ),
  );
  const allHealthy = Object.values(services).every((s) => s.healthy);
  const summary = summaryOf(state.ports, state.tenants, state.evaluatorAdminToken);
  const storage = stackStorage(state.isolate ?? undefined);
  const iso = state.isolate;
  const report = {
    running: allHealthy,
    ingest: summary.ingest,
    persona: summary.persona,
    evaluator: summary.evaluator,
    semantizer_ops: `http://127.0.0.1:${state.ports.semantizerOps}`,
    tenants: Object.keys(state.tenants),
    services,
    started_ms: state.startedMs,
    infra_started_by_stack: state.startedInfra,
    isolate: iso,
    topics: state.topics,
    groups: {
      semantizer: iso ? `semantizer-${iso}` : 'semantizer',
      persona: iso ? `persona-${iso}` : 'persona',
      evaluator: iso ? `evaluator-${iso}` : 'evaluator',
    },
    redis_prefixes: { semantizer: storage.semantizerPrefix, persona: storage.personaPrefix },
    clickhouse_database: storage.clickhouseDatabase,
  };
  if (o.json) {
    console.log(JSON.stringify(report));
  } else {
    for (const [name, s] of Object.entries(services)) {
      const state = s.healthy ? 'healthy' : s.running ? 'running, not healthy' : 'not running';
      console.log(
        `${name.padEnd(11)} ${state.padEnd(21)} pid ${String(s.pid ?? '-').padEnd(8)} ports ${s.ports.join(', ')}`,
      );
    }
    console.log(`ingest ${summary.ingest} · persona ${summary.persona} · evaluator ${summary.evaluator}`);
    console.log(`tenants: ${Object.keys(state.tenants).join(', ')}${iso ? ` · isolated as ${iso}` : ''}`);
  }
  return allHealthy ? 0 : 1;
}
