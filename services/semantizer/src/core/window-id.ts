/**
 * Deterministic window id: 64 bits (16 hex digits) of two MurmurHash3 lanes over tenant, user id,
 * run id and the window start (plus, for a window made only of late events, its sequence number),
 * NUL-separated. The same events give the same id across restarts, rebalances and re-deliveries.
 * (Not a cryptographic hash: ids are per user and only need to be stable and collision-free.)
 *
 * Equal to `windowIdOf` (the plain form: build the string, hash it twice) but cheaper: the hash
 * state after `tenant\0user\0run\0` is kept for the previous user (a user's windows close one
 * after another), the start time's digits are hashed without building its string, and the hex is
 * written in one `String.fromCharCode`.
 */
export function windowId(tenant: string, userId: string, runId: string, startMs: number, lateSeq?: number): string {
  if (!(startMs >= 0 && Number.isSafeInteger(startMs))) return windowIdOf(tenant, userId, runId, startMs, lateSeq);
  const a = lane1;
  const b = lane2;
  prefixState(tenant, userId, runId, a, b);
  a.digits(startMs);
  b.digits(startMs);
  if (lateSeq !== undefined) {
    const tail = `\u0000late\u0000${lateSeq}`;
    a.text(tail);
    b.text(tail);
  }
  return hex16(a.end(), b.end());
}

/** The plain window id: the NUL-separated string, hashed with both seeds. */
export function windowIdOf(tenant: string, userId: string, runId: string, startMs: number, lateSeq?: number): string {
  let s = `${tenant}\u0000${userId}\u0000${runId}\u0000${startMs}`;
  if (lateSeq !== undefined) s += `\u0000late\u0000${lateSeq}`;
  return hex8(murmur3(s, SEED1)) + hex8(murmur3(s, SEED2));
}

/**
 * The id of an early window (a preview of a live session in progress): (tenant, user id, run id,
 * the seq of the session's final window, the early window's revision), hashed like `windowIdOf`. A
 * marker word keeps it apart from every final window's id.
 */
export function earlyWindowId(tenant: string, userId: string, runId: string, seq: number, revision: number): string {
  const s = `${tenant}\u0000${userId}\u0000${runId}\u0000early\u0000${seq}\u0000${revision}`;
  return hex8(murmur3(s, SEED1)) + hex8(murmur3(s, SEED2));
}

const SEED1 = 0x9747b28c;
const SEED2 = 0x5bd1e995;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/**
 * MurmurHash3 (x86, 32-bit) over UTF-16 code units, fed piece by piece: the same result as
 * `murmur3` over the concatenation. A block is two code units; an odd one waits in `pending`.
 */
class Murmur3Stream {
  h = 0;
  /** Code units fed so far. */
  n = 0;
  /** The first code unit of an unfinished block, or −1. */
  pending = -1;

  constructor(private readonly seed: number) {}

  begin(): void {
    this.h = this.seed >>> 0;
    this.n = 0;
    this.pending = -1;
  }

  /** Copies another stream's state (a saved prefix). */
  copy(from: Murmur3Stream): void {
    this.h = from.h;
    this.n = from.n;
    this.pending = from.pending;
  }

  unit(c: number): void {
    this.n++;
    if (this.pending < 0) {
      this.pending = c;
      return;
    }
    this.h = mixBlock(this.h, (this.pending | (c << 16)) >>> 0);
    this.pending = -1;
  }

  text(s: string): void {
    for (let i = 0; i < s.length; i++) this.unit(s.charCodeAt(i));
  }

  /** The decimal digits of a non-negative safe integer (what `String(v)` gives). */
  digits(v: number): void {
    // Lowest digit first (`%` and the division by 10 of what is left are exact for safe integers).
    let k = 0;
    let x = v;
    do {
      const d = x % 10;
      DIGITS[k++] = d;
      x = (x - d) / 10;
    } while (x > 0);
    while (k > 0) this.unit(48 + (DIGITS[--k] as number));
  }

  end(): number {
    const h = this.pending >= 0 ? this.h ^ tailBlock(this.pending) : this.h;
    return fmix(h, this.n);
  }
}

/** One MurmurHash3 block (two code units) mixed into `h`. */
function mixBlock(h: number, block: number): number {
  const x = h ^ tailBlock(block);
  return (Math.imul((x << 13) | (x >>> 19), 5) + 0xe6546b64) | 0;
}

