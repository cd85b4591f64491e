// Update-path benchmark (a command, not a test):
//   npx vite-node --config vitest.config.ts services/persona/scripts/bench-updates.ts [windows] [--synthetic] [--only kafka]
// Windows come from the simulator + semantizer (default config, seed 1; generated before timing), or
// from the small synthetic generator with --synthetic. Runs the pure core, the service with the
// in-memory store (batches handed to its handler), and — when REDIS_URL is set — the same with the
// Redis store (own key prefix, removed afterwards), and — when KAFKA_BROKERS is set too — the whole
// path through Kafka: windows pre-loaded into a private topic, the service consuming it with the
// Redis store and producing to a private updates topic until every end-of-run marker is forwarded.
// `--only kafka` (or core, service, redis) runs one of them.
import type { BehaviorEvent, SemantizedWindow } from '@personastream/contracts';
import { deleteKeysWithPrefix, silentLogger } from '@personastream/runtime';
import { semantizeEvents } from '@personastream/semantizer';
import { simulateUsers, simulatorConfig } from '@personastream/simulator';
import { createKafkaStream } from '@personastream/stream';
import { Redis } from 'ioredis';
import { RedisPersonaStore } from '../src/adapters/redis-store.js';
import { benchmarkKafka, benchmarkUpdates, type UpdateBenchmark } from '../src/bench.js';

const n = Number(process.argv[2] ?? 20_000);
let windows: SemantizedWindow[] | undefined;
if (!process.argv.includes('--synthetic')) {
  const events: BehaviorEvent[] = [];
  // ~45 windows per simulated user.
  for (const u of simulateUsers(simulatorConfig({ users: Math.ceil(n / 40), seed: 1 }))) {
    for (const r of u.records) if (r.kind === 'event') events.push(r.event);
  }
  windows = semantizeEvents(events).windows.slice(0, n);
  console.log(`${windows.length} windows from the simulator + semantizer`);
}
const opts = windows ? { windows } : {};
const show = (r: UpdateBenchmark) =>
  console.log(
    `${r.mode.padEnd(7)} ${(r.store ?? '-').padEnd(18)} ${r.windows} windows / ${r.users} users: ` +
      `${Math.round(r.windowsPerSecond)} windows/s, ${r.msPerUpdate.toFixed(4)} ms/update wall, ` +
      `${r.cpuMsPerUpdate.toFixed(4)} ms/update CPU` +
      (r.p50Ms !== undefined ? ` (p50 ${r.p50Ms.toFixed(4)} ms, p99 ${r.p99Ms?.toFixed(4)} ms)` : ''),
  );

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const wanted = (what: string) => only === undefined || only === what;
if (wanted('core')) show(await benchmarkUpdates(n, { mode: 'core', ...opts }));
if (wanted('service')) show(await benchmarkUpdates(n, { mode: 'service', ...opts }));
if (process.env.REDIS_URL && (wanted('redis') || wanted('kafka'))) {
  const prefix = `ps:bench:${process.pid}:`;
  const redis = new Redis(process.env.REDIS_URL, { enableAutoPipelining: false });
  const store = new RedisPersonaStore({ client: redis, keyPrefix: prefix });
  if (wanted('redis')) show(await benchmarkUpdates(n, { mode: 'service', store, ...opts }));
  if (process.env.KAFKA_BROKERS && wanted('kafka')) {
    await deleteKeysWithPrefix(redis, prefix);
    const stream = createKafkaStream(
      { brokers: process.env.KAFKA_BROKERS.split(','), clientId: `persona-bench-${process.pid}` },
      { logger: silentLogger() },
    );
    show(await benchmarkKafka(n, { stream, store, ...opts }));
  }
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
}
