import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger, tlsFetch } from '@personastream/runtime';
import { makeTestCertificates, type TestCertificates } from '@personastream/runtime/test-certs';
import { createKafkaStream } from '@personastream/stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeMovielensFixture } from '../src/import/fixtures.js';
import { importDataset } from '../src/import/import.js';
import { replayDataset } from '../src/import/replay.js';
import { requireEnv, uniqueSuffix } from './helpers.js';

/**
 * The built ingest service (dist/main.js) with INGEST_TLS_CERT_FILE / _KEY_FILE set serves its HTTP
 * API over TLS with a certificate made for this run: an HTTPS client trusting the run's CA is
 * answered (and its events accepted); plaintext HTTP, and HTTPS without that CA, are not.
 */
const brokers = requireEnv('KAFKA_BROKERS');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const main = resolve(root, 'services/ingest/dist/main.js');
const suffix = uniqueSuffix();
const topics = { events: `tls-ingest-events-${suffix}`, dlq: `tls-ingest-dlq-${suffix}` };
const KEY = `tls-key-${suffix}`;
const PORT = 28511;
const OPS = 28512;
let certs: TestCertificates;
let child: ChildProcess | undefined;

beforeAll(async () => {
  certs = makeTestCertificates();
  const proc = spawn(process.execPath, [main], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      KAFKA_BROKERS: brokers,
      INGEST_API_KEYS: `tls-a:${KEY}`,
      INGEST_HTTP_PORT: String(PORT),
      OPS_PORT: String(OPS),
      INGEST_EVENTS_TOPIC: topics.events,
      INGEST_DLQ_TOPIC: topics.dlq,
      INGEST_TLS_CERT_FILE: certs.certFile,
      INGEST_TLS_KEY_FILE: certs.keyFile,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child = proc;
  const deadline = Date.now() + 60_000;
  // the ops port stays plaintext (probes, Prometheus)
  while (
    !(await fetch(`http://127.0.0.1:${OPS}/healthz`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (proc.exitCode !== null) throw new Error(`ingest exited with ${proc.exitCode}`);
    if (Date.now() > deadline) throw new Error('ingest did not become healthy');
    await new Promise((r) => setTimeout(r, 200));
  }
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  const admin = createKafkaStream(
    { brokers: brokers.split(','), clientId: 'tls-cleanup' },
    { logger: silentLogger() },
  ).admin();
  await admin.deleteTopics(Object.values(topics));
  await admin.close();
  certs?.remove();
});

describe('ingest HTTP API over TLS (INGEST_TLS_CERT_FILE / INGEST_TLS_KEY_FILE)', () => {
  it('answers an HTTPS client that trusts the CA of its certificate, and accepts its events', async () => {
    const secureFetch = tlsFetch({ ca: readFileSync(certs.caFile) });
    const health = await secureFetch(`https://localhost:${PORT}/healthz`);
    expect(health.status).toBe(200);
    const res = await secureFetch(`https://localhost:${PORT}/v1/track`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        userId: 'tls-u1',
        event: 'Product Viewed',
        properties: { product_id: 'tls-p1' },
        messageId: `tls-m-${suffix}`,
        timestamp: new Date().toISOString(),
      }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it('refuses plaintext HTTP and HTTPS clients that do not trust its CA', async () => {
    await expect(fetch(`http://localhost:${PORT}/healthz`).then((r) => r.status)).rejects.toThrow();
    await expect(fetch(`https://localhost:${PORT}/healthz`)).rejects.toThrow();
    await expect(
      tlsFetch({ ca: readFileSync(certs.otherCaFile) })(`https://localhost:${PORT}/healthz`),
    ).rejects.toThrow();
  });

  it('takes a dataset replay (the `replay --ca-file` path) from a client given the CA', async () => {
    await writeMovielensFixture(join(certs.dir, 'ml'), 5, 2);
    await importDataset({ format: 'movielens', path: join(certs.dir, 'ml'), out: join(certs.dir, 'ds') });
    const summary = await replayDataset({
      path: join(certs.dir, 'ds'),
      target: 'http',
      url: `https://localhost:${PORT}`,
      apiKey: KEY,
      tenant: 'tls-a',
      runId: `tls-replay-${suffix}`,
      tls: { ca: readFileSync(certs.caFile) },
      maxRetries: 0,
    });
    expect(summary).toMatchObject({ events: 10, accepted: 10, rejected: {} });
  });
});
