import type { Redis } from 'ioredis';

/** Which partition's state a checkpoint holds. */
export interface CheckpointScope {
  group: string;
  topic: string;
  partition: number;
}

/** A stored checkpoint: the offset it corresponds to, the engine's meta record and its fields. */
export interface PartitionCheckpoint {
  /** Last input offset whose effects the state includes (decimal string). */
  offset: string;
  meta: string;
  fields: Record<string, string>;
  /**
   * Read from where the previous version kept checkpoints: the next save writes the whole state to
   * the current place (the engine hands it all out after restoring such a checkpoint) and removes
   * the old one.
   */
  legacy?: boolean;
}

/** One atomic checkpoint update (a delta over the previous one). */
export interface CheckpointWrite {
  offset: string;
  meta: string;
  /** Fields to set, as field, value pairs one after another. */
  set: string[];
  del: string[];
  /** Delete every field starting with one of these (a run that ended). */
  delPrefixes: string[];
  /**
   * Idle-store fields to set, as field, value pairs: compact facts of live users whose state left
   * the checkpoint (written in the same atomic step, so a user is always in one of the two).
   */
  idleSet?: string[];
  /** Idle-store fields to delete (an erased user's compact facts), in the same atomic step. */
  idleDel?: string[];
  /**
   * The stored offset this delta applies to ('' = no checkpoint yet): the one the writer's state was
   * loaded from or last saved at. When given and the store holds another one (a lower offset, or
   * none: Redis lost writes, or another instance wrote there), the save throws
   * `CheckpointBaseMismatch` and changes nothing — a delta over another state would corrupt it.
   */
  base?: string;
}

/** A checkpoint save whose `base` is not the stored offset (nothing was written). */
export class CheckpointBaseMismatch extends Error {
  override readonly name = 'CheckpointBaseMismatch';
  constructor(
    readonly scope: CheckpointScope,
    readonly base: string,
    readonly stored: string,
  ) {
    super(
      `checkpoint of ${scope.topic} partition ${scope.partition} (group ${scope.group}) is at offset ${stored || 'none'}, not at ${base || 'none'} where this state was saved: Redis lost checkpoint writes, or another instance wrote it`,
    );
  }
}

/**
 * Durable open-window state per (consumer group, topic, partition). `save` applies a delta
 * atomically, and only when no checkpoint with a larger offset exists (a stale instance after a
 * rebalance cannot overwrite newer state); it resolves `false` in that case.
 *
 * Beside each checkpoint, an **idle store**: the compact facts of live users who went quiet (their
 * state left the checkpoint, see `PartitionEngine.idleField`). `load` never reads it — a checkpoint
 * holds the users active now, not everyone ever seen — and `loadIdle` reads the fields of returning
 * users only.
 */
export interface CheckpointStore {
  load(scope: CheckpointScope): Promise<PartitionCheckpoint | undefined>;
  save(scope: CheckpointScope, write: CheckpointWrite): Promise<boolean>;
  /** Values of idle-store fields, in order (undefined where none). */
  loadIdle(scope: CheckpointScope, fields: readonly string[]): Promise<Array<string | undefined>>;
  /** Removes a scope's checkpoint (tests, resets). */
  clear(scope: CheckpointScope): Promise<void>;
  close(): Promise<void>;
}

/** Both stores refuse a delta whose `set` or `idleSet` is not field, value pairs (nothing is half-applied). */
function checkPairs(w: CheckpointWrite): void {
  if (w.set.length % 2 !== 0) throw new Error('checkpoint save: set must hold field, value pairs');
  if ((w.idleSet?.length ?? 0) % 2 !== 0) throw new Error('checkpoint save: idleSet must hold field, value pairs');
}

/** Reserved field names (engine fields start with a letter and NUL). */
const OFFSET = '~offset';
const META = '~meta';

function greater(a: string, b: string): boolean {
  const x = BigInt(a);
  const y = BigInt(b);
  return x > y;
}

