/**
 * Values by run — (tenant, run id), since a run belongs to one tenant — found without building a
 * key string: a lookup per event must stay two map reads. Iteration follows insertion order per
 * run id.
 */
export class RunTable<T> {
  private readonly byRun = new Map<string, Map<string, T>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(tenant: string, runId: string): T | undefined {
    return this.byRun.get(runId)?.get(tenant);
  }

  has(tenant: string, runId: string): boolean {
    return this.byRun.get(runId)?.has(tenant) ?? false;
  }

  set(tenant: string, runId: string, value: T): void {
    let byTenant = this.byRun.get(runId);
    if (!byTenant) {
      byTenant = new Map();
      this.byRun.set(runId, byTenant);
    }
    if (!byTenant.has(tenant)) this.count++;
    byTenant.set(tenant, value);
  }

  delete(tenant: string, runId: string): boolean {
    const byTenant = this.byRun.get(runId);
    if (!byTenant?.delete(tenant)) return false;
    this.count--;
    if (byTenant.size === 0) this.byRun.delete(runId);
    return true;
  }

  clear(): void {
    this.byRun.clear();
    this.count = 0;
  }

  *values(): IterableIterator<T> {
    for (const byTenant of this.byRun.values()) yield* byTenant.values();
  }
}
