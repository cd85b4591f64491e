import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteKeysWithPrefix, silentLogger } from '@personastream/runtime';
import { makeTestCertificates, type TestCertificates } from '@personastream/runtime/test-certs';
import { createKafkaStream } from '@personastream/stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPersonaClient } from '../src/adapters/grpc-client.js';
import { requireEnv, uniqueSuffix } from './helpers.js';

/**
 * The built persona service (dist/main.js) with PERSONA_TLS_CERT_FILE / _KEY_FILE set serves gRPC over
 * TLS with a certificate made for this run: a client that trusts the run's CA gets answers; a
 * plaintext client, and a TLS client trusting another CA, get none. With PERSONA_TLS_CLIENT_CA_FILE
 * the server also requires a client certificate that CA signed.
 */
const brokers = requireEnv('KAFKA_BROKERS');
const redisUrl = requireEnv('REDIS_URL');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const main = resolve(root, 'services/persona/dist/main.js');
const suffix = uniqueSuffix();
const TOKEN = `tls-token-${suffix}`;
const prefix = `tls:persona:${suffix}:`;
const topics = { windows: `tls-persona-windows-${suffix}`, updates: `tls-persona-updates-${suffix}` };
const PORTS = { tls: { grpc: 28501, ops: 28502 }, mutual: { grpc: 28503, ops: 28504 } };
const children: ChildProcess[] = [];
let certs: TestCertificates;

function startPersona(name: keyof typeof PORTS, extra: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [main], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      KAFKA_BROKERS: brokers,
      REDIS_URL: redisUrl,
      PERSONA_REDIS_PREFIX: prefix,
      PERSONA_TENANT_TOKENS: `tls-a:${TOKEN}`,
      PERSONA_GRPC_PORT: String(PORTS[name].grpc),
      OPS_PORT: String(PORTS[name].ops),
      PERSONA_GROUP_ID: `tls-persona-${name}-${suffix}`,
      PERSONA_WINDOWS_TOPIC: topics.windows,
      PERSONA_UPDATES_TOPIC: topics.updates,
      LOG_LEVEL: 'warn',
      ...extra,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  return child;
}

async function waitHealthy(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`persona exited with ${child.exitCode} before becoming healthy`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`persona (ops ${port}) did not become healthy`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The error of a ListDimensions call (undefined when it succeeds). */
async function callError(client: ReturnType<typeof createPersonaClient>): Promise<Error | undefined> {
  try {
    await client.listDimensions({}, { timeoutMs: 5000 });
    return undefined;
  } catch (err) {
    return err as Error;
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  certs = makeTestCertificates();
  const files = { PERSONA_TLS_CERT_FILE: certs.certFile, PERSONA_TLS_KEY_FILE: certs.keyFile };
  const plain = startPersona('tls', files);
  const mutual = startPersona('mutual', { ...files, PERSONA_TLS_CLIENT_CA_FILE: certs.caFile });
  await Promise.all([waitHealthy(PORTS.tls.ops, plain), waitHealthy(PORTS.mutual.ops, mutual)]);
}, 120_000);

afterAll(async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((r) => {
          if (c.exitCode !== null) return r();
          c.once('exit', () => r());
          c.kill('SIGTERM');
        }),
    ),
  );
  const redis = new Redis(redisUrl);
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
  const admin = createKafkaStream(
    { brokers: brokers.split(','), clientId: 'tls-cleanup' },
    { logger: silentLogger() },
  ).admin();
  await admin.deleteTopics(Object.values(topics));
  await admin.deleteGroups([`tls-persona-tls-${suffix}`, `tls-persona-mutual-${suffix}`]);
  await admin.close();
  certs?.remove();
});

describe('persona gRPC over TLS (PERSONA_TLS_CERT_FILE / PERSONA_TLS_KEY_FILE)', () => {
  const address = `localhost:${PORTS.tls.grpc}`;

  it('answers a client that trusts the CA of its certificate', async () => {
    const client = createPersonaClient(address, TOKEN, {}, { ca: readFileSync(certs.caFile) });
    const res = await client.listDimensions({}, { timeoutMs: 5000 });
    client.close();
    expect(res.dimensions.length).toBeGreaterThan(5);
  });

  it('refuses a plaintext client and a client that trusts another CA', async () => {
    const plaintext = await callError(createPersonaClient(address, TOKEN));
    expect(plaintext, 'a plaintext client must fail').toBeDefined();
    expect((plaintext as { code?: number }).code).toBe(14); // UNAVAILABLE: no HTTP/2 over plaintext
    const untrusted = await callError(createPersonaClient(address, TOKEN, {}, { ca: readFileSync(certs.otherCaFile) }));
    expect(untrusted, 'a client trusting another CA must fail').toBeDefined();
    expect((untrusted as { code?: number }).code).toBe(14);
  });
});

describe('persona gRPC with client certificates (PERSONA_TLS_CLIENT_CA_FILE)', () => {
  const address = `localhost:${PORTS.mutual.grpc}`;

  it('answers a client showing a certificate the CA signed, and no client without one', async () => {
    const ca = readFileSync(certs.caFile);
    const withCert = createPersonaClient(
      address,
      TOKEN,
      {},
      { ca, cert: readFileSync(certs.clientCertFile), key: readFileSync(certs.clientKeyFile) },
    );
    expect((await withCert.listDimensions({}, { timeoutMs: 5000 })).dimensions.length).toBeGreaterThan(5);
    withCert.close();
    const without = await callError(createPersonaClient(address, TOKEN, {}, { ca }));
    expect(without, 'a client without a certificate must fail').toBeDefined();
    expect((without as { code?: number }).code).toBe(14);
  });
});
