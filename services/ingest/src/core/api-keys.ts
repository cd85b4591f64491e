import { createHash, timingSafeEqual } from 'node:crypto';
import { checkTenantId, TENANT_ID_PATTERN } from '@personastream/contracts';

/** Tenant ids: the contract's `TENANT_ID_PATTERN` (letters, digits, `.`, `_`, `-`; no `/`). */
export const TENANT_ID = TENANT_ID_PATTERN;

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Per-tenant API keys, configured as SHA-256 digests. A presented key is hashed and compared with
 * every stored digest in constant time (no early exit), so timing says nothing about which digest
 * was close. A tenant may have several keys (rotation). Keys are never logged.
 *
 * A key that verified is remembered (key → tenant), so the requests of a client after its first
 * cost one map lookup instead of a SHA-256 and a comparison per configured key. Only verified keys
 * enter that map — an unknown key is never remembered, so it stays as small as the configuration
 * and nobody can fill it — and it is emptied whenever a key is added. It holds keys the process
 * was configured with (and has in its environment) anyway.
 */
export class ApiKeyStore {
  private readonly entries: Array<{ tenant: string; digest: Buffer }> = [];
  private readonly verified = new Map<string, string>();

  /** Parses `tenant:key,tenant:key…` (the key is everything after the first `:`). */
  static fromSpec(spec: string): ApiKeyStore {
    const store = new ApiKeyStore();
    for (const part of spec.split(',')) {
      const entry = part.trim();
      if (entry === '') continue;
      const colon = entry.indexOf(':');
      if (colon <= 0 || colon === entry.length - 1) {
        // do not echo the entry: it holds a secret
        throw new Error('INGEST_API_KEYS: every entry must be tenant:key');
      }
      // the tenant part is no secret: the error names it and what is wrong with it
      store.add(checkTenantId(entry.slice(0, colon), 'INGEST_API_KEYS'), entry.slice(colon + 1));
    }
    return store;
  }

  add(tenant: string, key: string): void {
    checkTenantId(tenant);
    if (key.length < 8) throw new Error(`API key of tenant "${tenant}" is too short (8 characters or more)`);
    this.entries.push({ tenant, digest: sha256(key) });
    this.verified.clear();
  }

  /** The tenant of a key, or undefined for an unknown key. */
  tenantOf(key: string): string | undefined {
    const known = this.verified.get(key);
    if (known !== undefined) return known;
    const digest = sha256(key);
    let found: string | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(e.digest, digest) && found === undefined) found = e.tenant;
    }
    if (found !== undefined && this.verified.size < this.entries.length) this.verified.set(key, found);
    return found;
  }

  /** Tenants that have at least one key. */
  tenants(): string[] {
    return [...new Set(this.entries.map((e) => e.tenant))];
  }

  get size(): number {
    return this.entries.length;
  }
}
