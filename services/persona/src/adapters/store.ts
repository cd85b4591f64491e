import type { Persona } from '@personastream/contracts';
import type { PersonaState } from '../core/state.js';

/** A change seen by watchers: the new persona, or a tombstone (erasure) with the persona's last version. */
export interface PersonaChange {
  tenant: string;
  userId: string;
  persona?: Persona;
  tombstone: boolean;
  version: number;
}

/**
 * Computes the next state from the current one (undefined: no persona yet). `pending` is the encoded
 * output of this update (a PersonaUpdate), kept with the state until `ackPending` says it was
 * published, so a crash between the write and the publish republishes instead of losing it.
 * `personaBytes` (the new persona, already encoded) spares the store encoding it again.
 */
export type Mutate<T> = (
  current: PersonaState | undefined,
) => Promise<{ state: PersonaState; result: T; pending?: Uint8Array; personaBytes?: Uint8Array } | undefined>;

/** One update whose publication was acknowledged. */
export interface PendingRef {
  tenant: string;
  userId: string;
  windowId: string;
}

export type ApplyOutcome<T> =
  | { status: 'applied'; state: PersonaState; result: T }
  /**
   * The window id was already applied: nothing written. `pending` is set when that earlier apply's
   * output was never acknowledged as published (the caller publishes it now).
   */
  | { status: 'duplicate'; pending?: Uint8Array }
  /** The user is erased and the window carries no consent: ignored. */
  | { status: 'erased' };

export interface ApplyAtomicallyOptions {
  /** The window carries a consent signal: lifts an erasure marker (in the same atomic write). */
  consent?: boolean;
}

export interface DeleteOutcome {
  existed: boolean;
  /** Version of the tombstone (previous version + 1; 1 when nothing existed). */
  version: number;
}

/**
 * Where personas live: persona + sufficient statistics + the set of applied window ids, per user,
 * written together. `applyAtomically` reads the current state, lets `mutate` compute the next one,
 * and writes it only if the window id is still new and nobody wrote in between (compare-and-set on
 * the version, retried); the id check and the write are one atomic operation. The update's encoded
 * output rides along as "pending" until acknowledged (a transactional outbox of one entry per user).
 *
 * Erasure rule: `delete` erases persona, statistics and applied ids, and records an erasure marker.
 * While the marker exists, windows are ignored (`erased`) unless the window carries a consent signal
 * (`consent: true` — a `consent` notable event or action), which lifts the marker in the same
 * atomic write and starts a fresh persona (version 1). `restore` lifts the marker explicitly.
 */
export interface PersonaStore {
  get(tenant: string, userId: string): Promise<Persona | undefined>;
  /** The persona's protobuf encoding, when the store keeps it (fast reads). */
  getBytes?(tenant: string, userId: string): Promise<Uint8Array | undefined>;
  batchGetBytes?(tenant: string, userIds: readonly string[]): Promise<Array<Uint8Array | undefined>>;
  getState(tenant: string, userId: string): Promise<PersonaState | undefined>;
  /** Personas in request order (undefined where missing). */
  batchGet(tenant: string, userIds: readonly string[]): Promise<Array<Persona | undefined>>;
  applyAtomically<T>(
    tenant: string,
    userId: string,
    windowId: string,
    mutate: Mutate<T>,
    opts?: ApplyAtomicallyOptions,
  ): Promise<ApplyOutcome<T>>;
  /** Marks updates as published (clears their pending output). */
  ackPending(refs: readonly PendingRef[]): Promise<void>;
  delete(tenant: string, userId: string): Promise<DeleteOutcome>;
  /** Lifts an erasure marker; true when there was one. */
  restore(tenant: string, userId: string): Promise<boolean>;
  isErased(tenant: string, userId: string): Promise<boolean>;
  /** Calls `cb` on every change of the user's persona until the returned function is called. */
  subscribe(tenant: string, userId: string, cb: (change: PersonaChange) => void): Promise<() => Promise<void>>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Maximum compare-and-set retries of `applyAtomically` before giving up. */
export const MAX_CAS_RETRIES = 16;
