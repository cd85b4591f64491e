/**
 * TLS for the services' servers (persona gRPC, ingest HTTP, evaluator HTTP) and for the clients that
 * call them: certificate files named by env vars (servers) or options (clients), read once at start,
 * checked with errors that name the variable and the path — never what a file holds.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';
import { z } from 'zod';
import { ConfigError } from './config.js';

/** A server's certificate and key, and the CA its clients' certificates must chain to (mutual TLS). */
export interface ServerTls {
  /** PEM certificate chain (leaf first). */
  cert: Buffer;
  /** PEM private key. */
  key: Buffer;
  /** When set, clients must present a certificate this CA signed. */
  clientCa?: Buffer;
  /** What the startup log may show: never the key. */
  summary: { subject: string; validTo: string; clientCertificates: 'required' | 'not requested' };
}

type ServerTlsVar<P extends string> = `${P}_TLS_CERT_FILE` | `${P}_TLS_KEY_FILE` | `${P}_TLS_CLIENT_CA_FILE`;

const pemPath = z.string().min(1, 'expected a file path').optional();

/**
 * The env schema of a server's TLS files: `<P>_TLS_CERT_FILE` and `<P>_TLS_KEY_FILE` (both or neither;
 * neither = plaintext) and `<P>_TLS_CLIENT_CA_FILE` (optional: require client certificates it signed).
 */
export function serverTlsEnv<P extends string>(prefix: P): Record<ServerTlsVar<P>, typeof pemPath> {
  return {
    [`${prefix}_TLS_CERT_FILE`]: pemPath,
    [`${prefix}_TLS_KEY_FILE`]: pemPath,
    [`${prefix}_TLS_CLIENT_CA_FILE`]: pemPath,
  } as Record<ServerTlsVar<P>, typeof pemPath>;
}

const CERT_PEM = /-----BEGIN CERTIFICATE-----/;
const KEY_PEM = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;

type Read<T> = { value: T } | { problem: string };

