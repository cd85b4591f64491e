/**
 * The coordination state of one finite run (tenant, run id) shared by every ingest replica, and the
 * four operations on it. This is the reference form: the in-memory store applies these functions,
 * and the Redis store's Lua scripts (adapters/redis-run-store.ts) do the same steps on a Redis hash,
 * atomically per run. Times are the store's clock, epoch ms.
 *
 * - `ended`: when the run was ended (absent while it is open). Once set, no send of the run starts.
 * - `sends`: per replica with sends of the run in flight — how many, and until when its lease on
 *   them holds. A replica that stops renewing (crashed, cut off) loses the lease; the end then no
 *   longer waits for its sends. An entry exists only while its count is above zero.
 * - `counts`: records of the run acknowledged by Kafka, per partition, summed over replicas (the
 *   `records` of the end-of-run markers).
 */
export interface RunLedger {
  ended?: number;
  sends: Map<string, { inflight: number; leaseUntil: number }>;
  counts: number[];
}

export function newRunLedger(): RunLedger {
  return { sends: new Map(), counts: [] };
}

/**
 * A send of `replica` starts unless the run has ended: its in-flight count goes up and its lease is
 * set to `now + leaseMs`. False (nothing changed) when the run has ended.
 */
export function beginSend(run: RunLedger, replica: string, now: number, leaseMs: number): boolean {
  if (run.ended !== undefined) return false;
  const s = run.sends.get(replica);
  if (s) {
    s.inflight++;
    s.leaseUntil = now + leaseMs;
  } else run.sends.set(replica, { inflight: 1, leaseUntil: now + leaseMs });
  return true;
}

/**
 * A send of `replica` got Kafka's answer: its in-flight count goes down (the entry is dropped at
 * zero) and the records Kafka acknowledged, per partition, are added to the run's counts.
 */
export function finishSend(run: RunLedger, replica: string, acked?: readonly number[]): void {
  const s = run.sends.get(replica);
  if (s) {
    s.inflight--;
    if (s.inflight <= 0) run.sends.delete(replica);
  }
  if (acked) {
    for (let p = 0; p < acked.length; p++) {
      const n = acked[p] ?? 0;
      if (n === 0) continue;
      while (run.counts.length <= p) run.counts.push(0);
      run.counts[p] = (run.counts[p] as number) + n;
    }
  }
}

/**
 * Extends the lease of `replica` to `now + leaseMs` — only while it still holds: a lease that has
 * expired may already have been passed over by an end, so it is never revived. False when there is
 * nothing to renew or the lease had expired.
 */
export function renewLease(run: RunLedger, replica: string, now: number, leaseMs: number): boolean {
  const s = run.sends.get(replica);
  if (!s || s.leaseUntil <= now) return false;
  s.leaseUntil = now + leaseMs;
  return true;
}

/**
 * One step of ending the run: marks it ended (the first call; later calls keep the first time),
 * forgets the sends of replicas whose lease expired, and counts the sends still in flight under a
 * live lease. The end may write its markers once `busy` is 0.
 */
export function endStep(run: RunLedger, now: number): { busy: number; replicas: number } {
  run.ended ??= now;
  let busy = 0;
  let replicas = 0;
  for (const [replica, s] of run.sends) {
    if (s.inflight > 0 && s.leaseUntil > now) {
      busy += s.inflight;
      replicas++;
    } else run.sends.delete(replica);
  }
  return { busy, replicas };
}
