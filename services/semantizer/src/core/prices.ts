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
export type PriceTier = 'low' | 'mid' | 'high';

export const DAY_MS = 86_400_000;
const MIN_SAMPLES = 8;
/** |z| of log price beyond which a price is low/high: ±0.43 splits a normal into terciles. */
const TERCILE_Z = 0.43;

/** [n, Σ ln p, Σ (ln p)²] */
export type Bucket = [number, number, number];

/** A bucket in memory: the sums plus whether it changed since the last checkpoint delta. */
type LiveBucket = [number, number, number, boolean];

/** The day buckets of one category key, sorted by day. */
interface Entry {
  key: string;
  days: number[];
  live: LiveBucket[];
}

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
  /** Buckets changed since the last `takeDirty`. */
  private dirty: [string, number, LiveBucket][] = [];

  private info(path: readonly string[]): PathInfo {
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
      e = { key, days: [], live: [] };
      this.buckets.set(key, e);
    }
    return e;
  }

  private bucket(e: Entry, day: number): LiveBucket {
    const { days, live } = e;
    let i = days.length - 1;
    while (i >= 0 && (days[i] as number) > day) i--;
    if (i >= 0 && days[i] === day) return live[i] as LiveBucket;
    const b: LiveBucket = [0, 0, 0, false];
    days.splice(i + 1, 0, day);
    live.splice(i + 1, 0, b);
    return b;
  }

  add(path: readonly string[], price: number, t: number): void {
    if (!(price > 0) || !Number.isFinite(price)) return;
    const x = Math.log(price);
    const day = Math.floor(t / DAY_MS);
    for (const e of this.info(path).entries) {
      const b = this.bucket(e, day);
      b[0]++;
      b[1] += x;
      b[2] += x * x;
      if (!b[3]) {
        b[3] = true;
        this.dirty.push([e.key, day, b]);
      }
    }
  }

  /** n, mean and sd of ln price over days strictly before `beforeMs`'s UTC day, most specific level. */
  stat(path: readonly string[], beforeMs: number): { n: number; mean: number; sd: number } | undefined {
    const day = Math.floor(beforeMs / DAY_MS);
    const entries = this.info(path).entries;
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i] as Entry;
      let n = 0;
      let s1 = 0;
      let s2 = 0;
      for (let j = 0; j < e.days.length && (e.days[j] as number) < day; j++) {
        const b = e.live[j] as LiveBucket;
        n += b[0];
        s1 += b[1];
        s2 += b[2];
      }
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

  /** Buckets changed since the last call, as `key\u0000day` → bucket. */
  takeDirty(): Map<string, Bucket> {
    const out = new Map<string, Bucket>();
    for (const [k, day, b] of this.dirty) {
      b[3] = false;
      out.set(`${k}\u0000${day}`, [b[0], b[1], b[2]]);
    }
    this.dirty = [];
    return out;
  }

  /** Every bucket, as `key\u0000day` → bucket. */
  all(): Map<string, Bucket> {
    const out = new Map<string, Bucket>();
    for (const [k, e] of this.buckets) {
      e.days.forEach((d, j) => {
        const b = e.live[j] as LiveBucket;
        out.set(`${k}\u0000${d}`, [b[0], b[1], b[2]]);
      });
    }
    return out;
  }

  /** Restores one bucket (from `all`/`takeDirty` output). */
  set(field: string, v: Bucket): void {
    const i = field.lastIndexOf('\u0000');
    const b = this.bucket(this.entry(field.slice(0, i)), Number(field.slice(i + 1)));
    b[0] = v[0];
    b[1] = v[1];
    b[2] = v[2];
  }
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
