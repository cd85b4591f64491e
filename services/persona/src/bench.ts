import { create, toBinary } from '@bufbuild/protobuf';
import {
  endOfRun,
  partitionForKey,
  type SemantizedWindow,
  SemantizedWindowSchema,
  userKey,
  WindowRecordSchema,
} from '@personastream/contracts';
import { createRegistry, silentLogger } from '@personastream/runtime';
import { type InRecord, MemoryBroker, type OutRecord, type Stream } from '@personastream/stream';
import { MemoryPersonaStore } from './adapters/memory-store.js';
import type { PersonaStore } from './adapters/store.js';
import type { SyncModelBackend } from './core/backend.js';
import { createBuiltinBackend } from './core/builtin/backend.js';
import { applyWindow, type PersonaState } from './core/state.js';
import { syntheticUsers } from './core/synthetic.js';
import { loadModel } from './model-file.js';
import { createPersonaService } from './service.js';

export interface UpdateBenchmark {
  mode: 'core' | 'service' | 'kafka';
  windows: number;
  users: number;
  seconds: number;
  windowsPerSecond: number;
  /** Mean wall time per update, ms. */
  msPerUpdate: number;
  /** Mean CPU time (user + system) of this process per update, ms: less sensitive to a busy machine. */
  cpuMsPerUpdate: number;
  /** Percentiles of single updates (core mode only), ms. */
  p50Ms?: number;
  p99Ms?: number;
  backend: string;
  store?: string;
}

/** The figures of one timed run: `windows` updates in `seconds` wall and `cpu` of this process. */
function timedResult(
  mode: UpdateBenchmark['mode'],
  windows: number,
  users: number,
  seconds: number,
  cpu: NodeJS.CpuUsage,
  backend: string,
): UpdateBenchmark {
  return {
    mode,
    windows,
    users,
    seconds,
    windowsPerSecond: windows / seconds,
    msPerUpdate: (seconds * 1000) / windows,
    cpuMsPerUpdate: (cpu.user + cpu.system) / 1000 / windows,
    backend,
  };
}

export interface BenchmarkOptions {
  /** "core": pure `applyWindow` in a loop; "service": batches through the service (store + stream). */
  mode?: 'core' | 'service';
  backend?: SyncModelBackend;
  /** Windows to replay (default: synthetic, 30 per user). */
  windows?: readonly SemantizedWindow[];
  /** Service mode: the store (default memory) and stream (default in-memory broker). */
  store?: PersonaStore;
  stream?: Stream;
  /** Service mode: records per batch (default 500, as a Kafka batch). */
  batchSize?: number;
}

