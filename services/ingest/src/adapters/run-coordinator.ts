import { performance } from 'node:perf_hooks';
import type { Logger } from '@personastream/runtime';
import { beginSend, endStep, finishSend, newRunLedger, type RunLedger, renewLease } from '../core/run-ledger.js';

/**
 * Coordinates the sends and the ends of finite runs across ingest replicas, so that no event any
 * replica answered 200 for lands after the run's end-of-run markers, and every replica refuses the
 * run's events once it has ended. Runs are named by `runKey(tenant, runId)`. The live run never
 * ends and never comes here (no round trip per live request).
 *
 * - A send of records of finite runs first calls `begin`: it starts only if none of its runs has
 *   ended (checked and counted atomically per run), else nothing starts and the ended runs are named.
 * - When Kafka answered (either way) the send calls `ticket.finish`. Before answering 200 it asks
 *   `ticket.valid()`: false when this replica's lease on the run may have lapsed while the send was in
 *   flight (Redis unreachable for longer than the lease) — an end may then have passed the send over,
 *   so the request must not be reported accepted.
 * - `end` marks the run ended, then waits (bounded) until no replica holding a live lease has a send
 *   of the run in flight, and returns the acknowledged records per partition (every replica's).
 */
export interface RunCoordinator {
  readonly replica: string;
  begin(runs: readonly string[]): Promise<SendTicket | { ended: string[] }>;
  end(run: string, timeoutMs: number): Promise<{ counts: number[] }>;
  close(): Promise<void>;
}

export interface SendTicket {
  /** True while this replica's lease on every run of the send has held since the send began. */
  valid(): boolean;
  /** Kafka answered; `acked`: records acknowledged per run key, per partition (absent on failure). */
  finish(acked?: ReadonlyMap<string, readonly number[]>): void;
}

/** `end` gave up waiting: the run is ended (no new sends start) but sends of it were still in flight. */
export class EndTimeoutError extends Error {
  constructor(
    readonly run: string,
    readonly busy: number,
    readonly replicas: number,
    readonly timeoutMs: number,
  ) {
    super(`run ${run}: ${busy} send(s) on ${replicas} replica(s) were still waiting for Kafka after ${timeoutMs} ms`);
    this.name = 'EndTimeoutError';
  }
}

/**
 * Where the shared state lives: every call is atomic for its run (one Redis Lua script, or one
 * synchronous step in memory). Clocks (leases, `ended`) are the store's own.
 */
export interface RunStore {
  /** `beginSend` of the run ledger; false when the run has ended. */
  begin(run: string, replica: string, leaseMs: number): Promise<boolean>;
  /** `finishSend`. */
  finish(run: string, replica: string, acked: readonly number[] | undefined): Promise<void>;
  /** `renewLease`; false when the lease had lapsed (or nothing of the replica is in flight). */
  renew(run: string, replica: string, leaseMs: number): Promise<boolean>;
  /** `endStep`, plus the run's counts once nothing is busy. */
  end(run: string): Promise<{ busy: number; replicas: number; counts: number[] }>;
  close(): Promise<void>;
}

export interface RunCoordinatorOptions {
  /** This replica's id (unique per process). */
  replica: string;
  /** How long a replica's claim on its in-flight sends holds without renewal, ms. */
  leaseMs: number;
  logger: Logger;
  /** Local monotonic clock, ms (tests). Lease validity is judged on it, never on the store's clock. */
  monotonicNow?: () => number;
  /** First and largest wait between two checks of an end, ms (default 5 and 100). */
  pollMs?: { first: number; max: number };
}

interface LocalRun {
  /** Sends of this replica in flight. */
  inflight: number;
  /** Local monotonic time until which this replica's lease on the run surely holds. */
  validUntil: number;
}

/**
 * The coordinator over a store. Lease validity is judged conservatively on the local monotonic
 * clock: a successful begin or renewal sent at local time t made the store's lease reach at least
 * t + lease (the store set it later, from the same duration), so `validUntil` never exceeds the
 * store's lease. Leases are renewed every lease/3 for runs with sends in flight; a renewal after
 * the lease lapsed fails (the store never revives a lapsed lease), so validity never jumps a gap.
 */
