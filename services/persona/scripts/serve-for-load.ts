// A persona gRPC server for load tests: Redis store (REDIS_URL, own key prefix), N seeded personas,
// ephemeral port on 127.0.0.1. Prints "READY <port> <prefix>" when serving; removes its keys on SIGTERM.
//   npx vite-node --config vitest.config.ts services/persona/scripts/serve-for-load.ts [users]
import { createRegistry, silentLogger } from '@personastream/runtime';
import { MemoryBroker } from '@personastream/stream';
import { Redis } from 'ioredis';
import { parseTenantTokens, startGrpcServer } from '../src/adapters/grpc-server.js';
import { deleteKeysWithPrefix, RedisPersonaStore } from '../src/adapters/redis-store.js';
import { createBuiltinBackend } from '../src/core/builtin/backend.js';
import { syntheticUsers } from '../src/core/synthetic.js';
import { loadModel } from '../src/model-file.js';
import { createPersonaService } from '../src/service.js';

const url = process.env.REDIS_URL;
if (!url) throw new Error('REDIS_URL is not set (source .infra/env)');
const users = Number(process.argv[2] ?? 1000);
const prefix = `ps:load:${process.pid}:`;
const redis = new Redis(url, { enableAutoPipelining: true });
const store = new RedisPersonaStore({ client: redis, keyPrefix: prefix });
const service = createPersonaService(
  { consume: false },
  {
    stream: new MemoryBroker(4),
    store,
    backend: createBuiltinBackend(loadModel()),
    logger: silentLogger(),
    registry: createRegistry('persona-load', false),
  },
);
await service.start();
const seeded = syntheticUsers({ users, seed: 5, tenant: 'load', windowsPerUser: 20 });
for (let i = 0; i < seeded.length; i += 50) {
  await service.api.applyWindows({ tenant: 'load' }, { windows: seeded.slice(i, i + 50).flatMap((u) => u.windows) });
}
const server = await startGrpcServer(service.api, { port: 0, tokens: parseTenantTokens('load:load-token') });
process.stdout.write(`READY ${server.port} ${prefix}\n`);

async function cleanup() {
  await server.close(1000);
  await service.stop();
  await deleteKeysWithPrefix(redis, prefix);
  await store.close();
  await redis.quit();
  process.exit(0);
}
process.on('SIGTERM', () => void cleanup());
process.on('SIGINT', () => void cleanup());
