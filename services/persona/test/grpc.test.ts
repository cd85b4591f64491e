import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { type SemantizedWindow, SemantizedWindowSchema } from '@personastream/contracts';
import { createRegistry, silentLogger } from '@personastream/runtime';
import { MemoryBroker } from '@personastream/stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPersonaClient, type PersonaClient } from '../src/adapters/grpc-client.js';
import { parseTenantTokens, type RunningGrpcServer, startGrpcServer } from '../src/adapters/grpc-server.js';
import { RedisPersonaStore } from '../src/adapters/redis-store.js';
import { createBuiltinBackend } from '../src/core/builtin/backend.js';
import { syntheticUsers } from '../src/core/synthetic.js';
import { loadModel } from '../src/model-file.js';
import { createPersonaService, type PersonaService } from '../src/service.js';
import { healthCheck, listServicesByReflection, requireEnv, uniqueSuffix } from './helpers.js';

// Real Redis (REDIS_URL from `.infra/env`) + a real gRPC server on an ephemeral port + real clients.
// The update stream goes to an in-memory broker here; test/kafka.test.ts covers Kafka.
const redisUrl = requireEnv('REDIS_URL');
const prefix = `ps:test:grpc:${uniqueSuffix()}:`;
const tokens = 'acme:acme-secret-token,globex:globex-secret-token';

let redis: Redis;
let store: RedisPersonaStore;
let service: PersonaService;
let server: RunningGrpcServer;
let acme: PersonaClient;
let globex: PersonaClient;
let anonymous: PersonaClient;

const [alice, bob] = syntheticUsers({ users: 2, seed: 21, tenant: 'acme', windowsPerUser: 10 });
if (!alice || !bob) throw new Error('synthetic users missing');

function grpcCode(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'OK',
    (e: grpc.ServiceError) => `${grpc.status[e.code]}: ${e.details}`,
  );
}

beforeAll(async () => {
  redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  store = new RedisPersonaStore({ client: redis, keyPrefix: prefix });
  const broker = new MemoryBroker(4);
  service = createPersonaService(
    { consume: false, maxWatches: 4, topics: { windows: `w-${prefix}`, updates: `u-${prefix}` } },
    {
      stream: broker,
      store,
      backend: createBuiltinBackend(loadModel()),
      logger: silentLogger(),
      registry: createRegistry('persona-grpc-test', false),
    },
  );
  await service.start();
  server = await startGrpcServer(service.api, { port: 0, tokens: parseTenantTokens(tokens) });
  acme = createPersonaClient(server.address, 'acme-secret-token');
  globex = createPersonaClient(server.address, 'globex-secret-token');
  anonymous = createPersonaClient(server.address, '');
});

afterAll(async () => {
  acme?.close();
  globex?.close();
  anonymous?.close();
  await server?.close(1000);
  await service?.stop();
  if (redis) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  }
  await store?.close();
  await redis?.quit();
});

