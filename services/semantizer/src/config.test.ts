import { ConfigError } from '@personastream/runtime';
import { describe, expect, it } from 'vitest';
import { configFromEnv, loadEnv, loadTaxonomyFile, parseTaxonomyFile } from './config.js';

const baseEnv = { KAFKA_BROKERS: '127.0.0.1:9092', REDIS_URL: 'redis://127.0.0.1:6379' };

function problems(f: () => unknown): string[] {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('SEMANTIZER_TAXONOMY_FILE', () => {
  it('parses tenants’ terms: interest lists, weights and general terms', () => {
    const extras = parseTaxonomyFile(
      JSON.stringify({
        tenants: { acme: { 'hifi separates': ['music', 'tech'], vape: [], 'knitting needles': { art: 1, home: 0.5 } } },
      }),
      'x.json',
    );
    expect(extras).toEqual({
      acme: { 'hifi separates': ['music', 'tech'], vape: [], 'knitting needles': { art: 1, home: 0.5 } },
    });
  });

  it('names the file and every bad entry', () => {
    const bad = problems(() =>
      parseTaxonomyFile(
        JSON.stringify({
          tenants: {
            'bad tenant!': {},
            acme: { headphones: ['musik'], 'a b c d e f': ['tech'], speakers: { tech: 2 }, '&&': ['tech'] },
          },
          extra: 1,
        }),
        'terms.json',
      ),
    );
    const text = bad.join('\n');
    expect(text).toContain('SEMANTIZER_TAXONOMY_FILE (terms.json)');
    expect(text).toContain('not a tenant id');
    expect(text).toContain('"headphones".0: Invalid enum value');
    expect(text).toContain("received 'musik'");
    expect(text).toContain('at most 4 words');
    expect(text).toContain('at least one word');
    expect(text).toMatch(/"speakers".*less than or equal to 1/);
    expect(text).toContain("Unrecognized key(s) in object: 'extra'");
    expect(problems(() => parseTaxonomyFile('{not json', 'x.json'))[0]).toMatch(/x\.json\): not JSON/);
  });

  it('is read once when the config is built; no file configured means no extra terms; a missing file is a config error', () => {
    expect(loadTaxonomyFile('')).toEqual({});
    expect(loadTaxonomyFile('t.json', () => '{"tenants":{"acme":{"gizmo":["tech"]}}}')).toEqual({
      acme: { gizmo: ['tech'] },
    });
    expect(problems(() => loadTaxonomyFile('/nonexistent/taxonomy.json'))[0]).toMatch(
      /SEMANTIZER_TAXONOMY_FILE: cannot read \/nonexistent\/taxonomy\.json/,
    );
    expect(configFromEnv(loadEnv(baseEnv)).taxonomy).toEqual({});
    expect(() => configFromEnv(loadEnv({ ...baseEnv, SEMANTIZER_TAXONOMY_FILE: '/nonexistent/t.json' }))).toThrow(
      ConfigError,
    );
  });
});
