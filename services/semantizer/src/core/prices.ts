/**
 * Per-category price statistics of a run on one partition, as (category, UTC day) buckets of
 * n, Σ ln p and Σ (ln p)², filled as events arrive. A window's price tiers and "expensive" checks use
 * only the buckets of days before the window's start day: with input ordered within the allowed
 * lateness, every event of those days has arrived when the window closes, so the tiers do not
 * depend on arrival order or batching; in any input order they depend only on the partition's
 * record sequence (restarts and rebalances reproduce them).
 *
 * Levels: the full path, its ancestors, and the run-wide key ''. The most specific level with at
 * least 8 samples is used; without any, the tier is "mid".
 */
import { lowerBound } from './sorted.js';

export type PriceTier = 'low' | 'mid' | 'high';

export const DAY_MS = 86_400_000;
const MIN_SAMPLES = 8;
/** |z| of log price beyond which a price is low/high: ±0.43 splits a normal into terciles. */
const TERCILE_Z = 0.43;

/** [n, Σ ln p, Σ (ln p)²] */
export type Bucket = [number, number, number];

/**
 * The day buckets of one category key, in one contiguous array: bucket j (the j-th smallest day,
 * `days[j]`) is `sums[4j..4j+3]` = n, Σ ln p, Σ (ln p)², and 1 when changed since the last
 * checkpoint delta. Contiguous doubles, found by binary search: events of one user after another
 * jump back and forth in time, and a scan or one small array per bucket cost more than the update.
 */
interface Entry {
  key: string;
  /** `takeDirty`'s field name of this key without the day (built once per checkpoint prefix). */
  field: string;
  fieldPrefix: string | undefined;
  /** Days that have a bucket, ascending (the first `days.length` buckets of `sums` are in use). */
  days: number[];
  sums: Float64Array;
  /** Index of the bucket used last (events of one user mostly hit the same day in a row). */
  last: number;
  /**
   * Memo of the last prefix sum (`prefix`): the sums over the buckets of days < `qDay`, which are
   * the first `qj` buckets. Valid while no bucket of a day < `qDay` changed (`add` clears it).
   */
  qDay: number;
  qj: number;
  qn: number;
  qs1: number;
  qs2: number;
}

/** Doubles per bucket in `Entry.sums`. */
const SLOT = 4;

interface PathInfo {
  path: string[];
  keys: string[];
  entries: Entry[];
  /** Earliest event time the path was observed at (vocabulary fast path). */
  seenAt: number;
}

export class PriceBook {
  /** key → its day buckets, sorted by day */
  private readonly buckets = new Map<string, Entry>();
  /** leaf name → paths ending with it, their keys and bucket entries (paths repeat on every event). */
  private readonly pathKeys = new Map<string, PathInfo[]>();
  /** Path array (by identity) → its info. Arrays must not be mutated once seen (interned ones never are). */
  private readonly byArray = new Map<readonly string[], PathInfo>();
  /** Buckets changed since the last `takeDirty`, as (entry, day). */
  private dirty: [Entry, number][] = [];
  /** Buckets folded away since the last `takeRemoved`, as (entry, day). */
  private removed: [Entry, number][] = [];

  private info(path: readonly string[]): PathInfo {
    // Engines intern paths (`PathTable`): the same array comes back for every event of a path.
    const known = this.byArray.get(path);
    if (known !== undefined) return known;
    const x = this.infoByContent(path);
    if (this.byArray.size >= 50_000) this.byArray.clear();
    this.byArray.set(path, x);
    return x;
  }

  private infoByContent(path: readonly string[]): PathInfo {
    const leaf = path[path.length - 1] ?? '';
    let list = this.pathKeys.get(leaf);
    if (list) {
      for (const x of list) if (sameArray(x.path, path)) return x;
    } else {
      if (this.pathKeys.size > 50_000) this.pathKeys.clear();
      list = [];
      this.pathKeys.set(leaf, list);
    }
    const keys = [''];
    let k = '';
    for (const p of path) {
      k = k === '' ? p : `${k}>${p}`;
      keys.push(k);
    }
    const entries = keys.map((key) => this.entry(key));
    const x: PathInfo = { path: [...path], keys, entries, seenAt: Number.POSITIVE_INFINITY };
    list.push(x);
    return x;
  }

  /** Keys of a path at every level, run-wide '' first, leaf last (cached: the same array each time). */
  keysOf(path: readonly string[]): string[] {
    return this.info(path).keys;
  }

  /**
   * Records that the path was seen at `t`; true when `t` is earlier than any time seen for it
   * before (the caller then updates what depends on first sightings, e.g. the vocabulary).
   * Derived state: after a restore it starts at +∞, which only costs a repeated update.
   */
  observePath(path: readonly string[], t: number): boolean {
    const x = this.info(path);
    if (t >= x.seenAt) return false;
    x.seenAt = t;
    return true;
  }

