// A persona gRPC server for load tests (the `get-persona` and `get-persona-node` load tests start it):
// Redis store (REDIS_URL, own key prefix), N seeded personas, ephemeral port on 127.0.0.1. Prints
// "READY <port> <prefix> <pid>" when serving; removes its keys on SIGTERM.
// With --requests DIR it also writes the GetPersona requests of the seeded users for ghz:
// DIR/get-requests.json (`-D`) and DIR/get-requests.bin (`-B`: count-prefixed binary messages, which
// ghz sends without converting JSON per request).
// With --floor it serves, instead of the service, a bare grpc-js server whose GetPersona answers every
// request with one seeded persona's response bytes (no auth, no Redis, no decoding): the same ghz
// command then measures what grpc-js and the load client alone cost on this machine — the floor
// under the service's own figures.
//   node load-tests/dist/get-persona-server.js [users] [--requests DIR] [--floor]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import * as grpc from '@grpc/grpc-js';
import { GetPersonaRequestSchema, PersonaService } from '@personastream/contracts';
import {
  createBuiltinBackend,
  createPersonaService,
  loadModel,
  parseTenantTokens,
  RedisPersonaStore,
  startGrpcServer,
  syntheticUsers,
} from '@personastream/persona';
import { createRegistry, deleteKeysWithPrefix, silentLogger } from '@personastream/runtime';
import { MemoryBroker } from '@personastream/stream';
import { Redis } from 'ioredis';

const url = process.env.REDIS_URL;
if (!url) throw new Error('REDIS_URL is not set (source .infra/env)');
const users = Number(process.argv[2] ?? 1000);
const requestsDir = process.argv.includes('--requests')
  ? process.argv[process.argv.indexOf('--requests') + 1]
  : undefined;
const prefix = `ps:load:${process.pid}:`;
// As the service's own client (RedisPersonaStore): no auto-pipelining.
const redis = new Redis(url, { enableAutoPipelining: false });
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
if (requestsDir) {
  const reqs = seeded.map((u) => create(GetPersonaRequestSchema, { tenant: 'load', userId: u.userId }));
  writeFileSync(
    join(requestsDir, 'get-requests.json'),
    JSON.stringify(reqs.map((r) => ({ tenant: r.tenant, user_id: r.userId }))),
  );
  const framed = new BinaryWriter();
  for (const r of reqs) framed.bytes(toBinary(GetPersonaRequestSchema, r));
  writeFileSync(join(requestsDir, 'get-requests.bin'), framed.finish());
}
const tokens = parseTenantTokens('load:load-token');
const server = process.argv.includes('--floor')
  ? await startFloorServer(await seededResponse(seeded[0]?.userId ?? ''))
  : await startGrpcServer(service.api, { port: 0, tokens });
process.stdout.write(`READY ${server.port} ${prefix} ${process.pid}\n`);

/**
 * The bytes the service answers GetPersona with for one seeded user, exactly as its gRPC server sends
 * them: one call to the real server (on a port of its own, closed afterwards), response not decoded.
 */
async function seededResponse(userId: string): Promise<Uint8Array> {
  const real = await startGrpcServer(service.api, { port: 0, tokens });
  const client = new grpc.Client(`127.0.0.1:${real.port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set('authorization', 'Bearer load-token');
  const request = Buffer.from(
    toBinary(GetPersonaRequestSchema, create(GetPersonaRequestSchema, { tenant: 'load', userId })),
  );
  try {
    const bytes = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        `/${PersonaService.typeName}/GetPersona`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        request,
        md,
        (err, res) => (err || !res ? reject(err ?? new Error('no response')) : resolve(res)),
      ),
    );
    if (bytes.length < 16) throw new Error(`seeded user ${userId} has no persona (${bytes.length} bytes)`);
    return bytes;
  } finally {
    client.close();
    await real.close(1000);
  }
}

/** A grpc-js server that answers GetPersona with fixed response bytes (the framework's own cost). */
async function startFloorServer(response: Uint8Array): Promise<{ port: number; close(ms: number): Promise<void> }> {
  const bytes = Buffer.from(response);
  const floor = new grpc.Server();
  const raw = (b: Buffer) => b;
  floor.addService(
    {
      getPersona: {
        path: `/${PersonaService.typeName}/GetPersona`,
        requestStream: false,
        responseStream: false,
        requestSerialize: raw,
        requestDeserialize: raw,
        responseSerialize: raw,
        responseDeserialize: raw,
      },
    },
    { getPersona: (_call: unknown, done: grpc.sendUnaryData<Buffer>) => done(null, bytes) },
  );
  const port = await new Promise<number>((resolve, reject) =>
    floor.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { port, close: async () => void floor.forceShutdown() };
}

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