/** A block's scrambled value (`k1` of MurmurHash3), as the last, partial block is mixed in. */
function tailBlock(block: number): number {
  let k = Math.imul(block, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

/** MurmurHash3's finalization over `n` code units. */
function fmix(h0: number, n: number): number {
  let h = h0 ^ n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Working lanes, and the lanes after the previous user's `tenant\0user\0run\0`. */
const lane1 = new Murmur3Stream(SEED1);
const lane2 = new Murmur3Stream(SEED2);
const saved1 = new Murmur3Stream(SEED1);
const saved2 = new Murmur3Stream(SEED2);
let savedKey: [string, string, string] | undefined;

/** Sets the lanes to the state after `tenant\0user\0run\0` (hashed once per user in a row). */
function prefixState(tenant: string, userId: string, runId: string, a: Murmur3Stream, b: Murmur3Stream): void {
  const k = savedKey;
  if (k === undefined || k[0] !== tenant || k[1] !== userId || k[2] !== runId) {
    const prefix = `${tenant}\u0000${userId}\u0000${runId}\u0000`;
    saved1.begin();
    saved1.text(prefix);
    saved2.begin();
    saved2.text(prefix);
    savedKey = [tenant, userId, runId];
  }
  a.copy(saved1);
  b.copy(saved2);
}

/** Scratch for `Murmur3Stream.digits` (a safe integer has at most 16 digits). */
const DIGITS = new Uint8Array(16);

/** Hex digit character codes. */
const HEX = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];

/** `hex8(x) + hex8(y)`, written as one flat string. */
function hex16(x: number, y: number): string {
  return String.fromCharCode(
    HEX[x >>> 28] as number,
    HEX[(x >>> 24) & 15] as number,
    HEX[(x >>> 20) & 15] as number,
    HEX[(x >>> 16) & 15] as number,
    HEX[(x >>> 12) & 15] as number,
    HEX[(x >>> 8) & 15] as number,
    HEX[(x >>> 4) & 15] as number,
    HEX[x & 15] as number,
    HEX[y >>> 28] as number,
    HEX[(y >>> 24) & 15] as number,
    HEX[(y >>> 20) & 15] as number,
    HEX[(y >>> 16) & 15] as number,
    HEX[(y >>> 12) & 15] as number,
    HEX[(y >>> 8) & 15] as number,
    HEX[(y >>> 4) & 15] as number,
    HEX[y & 15] as number,
  );
}

/** MurmurHash3 (x86, 32-bit) over UTF-16 code units (a block is two of them). */
export function murmur3(s: string, seed: number): number {
  let h = seed >>> 0;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) h = mixBlock(h, (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)) >>> 0);
  if (i < n) h ^= tailBlock(s.charCodeAt(i));
  return fmix(h, n);
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/**
 * A 53-bit hash built up from parts without concatenating them (payload hashes): `begin`, then
 * `str`/`num` per part, then `end`. Two 32-bit FNV-style lanes; parts are separated.
 */
export class PartHasher {
  private h1 = 0;
  private h2 = 0;

  begin(): this {
    this.h1 = 0x811c9dc5;
    this.h2 = 0x01000193;
    return this;
  }

  str(s: string): this {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    // separator
    this.h1 = Math.imul(h1 ^ 0xffff, 0x01000193);
    this.h2 = Math.imul(h2 ^ 0xffff, 0x5bd1e995);
    return this;
  }

  num(v: number): this {
    f64[0] = v;
    this.h1 = Math.imul(Math.imul(this.h1 ^ (u32[0] as number), 0x01000193) ^ (u32[1] as number), 0x01000193);
    this.h2 = Math.imul(Math.imul(this.h2 ^ (u32[0] as number), 0x5bd1e995) ^ (u32[1] as number), 0x5bd1e995);
    return this;
  }

  end(): number {
    return (this.h2 >>> 0) * 0x200000 + ((this.h1 >>> 0) & 0x1fffff);
  }
}

/** 53-bit FNV-1a style hash of a string. */
export function hash53(s: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return (h2 >>> 0) * 0x200000 + ((h1 >>> 0) & 0x1fffff);
}
