import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { ErrorCode, type Persona, PersonaSchema, PersonaStreamError } from '@personastream/contracts';
import { Redis } from 'ioredis';
import { defineLazy } from '../core/lazy.js';
import type { PersonaState } from '../core/state.js';
import type { FeatureStats } from '../core/stats.js';
import {
  type ApplyAtomicallyOptions,
  type ApplyOutcome,
  type DeleteOutcome,
  MAX_CAS_RETRIES,
  type Mutate,
  type PendingRef,
  type PersonaChange,
  type PersonaStore,
} from './store.js';

export interface RedisStoreOptions {
  /** Redis URL, e.g. redis://127.0.0.1:6379 (or pass `client`). */
  url?: string;
  client?: Redis;
  /** Prefix of every key and channel (tests use their own). Default "ps:persona:". */
  keyPrefix?: string;
}

/**
 * Write of one window: applied only when the user is not erased (or the window carries consent),
 * the window id is new, and the stored version is the one the new state was computed from.
 * KEYS: state hash, applied set, erased marker. ARGV: window id, expected version, new version,
 * persona bytes, stats JSON, consent flag, channel, message, pending output (may be empty).
 */
const APPLY_LUA = `
if redis.call('EXISTS', KEYS[3]) == 1 and ARGV[6] ~= '1' then return 'erased' end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 'duplicate' end
local cur = redis.call('HGET', KEYS[1], 'v')
if not cur then cur = '0' end
if cur ~= ARGV[2] then return 'conflict' end
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'persona', ARGV[4], 'stats', ARGV[5])
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'p:' .. ARGV[1], ARGV[9]) end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[7], ARGV[8])
return 'ok'
`;

/**
 * Erasure: deletes state and applied ids, sets the erasure marker, publishes a tombstone.
 * KEYS: state hash, applied set, erased marker. ARGV: now ms, channel. Returns {existed, version}.
 */
const DELETE_LUA = `
local cur = redis.call('HGET', KEYS[1], 'v')
local existed = 0
local version = 1
if cur then
  existed = 1
  version = tonumber(cur) + 1
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SET', KEYS[3], ARGV[1])
if existed == 1 then redis.call('PUBLISH', ARGV[2], 'T' .. version) end
return {existed, version}
`;

function lazyState(tenant: string, userId: string, version: number, bytes: Buffer, stats: FeatureStats): PersonaState {
  const state = { tenant, userId, stats, applied: [] as string[], baseVersion: version } as PersonaState;
  return defineLazy(state, 'persona', () => fromBinary(PersonaSchema, bytes));
}

interface ScriptCommands {
  psApply(
    k1: string,
    k2: string,
    k3: string,
    windowId: string,
    expected: string,
    next: string,
    persona: Buffer,
    stats: string,
    consent: string,
    channel: string,
    message: Buffer,
    pending: Buffer,
  ): Promise<string>;
  psDelete(k1: string, k2: string, k3: string, now: string, channel: string): Promise<[number, number]>;
}

/**
 * `PersonaStore` on Redis. Per user (hash-tagged so all keys of a user share a cluster slot):
 * `<prefix>{tenant/user}:s` hash {v, persona (protobuf), stats (JSON), p:<window id> (encoded update
 * not yet acknowledged as published)}, `…:a` set of applied window
 * ids, `…:x` erasure marker; changes are published on channel `<prefix>{tenant/user}:w`.
 */
export class RedisPersonaStore implements PersonaStore {
  readonly redis: Redis;
  private readonly prefix: string;
  private readonly ownsClient: boolean;
  private subscriber: Redis | undefined;
  private readonly listeners = new Map<string, Set<(c: PersonaChange) => void>>();
  private readonly channelUser = new Map<string, { tenant: string; userId: string }>();

  constructor(opts: RedisStoreOptions) {
    if (!opts.client && !opts.url) throw new Error('RedisPersonaStore needs a url or a client');
    this.redis = opts.client ?? new Redis(opts.url as string, { maxRetriesPerRequest: 3, enableAutoPipelining: true });
    this.ownsClient = !opts.client;
    this.prefix = opts.keyPrefix ?? 'ps:persona:';
    this.redis.defineCommand('psApply', { numberOfKeys: 3, lua: APPLY_LUA });
    this.redis.defineCommand('psDelete', { numberOfKeys: 3, lua: DELETE_LUA });
  }

  /** The keys of one user (tests check that erasure removes them). */
  keys(tenant: string, userId: string): { state: string; applied: string; erased: string; channel: string } {
    const base = `${this.prefix}{${tenant}/${userId}}`;
    return { state: `${base}:s`, applied: `${base}:a`, erased: `${base}:x`, channel: `${base}:w` };
  }

  private get scripts(): ScriptCommands {
    return this.redis as unknown as ScriptCommands;
  }

  async get(tenant: string, userId: string): Promise<Persona | undefined> {
    const bytes = await this.getBytes(tenant, userId);
    return bytes ? fromBinary(PersonaSchema, bytes) : undefined;
  }

  async getBytes(tenant: string, userId: string): Promise<Uint8Array | undefined> {
    const buf = await this.redis.hgetBuffer(this.keys(tenant, userId).state, 'persona');
    return buf ?? undefined;
  }