/** In-memory twin of `RedisCheckpointStore` (embedded mode, unit tests). Same semantics. */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly data = new Map<string, Map<string, string>>();
  private readonly idle = new Map<string, Map<string, string>>();
  /** Number of successful saves (tests). */
  saves = 0;

  private key(s: CheckpointScope): string {
    return `${s.group}|${s.topic}|${s.partition}`;
  }

  async load(scope: CheckpointScope): Promise<PartitionCheckpoint | undefined> {
    const h = this.data.get(this.key(scope));
    const offset = h?.get(OFFSET);
    if (!h || offset === undefined) return undefined;
    const fields: Record<string, string> = {};
    for (const [k, v] of h) if (k !== OFFSET && k !== META) fields[k] = v;
    return { offset, meta: h.get(META) ?? '', fields };
  }

  async save(scope: CheckpointScope, w: CheckpointWrite): Promise<boolean> {
    checkPairs(w);
    const k = this.key(scope);
    let h = this.data.get(k);
    const cur = h?.get(OFFSET);
    if (cur !== undefined && greater(cur, w.offset)) return false;
    if (w.base !== undefined && (cur ?? '') !== w.base) throw new CheckpointBaseMismatch(scope, w.base, cur ?? '');
    if (!h) {
      h = new Map();
      this.data.set(k, h);
    }
    h.set(OFFSET, w.offset);
    h.set(META, w.meta);
    for (let i = 0; i + 1 < w.set.length; i += 2) h.set(w.set[i] as string, w.set[i + 1] as string);
    for (const f of w.del) h.delete(f);
    if (w.delPrefixes.length > 0) {
      for (const f of [...h.keys()]) if (w.delPrefixes.some((p) => f.startsWith(p))) h.delete(f);
    }
    const idle = w.idleSet ?? [];
    if (idle.length > 0) {
      let m = this.idle.get(k);
      if (!m) {
        m = new Map();
        this.idle.set(k, m);
      }
      for (let i = 0; i + 1 < idle.length; i += 2) m.set(idle[i] as string, idle[i + 1] as string);
    }
    for (const f of w.idleDel ?? []) this.idle.get(k)?.delete(f);
    this.saves++;
    return true;
  }

  async loadIdle(scope: CheckpointScope, fields: readonly string[]): Promise<Array<string | undefined>> {
    const m = this.idle.get(this.key(scope));
    return fields.map((f) => m?.get(f));
  }

  /** A copy of everything stored (tests: a Redis snapshot to roll back to). */
  snapshot(): MemoryCheckpointStore {
    const copy = new MemoryCheckpointStore();
    for (const [k, h] of this.data) copy.data.set(k, new Map(h));
    for (const [k, h] of this.idle) copy.idle.set(k, new Map(h));
    return copy;
  }

  /** Replaces everything stored by a snapshot's contents (tests: Redis rolled back). */
  rollBackTo(snapshot: MemoryCheckpointStore): void {
    const copy = snapshot.snapshot();
    this.data.clear();
    this.idle.clear();
    for (const [k, h] of copy.data) this.data.set(k, h);
    for (const [k, h] of copy.idle) this.idle.set(k, h);
  }

  /** Fields in a scope's idle store (tests). */
  idleSize(scope: CheckpointScope): number {
    return this.idle.get(this.key(scope))?.size ?? 0;
  }

  async clear(scope: CheckpointScope): Promise<void> {
    this.data.delete(this.key(scope));
    this.idle.delete(this.key(scope));
  }

  async close(): Promise<void> {}
}

/** Fields per HSET / HDEL call inside the script (Lua's `unpack` has a stack limit of ~8000 values). */
const CHUNK = 1000;

/**
 * Applies a checkpoint delta atomically, unless a newer offset is stored (0), or the stored offset is
 * not the delta's base (the stored offset, '' for none, as a string): one HSET / HDEL call per up
 * to `CHUNK` fields. KEYS[1] = checkpoint hash, KEYS[2] = idle hash (same hash tag: one cluster
 * slot); ARGV = offset, meta, nSet, (field, value)*, nDel, field*, nPrefix, prefix*, nIdle,
 * (field, value)*, nIdleDel, field*, hasBase, base.
 */
const SAVE_SCRIPT = `
local cur = redis.call('HGET', KEYS[1], '${OFFSET}')
if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end
local nargs = #ARGV
if ARGV[nargs - 1] == '1' and (cur or '') ~= ARGV[nargs] then return cur or '' end
redis.call('HSET', KEYS[1], '${OFFSET}', ARGV[1], '${META}', ARGV[2])
local i = 3
local n = tonumber(ARGV[i]); i = i + 1
while n > 0 do
  local m = math.min(n, ${CHUNK})
  redis.call('HSET', KEYS[1], unpack(ARGV, i, i + 2 * m - 1))
  i = i + 2 * m; n = n - m
end
n = tonumber(ARGV[i]); i = i + 1
while n > 0 do
  local m = math.min(n, ${CHUNK})
  redis.call('HDEL', KEYS[1], unpack(ARGV, i, i + m - 1))
  i = i + m; n = n - m
end
n = tonumber(ARGV[i]); i = i + 1
if n > 0 then
  local prefixes = {}
  for j = 1, n do prefixes[j] = ARGV[i]; i = i + 1 end
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    for _, p in ipairs(prefixes) do
      if string.sub(f, 1, #p) == p then redis.call('HDEL', KEYS[1], f); break end
    end
  end
end
n = tonumber(ARGV[i]); i = i + 1
while n > 0 do
  local m = math.min(n, ${CHUNK})
  redis.call('HSET', KEYS[2], unpack(ARGV, i, i + 2 * m - 1))
  i = i + 2 * m; n = n - m
end
n = tonumber(ARGV[i] or '0'); i = i + 1
while n > 0 do
  local m = math.min(n, ${CHUNK})
  redis.call('HDEL', KEYS[2], unpack(ARGV, i, i + m - 1))
  i = i + m; n = n - m
end
return 1
`;

