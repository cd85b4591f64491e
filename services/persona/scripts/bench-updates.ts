// Update-path benchmark (a command, not a test):
//   npx vite-node --config vitest.config.ts services/persona/scripts/bench-updates.ts [windows] [--synthetic]
// Windows come from the simulator + semantizer (default config, seed 1; generated before timing), or
// from the small synthetic generator with --synthetic. Runs the pure core, the service with the
// in-memory store, and — when REDIS_URL is set — the service with the Redis store (own key prefix,
// removed afterwards).
import type { BehaviorEvent, SemantizedWindow } from '@personastream/contracts';
import { semantizeEvents } from '@personastream/semantizer';
import { simulateUsers, simulatorConfig } from '@personastream/simulator';
import { Redis } from 'ioredis';
import { deleteKeysWithPrefix, RedisPersonaStore } from '../src/adapters/redis-store.js';
import { benchmarkUpdates } from '../src/bench.js';

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
const show = (r: Awaited<ReturnType<typeof benchmarkUpdates>>) =>
  console.log(
    `${r.mode.padEnd(7)} ${(r.store ?? '-').padEnd(18)} ${r.windows} windows / ${r.users} users: ` +
      `${Math.round(r.windowsPerSecond)} windows/s, ${r.msPerUpdate.toFixed(4)} ms/update wall, ` +
      `${r.cpuMsPerUpdate.toFixed(4)} ms/update CPU` +
      (r.p50Ms !== undefined ? ` (p50 ${r.p50Ms.toFixed(4)} ms, p99 ${r.p99Ms?.toFixed(4)} ms)` : ''),
  );

show(await benchmarkUpdates(n, { mode: 'core', ...opts }));
show(await benchmarkUpdates(n, { mode: 'service', ...opts }));
if (process.env.REDIS_URL) {
  const prefix = `ps:bench:${process.pid}:`;
  const redis = new Redis(process.env.REDIS_URL, { enableAutoPipelining: true });
  const store = new RedisPersonaStore({ client: redis, keyPrefix: prefix });
  show(await benchmarkUpdates(n, { mode: 'service', store, ...opts }));
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
}