export function createRunCoordinator(store: RunStore, opts: RunCoordinatorOptions): RunCoordinator {
  const mono = opts.monotonicNow ?? (() => performance.now());
  const poll = opts.pollMs ?? { first: 5, max: 100 };
  const local = new Map<string, LocalRun>();
  const { replica, leaseMs, logger } = opts;

  const renewAll = async () => {
    for (const [run, l] of local) {
      if (l.inflight <= 0) continue;
      const sentAt = mono();
      try {
        if (await store.renew(run, replica, leaseMs)) {
          const cur = local.get(run);
          if (cur) cur.validUntil = Math.max(cur.validUntil, sentAt + leaseMs);
        } else logger.warn({ run }, 'lease on in-flight sends lapsed: they will be answered 503');
      } catch (err) {
        logger.warn({ err, run }, 'lease renewal failed');
      }
    }
  };
  let renewing = false;
  const timer = setInterval(
    () => {
      if (renewing || local.size === 0) return;
      renewing = true;
      void renewAll().finally(() => {
        renewing = false;
      });
    },
    Math.max(1, Math.floor(leaseMs / 3)),
  );
  timer.unref();

  const release = (run: string, acked: readonly number[] | undefined) => {
    const l = local.get(run);
    if (l && --l.inflight <= 0) local.delete(run);
    store.finish(run, replica, acked).catch((err: unknown) => {
      // the count stays up in the store until the lease lapses (nothing renews it any more)
      logger.warn({ err, run }, 'could not record the end of a send; the end of this run waits for the lease');
    });
  };

  return {
    replica,

    async begin(runs) {
      const sentAt = mono();
      const results = await Promise.allSettled(runs.map((r) => store.begin(r, replica, leaseMs)));
      const ended: string[] = [];
      let failure: unknown;
      results.forEach((r, i) => {
        if (r.status === 'rejected') failure ??= r.reason;
        else if (!r.value) ended.push(runs[i] as string);
      });
      if (failure !== undefined || ended.length > 0) {
        // all or nothing: give back what did start
        results.forEach((r, i) => {
          if (r.status === 'fulfilled' && r.value) store.finish(runs[i] as string, replica, undefined).catch(() => {});
        });
        if (failure !== undefined) throw failure;
        return { ended };
      }
      for (const run of runs) {
        const l = local.get(run);
        if (l) {
          l.inflight++;
          l.validUntil = Math.max(l.validUntil, sentAt + leaseMs);
        } else local.set(run, { inflight: 1, validUntil: sentAt + leaseMs });
      }
      let finished = false;
      return {
        valid() {
          const now = mono();
          for (const run of runs) if (!((local.get(run)?.validUntil ?? 0) > now)) return false;
          return true;
        },
        finish(acked) {
          if (finished) return;
          finished = true;
          for (const run of runs) release(run, acked?.get(run));
        },
      };
    },

    async end(run, timeoutMs) {
      const deadline = mono() + timeoutMs;
      let wait = poll.first;
      for (;;) {
        const r = await store.end(run);
        if (r.busy === 0) return { counts: r.counts };
        if (mono() + wait > deadline) throw new EndTimeoutError(run, r.busy, r.replicas, timeoutMs);
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, poll.max);
      }
    },

    async close() {
      clearInterval(timer);
      await store.close();
    },
  };
}

/**
 * The run store in this process's memory: one replica (no Redis), or several coordinators sharing
 * one store in tests. Bounded like the Redis one: a run's ledger is dropped `retentionMs` after it
 * was last touched, once no send of it is in flight.
 */
export class MemoryRunStore implements RunStore {
  private readonly runs = new Map<string, RunLedger & { touched: number }>();
  private readonly now: () => number;
  private readonly retentionMs: number;
  private lastSweep = 0;

  constructor(opts: { now?: () => number; retentionMs: number }) {
    this.now = opts.now ?? Date.now;
    this.retentionMs = opts.retentionMs;
  }

  /** Runs held (tests). */
  get size(): number {
    return this.runs.size;
  }

  private ledger(run: string): RunLedger {
    const now = this.now();
    this.sweep(now);
    let l = this.runs.get(run);
    if (!l) {
      l = { ...newRunLedger(), touched: now };
      this.runs.set(run, l);
    }
    l.touched = now;
    return l;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < Math.min(60_000, this.retentionMs)) return;
    this.lastSweep = now;
    for (const [run, l] of this.runs) {
      if (now - l.touched >= this.retentionMs && l.sends.size === 0) this.runs.delete(run);
    }
  }

  async begin(run: string, replica: string, leaseMs: number): Promise<boolean> {
    return beginSend(this.ledger(run), replica, this.now(), leaseMs);
  }

  async finish(run: string, replica: string, acked: readonly number[] | undefined): Promise<void> {
    finishSend(this.ledger(run), replica, acked);
  }

  async renew(run: string, replica: string, leaseMs: number): Promise<boolean> {
    const l = this.runs.get(run);
    return l ? renewLease(l, replica, this.now(), leaseMs) : false;
  }

  async end(run: string): Promise<{ busy: number; replicas: number; counts: number[] }> {
    const l = this.ledger(run);
    const { busy, replicas } = endStep(l, this.now());
    return { busy, replicas, counts: busy === 0 ? [...l.counts] : [] };
  }

  async close(): Promise<void> {}
}
