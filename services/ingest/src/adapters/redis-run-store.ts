import { Redis } from 'ioredis';
import type { RunStore } from './run-coordinator.js';

// The steps of core/run-ledger.ts on one Redis hash per run, each a Lua script (atomic for the run).
// Fields: `ended` (ms, Redis clock), `n:<replica>` sends in flight, `l:<replica>` lease end (ms),
// `c:<partition>` acknowledged records. Times come from the server's TIME, so replicas' clocks never
// meet. Every call also sets the key to expire `retention` ms later.
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS[1] run; ARGV replica, leaseMs, retentionMs → 1 started, 0 the run has ended. */
const BEGIN = `${NOW}
if redis.call('HEXISTS', KEYS[1], 'ended') == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 0
end
redis.call('HINCRBY', KEYS[1], 'n:' .. ARGV[1], 1)
redis.call('HSET', KEYS[1], 'l:' .. ARGV[1], now + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/** KEYS[1] run; ARGV replica, retentionMs, then partition, records pairs. */
const FINISH = `local f = 'n:' .. ARGV[1]
if redis.call('HEXISTS', KEYS[1], f) == 1 then
  if redis.call('HINCRBY', KEYS[1], f, -1) <= 0 then redis.call('HDEL', KEYS[1], f, 'l:' .. ARGV[1]) end
end
for i = 3, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], 'c:' .. ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** KEYS[1] run; ARGV replica, leaseMs → 1 renewed, 0 nothing in flight or the lease had lapsed. */
const RENEW = `${NOW}
if redis.call('HEXISTS', KEYS[1], 'n:' .. ARGV[1]) == 0 then return 0 end
local l = tonumber(redis.call('HGET', KEYS[1], 'l:' .. ARGV[1]) or '0')
if l <= now then return 0 end
redis.call('HSET', KEYS[1], 'l:' .. ARGV[1], now + tonumber(ARGV[2]))
return 1`;

/** KEYS[1] run; ARGV retentionMs → {busy, replicas, partition, records, …} (counts only when busy is 0). */
const END = `${NOW}
redis.call('HSETNX', KEYS[1], 'ended', now)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local h = redis.call('HGETALL', KEYS[1])
local fields = {}
for i = 1, #h, 2 do fields[h[i]] = h[i + 1] end
local busy, replicas = 0, 0
local counts = {}
for k, v in pairs(fields) do
  local kind = string.sub(k, 1, 2)
  if kind == 'n:' then
    local id = string.sub(k, 3)
    local n = tonumber(v)
    local l = tonumber(fields['l:' .. id] or '0')
    if n > 0 and l > now then
      busy = busy + n
      replicas = replicas + 1
    else
      redis.call('HDEL', KEYS[1], k, 'l:' .. id)
    end
  elseif kind == 'c:' then
    counts[#counts + 1] = string.sub(k, 3)
    counts[#counts + 1] = v
  end
end
local out = {busy, replicas}
if busy == 0 then
  for i = 1, #counts do out[#out + 1] = counts[i] end
end
return out`;

interface Scripts {
  psRunBegin(key: string, replica: string, leaseMs: number, retentionMs: number): Promise<number>;
  psRunFinish(key: string, replica: string, retentionMs: number, ...pairs: Array<string | number>): Promise<number>;
  psRunRenew(key: string, replica: string, leaseMs: number): Promise<number>;
  psRunEnd(key: string, retentionMs: number): Promise<Array<number | string>>;
}

export interface RedisRunStoreOptions {
  /** `redis://…` address (a client of its own), or an existing client (not closed by `close`). */
  url?: string;
  client?: Redis;
  /** Key prefix (default `ps:ingest:`); a run's hash is `<prefix>run:<tenant>/<run id>`. */
  keyPrefix?: string;
  /** How long a run's hash is kept after the last call that touched it, ms. */
  retentionMs: number;
  /** Longest wait for one Redis command before the call fails, ms (default 2000). */
  commandTimeoutMs?: number;
}

/** The run store on Redis (see core/run-ledger.ts for the state and its rules). */
export class RedisRunStore implements RunStore {
  readonly redis: Redis;
  private readonly ownsClient: boolean;
  private readonly prefix: string;
  private readonly retentionMs: number;

  constructor(opts: RedisRunStoreOptions) {
    if (!opts.client && !opts.url) throw new Error('RedisRunStore needs a url or a client');
    // A request waits for `begin`: fail fast (503) rather than queue while Redis is away.
    this.redis =
      opts.client ??
      new Redis(opts.url as string, {
        maxRetriesPerRequest: 1,
        commandTimeout: opts.commandTimeoutMs ?? 2000,
      });
    this.ownsClient = !opts.client;
    this.prefix = opts.keyPrefix ?? 'ps:ingest:';
    this.retentionMs = opts.retentionMs;
    this.redis.defineCommand('psRunBegin', { numberOfKeys: 1, lua: BEGIN });
    this.redis.defineCommand('psRunFinish', { numberOfKeys: 1, lua: FINISH });
    this.redis.defineCommand('psRunRenew', { numberOfKeys: 1, lua: RENEW });
    this.redis.defineCommand('psRunEnd', { numberOfKeys: 1, lua: END });
  }

  /** The Redis key of a run (tests). */
  key(run: string): string {
    return `${this.prefix}run:${run}`;
  }

  private get scripts(): Scripts {
    return this.redis as unknown as Scripts;
  }

  async begin(run: string, replica: string, leaseMs: number): Promise<boolean> {
    return (await this.scripts.psRunBegin(this.key(run), replica, leaseMs, this.retentionMs)) === 1;
  }

  async finish(run: string, replica: string, acked: readonly number[] | undefined): Promise<void> {
    const pairs: number[] = [];
    if (acked) {
      for (let p = 0; p < acked.length; p++) {
        const n = acked[p] ?? 0;
        if (n !== 0) pairs.push(p, n);
      }
    }
    await this.scripts.psRunFinish(this.key(run), replica, this.retentionMs, ...pairs);
  }

  async renew(run: string, replica: string, leaseMs: number): Promise<boolean> {
    return (await this.scripts.psRunRenew(this.key(run), replica, leaseMs)) === 1;
  }

  async end(run: string): Promise<{ busy: number; replicas: number; counts: number[] }> {
    const out = await this.scripts.psRunEnd(this.key(run), this.retentionMs);
    const counts: number[] = [];
    for (let i = 2; i + 1 < out.length; i += 2) counts[Number(out[i])] = Number(out[i + 1]);
    for (let p = 0; p < counts.length; p++) counts[p] ??= 0;
    return { busy: Number(out[0]), replicas: Number(out[1]), counts };
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