/** A file's bytes, or a problem naming the variable and path (with the error code, never the content). */
function readFile(name: string, path: string): Read<Buffer> {
  try {
    return { value: readFileSync(path) };
  } catch (err) {
    return { problem: `${name}: cannot read "${path}" (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
  }
}

function readCertificate(name: string, path: string): Read<{ pem: Buffer; x509: X509Certificate }> {
  const file = readFile(name, path);
  if ('problem' in file) return file;
  const problem = { problem: `${name}: "${path}" holds no PEM certificate` };
  if (!CERT_PEM.test(file.value.toString('latin1'))) return problem;
  try {
    return { value: { pem: file.value, x509: new X509Certificate(file.value) } };
  } catch {
    return problem;
  }
}

function readPrivateKey(name: string, path: string): Read<{ pem: Buffer; key: KeyObject }> {
  const file = readFile(name, path);
  if ('problem' in file) return file;
  if (!KEY_PEM.test(file.value.toString('latin1'))) return { problem: `${name}: "${path}" holds no PEM private key` };
  try {
    return { value: { pem: file.value, key: createPrivateKey(file.value) } };
  } catch {
    return { problem: `${name}: "${path}" holds a private key that cannot be used (encrypted keys are not supported)` };
  }
}

/**
 * Reads and checks a server's TLS files from its parsed environment (see {@link serverTlsEnv}):
 * undefined when none is configured (plaintext); a `ConfigError` naming every bad variable when only
 * one of certificate and key is set, a file cannot be read or holds no PEM of its kind, the key does
 * not belong to the certificate, or the certificate has expired.
 */
export function loadServerTls<P extends string>(
  service: string,
  prefix: P,
  parsed: Partial<Record<ServerTlsVar<P>, string | undefined>>,
  now: Date = new Date(),
): ServerTls | undefined {
  const names = {
    cert: `${prefix}_TLS_CERT_FILE` as ServerTlsVar<P>,
    key: `${prefix}_TLS_KEY_FILE` as ServerTlsVar<P>,
    clientCa: `${prefix}_TLS_CLIENT_CA_FILE` as ServerTlsVar<P>,
  };
  const certPath = parsed[names.cert];
  const keyPath = parsed[names.key];
  const caPath = parsed[names.clientCa];
  if (certPath === undefined && keyPath === undefined) {
    if (caPath === undefined) return undefined;
    throw new ConfigError(service, [
      `${names.clientCa}: needs ${names.cert} and ${names.key} (client certificates are checked only over TLS)`,
    ]);
  }
  if (certPath === undefined)
    throw new ConfigError(service, [`${names.cert}: required when ${names.key} is set (missing)`]);
  if (keyPath === undefined)
    throw new ConfigError(service, [`${names.key}: required when ${names.cert} is set (missing)`]);

  const cert = readCertificate(names.cert, certPath);
  const key = readPrivateKey(names.key, keyPath);
  const ca = caPath === undefined ? undefined : readCertificate(names.clientCa, caPath);
  const problems = [cert, key, ...(ca ? [ca] : [])].flatMap((r) => ('problem' in r ? [r.problem] : []));
  if ('value' in cert && 'value' in key && !cert.value.x509.checkPrivateKey(key.value.key)) {
    problems.push(
      `${names.key}: the key in "${keyPath}" does not belong to the certificate of ${names.cert} ("${certPath}")`,
    );
  }
  if ('value' in cert && new Date(cert.value.x509.validTo) < now) {
    problems.push(`${names.cert}: the certificate in "${certPath}" expired on ${cert.value.x509.validTo}`);
  }
  if (problems.length > 0 || !('value' in cert) || !('value' in key)) throw new ConfigError(service, problems);
  const clientCa = ca && 'value' in ca ? ca.value.pem : undefined;
  return {
    cert: cert.value.pem,
    key: key.value.pem,
    ...(clientCa ? { clientCa } : {}),
    summary: {
      subject: cert.value.x509.subject.replace(/\n/g, ', '),
      validTo: cert.value.x509.validTo,
      clientCertificates: clientCa ? 'required' : 'not requested',
    },
  };
}

/** Options of a Node `https` (or fastify `https`) server serving `tls`. */
export function httpsServerOptions(tls: ServerTls): {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
} {
  return tls.clientCa
    ? { cert: tls.cert, key: tls.key, ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }
    : { cert: tls.cert, key: tls.key };
}

/** What a client trusts beyond the system's CAs, and the certificate it shows (mutual TLS). */
export interface ClientTls {
  /** PEM CA certificate(s) the server's certificate must chain to (instead of the system's CAs). */
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * Reads a client's TLS files (all optional; the certificate and key go together). Errors name the
 * option (`--ca-file` … by default) and the path, never the content. Undefined when none is given.
 */
export function loadClientTls(
  files: { caFile?: string; certFile?: string; keyFile?: string },
  names: { caFile: string; certFile: string; keyFile: string } = {
    caFile: '--ca-file',
    certFile: '--cert-file',
    keyFile: '--key-file',
  },
): ClientTls | undefined {
  const { caFile, certFile, keyFile } = files;
  if (caFile === undefined && certFile === undefined && keyFile === undefined) return undefined;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const [missing, set] = certFile === undefined ? [names.certFile, names.keyFile] : [names.keyFile, names.certFile];
    throw new Error(`${missing}: required when ${set} is set`);
  }
  const out: ClientTls = {};
  const problems: string[] = [];
  if (caFile !== undefined) {
    const r = readCertificate(names.caFile, caFile);
    if ('problem' in r) problems.push(r.problem);
    else out.ca = r.value.pem;
  }
  if (certFile !== undefined && keyFile !== undefined) {
    const c = readCertificate(names.certFile, certFile);
    const k = readPrivateKey(names.keyFile, keyFile);
    if ('problem' in c) problems.push(c.problem);
    else out.cert = c.value.pem;
    if ('problem' in k) problems.push(k.problem);
    else out.key = k.value.pem;
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return out;
}

/**
 * `fetch` that trusts `tls.ca` (and shows `tls.cert`) on https URLs; the global fetch when `tls` is
 * undefined. (Node's fetch takes no CA option; this is undici's, with an agent that has one.)
 */
export function tlsFetch(tls: ClientTls | undefined): typeof fetch {
  if (!tls) return fetch;
  const dispatcher = new Agent({
    connect: {
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
    },
  });
  return ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
    undiciFetch(input as never, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch;
}
