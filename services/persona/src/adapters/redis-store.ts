import { createHash } from 'node:crypto';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  ErrorCode,
  type Persona,
  PersonaSchema,
  PersonaStreamError,
  SemantizedWindowSchema,
} from '@personastream/contracts';
import { type ChainableCommander, Redis } from 'ioredis';
import { decodeBookkeeping, encodeBookkeeping, type Overlay } from '../core/bookkeeping.js';
import { tagValuesOfPersonaBytes } from '../core/flips.js';
import { defineLazy } from '../core/lazy.js';
import type { PersonaState, UserSnapshot } from '../core/state.js';
import type { FeatureStats } from '../core/stats.js';
import { mapLimit } from '../util.js';
import {
  type AppliedWindow,
  type ApplyBatchOptions,
  type DeleteOutcome,
  MAX_CAS_RETRIES,
  type PendingRef,
  type PersonaChange,
  type PersonaStore,
  type PlanUser,
  type UserBatch,
  type UserWrite,
} from './store.js';

export interface RedisStoreOptions {
  /** Redis URL, e.g. redis://127.0.0.1:6379 (or pass `client`). */
  url?: string;
  client?: Redis;
  /** Prefix of every key and channel (tests use their own). Default "ps:persona:". */
  keyPrefix?: string;
}

/**
 * Write of one user's batch: applied only when the erasure marker, the version and the applied-window
 * bookkeeping are still what the snapshot showed — else 'conflict' (the caller reads and plans
 * again). The plan decided duplicates from that bookkeeping, so the check and the write are one
 * atomic operation.
 * KEYS: state hash, erased marker, legacy applied-id set (state written before the bookkeeping
 * existed: kept for {@link LEGACY_APPLIED_TTL_S} after the user's first write in the current layout,
 * so windows applied under the old layout and redelivered during an upgrade stay duplicates). ARGV: 1 the erasure
 * marker as read ('' none; the erasure time while suppressed; '+' and the time once lifted — a planned
 * write on a suppressed user lifts it, keeping the time: its first window carries consent), 2 expected version, 3 expected bookkeeping ('' when
 * none), 4 new version, 5 persona bytes, 6 stats JSON, 7 bookkeeping, 8 overlay: 'k' keep, 's' set
 * (9 = the early window's bytes), 'd' delete, 10 channel, then per applied window in order: window
 * id, pending output (may be empty), Watch message.
 */
/**
 * How long a user's set of applied window ids from the previous layout outlives their first write in
 * the current one (7 days: any redelivery of a window applied before the upgrade happens well within).
 */
export const LEGACY_APPLIED_TTL_S = 7 * 24 * 3600;

const APPLY_LUA = `
local marker = redis.call('GET', KEYS[2])
if not marker then marker = '' end
if marker ~= ARGV[1] then return 'conflict' end
local erased = 0
if marker ~= '' and string.sub(marker, 1, 1) ~= '+' then erased = 1 end
local cur = redis.call('HMGET', KEYS[1], 'v', 'book')
local v = cur[1]
if not v then v = '0' end
if v ~= ARGV[2] then return 'conflict' end
local book = cur[2]
if not book then book = '' end
if book ~= ARGV[3] then return 'conflict' end
if erased == 1 then redis.call('SET', KEYS[2], '+' .. marker) end
if book == '' then redis.call('EXPIRE', KEYS[3], ${LEGACY_APPLIED_TTL_S}) end
redis.call('HSET', KEYS[1], 'v', ARGV[4], 'persona', ARGV[5], 'stats', ARGV[6], 'book', ARGV[7])
if ARGV[8] == 's' then
  redis.call('HSET', KEYS[1], 'ov', ARGV[9])
elseif ARGV[8] == 'd' then
  redis.call('HDEL', KEYS[1], 'ov')
end
for i = 11, #ARGV, 3 do
  if ARGV[i + 1] ~= '' then redis.call('HSET', KEYS[1], 'p:' .. ARGV[i], ARGV[i + 1]) end
  redis.call('PUBLISH', ARGV[10], ARGV[i + 2])
end
return 'ok'
`;

