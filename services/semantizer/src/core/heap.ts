/** A binary min-heap of (key, id) pairs ordered by key, then id (deterministic ties). */
export class MinHeap {
  private readonly keys: number[] = [];
  private readonly ids: string[] = [];

  get size(): number {
    return this.keys.length;
  }

  push(key: number, id: string): void {
    this.keys.push(key);
    this.ids.push(id);
    let i = this.keys.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  peekKey(): number | undefined {
    return this.keys[0];
  }

  pop(): { key: number; id: string } | undefined {
    const n = this.keys.length;
    if (n === 0) return undefined;
    const top = { key: this.keys[0] as number, id: this.ids[0] as string };
    const lastKey = this.keys.pop() as number;
    const lastId = this.ids.pop() as string;
    if (n > 1) {
      this.keys[0] = lastKey;
      this.ids[0] = lastId;
      let i = 0;
      const m = this.keys.length;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let s = i;
        if (l < m && this.less(l, s)) s = l;
        if (r < m && this.less(r, s)) s = r;
        if (s === i) break;
        this.swap(i, s);
        i = s;
      }
    }
    return top;
  }

  clear(): void {
    this.keys.length = 0;
    this.ids.length = 0;
  }

  private less(a: number, b: number): boolean {
    const ka = this.keys[a] as number;
    const kb = this.keys[b] as number;
    if (ka !== kb) return ka < kb;
    return (this.ids[a] as string) < (this.ids[b] as string);
  }

  private swap(a: number, b: number): void {
    const k = this.keys[a] as number;
    this.keys[a] = this.keys[b] as number;
    this.keys[b] = k;
    const id = this.ids[a] as string;
    this.ids[a] = this.ids[b] as string;
    this.ids[b] = id;
  }
}
