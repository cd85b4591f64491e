/**
 * Who may use the evaluator's HTTP API: bearer tokens from the configuration. A tenant token reads
 * its tenant's runs, reports, live figures and summaries and writes its tenant's run facts; the
 * admin token (optional) reads and writes every tenant's. Tokens are kept as SHA-256 digests only,
 * and no problem message ever holds a token.
 */
import { createHash } from 'node:crypto';
import { splitTenantTokens } from '@personastream/contracts';

/** The shortest token accepted (a token reads a tenant's user ids and summaries). */
export const MIN_TOKEN_LENGTH = 16;

/** The caller a token stands for. */
export type Caller = { admin: true } | { admin: false; tenant: string };

/** What `AccessTokens.parse` reads (the raw variables; either may be missing). */
export interface AccessSpec {
  /** `tenant:token,tenant:token…` (EVALUATOR_TENANT_TOKENS); a tenant may have several tokens. */
  tenantTokens?: string | undefined;
  /** EVALUATOR_ADMIN_TOKEN. */
  adminToken?: string | undefined;
}

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/** The problem of a token, or undefined (never the token itself). */
function tokenProblem(token: string): string | undefined {
  if (/\s/.test(token)) return 'must not contain white space';
  if (token.length < MIN_TOKEN_LENGTH) return `shorter than ${MIN_TOKEN_LENGTH} characters`;
  return undefined;
}

export class AccessTokens {
  private readonly callers = new Map<string, Caller>();

  private constructor() {}

  /** Parses the configuration; `problems` name each bad entry (variable, entry number, tenant). */
  static parse(spec: AccessSpec): { tokens?: AccessTokens; problems: string[] } {
    const problems: string[] = [];
    const out = new AccessTokens();
    const admin = spec.adminToken?.trim() ?? '';
    if (admin !== '') {
      const problem = tokenProblem(admin);
      if (problem) problems.push(`EVALUATOR_ADMIN_TOKEN: ${problem}`);
      else out.callers.set(digest(admin), { admin: true });
    }
    // split and tenant ids checked as every `tenant:token` setting is; token rules are the evaluator's
    const split = splitTenantTokens(spec.tenantTokens ?? '');
    for (const problem of split.problems) problems.push(`EVALUATOR_TENANT_TOKENS: ${problem}`);
    for (const { tenant, token, entry } of split.pairs) {
      const problem = out.addPair(tenant, token);
      if (problem) problems.push(`EVALUATOR_TENANT_TOKENS: entry ${entry}${problem}`);
    }
    if (split.pairs.length === 0 && split.problems.length === 0 && admin === '') {
      problems.push('EVALUATOR_TENANT_TOKENS: at least one tenant:token pair (or EVALUATOR_ADMIN_TOKEN) is required');
    }
    return problems.length > 0 ? { problems } : { tokens: out, problems };
  }

  /** Adds a parsed `tenant:token` pair; returns the problem (`: …`) or undefined. */
  private addPair(tenant: string, token: string): string | undefined {
    const problem = tokenProblem(token);
    if (problem) return `: the token of tenant "${tenant}" ${problem.replace(/^shorter/, 'is shorter')}`;
    const key = digest(token);
    const known = this.callers.get(key);
    if (known?.admin) return `: the token of tenant "${tenant}" is the admin token (EVALUATOR_ADMIN_TOKEN)`;
    if (known && known.tenant !== tenant) {
      return `: the token of tenant "${tenant}" is also the token of tenant "${known.tenant}"`;
    }
    this.callers.set(key, { admin: false, tenant });
    return undefined;
  }

  /** The caller of a presented token, or undefined for an unknown one. */
  callerOf(token: string): Caller | undefined {
    if (token === '') return undefined;
    return this.callers.get(digest(token));
  }

  /** Tenants that have a token. */
  tenants(): string[] {
    const out = new Set<string>();
    for (const c of this.callers.values()) if (!c.admin) out.add(c.tenant);
    return [...out];
  }
}

/** True when `caller` may read or write the tenant's data. */
export function mayAccess(caller: Caller, tenant: string): boolean {
  return caller.admin || caller.tenant === tenant;
}
