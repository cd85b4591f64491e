/**
 * A bounded set of recently seen ids per tenant (insertion-ordered; the oldest are forgotten first).
 * Remembers event ids whose records Kafka acknowledged, so a retried batch is answered without
 * producing them again. Bounded: an id older than the last `capacity` ids of its tenant may be
 * produced twice, which downstream de-duplication by event id absorbs.
 */
export class RecentIds {
  private readonly sets = new Map<string, Set<string>>();

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error('RecentIds capacity must be >= 1');
  }

  has(tenant: string, id: string): boolean {
    return this.sets.get(tenant)?.has(id) ?? false;
  }

  add(tenant: string, id: string): void {
    let s = this.sets.get(tenant);
    if (!s) {
      s = new Set();
      this.sets.set(tenant, s);
    }
    if (s.has(id)) return;
    s.add(id);
    if (s.size > this.capacity) {
      const oldest = s.values().next();
      if (!oldest.done) s.delete(oldest.value);
    }
  }

  size(tenant: string): number {
    return this.sets.get(tenant)?.size ?? 0;
  }
}
