import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger, tlsFetch } from '@personastream/runtime';
import { makeTestCertificates, type TestCertificates } from '@personastream/runtime/test-certs';
import { createKafkaStream } from '@personastream/stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseClient } from '../src/adapters/clickhouse.js';
import { ident, sql } from '../src/adapters/sql.js';
import { requireEnv, uniqueSuffix } from './helpers.js';

/**
 * The built evaluator (dist/main.js) with EVALUATOR_TLS_CERT_FILE / _KEY_FILE set serves its one HTTP
 * port — dashboard, API, /healthz and /metrics — over TLS with a certificate made for this run: an
 * HTTPS client trusting the run's CA is answered; plaintext HTTP, and HTTPS without that CA, are not.
 */
const brokers = requireEnv('KAFKA_BROKERS');
const clickhouseUrl = requireEnv('CLICKHOUSE_URL');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const main = resolve(root, 'services/evaluator/dist/main.js');
const suffix = uniqueSuffix();
const database = `tls_eval_${suffix}`;
const topics = { updates: `tls-eval-updates-${suffix}`, truth: `tls-eval-truth-${suffix}` };
const PORT = 28521;
const admin = createKafkaStream(
  { brokers: brokers.split(','), clientId: 'tls-eval-test' },
  { logger: silentLogger() },
).admin();
let certs: TestCertificates;
// the API needs a bearer token; made per run (never in the repo)
const adminToken = randomBytes(24).toString('hex');
let child: ChildProcess | undefined;

beforeAll(async () => {
  certs = makeTestCertificates();
  // the evaluator reads its topics, created by the pipeline's producers
  await admin.ensureTopics(Object.values(topics).map((topic) => ({ topic, partitions: 2 })));
  const proc = spawn(process.execPath, [main], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      KAFKA_BROKERS: brokers,
      CLICKHOUSE_URL: clickhouseUrl,
      CLICKHOUSE_DATABASE: database,
      EVALUATOR_HTTP_PORT: String(PORT),
      EVALUATOR_GROUP_ID: `tls-evaluator-${suffix}`,
      EVALUATOR_UPDATES_TOPIC: topics.updates,
      EVALUATOR_TRUTH_TOPIC: topics.truth,
      EVALUATOR_TLS_CERT_FILE: certs.certFile,
      EVALUATOR_TLS_KEY_FILE: certs.keyFile,
      EVALUATOR_ADMIN_TOKEN: adminToken,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child = proc;
  const secureFetch = tlsFetch({ ca: readFileSync(certs.caFile) });
  const deadline = Date.now() + 60_000;
  // listening: either scheme answers (the old, plaintext evaluator too, so the tests below can fail)
  const answers = (f: typeof fetch, url: string) =>
    f(url).then(
      () => true,
      () => false,
    );
  while (
    !(await answers(secureFetch, `https://localhost:${PORT}/healthz`)) &&
    !(await answers(fetch, `http://localhost:${PORT}/healthz`))
  ) {
    if (proc.exitCode !== null) throw new Error(`evaluator exited with ${proc.exitCode}`);
    if (Date.now() > deadline) throw new Error('evaluator did not start listening');
    await new Promise((r) => setTimeout(r, 200));
  }
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await admin.deleteTopics(Object.values(topics));
  await admin.deleteGroups([`tls-evaluator-${suffix}`]);
  await admin.close();
  await new ClickHouseClient({ url: clickhouseUrl }).exec(sql`DROP DATABASE IF EXISTS ${ident(database)}`);
  certs?.remove();
});

describe('evaluator HTTP over TLS (EVALUATOR_TLS_CERT_FILE / EVALUATOR_TLS_KEY_FILE)', () => {
  it('serves the dashboard, /healthz and /metrics to an HTTPS client that trusts its CA', async () => {
    const secureFetch = tlsFetch({ ca: readFileSync(certs.caFile) });
    for (const path of ['/', '/healthz', '/metrics']) {
      const res = await secureFetch(`https://localhost:${PORT}${path}`);
      expect(res.status, path).toBe(200);
    }
    // the API over TLS, with its bearer token
    const runs = await secureFetch(`https://localhost:${PORT}/api/runs`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(runs.status).toBe(200);
  });

  it('refuses plaintext HTTP and HTTPS clients that do not trust its CA', async () => {
    await expect(fetch(`http://localhost:${PORT}/healthz`).then((r) => r.status)).rejects.toThrow();
    await expect(fetch(`https://localhost:${PORT}/healthz`)).rejects.toThrow();
    await expect(
      tlsFetch({ ca: readFileSync(certs.otherCaFile) })(`https://localhost:${PORT}/healthz`),
    ).rejects.toThrow();
  });
});
