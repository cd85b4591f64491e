/**
 * Per-tenant token buckets: each tenant may take `ratePerS` tokens a second on average and up to
 * `burst` at once. One event costs one token, so a batch of n events needs n tokens.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(ratePerS > 0) || !(burst >= 1)) throw new Error('token bucket needs rate > 0 and burst >= 1');
  }

  /** Takes `n` tokens, or none: returns 0 when granted, else how many seconds until `n` are available. */
  take(key: string, n: number): number {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.burst, at: t };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.ratePerS);
    b.at = t;
    if (n <= b.tokens) {
      b.tokens -= n;
      return 0;
    }
    if (n > this.burst) return Number.POSITIVE_INFINITY;
    return (n - b.tokens) / this.ratePerS;
  }

  /** Gives tokens back (a request that took them was not served, e.g. Kafka was unavailable). */
  refund(key: string, n: number): void {
    const b = this.buckets.get(key);
    if (b) b.tokens = Math.min(this.burst, b.tokens + n);
  }
}
