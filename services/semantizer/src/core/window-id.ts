/**
 * Deterministic window id: 64 bits (16 hex digits) of two MurmurHash3 lanes over tenant, user id,
 * run id and the window start (plus, for a window made only of late events, its sequence number),
 * NUL-separated. The same events give the same id across restarts, rebalances and re-deliveries.
 * (Not a cryptographic hash: ids are per user and only need to be stable and collision-free.)
 */
export function windowId(tenant: string, userId: string, runId: string, startMs: number, lateSeq?: number): string {
  let s = `${tenant}\u0000${userId}\u0000${runId}\u0000${startMs}`;
  if (lateSeq !== undefined) s += `\u0000late\u0000${lateSeq}`;
  return hex8(murmur3(s, 0x9747b28c)) + hex8(murmur3(s, 0x5bd1e995));
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** MurmurHash3 (x86, 32-bit) over UTF-16 code units. */
export function murmur3(s: string, seed: number): number {
  let h = seed >>> 0;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    let k = (s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16)) >>> 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < n) {
    let k = s.charCodeAt(i);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
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
