import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BehaviorEvent } from '@personastream/contracts';
import type { Stream } from '@personastream/stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCheckpointStore } from '../src/adapters/checkpoints.js';
import { semantizeEvents } from '../src/core/semantizer.js';
import { generateEvents } from '../src/testing/generator.js';
import { endOfRunRecords, eventRecord, readWindows } from '../src/testing/records.js';
import { allMarkers, deleteKeys, infraEnv, kafka, redis, TopicReader, testNames, windowSet } from './helpers.js';

/**
 * Fault tests on the real stack: the semantizer runs as child processes (the built `dist/main.js`),
 * (a) is SIGKILLed mid-stream and restarted, (b) gets a second instance mid-stream (rebalance). In
 * both, the windows produced — duplicates allowed only when identical — equal an uninterrupted
 * run's (`semantizeEvents`, the same core; the plain integration test shows the service equals it).
 */

const env = infraEnv();
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const main = resolve(root, 'services/semantizer/dist/main.js');
const children: ChildProcess[] = [];

beforeAll(() => {
  for (const pkg of ['contracts', 'runtime', 'stream']) {
    if (!existsSync(resolve(root, `packages/${pkg}/dist/index.js`))) {
      throw new Error(`packages/${pkg} is not built: run "npm run build" first`);
    }
  }
  execFileSync(
    process.execPath,
    [resolve(root, 'node_modules/typescript/bin/tsc'), '-p', 'services/semantizer/tsconfig.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}, 180_000);

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

interface Instance {
  child: ChildProcess;
  port: number;
  stderr: string[];
  exited: Promise<number | null>;
}

async function startInstance(names: ReturnType<typeof testNames>): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, [main], {
    cwd: root,
    env: {
      ...process.env,
      KAFKA_BROKERS: env.KAFKA_BROKERS,
      REDIS_URL: env.REDIS_URL,
      SEMANTIZER_GROUP_ID: names.groupId,
      SEMANTIZER_EVENTS_TOPIC: names.topics.events,
      SEMANTIZER_WINDOWS_TOPIC: names.topics.windows,
      SEMANTIZER_DLQ_TOPIC: names.topics.dlq,
      SEMANTIZER_CHECKPOINT_PREFIX: names.prefix,
      SEMANTIZER_TOKENIZER: 'none',
      OPS_PORT: String(port),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  // Ready when /healthz answers 200 (the consumer has joined its group).
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`semantizer exited early (${child.exitCode}): ${stderr.join('')}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`semantizer not healthy after 60 s: ${stderr.join('')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return { child, port, stderr, exited };
}

async function eventsHandled(i: Instance): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${i.port}/metrics`).then((r) => r.text());
  const m = /^semantizer_events_total(?:\{[^}]*\})? (\d+(?:\.\d+)?)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

async function setup(kind: string) {
  const names = testNames(kind);
  const stream = kafka(`it-faults-${kind}`);
  const admin = stream.admin();
  await admin.ensureTopics([
    { topic: names.topics.events, partitions: 4 },
    { topic: names.topics.windows, partitions: 4 },
    { topic: names.topics.dlq, partitions: 1 },
  ]);
  await admin.close();
  const runId = `run-${names.id}`;
  const events = generateEvents({ users: 24, days: 6, seed: 51, runId });
  const expected = windowSet(semantizeEvents(events, { tokenizer: 'none' }).windows);
  const reader = new TopicReader(stream, names.topics.windows, `${names.groupId}.reader`);
  await reader.start();
  return { names, stream, runId, events, expected, reader };
}

async function produceInChunks(
  stream: Stream,
  topic: string,
  events: BehaviorEvent[],
  chunks: number,
  between?: (i: number) => Promise<void>,
) {
  const producer = stream.producer();
  const size = Math.ceil(events.length / chunks);
  for (let i = 0; i < chunks; i++) {
    await producer.send(topic, events.slice(i * size, (i + 1) * size).map(eventRecord));
    if (between) await between(i);
  }
  await producer.close();
}

async function waitForCheckpoints(names: ReturnType<typeof testNames>): Promise<void> {
  const store = new RedisCheckpointStore(redis(), { prefix: names.prefix });
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      let n = 0;
      for (let p = 0; p < 4; p++)
        if (await store.load({ group: names.groupId, topic: names.topics.events, partition: p })) n++;
      if (n === 4) return;
      if (Date.now() > deadline) throw new Error('no checkpoints after 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await store.close();
  }
}

describe('semantizer fault tolerance (child processes, real Kafka + Redis)', () => {
  const r = redis();
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await deleteKeys(r, p);
    r.disconnect();
  });

  it('SIGKILL mid-stream and restart: the same windows as an uninterrupted run', async () => {
    const { names, stream, runId, events, expected, reader } = await setup('kill');
    prefixes.push(names.prefix);
    const half = Math.floor(events.length / 2);
    await produceInChunks(stream, names.topics.events, events.slice(0, half), 1);
    const first = await startInstance(names);
    await waitForCheckpoints(names);
    // Keep the stream flowing and kill the instance while it works.
    await produceInChunks(stream, names.topics.events, events.slice(half), 8, async (i) => {
      if (i === 2) {
        first.child.kill('SIGKILL');
        await first.exited;
      }
    });
    expect(first.child.signalCode).toBe('SIGKILL');
    await stream.producer().send(names.topics.events, endOfRunRecords(runId, 4));
    const second = await startInstance(names);
    await reader.until(allMarkers(runId, 4), 'end-of-run markers on all partitions after the restart');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    await reader.stop();
    const { windows } = readWindows(reader.records);
    expect(windowSet(windows.map((w) => w.window))).toEqual(expected);
  });

  it('a second instance joining mid-stream (rebalance): the same windows as an uninterrupted run', async () => {
    const { names, stream, runId, events, expected, reader } = await setup('rebalance');
    prefixes.push(names.prefix);
    const third = Math.floor(events.length / 3);
    await produceInChunks(stream, names.topics.events, events.slice(0, third), 1);
    const a = await startInstance(names);
    await waitForCheckpoints(names);
    const b = await startInstance(names);
    await produceInChunks(stream, names.topics.events, events.slice(third), 10, async () => {
      await new Promise((res) => setTimeout(res, 300));
    });
    await stream.producer().send(names.topics.events, endOfRunRecords(runId, 4));
    await reader.until(allMarkers(runId, 4), 'end-of-run markers on all partitions with two instances');
    const [na, nb] = await Promise.all([eventsHandled(a), eventsHandled(b)]);
    expect(na).toBeGreaterThan(0);
    expect(nb).toBeGreaterThan(0); // the second instance took over partitions
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    await reader.stop();
    const { windows } = readWindows(reader.records);
    expect(windowSet(windows.map((w) => w.window))).toEqual(expected);
  });
});