function windowsFor(n: number): SemantizedWindow[] {
  const per = 30;
  const users = syntheticUsers({ users: Math.ceil(n / per), seed: 42, tenant: 'bench', windowsPerUser: per });
  // Interleave users like a real stream (each user's windows stay in order).
  const out: SemantizedWindow[] = [];
  for (let i = 0; i < per && out.length < n; i++) {
    for (const u of users) {
      const w = u.windows[i];
      if (w && out.length < n) out.push(w);
    }
  }
  return out;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/**
 * Measures the update path with the builtin backend: `n` windows applied (core: pure
 * statistics + model + summary per window; service: plus the atomic store write and the produce).
 * A benchmark command, not a timed test: `npx vite-node --config vitest.config.ts services/persona/scripts/bench-updates.ts`.
 */
export async function benchmarkUpdates(n = 20_000, opts: BenchmarkOptions = {}): Promise<UpdateBenchmark> {
  const backend = opts.backend ?? createBuiltinBackend(loadModel());
  const windows = opts.windows ? opts.windows.slice(0, n) : windowsFor(n);
  const users = new Set(windows.map((w) => userKey(w.tenant, w.userId))).size;
  const mode = opts.mode ?? 'core';
  if (mode === 'core') {
    const states = new Map<string, PersonaState>();
    const times = new Float64Array(windows.length);
    // Warm-up (JIT) on a copy of the first windows.
    for (const w of windows.slice(0, Math.min(500, windows.length))) applyWindow(undefined, w, backend, { nowMs: 0 });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    windows.forEach((w, i) => {
      const key = userKey(w.tenant, w.userId);
      const s = performance.now();
      const r = applyWindow(states.get(key), w, backend, { nowMs: 0 });
      states.set(key, r.state);
      times[i] = performance.now() - s;
    });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    const sorted = Array.from(times).sort((a, b) => a - b);
    return {
      ...timedResult(mode, windows.length, users, seconds, cpu, backend.name),
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
    };
  }
  const store = opts.store ?? new MemoryPersonaStore();
  const stream = opts.stream ?? new MemoryBroker(4);
  const topic = `bench.windows.${Date.now()}`;
  const service = createPersonaService(
    { consume: false, topics: { windows: topic, updates: `bench.updates.${Date.now()}` } },
    { stream, store, backend, logger: silentLogger(), registry: createRegistry('persona-bench', false) },
  );
  await service.start();
  // Partition the windows like Kafka would, then hand batches to the handler, partitions concurrently.
  const parts: InRecord[][] = [[], [], [], []];
  windows.forEach((w, i) => {
    const key = userKey(w.tenant, w.userId);
    const p = partitionForKey(key, 4);
    (parts[p] as InRecord[]).push({
      topic,
      partition: p,
      offset: String(i),
      key,
      value: toBinary(WindowRecordSchema, create(WindowRecordSchema, { kind: { case: 'window', value: w } })),
      headers: {},
      timestamp: 0,
    });
  });
  const batchSize = opts.batchSize ?? 500;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    parts.map(async (records, partition) => {
      for (let i = 0; i < records.length; i += batchSize) {
        await service.handleBatch({ topic, partition, records: records.slice(i, i + batchSize) });
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  await service.stop();
  return { ...timedResult(mode, windows.length, users, seconds, cpu, backend.name), store: store.constructor.name };
}

export interface KafkaBenchmarkOptions {
  /** A stream on a real broker (the topics are created, and deleted afterwards, by the benchmark). */
  stream: Stream;
  store: PersonaStore;
  backend?: SyncModelBackend;
  windows?: readonly SemantizedWindow[];
  /** Partitions of the private windows and updates topics. Default 4. */
  partitions?: number;
}

/**
 * The update path end to end through a broker: `n` windows (plus an end-of-run marker per partition)
 * are pre-loaded into a private windows topic, then the service consumes them (its own consumer
 * group; store writes, updates produced to a private updates topic, offsets committed) until every
 * partition's forwarded marker is on the updates topic. Time and CPU are from the service's start
 * to the last marker (they include the consumer's group join).
 */
export async function benchmarkKafka(n: number, opts: KafkaBenchmarkOptions): Promise<UpdateBenchmark> {
  const backend = opts.backend ?? createBuiltinBackend(loadModel());
  const runId = `bench-${process.pid}-${Date.now()}`;
  const windows = (opts.windows ? opts.windows.slice(0, n) : windowsFor(n)).map((w) =>
    create(SemantizedWindowSchema, { ...w, runId }),
  );
  const users = new Set(windows.map((w) => userKey(w.tenant, w.userId))).size;
  const partitions = opts.partitions ?? 4;
  const topics = { windows: `bench.persona.windows.${runId}`, updates: `bench.persona.updates.${runId}` };
  const admin = opts.stream.admin();
  await admin.ensureTopics([
    { topic: topics.windows, partitions },
    { topic: topics.updates, partitions },
  ]);
  const producer = opts.stream.producer();
  const records: OutRecord[] = windows.map((w) => ({
    key: userKey(w.tenant, w.userId),
    value: toBinary(WindowRecordSchema, create(WindowRecordSchema, { kind: { case: 'window', value: w } })),
  }));
  // Runs are (tenant, run id): the markers end the windows' tenant's run.
  const tenant = windows[0]?.tenant ?? 'bench';
  for (let p = 0; p < partitions; p++) {
    const marker = endOfRun({ runId, partition: p, totalPartitions: partitions, producer: 'bench', tenant });
    records.push({
      key: `eor/${runId}`,
      partition: p,
      value: toBinary(WindowRecordSchema, create(WindowRecordSchema, { kind: { case: 'endOfRun', value: marker } })),
    });
  }
  await producer.send(topics.windows, records);
  await producer.close();

  let updates = 0;
  const markers = new Set<number>();
  let allMarkers: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allMarkers = resolve;
  });
  const reader = opts.stream.consumer({ groupId: `${runId}-reader`, topics: [topics.updates] });
  await reader.start(async (batch) => {
    // Counted by key, not decoded: the reader shares the service's process and CPU.
    for (const r of batch.records) {
      if (r.key.startsWith('eor/')) markers.add(r.partition);
      else updates++;
    }
    if (markers.size === partitions) allMarkers();
  });
  const service = createPersonaService(
    { topics, groupId: `${runId}-persona` },
    {
      stream: opts.stream,
      store: opts.store,
      backend,
      logger: silentLogger(),
      registry: createRegistry('persona-bench', false),
    },
  );
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await service.start();
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  await service.stop();
  await reader.stop();
  await admin.deleteTopics([topics.windows, topics.updates]);
  await admin.close();
  if (updates < windows.length) throw new Error(`benchmarkKafka: ${updates} updates for ${windows.length} windows`);
  return {
    ...timedResult('kafka', windows.length, users, seconds, cpu, backend.name),
    store: opts.store.constructor.name,
  };
}