describe('persona gRPC API on Redis', () => {
  it('applies windows, refuses a duplicate, and reads back through Get and BatchGet', async () => {
    const r = await acme.applyWindows({ windows: alice.windows.slice(0, 5) });
    expect(r.applied).toBe(5);
    expect(r.personas[0]?.version).toBe(5);
    const dup = await acme.applyWindows({ windows: alice.windows.slice(4, 5) });
    expect(dup.applied).toBe(0);
    expect(dup.duplicates).toBe(1);
    const got = await acme.getPersona({ tenant: 'acme', userId: alice.userId });
    expect(got.persona?.version).toBe(5);
    expect(got.persona?.tags.length).toBeGreaterThan(5);
    expect(got.persona?.summary).toMatch(/\./);
    await acme.applyWindows({ windows: bob.windows.slice(0, 2) });
    const batch = await acme.batchGetPersonas({ tenant: 'acme', userIds: [alice.userId, 'nobody', bob.userId] });
    expect(batch.personas.map((p) => [p.userId, p.version])).toEqual([
      [alice.userId, 5],
      [bob.userId, 2],
    ]);
    expect(batch.missingUserIds).toEqual(['nobody']);
  });

  it('maps errors to gRPC status codes', async () => {
    expect(await grpcCode(anonymous.getPersona({ tenant: 'acme', userId: alice.userId }))).toMatch(/^UNAUTHENTICATED/);
    const wrong = createPersonaClient(server.address, 'not-a-token');
    expect(await grpcCode(wrong.listDimensions({}))).toMatch(/^UNAUTHENTICATED/);
    wrong.close();
    expect(await grpcCode(globex.getPersona({ tenant: 'acme', userId: alice.userId }))).toMatch(/^PERMISSION_DENIED/);
    expect(await grpcCode(globex.applyWindows({ windows: alice.windows.slice(5, 6) }))).toMatch(/^PERMISSION_DENIED/);
    expect(await grpcCode(acme.getPersona({ tenant: 'acme', userId: '' }))).toBe(
      'INVALID_ARGUMENT: user_id is required',
    );
    expect(await grpcCode(acme.getPersona({ tenant: 'acme', userId: 'nobody' }))).toMatch(/^NOT_FOUND/);
    const ids = Array.from({ length: 1001 }, (_, i) => `u${i}`);
    expect(await grpcCode(acme.batchGetPersonas({ tenant: 'acme', userIds: ids }))).toMatch(/^RESOURCE_EXHAUSTED/);
    const noUser = create(SemantizedWindowSchema, { ...alice.windows[6]!, userId: '' });
    expect(await grpcCode(acme.applyWindows({ windows: [noUser] }))).toBe(
      'INVALID_ARGUMENT: windows[0].user_id is required',
    );
    // Windows of a user within a run are identified by seq: a request that steps back is refused.
    const unnumbered = alice.windows.slice(7, 9).map((w) => create(SemantizedWindowSchema, { ...w, seq: 0 }));
    expect(await grpcCode(acme.applyWindows({ windows: unnumbered }))).toMatch(
      /^INVALID_ARGUMENT: windows\[1\] \(seq 0, final\) does not come after windows\[0\]/,
    );
    // An already expired deadline is refused, not served late.
    expect(await grpcCode(acme.getPersona({ tenant: 'acme', userId: alice.userId }, { timeoutMs: 0 }))).toMatch(
      /^DEADLINE_EXCEEDED/,
    );
  });

  it('lists the dimensions of the schema', async () => {
    const dims = await acme.listDimensions({ tenant: 'acme' });
    expect(dims.dimensions.map((d) => d.name)).toEqual(
      expect.arrayContaining(['age_band', 'interests', 'life_events']),
    );
    expect(dims.dimensions.find((d) => d.name === 'interests')?.multiValued).toBe(true);
  });

  it('streams updates live to a watcher', async () => {
    const stream = acme.watchPersona({ tenant: 'acme', userId: alice.userId, fromVersion: 5 });
    const seen: number[] = [];
    const done = (async () => {
      for await (const m of stream) {
        seen.push(m.persona?.version ?? -1);
        if (seen.length === 2) stream.cancel();
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    await acme.applyWindows({ windows: alice.windows.slice(5, 6) });
    await acme.applyWindows({ windows: alice.windows.slice(6, 7) });
    await done;
    expect(seen).toEqual([6, 7]);
  });

  it('erases everything on delete and ignores later windows until consent', async () => {
    const keys = store.keys('acme', bob.userId);
    expect(await redis.exists(keys.state)).toBe(1);
    const stream = acme.watchPersona({ tenant: 'acme', userId: bob.userId, fromVersion: 2 });
    const seen: Array<[number, boolean]> = [];
    const done = (async () => {
      for await (const m of stream) {
        seen.push([m.persona?.version ?? -1, m.tombstone]);
        stream.cancel();
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const del = await acme.deletePersona({ tenant: 'acme', userId: bob.userId });
    expect(del.existed).toBe(true);
    await done;
    expect(seen).toEqual([[3, true]]);
    // Everything of the user is gone (persona, statistics, bookkeeping); only the erasure marker is
    // left, under a key that names a digest of the user, not the user (same slot, see redis-store.ts).
    expect(await redis.keys(`${prefix}{acme/${bob.userId}}*`)).toEqual([]);
    expect(keys.erased).not.toContain(bob.userId);
    expect(await redis.exists(keys.erased)).toBe(1);
    expect(await grpcCode(acme.getPersona({ tenant: 'acme', userId: bob.userId }))).toMatch(/^NOT_FOUND/);
    const ignored = await acme.applyWindows({ windows: bob.windows.slice(2, 3) });
    expect(ignored.applied).toBe(0);
    expect(await redis.exists(keys.state)).toBe(0);
    const again = await acme.deletePersona({ tenant: 'acme', userId: bob.userId });
    expect(again.existed).toBe(false);
    // A window carrying a granted consent (a CONSENT event, counted by the semantizer) but from before
    // the erasure — a replay of the old history — is ignored; one after the erasure lifts it.
    const old = { ...(bob.windows[3] as SemantizedWindow), signals: { consent: 1 } };
    expect((await acme.applyWindows({ windows: [old] })).applied).toBe(0);
    const later = { ...old, startMs: Date.now() + 60_000, endMs: Date.now() + 60_001 };
    const consented = await acme.applyWindows({ windows: [later] });
    expect(consented.applied).toBe(1);
    expect((await acme.getPersona({ tenant: 'acme', userId: bob.userId })).persona?.version).toBe(1);
    // the erasure time stays (the old history is still never applied), still under the digest key
    expect(await redis.keys(`${prefix}{acme/${bob.userId}}*`)).toEqual([keys.state]);
  });

  it('reports SERVING on the standard health service and lists the service by reflection', async () => {
    expect(await healthCheck(server.address)).toBe(1);
    expect(await healthCheck(server.address, 'personastream.v1.PersonaService')).toBe(1);
    expect(await listServicesByReflection(server.address)).toContain('personastream.v1.PersonaService');
  });
});
