import { create, toBinary } from '@bufbuild/protobuf';
import { partitionForKey, type SemantizedWindow, userKey, WindowRecordSchema } from '@personastream/contracts';
import { createRegistry, silentLogger } from '@personastream/runtime';
import { type InRecord, MemoryBroker, type Stream } from '@personastream/stream';
import { MemoryPersonaStore } from './adapters/memory-store.js';
import type { PersonaStore } from './adapters/store.js';
import type { SyncModelBackend } from './core/backend.js';
import { createBuiltinBackend } from './core/builtin/backend.js';
import { applyWindow, type PersonaState } from './core/state.js';
import { syntheticUsers } from './core/synthetic.js';
import { loadModel } from './model-file.js';
import { createPersonaService } from './service.js';

export interface UpdateBenchmark {
  mode: 'core' | 'service';
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
      mode,
      windows: windows.length,
      users,
      seconds,
      windowsPerSecond: windows.length / seconds,
      msPerUpdate: (seconds * 1000) / windows.length,
      cpuMsPerUpdate: (cpu.user + cpu.system) / 1000 / windows.length,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      backend: backend.name,
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
  return {
    mode,
    windows: windows.length,
    users,
    seconds,
    windowsPerSecond: windows.length / seconds,
    msPerUpdate: (seconds * 1000) / windows.length,
    cpuMsPerUpdate: (cpu.user + cpu.system) / 1000 / windows.length,
    backend: backend.name,
    store: store.constructor.name,
  };
}
