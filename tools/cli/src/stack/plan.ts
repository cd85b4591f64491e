import { randomBytes } from 'node:crypto';
import { checkTenantId, ErrorCode, PersonaStreamError } from '@personastream/contracts';
import { isolationEnv, LOCAL_PORTS, type LocalPorts, type LocalTopics, type StackService } from '../pipeline/local.js';

/**
 * The pure part of `personastream stack`: ports, credentials, the services' environments and what
 * `up` / `status` print. No I/O here (the command and `state.ts` do that).
 */

/** The services `stack up` runs, in start order (consumers first, ingest last). */
export const STACK_SERVICES: readonly StackService[] = ['semantizer', 'persona', 'evaluator', 'ingest'];

/** Tenant of a stack started without `--tenant`. */
export const DEFAULT_TENANT = 'demo';

/** Credentials of one tenant: its ingest API key, its persona and its evaluator bearer tokens. */
export interface TenantCredentials {
  ingest_key: string;
  persona_token: string;
  evaluator_token: string;
}

/** What `stack up --json` prints as its last line (and `up` again, while the stack runs). */
export interface StackSummary {
  ingest: string;
  persona: string;
  evaluator: string;
  /** The evaluator's admin token: every tenant's runs (the dashboard: `evaluator/#token=…`). */
  evaluator_admin_token: string;
  tenants: Record<string, TenantCredentials>;
}

/**
 * Ports from `base`: ingest HTTP base, ingest ops +1, persona gRPC +2, persona ops +3, evaluator HTTP
 * +4, semantizer ops +5. Without a base: {@link LOCAL_PORTS}, the usual ports.
 */
export function stackPorts(base?: number): LocalPorts {
  if (base === undefined) return { ...LOCAL_PORTS };
  if (!Number.isInteger(base) || base < 1024 || base > 65_530) {
    throw new PersonaStreamError(
      ErrorCode.InvalidArgument,
      `stack: the port base must be a whole number from 1024 to 65530, got "${base}"`,
      'port-base',
    );
  }
  return {
    ingestHttp: base,
    ingestOps: base + 1,
    personaGrpc: base + 2,
    personaOps: base + 3,
    evaluatorHttp: base + 4,
    semantizerOps: base + 5,
  };
}

/** The port base from `--port-base` or `PS_STACK_PORT_BASE` (flag first); undefined for the usual ports. */
export function portBaseOf(flag: string | undefined, env: string | undefined): number | undefined {
  const raw = flag ?? (env === '' ? undefined : env);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isInteger(n)) {
    throw new PersonaStreamError(
      ErrorCode.InvalidArgument,
      `stack: ${flag !== undefined ? '--port-base' : 'PS_STACK_PORT_BASE'} must be a port number, got "${raw}"`,
      'port-base',
    );
  }
  return n;
}

/** Checks `--tenant` values (the project's tenant id rule), without repeats; the default tenant when none. */
export function requestedTenants(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    try {
      checkTenantId(v, '--tenant');
    } catch (err) {
      throw new PersonaStreamError(ErrorCode.InvalidArgument, `stack: ${(err as Error).message}`, 'tenant');
    }
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

/** A fresh random credential: `prefix` + 32 hex characters (128 bits). */
export function newSecret(prefix: string, random: (n: number) => Buffer = randomBytes): string {
  return `${prefix}${random(16).toString('hex')}`;
}

/** New credentials for a tenant. */
export function newCredentials(random?: (n: number) => Buffer): TenantCredentials {
  return {
    ingest_key: newSecret('psk_', random),
    persona_token: newSecret('pst_', random),
    evaluator_token: newSecret('pse_', random),
  };
}

/** A new admin token of the evaluator. */
export function newAdminToken(random?: (n: number) => Buffer): string {
  return newSecret('psa_', random);
}

/**
 * The tenants a stack runs with: the ones it has (their credentials kept) plus the requested ones
 * (new credentials). `added` names the requested tenants it did not have.
 */
export function mergeTenants(
  existing: Readonly<Record<string, TenantCredentials>>,
  requested: readonly string[],
  fresh: () => TenantCredentials = newCredentials,
): { tenants: Record<string, TenantCredentials>; added: string[] } {
  const tenants = { ...existing };
  const added: string[] = [];
  for (const t of requested) {
    if (tenants[t]) continue;
    tenants[t] = fresh();
    added.push(t);
  }
  return { tenants, added };
}

/** Names of a private stack's Redis key prefixes and ClickHouse database (default stack: the services' defaults). */
export interface StackStorage {
  /** Common prefix of the stack's Redis keys (a private stack's keys all start with it). */
  redisRoot: string;
  semantizerPrefix: string;
  personaPrefix: string;
  clickhouseDatabase: string;
}

export function stackStorage(iso: string | undefined): StackStorage {
  if (!iso) {
    return {
      redisRoot: 'ps:',
      semantizerPrefix: 'ps:',
      personaPrefix: 'ps:persona:',
      clickhouseDatabase: 'personastream',
    };
  }
  return {
    redisRoot: `ps:stack:${iso}:`,
    semantizerPrefix: `ps:stack:${iso}:sem:`,
    personaPrefix: `ps:stack:${iso}:persona:`,
    clickhouseDatabase: `ps_stack_${iso.replace(/[^A-Za-z0-9_]/g, '_')}`,
  };
}

/** Checks an `--isolate` name: it becomes part of topic, group, key and database names. */
export function checkIsolate(iso: string | undefined): string | undefined {
  if (iso === undefined) return undefined;
  if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(iso)) {
    throw new PersonaStreamError(
      ErrorCode.InvalidArgument,
      `stack: --isolate must be 1–40 of a-z, 0-9 and "-" (first a letter or digit), got "${iso}"`,
      'isolate',
    );
  }
  return iso;
}

