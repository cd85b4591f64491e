import { EventEmitter } from 'node:events';
import { clone } from '@bufbuild/protobuf';
import { ErrorCode, type Persona, PersonaSchema, PersonaStreamError, userKey } from '@personastream/contracts';
import type { Overlay, RunMark } from '../core/bookkeeping.js';
import type { PersonaState } from '../core/state.js';
import { cloneStats } from '../core/stats.js';
import { mapLimit } from '../util.js';
import {
  type ApplyBatchOptions,
  type DeleteOutcome,
  MAX_CAS_RETRIES,
  type PendingRef,
  type PersonaChange,
  type PersonaStore,
  type PlanUser,
  type UserBatch,
} from './store.js';

interface Entry {
  persona: Persona;
  /** Base statistics (final windows only). */
  stats: PersonaState['stats'];
  /** Applied-window bookkeeping (core/bookkeeping.ts): run marks and the overlay. */
  runs: readonly RunMark[];
  overlay?: Overlay;
  /** Outputs not yet acknowledged as published, by window id. */
  pending: Map<string, Uint8Array>;
}

/**
 * In-memory `PersonaStore` (embedded mode and fast tests); same semantics as the Redis store: per
 * user the shown persona, base statistics, the bounded bookkeeping and the pending outputs.
 */
export class MemoryPersonaStore implements PersonaStore {
  private readonly entries = new Map<string, Entry>();
  /** Erased users: the erasure time and whether a consent (or `restore`) lifted the suppression. */
  private readonly erased = new Map<string, { at: number; lifted: boolean }>();
  /** Writes, erasures and restores per user (the compare-and-set of `applyBatch`). */
  private readonly generation = new Map<string, number>();
  private readonly events = new EventEmitter();

  constructor() {
    this.events.setMaxListeners(0);
  }

  async get(tenant: string, userId: string): Promise<Persona | undefined> {
    const e = this.entries.get(userKey(tenant, userId));
    return e ? clone(PersonaSchema, e.persona) : undefined;
  }

  async getState(tenant: string, userId: string): Promise<PersonaState | undefined> {
    const e = this.entries.get(userKey(tenant, userId));
    if (!e) return undefined;
    const state: PersonaState = {
      tenant,
      userId,
      persona: clone(PersonaSchema, e.persona),
      stats: cloneStats(e.stats),
      runs: e.runs,
    };
    if (e.overlay) state.overlay = e.overlay;
    return state;
  }

  async batchGet(tenant: string, userIds: readonly string[]): Promise<Array<Persona | undefined>> {
    return Promise.all(userIds.map((u) => this.get(tenant, u)));
  }

  async applyBatch<U extends UserBatch, T>(
    users: readonly U[],
    plan: PlanUser<U, T>,
    opts: ApplyBatchOptions = {},
  ): Promise<T[]> {
    return mapLimit(users, opts.concurrency ?? 64, (u) => this.applyUser(u, plan));
  }

  private async applyUser<U extends UserBatch, T>(u: U, plan: PlanUser<U, T>): Promise<T> {
    const key = userKey(u.tenant, u.userId);
    for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
      const generation = this.generation.get(key) ?? 0;
      const marker = this.erased.get(key);
      const erased = marker !== undefined && !marker.lifted;
      const before = this.entries.get(key);
      const pending = new Map<string, Uint8Array>();
      for (const id of u.windowIds) {
        const p = before?.pending.get(id);
        if (p) pending.set(id, p);
      }
      // The statistics are copied: the plan updates them in place (bookkeeping is never modified in place).
      let state: PersonaState | undefined;
      if (!erased && before) {
        state = {
          tenant: u.tenant,
          userId: u.userId,
          persona: before.persona,
          stats: cloneStats(before.stats),
          runs: before.runs,
        };
        if (before.overlay) state.overlay = before.overlay;
      }
      const { write, result } = await plan(
        marker ? { state, erased, erasedMs: marker.at, pending } : { state, erased, pending },
        u,
      );
      if (!write || write.applied.length === 0) return result;
      // Compare-and-set: nobody wrote, erased or restored the user since the snapshot.
      if ((this.generation.get(key) ?? 0) !== generation) continue;
      if (marker) marker.lifted = true;
      const outbox = before ? before.pending : new Map<string, Uint8Array>();
      for (const a of write.applied) if (a.pending.length > 0) outbox.set(a.windowId, a.pending);
      // The store takes ownership of the state the plan returned (callers do not modify it afterwards).
      const s = write.state;
      const entry: Entry = { persona: s.persona, stats: s.stats, runs: s.runs, pending: outbox };
      if (s.overlay) entry.overlay = s.overlay;
      this.entries.set(key, entry);
      this.bump(key);
      for (const a of write.applied) {
        this.emit({
          tenant: u.tenant,
          userId: u.userId,
          persona: a.persona,
          tombstone: false,
          version: a.persona.version,
        });
      }
      return result;
    }
    throw new PersonaStreamError(ErrorCode.Unavailable, `too much contention updating ${key}`);
  }

  private bump(key: string): void {
    this.generation.set(key, (this.generation.get(key) ?? 0) + 1);
  }

  async ackPending(refs: readonly PendingRef[]): Promise<void> {
    for (const r of refs) {
      const e = this.entries.get(userKey(r.tenant, r.userId));
      e?.pending.delete(r.windowId);
    }
  }

  async delete(tenant: string, userId: string, erasedMs = Date.now()): Promise<DeleteOutcome> {
    const key = userKey(tenant, userId);
    const e = this.entries.get(key);
    this.entries.delete(key);
    this.erased.set(key, { at: erasedMs, lifted: false });
    this.bump(key);
    const version = (e?.persona.version ?? 0) + 1;
    if (e) this.emit({ tenant, userId, tombstone: true, version });
    return { existed: e !== undefined, version };
  }

  async restore(tenant: string, userId: string): Promise<boolean> {
    const key = userKey(tenant, userId);
    this.bump(key);
    const m = this.erased.get(key);
    if (!m || m.lifted) return false;
    m.lifted = true;
    return true;
  }

  async isErased(tenant: string, userId: string): Promise<boolean> {
    const m = this.erased.get(userKey(tenant, userId));
    return m !== undefined && !m.lifted;
  }

  async subscribe(tenant: string, userId: string, cb: (change: PersonaChange) => void): Promise<() => Promise<void>> {
    const channel = userKey(tenant, userId);
    this.events.on(channel, cb);
    return async () => {
      this.events.off(channel, cb);
    };
  }

  /** Number of users stored (tests). */
  size(): number {
    return this.entries.size;
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
  }

  private emit(change: PersonaChange): void {
    const channel = userKey(change.tenant, change.userId);
    // Asynchronous like Redis pub/sub, so a watcher never runs inside the writer.
    queueMicrotask(() => this.events.emit(channel, change));
  }
}