/**
 * Erasure: deletes the state hash (persona, statistics, bookkeeping, overlay, pending outputs) and
 * the legacy applied-id set, sets the erasure marker, publishes a tombstone.
 * KEYS: state hash, erasure marker, legacy applied-id set, legacy erasure marker. ARGV: erasure time
 * (ms), channel. Returns {existed, version}.
 */
const DELETE_LUA = `
local cur = redis.call('HGET', KEYS[1], 'v')
local existed = 0
local version = 1
if cur then
  existed = 1
  version = tonumber(cur) + 1
end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
redis.call('SET', KEYS[2], ARGV[1])
if existed == 1 then redis.call('PUBLISH', ARGV[2], 'T' .. version) end
return {existed, version}
`;

interface SnapshotRead {
  snapshot: UserSnapshot;
  /** The stored version and bookkeeping as read (the compare-and-set operands; '' = no bookkeeping). */
  expected: string;
  expectedBook: string;
  /** The erasure marker as read ('' none): the compare-and-set operand of the erasure. */
  marker: string;
}

interface PipelineScripts {
  psApply(k1: string, k2: string, k3: string, ...args: Array<string | Buffer>): ChainableCommander;
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * A user's state as read: the persona (and its tags' values) decoded only if someone reads them,
 * the overlay's window decoded only if the plan shows it over a changed base.
 */
function lazyState(
  tenant: string,
  userId: string,
  version: number,
  bytes: Buffer,
  stats: FeatureStats,
  book: Buffer | null | undefined,
  overlayBytes: Buffer | null | undefined,
): PersonaState {
  const state = { tenant, userId, stats, runs: [], baseVersion: version } as unknown as PersonaState;
  if (book) {
    const { runs, overlay } = decodeBookkeeping(book.toString('utf8'));
    state.runs = runs;
    if (overlay) {
      if (!overlayBytes)
        throw new PersonaStreamError(ErrorCode.Internal, `overlay of ${tenant}/${userId} has no window`);
      const [runId, seq, revision] = overlay;
      state.overlay = defineLazy({ runId, seq, revision } as Overlay, 'window', () =>
        fromBinary(SemantizedWindowSchema, overlayBytes),
      );
    }
  }
  defineLazy(state, 'shownTags', () => tagValuesOfPersonaBytes(bytes));
  return defineLazy(state, 'persona', () => fromBinary(PersonaSchema, bytes));
}

/**
 * Moves an erasure marker of the previous layout (`{tenant/user}:x`, which named the user) to the
 * current key (see `erasureKey`), unless one is there already. KEYS: current, legacy.
 */
const MOVE_MARKER_LUA = `
local v = redis.call('GET', KEYS[2])
if v and redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], v) end
redis.call('DEL', KEYS[2])
return 1
`;

