import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from './config.js';
import { makeTestCertificates, type TestCertificates } from './test-certs.js';
import { httpsServerOptions, loadClientTls, loadServerTls, serverTlsEnv } from './tls.js';

let certs: TestCertificates;
beforeAll(() => {
  certs = makeTestCertificates();
});
afterAll(() => certs.remove());

/** The ConfigError's problems of `fn`, or [] when it does not throw. */
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
}

describe('serverTlsEnv / loadServerTls', () => {
  const shape = serverTlsEnv('DEMO');

  it('names the variables after the prefix, all optional, and rejects an empty path', () => {
    expect(Object.keys(shape).sort()).toEqual(['DEMO_TLS_CERT_FILE', 'DEMO_TLS_CLIENT_CA_FILE', 'DEMO_TLS_KEY_FILE']);
    expect(parseEnv('demo', shape, {})).toEqual({});
    expect(() => parseEnv('demo', shape, { DEMO_TLS_CERT_FILE: '' })).toThrow(/DEMO_TLS_CERT_FILE/);
  });

  it('is off (plaintext) when no certificate is configured', () => {
    expect(loadServerTls('demo', 'DEMO', {})).toBeUndefined();
  });

  it('names the missing half when only one of certificate and key is set', () => {
    expect(problemsOf(() => loadServerTls('demo', 'DEMO', { DEMO_TLS_CERT_FILE: certs.certFile }))).toEqual([
      'DEMO_TLS_KEY_FILE: required when DEMO_TLS_CERT_FILE is set (missing)',
    ]);
    expect(problemsOf(() => loadServerTls('demo', 'DEMO', { DEMO_TLS_KEY_FILE: certs.keyFile }))).toEqual([
      'DEMO_TLS_CERT_FILE: required when DEMO_TLS_KEY_FILE is set (missing)',
    ]);
    expect(problemsOf(() => loadServerTls('demo', 'DEMO', { DEMO_TLS_CLIENT_CA_FILE: certs.caFile }))).toEqual([
      'DEMO_TLS_CLIENT_CA_FILE: needs DEMO_TLS_CERT_FILE and DEMO_TLS_KEY_FILE (client certificates are checked only over TLS)',
    ]);
  });

  it('names a file it cannot read, and never prints what a file holds', () => {
    const missing = join(certs.dir, 'nope.pem');
    expect(
      problemsOf(() =>
        loadServerTls('demo', 'DEMO', { DEMO_TLS_CERT_FILE: missing, DEMO_TLS_KEY_FILE: certs.keyFile }),
      ),
    ).toEqual([`DEMO_TLS_CERT_FILE: cannot read "${missing}" (ENOENT)`]);

    const junk = join(certs.dir, 'junk.pem');
    writeFileSync(junk, 'hunter2-not-a-certificate');
    const problems = problemsOf(() =>
      loadServerTls('demo', 'DEMO', {
        DEMO_TLS_CERT_FILE: junk,
        DEMO_TLS_KEY_FILE: junk,
        DEMO_TLS_CLIENT_CA_FILE: junk,
      }),
    );
    expect(problems).toEqual([
      `DEMO_TLS_CERT_FILE: "${junk}" holds no PEM certificate`,
      `DEMO_TLS_KEY_FILE: "${junk}" holds no PEM private key`,
      `DEMO_TLS_CLIENT_CA_FILE: "${junk}" holds no PEM certificate`,
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
    // a key file named as the certificate (the pair swapped) is not a certificate, and vice versa
    expect(
      problemsOf(() =>
        loadServerTls('demo', 'DEMO', { DEMO_TLS_CERT_FILE: certs.keyFile, DEMO_TLS_KEY_FILE: certs.certFile }),
      ),
    ).toEqual([
      `DEMO_TLS_CERT_FILE: "${certs.keyFile}" holds no PEM certificate`,
      `DEMO_TLS_KEY_FILE: "${certs.certFile}" holds no PEM private key`,
    ]);
  });

  it('refuses a key that does not belong to the certificate', () => {
    expect(
      problemsOf(() =>
        loadServerTls('demo', 'DEMO', { DEMO_TLS_CERT_FILE: certs.certFile, DEMO_TLS_KEY_FILE: certs.clientKeyFile }),
      ),
    ).toEqual([
      `DEMO_TLS_KEY_FILE: the key in "${certs.clientKeyFile}" does not belong to the certificate of DEMO_TLS_CERT_FILE ("${certs.certFile}")`,
    ]);
  });

  it('loads a certificate, its key and an optional client CA', () => {
    const tls = loadServerTls('demo', 'DEMO', { DEMO_TLS_CERT_FILE: certs.certFile, DEMO_TLS_KEY_FILE: certs.keyFile });
    expect(tls?.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(tls?.key.toString()).toContain('PRIVATE KEY');
    expect(tls?.clientCa).toBeUndefined();
    expect(tls?.summary).toMatchObject({ subject: 'CN=localhost', clientCertificates: 'not requested' });
    expect(JSON.stringify(tls?.summary)).not.toContain('PRIVATE');
    expect(httpsServerOptions(tls as NonNullable<typeof tls>)).toEqual({ cert: tls?.cert, key: tls?.key });

    const mutual = loadServerTls('demo', 'DEMO', {
      DEMO_TLS_CERT_FILE: certs.certFile,
      DEMO_TLS_KEY_FILE: certs.keyFile,
      DEMO_TLS_CLIENT_CA_FILE: certs.caFile,
    });
    expect(mutual?.summary.clientCertificates).toBe('required');
    expect(httpsServerOptions(mutual as NonNullable<typeof mutual>)).toMatchObject({
      ca: mutual?.clientCa,
      requestCert: true,
      rejectUnauthorized: true,
    });
  });
});

describe('loadClientTls', () => {
  it('reads a CA (and an optional client certificate pair), naming the option of a bad file', () => {
    expect(loadClientTls({})).toBeUndefined();
    expect(loadClientTls({ caFile: certs.caFile })?.ca?.toString()).toContain('BEGIN CERTIFICATE');
    expect(() => loadClientTls({ caFile: join(certs.dir, 'nope.pem') })).toThrow(
      /--ca-file: cannot read ".*nope\.pem"/,
    );
    expect(() => loadClientTls({ certFile: certs.clientCertFile })).toThrow(
      '--key-file: required when --cert-file is set',
    );
    expect(() =>
      loadClientTls({ caFile: certs.keyFile }, { caFile: 'PERSONA_CA_FILE', certFile: 'X', keyFile: 'Y' }),
    ).toThrow(`PERSONA_CA_FILE: "${certs.keyFile}" holds no PEM certificate`);
    const both = loadClientTls({ certFile: certs.clientCertFile, keyFile: certs.clientKeyFile });
    expect(both?.cert?.toString()).toContain('BEGIN CERTIFICATE');
    expect(both?.key?.toString()).toContain('PRIVATE KEY');
  });
});