export interface StackEnvInput {
  /** `.infra/env`: KAFKA_BROKERS, REDIS_URL, CLICKHOUSE_URL. */
  infra: Record<string, string>;
  ports: LocalPorts;
  tenants: Readonly<Record<string, TenantCredentials>>;
  /** EVALUATOR_ADMIN_TOKEN. */
  adminToken: string;
  topics: LocalTopics;
  isolate?: string;
}

/**
 * Each service's environment as the stack sets it: the infrastructure's addresses, its ports, the
 * tenants' credentials (`INGEST_API_KEYS`, `PERSONA_TENANT_TOKENS`, `EVALUATOR_TENANT_TOKENS`:
 * `tenant:secret,…`), the evaluator's admin token (`EVALUATOR_ADMIN_TOKEN`) and, for a
 * private stack, its topics, groups, Redis prefixes and ClickHouse database. Anything else (e.g.
 * `SEMANTIZER_GAP_MS`, `PERSONA_SAMPLES`, `LOG_LEVEL`) comes from the caller's environment.
 */
export function stackServiceEnv(input: StackEnvInput): Record<StackService, Record<string, string>> {
  const { infra, ports, tenants } = input;
  const pairs = (pick: (c: TenantCredentials) => string) =>
    Object.entries(tenants)
      .map(([t, c]) => `${t}:${pick(c)}`)
      .join(',');
  const iso = isolationEnv(input.isolate, input.topics);
  const storage = stackStorage(input.isolate);
  const privateOnly = (env: Record<string, string>) => (input.isolate ? env : {});
  const addresses = {
    ...(infra.KAFKA_BROKERS ? { KAFKA_BROKERS: infra.KAFKA_BROKERS } : {}),
    ...(infra.REDIS_URL ? { REDIS_URL: infra.REDIS_URL } : {}),
    ...(infra.CLICKHOUSE_URL ? { CLICKHOUSE_URL: infra.CLICKHOUSE_URL } : {}),
  };
  return {
    semantizer: {
      ...addresses,
      OPS_PORT: String(ports.semantizerOps),
      ...iso.semantizer,
      ...privateOnly({ SEMANTIZER_CHECKPOINT_PREFIX: storage.semantizerPrefix }),
    },
    persona: {
      ...addresses,
      PERSONA_GRPC_PORT: String(ports.personaGrpc),
      OPS_PORT: String(ports.personaOps),
      PERSONA_TENANT_TOKENS: pairs((c) => c.persona_token),
      ...iso.persona,
      ...privateOnly({ PERSONA_REDIS_PREFIX: storage.personaPrefix }),
    },
    evaluator: {
      ...addresses,
      EVALUATOR_HTTP_PORT: String(ports.evaluatorHttp),
      EVALUATOR_TENANT_TOKENS: pairs((c) => c.evaluator_token),
      EVALUATOR_ADMIN_TOKEN: input.adminToken,
      ...iso.evaluator,
      ...privateOnly({ CLICKHOUSE_DATABASE: storage.clickhouseDatabase }),
    },
    ingest: {
      ...addresses,
      INGEST_HTTP_PORT: String(ports.ingestHttp),
      OPS_PORT: String(ports.ingestOps),
      INGEST_API_KEYS: pairs((c) => c.ingest_key),
      ...iso.ingest,
    },
  };
}

/** Defaults the stack gives a service unless the caller's environment sets them. */
export const STACK_ENV_DEFAULTS: Readonly<Record<string, string>> = { LOG_LEVEL: 'info' };

/** The URL whose 200 says a service is ready. */
export function healthUrl(service: StackService, ports: LocalPorts): string {
  switch (service) {
    case 'semantizer':
      return `http://127.0.0.1:${ports.semantizerOps}/healthz`;
    case 'persona':
      return `http://127.0.0.1:${ports.personaOps}/healthz`;
    case 'evaluator':
      return `http://127.0.0.1:${ports.evaluatorHttp}/healthz`;
    case 'ingest':
      return `http://127.0.0.1:${ports.ingestOps}/healthz`;
  }
}

/** The ports each service listens on (checked free before `up`, closed after `down`). */
export function portsOf(service: StackService, ports: LocalPorts): number[] {
  switch (service) {
    case 'semantizer':
      return [ports.semantizerOps];
    case 'persona':
      return [ports.personaGrpc, ports.personaOps];
    case 'evaluator':
      return [ports.evaluatorHttp];
    case 'ingest':
      return [ports.ingestHttp, ports.ingestOps];
  }
}

export function summaryOf(
  ports: LocalPorts,
  tenants: Readonly<Record<string, TenantCredentials>>,
  adminToken: string,
): StackSummary {
  return {
    ingest: `http://127.0.0.1:${ports.ingestHttp}`,
    persona: `127.0.0.1:${ports.personaGrpc}`,
    evaluator: `http://127.0.0.1:${ports.evaluatorHttp}`,
    evaluator_admin_token: adminToken,
    tenants: { ...tenants },
  };
}
