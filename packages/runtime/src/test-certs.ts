/**
 * Certificates for tests, made at run time with the machine's `openssl` (never kept in the repo): a
 * throw-away CA, a server certificate it signed for `localhost` / 127.0.0.1, a client certificate it
 * signed (mutual TLS), and a second, unrelated CA (a client that trusts it must fail).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificates {
  dir: string;
  /** The CA that signed the server and client certificates (PEM). */
  caFile: string;
  certFile: string;
  keyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** A CA that signed nothing here. */
  otherCaFile: string;
  /** Removes the directory. */
  remove(): void;
}

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

/** `openssl req` arguments for a new P-256 key in `<name>.key` (no passphrase) and the given subject. */
const newKey = (name: string, subject: string) => [
  '-newkey',
  'ec',
  '-pkeyopt',
  'ec_paramgen_curve:P-256',
  '-nodes',
  '-keyout',
  `${name}.key`,
  '-subj',
  subject,
];

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    ...newKey(name, `/CN=personastream test ${name}`),
    '-out',
    `${name}.crt`,
    '-days',
    '2',
  ]);
}

function signLeaf(dir: string, name: string, subject: string, extensions: string): void {
  openssl(dir, ['req', ...newKey(name, subject), '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-set_serial',
    String(Date.now()),
    '-days',
    '2',
    '-out',
    `${name}.crt`,
    '-extfile',
    `${name}.ext`,
  ]);
}

/** Makes the certificates in a new temporary directory (needs `openssl` on PATH). */
export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'ps-tls-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  signLeaf(
    dir,
    'server',
    '/CN=localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
  );
  signLeaf(dir, 'client', '/CN=personastream test client', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n');
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.crt'),
    clientKeyFile: join(dir, 'client.key'),
    otherCaFile: join(dir, 'other-ca.crt'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