/** Lifts a suppression, keeping the erasure time ('+' time). KEYS: marker. Returns 1 when it was suppressed. */
const RESTORE_LUA = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, 1) == '+' then return 0 end
redis.call('SET', KEYS[1], '+' .. v)
return 1
`;

interface ScriptCommands {
  psDelete(k1: string, k2: string, k3: string, k4: string, now: string, channel: string): Promise<[number, number]>;
  psMoveMarker(k1: string, k2: string): Promise<number>;
  psRestore(k1: string): Promise<number>;
}

/** CRC16/XMODEM, the hash of Redis Cluster's key slots. */
function crc16(s: string): number {
  let crc = 0;
  for (const b of Buffer.from(s, 'utf8')) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

let slotTags: string[] | undefined;

/**
 * A short hash tag for each of Redis Cluster's 16,384 slots (the first base-36 number that hashes
 * there), so a key can share a user's slot without naming the user.
 */
function slotTag(slot: number): string {
  if (!slotTags) {
    const tags = new Array<string>(16384);
    let left = 16384;
    for (let n = 0; left > 0; n++) {
      const t = n.toString(36);
      const sl = crc16(t) & 16383;
      if (tags[sl] === undefined) {
        tags[sl] = t;
        left--;
      }
    }
    slotTags = tags;
  }
  return slotTags[slot] as string;
}

/**
 * The erasure marker's key: in the user's cluster slot (the apply script reads it with the state),
 * named by the user's slot tag and a 128-bit SHA-256 prefix of \`tenant/user_id\` — never the id, so
 * nothing in Redis names an erased user.
 */
export function erasureKey(prefix: string, tenant: string, userId: string): string {
  const key = `${tenant}/${userId}`;
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 32);
  return `${prefix}{${slotTag(crc16(key) & 16383)}}:x:${digest}`;
}

/** Parses a marker as read: suppressed (erased) or not, and the erasure time (undefined: never erased). */
function parseMarker(v: string | null): { erased: boolean; erasedMs?: number } {
  if (v === null || v === '') return { erased: false };
  const lifted = v.startsWith('+');
  const ms = Number(lifted ? v.slice(1) : v);
  return Number.isFinite(ms) ? { erased: !lifted, erasedMs: ms } : { erased: !lifted };
}

/**
 * `PersonaStore` on Redis. Per user (hash-tagged so all keys of a user share a cluster slot):
 * `<prefix>{tenant/user}:s` hash {v, persona (protobuf: the shown persona), stats (JSON: base
 * statistics, final windows only), book (applied-window bookkeeping: per run the highest applied
 * final seq, ≤ 64 runs, and the overlay's run/seq/revision; core/bookkeeping.ts), ov (the overlay's
 * early window, protobuf; absent without an overlay), p:<window id> (encoded update not yet
 * acknowledged as published)}, the erasure marker (`erasureKey`: same slot, not named by the user;
 * the erasure time, `+time` once a consent lifted it); changes are published on channel
 * `<prefix>{tenant/user}:w`. `…:a` (a set of every applied window id, before the bookkeeping) is no
 * longer written; a user's first write or erasure removes it.
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
    // No auto-pipelining: the update path pipelines explicitly (one read and one write per batch),
    // and for single reads (GetPersona) ioredis's auto-pipelining costs about twice the CPU per call.
    this.redis = opts.client ?? new Redis(opts.url as string, { maxRetriesPerRequest: 3, enableAutoPipelining: false });
    this.ownsClient = !opts.client;
    this.prefix = opts.keyPrefix ?? 'ps:persona:';
    this.redis.defineCommand('psApply', { numberOfKeys: 3, lua: APPLY_LUA });
    this.redis.defineCommand('psDelete', { numberOfKeys: 4, lua: DELETE_LUA });
    this.redis.defineCommand('psMoveMarker', { numberOfKeys: 2, lua: MOVE_MARKER_LUA });
    this.redis.defineCommand('psRestore', { numberOfKeys: 1, lua: RESTORE_LUA });
  }

  /** The keys of one user (tests check that erasure removes them); `legacyApplied` is no longer written. */
  keys(
    tenant: string,
    userId: string,
  ): { state: string; erased: string; channel: string; legacyApplied: string; legacyErased: string } {
    const base = `${this.prefix}{${tenant}/${userId}}`;
    return {
      state: `${base}:s`,
      erased: erasureKey(this.prefix, tenant, userId),
      channel: `${base}:w`,
      legacyApplied: `${base}:a`,
      legacyErased: `${base}:x`,
    };
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
    const [v, persona, stats, book, ov] = await this.redis.hmgetBuffer(
      this.keys(tenant, userId).state,
      'v',
      'persona',
      'stats',
      'book',
      'ov',
    );
    if (!persona || !stats) return undefined;
    const stored = JSON.parse(stats.toString('utf8')) as FeatureStats;
    return lazyState(tenant, userId, Number(v?.toString('utf8') ?? 0), persona, stored, book, ov);
  }

  async batchGet(tenant: string, userIds: readonly string[]): Promise<Array<Persona | undefined>> {
    const all = await this.batchGetBytes(tenant, userIds);
    return all.map((bytes) => (bytes ? fromBinary(PersonaSchema, bytes) : undefined));
  }

  async applyBatch<U extends UserBatch, T>(
    users: readonly U[],
    plan: PlanUser<U, T>,
    opts: ApplyBatchOptions = {},
  ): Promise<T[]> {
    const results = new Array<T>(users.length);
    let todo = users.map((_, i) => i);
    for (let attempt = 0; todo.length > 0; attempt++) {
      if (attempt === MAX_CAS_RETRIES) {
        const u = users[todo[0] as number] as U;
        throw new PersonaStreamError(ErrorCode.Unavailable, `too much contention updating ${u.tenant}/${u.userId}`);
      }
      const batch = todo.map((i) => users[i] as U);
      const reads = await this.readSnapshots(batch);
      const planned = await mapLimit(batch, opts.concurrency ?? 64, (u, j) =>
        plan((reads[j] as SnapshotRead).snapshot, u),
      );
      const pipeline = this.redis.pipeline();
      const written: number[] = [];
      planned.forEach((p, j) => {
        results[todo[j] as number] = p.result;
        if (!p.write || p.write.applied.length === 0) return;
        written.push(j);
        this.queueWrite(pipeline, batch[j] as U, reads[j] as SnapshotRead, p.write);
      });
      const replies = written.length > 0 ? ((await pipeline.exec()) ?? []) : [];
      const retry: number[] = [];
      replies.forEach(([err, reply], k) => {
        if (err) throw err;
        if (reply === 'conflict') retry.push(todo[written[k] as number] as number);
        else if (reply !== 'ok') throw new PersonaStreamError(ErrorCode.Internal, `unexpected apply reply ${reply}`);
      });
      todo = retry;
    }
    return results;
  }

  /** One round trip for all users: erasure marker, state, bookkeeping, overlay and the batch's pending outputs. */
  private async readSnapshots(users: readonly UserBatch[]): Promise<SnapshotRead[]> {
    const pipeline = this.redis.pipeline();
    for (const u of users) {
      const k = this.keys(u.tenant, u.userId);
      pipeline.get(k.erased);
      pipeline.exists(k.legacyErased);
      pipeline.hmgetBuffer(k.state, 'v', 'persona', 'stats', 'book', 'ov', ...u.windowIds.map((id) => `p:${id}`));
      // windows applied under the previous layout (a set of ids; gone a week after the upgrade)
      pipeline.smismember(k.legacyApplied, ...u.windowIds);
    }
    const res = await pipeline.exec();
    if (!res) throw new PersonaStreamError(ErrorCode.Unavailable, 'redis pipeline returned nothing');
    for (const [err] of res) if (err) throw err;
    const markers = await Promise.all(
      users.map((u, j) => {
        const current = (res[4 * j]?.[1] as string | null) ?? null;
        return res[4 * j + 1]?.[1] === 1 ? this.moveLegacyMarker(u, current) : current;
      }),
    );
    return users.map((u, j) => {
      const marker = markers[j] ?? '';
      const { erased, erasedMs } = parseMarker(marker);
      const [v, personaBuf, statsBuf, book, ov, ...pendings] = res[4 * j + 2]?.[1] as Array<Buffer | null>;
      const legacyFlags = res[4 * j + 3]?.[1] as number[];
      const legacyApplied = new Set(u.windowIds.filter((_, i) => legacyFlags[i] === 1));
      const pending = new Map<string, Uint8Array>();
      u.windowIds.forEach((id, i) => {
        const p = pendings[i];
        if (p && p.length > 0) pending.set(id, new Uint8Array(p));
      });
      const expected = v ? v.toString('utf8') : '0';
      // The persona is decoded only if someone reads it (the builtin backend needs the version only).
      const state =
        personaBuf && statsBuf
          ? lazyState(
              u.tenant,
              u.userId,
              Number(expected),
              personaBuf,
              JSON.parse(statsBuf.toString('utf8')) as FeatureStats,
              book,
              ov,
            )
          : undefined;
      const snapshot: UserSnapshot = { state, erased, pending };
      if (erasedMs !== undefined) snapshot.erasedMs = erasedMs;
      if (legacyApplied.size > 0) snapshot.legacyApplied = legacyApplied;
      return { snapshot, expected, expectedBook: book ? book.toString('utf8') : '', marker };
    });
  }

  /**
   * An erasure marker of the previous layout (a key per user that named the user) is moved to the
   * current key the first time the user's windows are read; the value the read uses is the moved one.
   */
  private async moveLegacyMarker(u: UserBatch, current: string | null): Promise<string | null> {
    const k = this.keys(u.tenant, u.userId);
    await this.scripts.psMoveMarker(k.erased, k.legacyErased);
    return current ?? (await this.redis.get(k.erased));
  }

  private queueWrite(pipeline: ChainableCommander, u: UserBatch, read: SnapshotRead, write: UserWrite): void {
    const k = this.keys(u.tenant, u.userId);
    const last = write.applied[write.applied.length - 1] as AppliedWindow;
    // The overlay: kept (the same object the snapshot had), replaced by a new early window, or cleared.
    const before = read.snapshot.state?.overlay;
    const after = write.state.overlay;
    const overlayOp = after === before ? 'k' : after ? 's' : 'd';
    const args: Array<string | Buffer> = [
      read.marker,
      read.expected,
      read.expectedBook,
      String(last.persona.version),
      toBuffer(last.personaBytes),
      JSON.stringify(write.state.stats),
      encodeBookkeeping(write.state),
      overlayOp,
      overlayOp === 's' ? toBuffer(toBinary(SemantizedWindowSchema, (after as Overlay).window)) : '',
      k.channel,
    ];
    for (const a of write.applied) {
      const message = Buffer.allocUnsafe(a.personaBytes.length + 1);
      message[0] = 0x50; // P
      message.set(a.personaBytes, 1);
      args.push(a.windowId, toBuffer(a.pending), message);
    }
    (pipeline as unknown as PipelineScripts).psApply(k.state, k.erased, k.legacyApplied, ...args);
  }

  async ackPending(refs: readonly PendingRef[]): Promise<void> {
    if (refs.length === 0) return;
    // One HDEL per user (a batch acknowledges many windows of one user).
    const fields = new Map<string, string[]>();
    for (const r of refs) {
      const key = this.keys(r.tenant, r.userId).state;
      const f = fields.get(key);
      if (f) f.push(`p:${r.windowId}`);
      else fields.set(key, [`p:${r.windowId}`]);
    }
    const pipeline = this.redis.pipeline();
    for (const [key, f] of fields) pipeline.hdel(key, ...f);
    const res = (await pipeline.exec()) ?? [];
    for (const [err] of res) if (err) throw err;
  }

  async delete(tenant: string, userId: string, erasedMs = Date.now()): Promise<DeleteOutcome> {
    const k = this.keys(tenant, userId);
    const [existed, version] = await this.scripts.psDelete(
      k.state,
      k.erased,
      k.legacyApplied,
      k.legacyErased,
      String(Math.round(erasedMs)),
      k.channel,
    );
    return { existed: existed === 1, version };
  }

  async restore(tenant: string, userId: string): Promise<boolean> {
    const k = this.keys(tenant, userId);
    await this.scripts.psMoveMarker(k.erased, k.legacyErased);
    return (await this.scripts.psRestore(k.erased)) === 1;
  }

  async isErased(tenant: string, userId: string): Promise<boolean> {
    const k = this.keys(tenant, userId);
    const current = await this.redis.get(k.erased);
    return parseMarker(current ?? (await this.redis.get(k.legacyErased))).erased;
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
