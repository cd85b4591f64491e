import { describe, expect, it } from 'vitest';
import { splitTenantTokens } from './keys.js';

describe('splitTenantTokens', () => {
  it('splits tenant:token settings, numbering entries among the non-empty ones', () => {
    expect(splitTenantTokens(' acme:s3cret:x , ,globex:t2 ')).toEqual({
      pairs: [
        { tenant: 'acme', token: 's3cret:x', entry: 1 },
        { tenant: 'globex', token: 't2', entry: 2 },
      ],
      problems: [],
    });
  });

  it('names each bad entry and its tenant, never a token; an empty setting only when one is required', () => {
    const { pairs, problems } = splitTenantTokens('nocolon-secret1, a/b:secret2, c:two words, ok:secret3');
    expect(pairs).toEqual([{ tenant: 'ok', token: 'secret3', entry: 4 }]);
    expect(problems).toEqual([
      'entry 1 is not tenant:token',
      expect.stringMatching(/^entry 2: tenant id "a\/b" must start/),
      'entry 3 is not tenant:token',
    ]);
    expect(problems.join(' ')).not.toMatch(/secret|words/);
    expect(splitTenantTokens('').problems).toEqual([]);
    expect(splitTenantTokens(' , ', { requireOne: true }).problems).toEqual([
      'at least one tenant:token pair is required',
    ]);
  });
});
