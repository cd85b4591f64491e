import type { Persona } from '@personastream/contracts';
import type { PersonaState, UserSnapshot } from '../core/state.js';

/** A change seen by watchers: the new persona, or a tombstone (erasure) with the persona's last version. */
export interface PersonaChange {
  tenant: string;
  userId: string;
  persona?: Persona;
  tombstone: boolean;
  version: number;
}

/** One user's windows of a batch (ids in order; callers may carry the windows themselves). */
export interface UserBatch {
  tenant: string;
  userId: string;
  windowIds: readonly string[];
}

/** One applied window of a user's write: its persona (encoded) and its output (an encoded PersonaUpdate). */
export interface AppliedWindow {
  windowId: string;
  persona: Persona;
  personaBytes: Uint8Array;
  /** Kept with the state until `ackPending` says it was published (a transactional outbox). */
  pending: Uint8Array;
}

/**
 * What to write for one user: the state after the batch (shown persona, base statistics, bookkeeping:
 * run marks and overlay) and the applied windows, in order. A write planned on an erased snapshot
 * lifts the erasure marker (its first applied window carried consent).
 */
export interface UserWrite {
  state: PersonaState;
  applied: AppliedWindow[];
}

/**
 * Plans one user's batch from a snapshot (pure apart from the model): `write` is what to store
 * (none: nothing applied), `result` is handed back to the caller. Called again with a fresh snapshot
 * when someone else wrote the user in between.
 */
export type PlanUser<U extends UserBatch, T> = (
  snapshot: UserSnapshot,
  user: U,
) => Promise<{ write?: UserWrite; result: T }>;

/** One update whose publication was acknowledged. */
export interface PendingRef {
  tenant: string;
  userId: string;
  windowId: string;
}

export interface ApplyBatchOptions {
  /** Users planned concurrently (asynchronous backends). Default 64. */
  concurrency?: number;
}

export interface DeleteOutcome {
  existed: boolean;
  /** Version of the tombstone (previous version + 1; 1 when nothing existed). */
  version: number;
}

/**
 * Where personas live: persona + base statistics + the bounded applied-window bookkeeping (per run
 * the highest applied final seq, and the overlay: the latest early window; core/bookkeeping.ts), per
 * user, written together. `applyBatch` reads the users of a batch (one round trip), lets `plan`
 * compute each user's next state from its snapshot (the bookkeeping decides duplicates), and writes
 * each user's result as one atomic operation that applies only if the user's bookkeeping, version and
 * erasure marker are still what the snapshot showed (compare-and-set; users that changed are read and
 * planned again). So the duplicate check and the write are one atomic operation. Each applied
 * window's encoded output rides along as "pending" until acknowledged (a transactional outbox).
 *
 * Erasure rule: `delete` erases persona, statistics, bookkeeping and pending outputs, and records an erasure marker.
 * The marker keeps the erasure time. While it suppresses, windows are ignored (`erased`) unless the
 * window carries a consent signal (a `consent` notable event or action, or `signals.consent`), which
 * lifts the suppression in the same atomic write and starts a fresh persona (version 1); `restore`
 * lifts it explicitly. A window that starts at or before the erasure time is ignored always, lifted
 * or not (a replay never brings the erased history back).
 */
export interface PersonaStore {
  get(tenant: string, userId: string): Promise<Persona | undefined>;
  /** The persona's protobuf encoding, when the store keeps it (fast reads). */
  getBytes?(tenant: string, userId: string): Promise<Uint8Array | undefined>;
  batchGetBytes?(tenant: string, userIds: readonly string[]): Promise<Array<Uint8Array | undefined>>;
  getState(tenant: string, userId: string): Promise<PersonaState | undefined>;
  /** Personas in request order (undefined where missing). */
  batchGet(tenant: string, userIds: readonly string[]): Promise<Array<Persona | undefined>>;
  /** Applies the users' windows (see above); results in the order of `users`. */
  applyBatch<U extends UserBatch, T>(users: readonly U[], plan: PlanUser<U, T>, opts?: ApplyBatchOptions): Promise<T[]>;
  /** Marks updates as published (clears their pending output). */
  ackPending(refs: readonly PendingRef[]): Promise<void>;
  /** Erases the user at `erasedMs` (default now): see the erasure rule above. */
  delete(tenant: string, userId: string, erasedMs?: number): Promise<DeleteOutcome>;
  /** Lifts the suppression of an erased user (the erasure time stays); true when there was one. */
  restore(tenant: string, userId: string): Promise<boolean>;
  isErased(tenant: string, userId: string): Promise<boolean>;
  /** Calls `cb` on every change of the user's persona until the returned function is called. */
  subscribe(tenant: string, userId: string, cb: (change: PersonaChange) => void): Promise<() => Promise<void>>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Maximum compare-and-set retries of a user in `applyBatch` before giving up. */
export const MAX_CAS_RETRIES = 16;
