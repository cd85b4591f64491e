import type { SemantizedWindow } from '@personastream/contracts';

/**
 * Applied-window bookkeeping of one user, bounded (pure).
 *
 * Windows of one (tenant, user, run) arrive ordered by `seq`: for each session first its early
 * windows (`provisional`, revision 1, 2, …), then its final window (same seq, revision 0), then the
 * windows of later seqs; a redelivery repeats a prefix of that order. So instead of a set of every
 * applied window id, a user's state keeps
 * - per run the highest applied final `seq` (a high-water mark), for at most {@link MAX_RUNS_KEPT}
 *   runs, the most recently used ones, and
 * - the overlay: the latest early window (its run, seq and revision, and the window itself), at most
 *   one per user.
 *
 * A final window with seq ≤ its run's mark is a duplicate. An early window is a duplicate when its
 * seq ≤ its run's mark, or when it is of the overlay's run and older than the overlay (a lower seq,
 * or the same seq and a revision ≤ the overlay's).
 */

/** Runs whose high-water marks a user's state keeps: the most recently used ones. */
export const MAX_RUNS_KEPT = 64;

/** One run's high-water mark: the highest `seq` of a final window of the run applied to the user. */
export type RunMark = readonly [runId: string, seq: number];

/** The latest early window of a user, shown on top of the base statistics until its final window. */
export interface Overlay {
  runId: string;
  seq: number;
  revision: number;
  /** The early window (stores may decode it lazily: it is read only to show it over a changed base). */
  readonly window: SemantizedWindow;
}

/** What decides duplicates: the run marks (least recently used first) and the overlay. */
export interface Bookkeeping {
  runs: readonly RunMark[];
  overlay?: Overlay;
}

/** The run's mark, or -1 when no final window of the run was applied (or its mark was dropped). */
export function markOf(runs: readonly RunMark[], runId: string): number {
  // Newest last: a user's current run is found first.
  for (let i = runs.length - 1; i >= 0; i--) {
    const r = runs[i] as RunMark;
    if (r[0] === runId) return r[1];
  }
  return -1;
}

/**
 * The marks with `runId` at `seq`, moved to the most recently used end; past {@link MAX_RUNS_KEPT}
 * runs the least recently used one is dropped. A new array (the input is not modified).
 */
export function withMark(runs: readonly RunMark[], runId: string, seq: number): RunMark[] {
  const last = runs[runs.length - 1];
  if (last && last[0] === runId) {
    const out = runs.slice();
    out[out.length - 1] = [runId, seq];
    return out;
  }
  const out: RunMark[] = [];
  for (const r of runs) if (r[0] !== runId) out.push(r);
  out.push([runId, seq]);
  if (out.length > MAX_RUNS_KEPT) out.splice(0, out.length - MAX_RUNS_KEPT);
  return out;
}

/** True when the window was applied before (or is superseded): see the module comment. */
export function isDuplicateWindow(book: Bookkeeping | undefined, w: SemantizedWindow): boolean {
  if (!book) return false;
  if (w.seq <= markOf(book.runs, w.runId)) return true;
  if (!w.provisional) return false;
  const o = book.overlay;
  return o !== undefined && o.runId === w.runId && (w.seq < o.seq || (w.seq === o.seq && w.revision <= o.revision));
}

/**
 * Bookkeeping after applying `w` (not a duplicate): an early window becomes the overlay (replacing
 * any other); a final window raises its run's mark and clears an overlay of the same run whose seq
 * it reaches. Returns the same overlay object when the overlay is kept (stores compare identities).
 */
export function afterApply(book: Bookkeeping | undefined, w: SemantizedWindow): Bookkeeping {
  const runs = book?.runs ?? [];
  if (w.provisional) return { runs, overlay: { runId: w.runId, seq: w.seq, revision: w.revision, window: w } };
  const o = book?.overlay;
  const cleared = o !== undefined && o.runId === w.runId && w.seq >= o.seq;
  return { runs: withMark(runs, w.runId, w.seq), overlay: cleared ? undefined : o };
}

/**
 * The bookkeeping as stored (a short JSON text, the overlay's window aside):
 * `{"r":[[run,seq],…],"o":[run,seq,revision]}`, runs least recently used first.
 */
export function encodeBookkeeping(book: Bookkeeping): string {
  const o = book.overlay;
  return JSON.stringify(o ? { r: book.runs, o: [o.runId, o.seq, o.revision] } : { r: book.runs });
}

/** The overlay's (run, seq, revision) as stored; its window comes from elsewhere. */
export type OverlayMeta = readonly [runId: string, seq: number, revision: number];

/** Parses {@link encodeBookkeeping}'s text; throws on anything else. */
export function decodeBookkeeping(text: string): { runs: RunMark[]; overlay?: OverlayMeta } {
  const v = JSON.parse(text) as { r?: unknown; o?: unknown };
  const okRun = (r: unknown): r is RunMark =>
    Array.isArray(r) && r.length === 2 && typeof r[0] === 'string' && Number.isInteger(r[1]);
  if (!Array.isArray(v?.r) || !v.r.every(okRun)) throw new Error(`invalid applied-window bookkeeping: ${text}`);
  const o = v.o;
  if (o === undefined) return { runs: v.r };
  if (
    !Array.isArray(o) ||
    o.length !== 3 ||
    typeof o[0] !== 'string' ||
    !Number.isInteger(o[1]) ||
    !Number.isInteger(o[2])
  ) {
    throw new Error(`invalid applied-window bookkeeping: ${text}`);
  }
  return { runs: v.r, overlay: [o[0], o[1], o[2]] };
}