  private entry(key: string): Entry {
    let e = this.buckets.get(key);
    if (!e) {
      e = {
        key,
        field: '',
        fieldPrefix: undefined,
        days: [],
        sums: new Float64Array(8 * SLOT),
        last: 0,
        qDay: Number.NEGATIVE_INFINITY,
        qj: 0,
        qn: 0,
        qs1: 0,
        qs2: 0,
      };
      this.buckets.set(key, e);
    }
    return e;
  }

  /** Offset in `e.sums` of the bucket of `day`, created (zero) when missing. */
  private bucket(e: Entry, day: number): number {
    // The caller changes this bucket: a memoized prefix that contains it is stale.
    if (day < e.qDay) forgetPrefix(e);
    const days = e.days;
    if (days[e.last] === day) return e.last * SLOT;
    const j = lowerBound(days, day);
    e.last = j;
    if (days[j] !== day) insertBucket(e, j, day);
    return j * SLOT;
  }

  add(path: readonly string[], price: number, t: number): void {
    if (!(price > 0) || !Number.isFinite(price)) return;
    const x = Math.log(price);
    const day = Math.floor(t / DAY_MS);
    for (const e of this.info(path).entries) {
      const o = this.bucket(e, day);
      const sums = e.sums;
      sums[o] = (sums[o] as number) + 1;
      sums[o + 1] = (sums[o + 1] as number) + x;
      sums[o + 2] = (sums[o + 2] as number) + x * x;
      if (sums[o + 3] === 0) {
        sums[o + 3] = 1;
        this.dirty.push([e, day]);
      }
    }
  }

  /** n, mean and sd of ln price over days strictly before `beforeMs`'s UTC day, most specific level. */
  stat(path: readonly string[], beforeMs: number): { n: number; mean: number; sd: number } | undefined {
    const day = Math.floor(beforeMs / DAY_MS);
    const entries = this.info(path).entries;
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i] as Entry;
      prefix(e, day);
      const n = e.qn;
      const s1 = e.qs1;
      const s2 = e.qs2;
      if (n >= MIN_SAMPLES) {
        const mean = s1 / n;
        const v = (s2 - (s1 * s1) / n) / (n - 1);
        return { n, mean, sd: v > 0 ? Math.sqrt(v) : 0 };
      }
    }
    return undefined;
  }

  /** z-score of ln price against its category before `beforeMs`; 0 without statistics. */
  z(path: readonly string[], price: number, beforeMs: number): number {
    return zOf(this.stat(path, beforeMs) ?? null, price);
  }

  tier(path: readonly string[], price: number, beforeMs: number): PriceTier {
    return tierOf(this.stat(path, beforeMs) ?? null, price);
  }

  /**
   * Buckets changed since the last call, appended to `into` as field, value pairs: the field
   * `prefix + key\u0000day`, the value the bucket's JSON (what `JSON.stringify(bucket)` gives,
   * written directly: checkpoints take these every batch).
   */
  takeDirty(into: string[], prefix: string): void {
    for (const [e, day] of this.dirty) {
      const o = lowerBound(e.days, day) * SLOT;
      const sums = e.sums;
      sums[o + 3] = 0;
      if (e.fieldPrefix !== prefix) {
        e.fieldPrefix = prefix;
        e.field = `${prefix}${e.key}\u0000`;
      }
      into.push(e.field + day, bucketJson(sums[o] as number, sums[o + 1] as number, sums[o + 2] as number));
    }
    this.dirty = [];
  }

  /** Forgets which buckets changed (after a restore: the store already has them). */
  clearDirty(): void {
    for (const [e, day] of this.dirty) (e.sums as Float64Array)[lowerBound(e.days, day) * SLOT + 3] = 0;
    this.dirty = [];
  }

  /**
   * Folds every key's buckets of days before `day` into one bucket, kept at the newest folded day —
   * for a run that never ends (the live run), so its price book grows with the catalogue, not with
   * the days. The folded bucket holds the sums the prefix sum adds in the same order, so every
   * statistic of a later day stays bit for bit what it was; only a window that starts within the
   * folded days (an event far beyond the allowed lateness) sees those days as one.
   */
  foldBefore(day: number): void {
    for (const e of this.buckets.values()) {
      const j = lowerBound(e.days, day);
      if (j < 2) continue;
      forgetPrefix(e);
      const sums = e.sums;
      let n = 0;
      let s1 = 0;
      let s2 = 0;
      for (let k = 0; k < j; k++) {
        n += sums[k * SLOT] as number;
        s1 += sums[k * SLOT + 1] as number;
        s2 += sums[k * SLOT + 2] as number;
      }
      const keptDay = e.days[j - 1] as number;
      for (let k = 0; k < j - 1; k++) this.removed.push([e, e.days[k] as number]);
      // bucket j − 1 becomes the fold; the ones before it go
      sums[(j - 1) * SLOT] = n;
      sums[(j - 1) * SLOT + 1] = s1;
      sums[(j - 1) * SLOT + 2] = s2;
      sums.copyWithin(0, (j - 1) * SLOT, e.days.length * SLOT);
      sums.fill(0, (e.days.length - (j - 1)) * SLOT);
      e.days.splice(0, j - 1);
      e.last = 0;
      if (sums[3] === 0) {
        sums[3] = 1;
        this.dirty.push([e, keptDay]);
      }
    }
    // dirty entries of removed days must not be written back
    if (this.removed.length > 0) this.dirty = this.dirty.filter(([e, d]) => e.days.includes(d));
  }

  /** Fields of the buckets folded away since the last call (`takeDirty`'s field names), appended to `into`. */
  takeRemoved(into: string[], prefix: string): void {
    for (const [e, day] of this.removed) into.push(`${prefix}${e.key}\u0000${day}`);
    this.removed = [];
  }

  /** Marks every bucket changed (the next `takeDirty` hands them all out: a checkpoint written anew). */
  markAllDirty(): void {
    this.clearDirty();
    for (const e of this.buckets.values()) {
      e.days.forEach((day, j) => {
        e.sums[j * SLOT + 3] = 1;
        this.dirty.push([e, day]);
      });
    }
  }

  /** Every bucket, as `key\u0000day` → bucket. */
  all(): Map<string, Bucket> {
    const out = new Map<string, Bucket>();
    for (const [k, e] of this.buckets) {
      e.days.forEach((d, j) => {
        const o = j * SLOT;
        out.set(`${k}\u0000${d}`, [e.sums[o] as number, e.sums[o + 1] as number, e.sums[o + 2] as number]);
      });
    }
    return out;
  }

  /** Restores one bucket (from `all`/`takeDirty` output). */
  set(field: string, v: Bucket): void {
    const i = field.lastIndexOf('\u0000');
    const e = this.entry(field.slice(0, i));
    const o = this.bucket(e, Number(field.slice(i + 1)));
    e.sums[o] = v[0];
    e.sums[o + 1] = v[1];
    e.sums[o + 2] = v[2];
  }
}