export interface RedisCheckpointOptions {
  /** Prefix of every key (tests use their own). Default `ps:`. */
  prefix?: string;
}

/**
 * Checkpoints in Redis: one hash per (group, topic, partition) at
 * `<prefix>semantizer:ckpt:{<group>:<topic>:<partition>}`, holding the offset, the engine's meta
 * record and one field per open user state / price bucket, and the idle store beside it at
 * `<prefix>semantizer:idle:{<group>:<topic>:<partition>}` (one compact record per live user who went
 * quiet). Each save is one Lua script over both (one hash tag, so one cluster slot): atomic, and
 * refused when a larger offset is already stored. The previous version's checkpoint key (no hash
 * tag) is read when the current one does not exist yet, and removed after the first save.
 */
export class RedisCheckpointStore implements CheckpointStore {
  private readonly prefix: string;
  /** Scopes loaded from a legacy key: it goes once the state is saved under the current key. */
  private readonly legacyLoaded = new Set<string>();

  constructor(
    private readonly redis: Redis,
    options: RedisCheckpointOptions = {},
  ) {
    this.prefix = options.prefix ?? 'ps:';
  }

  key(s: CheckpointScope): string {
    return `${this.prefix}semantizer:ckpt:{${s.group}:${s.topic}:${s.partition}}`;
  }

  idleKey(s: CheckpointScope): string {
    return `${this.prefix}semantizer:idle:{${s.group}:${s.topic}:${s.partition}}`;
  }

  /** Where the previous version kept a scope's checkpoint. */
  legacyKey(s: CheckpointScope): string {
    return `${this.prefix}semantizer:ckpt:${s.group}:${s.topic}:${s.partition}`;
  }

  async load(scope: CheckpointScope): Promise<PartitionCheckpoint | undefined> {
    const current = await this.read(this.key(scope));
    if (current) return current;
    const legacy = await this.read(this.legacyKey(scope));
    if (!legacy) return undefined;
    this.legacyLoaded.add(this.legacyKey(scope));
    return { ...legacy, legacy: true };
  }

  private async read(key: string): Promise<PartitionCheckpoint | undefined> {
    const h = await this.redis.hgetall(key);
    const offset = h[OFFSET];
    if (offset === undefined) return undefined;
    const meta = h[META] ?? '';
    delete h[OFFSET];
    delete h[META];
    return { offset, meta, fields: h };
  }

  async save(scope: CheckpointScope, w: CheckpointWrite): Promise<boolean> {
    checkPairs(w);
    const idle = w.idleSet ?? [];
    const args: string[] = [w.offset, w.meta, String(w.set.length / 2)];
    for (const x of w.set) args.push(x);
    args.push(String(w.del.length), ...w.del);
    args.push(String(w.delPrefixes.length), ...w.delPrefixes);
    args.push(String(idle.length / 2));
    for (const x of idle) args.push(x);
    const idleDel = w.idleDel ?? [];
    args.push(String(idleDel.length), ...idleDel);
    args.push(w.base === undefined ? '0' : '1', w.base ?? '');
    const r = await this.redis.eval(SAVE_SCRIPT, 2, this.key(scope), this.idleKey(scope), ...args);
    if (typeof r === 'string') throw new CheckpointBaseMismatch(scope, w.base ?? '', r);
    if (r !== 1) return false;
    const legacy = this.legacyKey(scope);
    if (this.legacyLoaded.delete(legacy)) await this.redis.del(legacy);
    return true;
  }

  async loadIdle(scope: CheckpointScope, fields: readonly string[]): Promise<Array<string | undefined>> {
    if (fields.length === 0) return [];
    const values = await this.redis.hmget(this.idleKey(scope), ...fields);
    return values.map((v) => v ?? undefined);
  }

  async clear(scope: CheckpointScope): Promise<void> {
    await this.redis.del(this.key(scope), this.idleKey(scope), this.legacyKey(scope));
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}