  async batchGetBytes(tenant: string, userIds: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    if (userIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const u of userIds) pipeline.hgetBuffer(this.keys(tenant, u).state, 'persona');
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, buf]) => {
      if (err) throw err;
      return (buf as Buffer | null) ?? undefined;
    });
  }

  async getState(tenant: string, userId: string): Promise<PersonaState | undefined> {
    const [persona, stats] = await this.redis.hmgetBuffer(this.keys(tenant, userId).state, 'persona', 'stats');
    if (!persona || !stats) return undefined;
    return {
      tenant,
      userId,
      persona: fromBinary(PersonaSchema, persona),
      stats: JSON.parse(stats.toString('utf8')) as FeatureStats,
      applied: [],
    };
  }

  async batchGet(tenant: string, userIds: readonly string[]): Promise<Array<Persona | undefined>> {
    const all = await this.batchGetBytes(tenant, userIds);
    return all.map((bytes) => (bytes ? fromBinary(PersonaSchema, bytes) : undefined));
  }

  async applyAtomically<T>(
    tenant: string,
    userId: string,
    windowId: string,
    mutate: Mutate<T>,
    opts: ApplyAtomicallyOptions = {},
  ): Promise<ApplyOutcome<T>> {
    const k = this.keys(tenant, userId);
    for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
      // One round trip: erased?, applied?, current state.
      const res = await this.redis
        .pipeline()
        .exists(k.erased)
        .sismember(k.applied, windowId)
        .hmgetBuffer(k.state, 'v', 'persona', 'stats', `p:${windowId}`)
        .exec();
      if (!res) throw new PersonaStreamError(ErrorCode.Unavailable, 'redis pipeline returned nothing');
      for (const [err] of res) if (err) throw err;
      const erased = res[0]?.[1] === 1;
      if (erased && !opts.consent) return { status: 'erased' };
      const [v, personaBuf, statsBuf, pending] = res[2]?.[1] as Array<Buffer | null>;
      if (res[1]?.[1] === 1) {
        return pending && pending.length > 0
          ? { status: 'duplicate', pending: new Uint8Array(pending) }
          : { status: 'duplicate' };
      }
      const expected = v ? v.toString('utf8') : '0';
      // The persona is decoded only if someone reads it (the builtin backend needs the version only).
      const current: PersonaState | undefined =
        personaBuf && statsBuf
          ? lazyState(
              tenant,
              userId,
              Number(expected),
              personaBuf,
              JSON.parse(statsBuf.toString('utf8')) as FeatureStats,
            )
          : undefined;
      const r = await mutate(current);
      if (!r) return { status: 'duplicate' };
      const personaBytes = Buffer.from(r.personaBytes ?? toBinary(PersonaSchema, r.state.persona));
      const outcome = await this.scripts.psApply(
        k.state,
        k.applied,
        k.erased,
        windowId,
        expected,
        String(r.state.persona.version),
        personaBytes,
        JSON.stringify(r.state.stats),
        opts.consent ? '1' : '0',
        k.channel,
        Buffer.concat([Buffer.from('P'), personaBytes]),
        r.pending ? Buffer.from(r.pending) : Buffer.alloc(0),
      );
      if (outcome === 'ok') return { status: 'applied', state: r.state, result: r.result };
      if (outcome === 'duplicate') return { status: 'duplicate' };
      if (outcome === 'erased') return { status: 'erased' };
      // conflict: someone wrote in between; read again.
    }
    throw new PersonaStreamError(ErrorCode.Unavailable, `too much contention updating ${tenant}/${userId}`);
  }

  async ackPending(refs: readonly PendingRef[]): Promise<void> {
    if (refs.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const r of refs) pipeline.hdel(this.keys(r.tenant, r.userId).state, `p:${r.windowId}`);
    await pipeline.exec();
  }

  async delete(tenant: string, userId: string): Promise<DeleteOutcome> {
    const k = this.keys(tenant, userId);
    const [existed, version] = await this.scripts.psDelete(k.state, k.applied, k.erased, String(Date.now()), k.channel);
    return { existed: existed === 1, version };
  }

  async restore(tenant: string, userId: string): Promise<boolean> {
    return (await this.redis.del(this.keys(tenant, userId).erased)) === 1;
  }

  async isErased(tenant: string, userId: string): Promise<boolean> {
    return (await this.redis.exists(this.keys(tenant, userId).erased)) === 1;
  }

  async subscribe(tenant: string, userId: string, cb: (change: PersonaChange) => void): Promise<() => Promise<void>> {
    const sub = this.ensureSubscriber();
    const channel = this.keys(tenant, userId).channel;
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      this.channelUser.set(channel, { tenant, userId });
      await sub.subscribe(channel);
    }
    set.add(cb);
    return async () => {
      const s = this.listeners.get(channel);
      if (!s) return;
      s.delete(cb);
      if (s.size === 0) {
        this.listeners.delete(channel);
        this.channelUser.delete(channel);
        await sub.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  private ensureSubscriber(): Redis {
    if (this.subscriber) return this.subscriber;
    const sub = this.redis.duplicate({ enableAutoPipelining: false });
    sub.on('messageBuffer', (channelBuf: Buffer, message: Buffer) => {
      const channel = channelBuf.toString('utf8');
      const who = this.channelUser.get(channel);
      const set = this.listeners.get(channel);
      if (!who || !set) return;
      let change: PersonaChange;
      if (message[0] === 0x54 /* T */) {
        change = { ...who, tombstone: true, version: Number(message.subarray(1).toString('utf8')) };
      } else {
        const persona = fromBinary(PersonaSchema, message.subarray(1));
        change = { ...who, persona, tombstone: false, version: persona.version };
      }
      for (const cb of [...set]) cb(change);
    });
    sub.on('error', () => undefined);
    this.subscriber = sub;
    return sub;
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.listeners.clear();
    if (this.subscriber) await this.subscriber.quit().catch(() => undefined);
    if (this.ownsClient) await this.redis.quit().catch(() => undefined);
  }
}

/** Deletes every key that starts with `prefix` (SCAN, never KEYS: safe on a shared Redis). */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