/** Inserts an empty bucket for `day` at index `j`, growing the array when full. */
function insertBucket(e: Entry, j: number, day: number): void {
  const n = e.days.length;
  if ((n + 1) * SLOT > e.sums.length) {
    const grown = new Float64Array(e.sums.length * 2);
    grown.set(e.sums);
    e.sums = grown;
  }
  e.sums.copyWithin((j + 1) * SLOT, j * SLOT, n * SLOT);
  e.sums.fill(0, j * SLOT, (j + 1) * SLOT);
  e.days.splice(j, 0, day);
}

/** `JSON.stringify([n, s1, s2])`: finite numbers print as `String` does; others take JSON's `null`. */
function bucketJson(n: number, s1: number, s2: number): string {
  if (Number.isFinite(n) && Number.isFinite(s1) && Number.isFinite(s2)) return `[${n},${s1},${s2}]`;
  return JSON.stringify([n, s1, s2]);
}

/**
 * Sums the buckets of days before `day`, in day order, into the entry's memo. Windows mostly query
 * later days than the previous query on the same entry, with the buckets before it unchanged: then
 * the sums continue from the memo — the same additions in the same order as from scratch, so the
 * floating-point results are identical.
 */
function prefix(e: Entry, day: number): void {
  let j = 0;
  let n = 0;
  let s1 = 0;
  let s2 = 0;
  if (day >= e.qDay) {
    j = e.qj;
    n = e.qn;
    s1 = e.qs1;
    s2 = e.qs2;
  }
  const { days, sums } = e;
  for (; j < days.length && (days[j] as number) < day; j++) {
    const o = j * SLOT;
    n += sums[o] as number;
    s1 += sums[o + 1] as number;
    s2 += sums[o + 2] as number;
  }
  e.qDay = day;
  e.qj = j;
  e.qn = n;
  e.qs1 = s1;
  e.qs2 = s2;
}

/** An empty memo: the sums of no buckets (days before −∞). */
function forgetPrefix(e: Entry): void {
  e.qDay = Number.NEGATIVE_INFINITY;
  e.qj = 0;
  e.qn = 0;
  e.qs1 = 0;
  e.qs2 = 0;
}

function sameArray(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** z-score of ln price against statistics; 0 without them. */
export function zOf(s: { mean: number; sd: number } | null, price: number): number {
  // A spread below 1 % (or float noise of identical prices) says nothing about tiers.
  if (!s || !(price > 0) || !(s.sd > 0.01)) return 0;
  return (Math.log(price) - s.mean) / s.sd;
}

export function tierOf(s: { mean: number; sd: number } | null, price: number): PriceTier {
  const z = zOf(s, price);
  return z < -TERCILE_Z ? 'low' : z > TERCILE_Z ? 'high' : 'mid';
}
