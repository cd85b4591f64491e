import { describe, expect, it } from 'vitest';
import { AccessTokens, MIN_TOKEN_LENGTH } from './access.js';

const ACME = 'acme-token-0123456789';
const GLOBEX = 'globex-token-0123456789';
const ADMIN = 'admin-token-0123456789';

describe('evaluator access tokens', () => {
  it('knows each tenant by its tokens and the admin by the admin token', () => {
    const { tokens, problems } = AccessTokens.parse({
      tenantTokens: ` acme:${ACME}, globex.eu_2:${GLOBEX},acme:${ACME}-rotated `,
      adminToken: ADMIN,
    });
    expect(problems).toEqual([]);
    expect(tokens?.callerOf(ACME)).toEqual({ admin: false, tenant: 'acme' });
    expect(tokens?.callerOf(`${ACME}-rotated`)).toEqual({ admin: false, tenant: 'acme' });
    expect(tokens?.callerOf(GLOBEX)).toEqual({ admin: false, tenant: 'globex.eu_2' });
    expect(tokens?.callerOf(ADMIN)).toEqual({ admin: true });
    expect(tokens?.callerOf('acme')).toBeUndefined();
    expect(tokens?.callerOf(`${ACME} `)).toBeUndefined();
    expect(tokens?.callerOf('')).toBeUndefined();
    expect(tokens?.tenants()).toEqual(['acme', 'globex.eu_2']);
  });

  it('works with tenant tokens only, or the admin token only', () => {
    expect(AccessTokens.parse({ tenantTokens: `acme:${ACME}` }).tokens?.callerOf(ADMIN)).toBeUndefined();
    expect(AccessTokens.parse({ adminToken: ADMIN }).tokens?.callerOf(ADMIN)).toEqual({ admin: true });
  });

  it('names every problem and never echoes a token', () => {
    const { tokens, problems } = AccessTokens.parse({
      tenantTokens: `acme, a/b:${ACME}x, globex:tiny9, tenant:${GLOBEX}, other:${GLOBEX}, admin-like:${ADMIN}`,
      adminToken: ADMIN,
    });
    expect(tokens).toBeUndefined();
    expect(problems).toEqual([
      'EVALUATOR_TENANT_TOKENS: entry 1 is not tenant:token',
      expect.stringMatching(/^EVALUATOR_TENANT_TOKENS: entry 2: tenant id "a\/b" must start/),
      `EVALUATOR_TENANT_TOKENS: entry 3: the token of tenant "globex" is shorter than ${MIN_TOKEN_LENGTH} characters`,
      'EVALUATOR_TENANT_TOKENS: entry 5: the token of tenant "other" is also the token of tenant "tenant"',
      'EVALUATOR_TENANT_TOKENS: entry 6: the token of tenant "admin-like" is the admin token (EVALUATOR_ADMIN_TOKEN)',
    ]);
    for (const p of problems) for (const secret of [ACME, GLOBEX, ADMIN, 'tiny9']) expect(p).not.toContain(secret);
    expect(AccessTokens.parse({ adminToken: 'tiny' }).problems).toEqual([
      `EVALUATOR_ADMIN_TOKEN: shorter than ${MIN_TOKEN_LENGTH} characters`,
    ]);
    expect(AccessTokens.parse({ adminToken: ' has space inside 0123 ' }).problems).toEqual([
      'EVALUATOR_ADMIN_TOKEN: must not contain white space',
    ]);
  });

  it('refuses a configuration that admits nobody', () => {
    for (const empty of [{}, { tenantTokens: ' , ' }, { tenantTokens: '', adminToken: '' }]) {
      expect(AccessTokens.parse(empty).problems).toEqual([
        'EVALUATOR_TENANT_TOKENS: at least one tenant:token pair (or EVALUATOR_ADMIN_TOKEN) is required',
      ]);
    }
  });
});
