import { EventEmitter } from 'node:events';
import { clone } from '@bufbuild/protobuf';
import { ErrorCode, type Persona, PersonaSchema, PersonaStreamError, userKey } from '@personastream/contracts';
import type { PersonaState } from '../core/state.js';
import { cloneStats } from '../core/stats.js';
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

interface Entry {
  persona: Persona;
  stats: PersonaState['stats'];
  applied: Set<string>;
  pending: Map<string, Uint8Array>;
}

/** In-memory `PersonaStore` (embedded mode and fast tests); same semantics as the Redis store. */
export class MemoryPersonaStore implements PersonaStore {
  private readonly entries = new Map<string, Entry>();
  private readonly erased = new Map<string, number>();
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
    return { tenant, userId, persona: clone(PersonaSchema, e.persona), stats: cloneStats(e.stats), applied: [] };
  }

  async batchGet(tenant: string, userIds: readonly string[]): Promise<Array<Persona | undefined>> {
    return Promise.all(userIds.map((u) => this.get(tenant, u)));
  }

  async applyAtomically<T>(
    tenant: string,
    userId: string,
    windowId: string,
    mutate: Mutate<T>,
    opts: ApplyAtomicallyOptions = {},
  ): Promise<ApplyOutcome<T>> {
    const key = userKey(tenant, userId);
    for (let attempt = 0; attempt < MAX_CAS_RETRIES; attempt++) {
      if (this.erased.has(key) && !opts.consent) return { status: 'erased' };
      const before = this.entries.get(key);
      if (before?.applied.has(windowId)) return this.duplicate(before, windowId);
      // The persona is only read by `mutate`; the statistics are copied (mutate may update them in place).
      const current: PersonaState | undefined =
        this.erased.has(key) || !before
          ? undefined
          : { tenant, userId, persona: before.persona, stats: cloneStats(before.stats), applied: [] };
      const r = await mutate(current);
      if (!r) return { status: 'duplicate' };
      // Compare-and-set: the id check and the write happen together, synchronously.
      const now = this.entries.get(key);
      if (this.erased.has(key) && !opts.consent) return { status: 'erased' };
      if (now?.applied.has(windowId)) return this.duplicate(now, windowId);
      if ((now?.persona.version ?? 0) !== (current?.persona.version ?? 0) || now !== before) continue;
      this.erased.delete(key);
      const applied = now ? now.applied : new Set<string>();
      const pending = now ? now.pending : new Map<string, Uint8Array>();
      applied.add(windowId);
      if (r.pending) pending.set(windowId, r.pending);
      // The store takes ownership of the state `mutate` returned (callers do not modify it afterwards).
      const entry: Entry = { persona: r.state.persona, stats: r.state.stats, applied, pending };
      this.entries.set(key, entry);
      this.emit({ tenant, userId, persona: entry.persona, tombstone: false, version: entry.persona.version });
      return { status: 'applied', state: r.state, result: r.result };
    }
    throw new PersonaStreamError(ErrorCode.Unavailable, `too much contention updating ${key}`);
  }

  private duplicate(e: Entry, windowId: string): ApplyOutcome<never> {
    const pending = e.pending.get(windowId);
    return pending ? { status: 'duplicate', pending } : { status: 'duplicate' };
  }

  async ackPending(refs: readonly PendingRef[]): Promise<void> {
    for (const r of refs) {
      const e = this.entries.get(userKey(r.tenant, r.userId));
      e?.pending.delete(r.windowId);
    }
  }

  async delete(tenant: string, userId: string): Promise<DeleteOutcome> {
    const key = userKey(tenant, userId);
    const e = this.entries.get(key);
    this.entries.delete(key);
    this.erased.set(key, Date.now());
    const version = (e?.persona.version ?? 0) + 1;
    if (e) this.emit({ tenant, userId, tombstone: true, version });
    return { existed: e !== undefined, version };
  }

  async restore(tenant: string, userId: string): Promise<boolean> {
    return this.erased.delete(userKey(tenant, userId));
  }

  async isErased(tenant: string, userId: string): Promise<boolean> {
    return this.erased.has(userKey(tenant, userId));
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
