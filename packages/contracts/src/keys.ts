/** Kafka key of a user's records: `tenant/user_id`, so one user stays on one partition. */
export function userKey(tenant: string, userId: string): string {
  return `${tenant}/${userId}`;
}

/** Splits a `tenant/user_id` key; the user id may itself contain slashes. */
export function parseUserKey(key: string): { tenant: string; userId: string } {
  const slash = key.indexOf('/');
  if (slash <= 0) throw new Error(`invalid user key "${key}": expected tenant/user_id`);
  return { tenant: key.slice(0, slash), userId: key.slice(slash + 1) };
}

/**
 * Partition of a key: FNV-1a 32-bit hash modulo the partition count.
 * Every producer (Kafka or in-memory) uses this, so a user's records land on the same partition
 * index in every topic that has the same partition count.
 */
export function partitionForKey(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

/** Train/test split of a user: 80/20 by a hash of the user id (HPR-Bench §4). */
export function splitOf(userId: string): 'train' | 'test' {
  return partitionForKey(`split:${userId}`, 100) < 80 ? 'train' : 'test';
}

/**
 * Tenant ids: 1 to 64 characters of `A-Z a-z 0-9 . _ -`, the first a letter or digit. Keys of all
 * kinds are built from tenant ids (`tenant/user_id` record keys, Redis keys, `tenant:key` settings),
 * so a tenant id never contains `/`, `:`, braces, spaces or control characters: `a/b` + `c` and
 * `a` + `b/c` can never name the same thing.
 */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Why `tenant` is not a valid tenant id, or undefined when it is. */
export function tenantIdProblem(tenant: string): string | undefined {
  if (tenant === '') return 'is empty';
  if (tenant.length > 64) return `is ${tenant.length} characters long; at most 64`;
  if (!TENANT_ID_PATTERN.test(tenant)) {
    return 'must start with a letter or digit and contain only letters, digits, ".", "_" and "-"';
  }
  return undefined;
}

/** `tenant` when it is a valid tenant id; else throws an error that names `where` and the problem. */
export function checkTenantId(tenant: string, where = 'tenant'): string {
  const problem = tenantIdProblem(tenant);
  if (problem) throw new Error(`${where}: tenant id "${tenant}" ${problem}`);
  return tenant;
}

/**
 * Splits a `tenant:token,tenant2:token2` setting (API keys, bearer tokens) into pairs; every problem
 * names the entry (1-based among the non-empty ones) and the tenant, never a token: errors of a
 * secret-bearing variable must not echo it. Tenant ids must satisfy `TENANT_ID_PATTERN`; a token is
 * everything after the first `:`, trimmed, without white space. With `requireOne`, an empty setting
 * is a problem too. Each pair keeps its entry number, for problems found later (token rules).
 */
export function splitTenantTokens(
  spec: string,
  opts: { requireOne?: boolean } = {},
): { pairs: Array<{ tenant: string; token: string; entry: number }>; problems: string[] } {
  const pairs: Array<{ tenant: string; token: string; entry: number }> = [];
  const problems: string[] = [];
  const parts = spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0 && opts.requireOne) problems.push('at least one tenant:token pair is required');
  parts.forEach((part, i) => {
    const colon = part.indexOf(':');
    const tenant = colon > 0 ? part.slice(0, colon).trim() : '';
    const token = colon > 0 ? part.slice(colon + 1).trim() : '';
    if (!tenant || !token || /\s/.test(token)) {
      problems.push(`entry ${i + 1} is not tenant:token`);
      return;
    }
    const problem = tenantIdProblem(tenant);
    if (problem) problems.push(`entry ${i + 1}: tenant id "${tenant}" ${problem}`);
    else pairs.push({ tenant, token, entry: i + 1 });
  });
  return { pairs, problems };
}

/**
 * The run id of a tenant's live clickstream: one run per tenant that never ends. Ingest files events
 * without a run id under it; it never takes an end-of-run marker; its windows close on processing
 * time (the user went quiet) as well as on event time, and sessions in progress yield early windows.
 * Every other run id names a finite run (a benchmark, a dataset replay) that its producer ends with
 * `EndOfRun` markers, whose windows are exact functions of its events.
 */
export const LIVE_RUN_ID = 'live';

/** True for the live run (see {@link LIVE_RUN_ID}). */
export function isLiveRun(runId: string): boolean {
  return runId === LIVE_RUN_ID;
}

/**
 * A run is (tenant, run id) everywhere: runs of different tenants never share state, markers or
 * reports. This is the one string form of that pair (tenant ids contain no `/`).
 */
export function runKey(tenant: string, runId: string): string {
  return `${tenant}/${runId}`;
}
