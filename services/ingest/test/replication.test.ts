import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';
import { afterAll, describe, expect, it } from 'vitest';
import { requireEnv, uniqueSuffix } from './helpers.js';

/**
 * The built ingest service (dist/main.js) against the real local Kafka, a single broker: configured
 * for production (KAFKA_REPLICATION_FACTOR=3, KAFKA_MIN_INSYNC_REPLICAS=2, as the prod overlay sets
 * them) it stops at start — it neither creates its topics with fewer replicas nor runs against topics
 * that have one — with an error naming the topic; with the dev settings it starts and says which.
 */
const brokers = requireEnv('KAFKA_BROKERS');
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const main = resolve(root, 'services/ingest/dist/main.js');
const suffix = uniqueSuffix();
const topics = { events: `tls-rf-ingest-events-${suffix}`, dlq: `tls-rf-ingest-dlq-${suffix}` };
const admin = createKafkaStream(
  { brokers: brokers.split(','), clientId: 'tls-rf-test' },
  { logger: silentLogger() },
).admin();
const PROD = { KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' };

afterAll(async () => {
  await admin.deleteTopics(Object.values(topics));
  await admin.close();
});

/** Runs ingest until it exits or its ops port answers; its exit code (null: it started) and output. */
async function runIngest(extra: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [main], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      KAFKA_BROKERS: brokers,
      INGEST_API_KEYS: `tls-a:tls-key-${suffix}`,
      INGEST_HTTP_PORT: '28531',
      OPS_PORT: '28532',
      INGEST_EVENTS_TOPIC: topics.events,
      INGEST_DLQ_TOPIC: topics.dlq,
      LOG_LEVEL: 'info',
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) return { code: await exited, out };
    if (
      await fetch('http://127.0.0.1:28532/healthz').then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`ingest neither started nor exited:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGTERM');
  await exited;
  return { code: null, out };
}

describe('ingest topics on a single-broker Kafka', () => {
  it('configured for production, refuses to create its topics with fewer brokers than replicas', async () => {
    const { code, out } = await runIngest(PROD);
    expect(code, out).not.toBe(null);
    expect(code).not.toBe(0);
    expect(out).toMatch(
      new RegExp(
        `cannot create Kafka topics? ${topics.events}.* with replication factor 3 \\(KAFKA_REPLICATION_FACTOR\\): the cluster has 1 broker`,
      ),
    );
  });

  it('with the dev settings, creates them (replication factor 1) and says so at start', async () => {
    const { code, out } = await runIngest({ KAFKA_REPLICATION_FACTOR: '1' });
    expect(code, out).toBe(null);
    expect(out).toMatch(/"kafkaTopics":\{"replicationFactor":1,"minInsyncReplicas":"broker default"\}/);
  });

  it('configured for production, refuses to run against the topics with one replica', async () => {
    const { code, out } = await runIngest(PROD);
    expect(code, out).not.toBe(null);
    expect(code).not.toBe(0);
    expect(out).toMatch(
      new RegExp(
        `Kafka topic (${topics.events}|${topics.dlq}) has replication factor 1 \\(partition \\d+\\), below the 3 this service requires`,
      ),
    );
  });
});
