/**
 * Interns category paths: every equal path maps to one shared array, so that later lookups (price
 * buckets, category keys, raw-size parts) can key on the array's identity instead of comparing or
 * joining strings per event. Interned arrays are never mutated.
 */
export class PathTable {
  private readonly byLeaf = new Map<string, string[][]>();
  private size = 0;
  /** The path `intern` returned last: consecutive events often show the same item. */
  private last: string[] = NO_PATH;

  constructor(private readonly maxPaths = 50_000) {}

  intern(path: readonly string[]): string[] {
    if (path.length === 0) return NO_PATH;
    if (sameArray(this.last, path)) return this.last;
    this.last = this.lookup(path);
    return this.last;
  }

  private lookup(path: readonly string[]): string[] {
    const leaf = path[path.length - 1] as string;
    let list = this.byLeaf.get(leaf);
    if (list) {
      for (const x of list) if (sameArray(x, path)) return x;
    } else {
      // Clearing only costs identity hits: a new array for an equal path is equally correct.
      if (this.size >= this.maxPaths) {
        this.byLeaf.clear();
        this.size = 0;
      }
      list = [];
      this.byLeaf.set(leaf, list);
    }
    const x = [...path];
    list.push(x);
    this.size++;
    return x;
  }
}

/** The (shared, never mutated) path of events without a category. */
export const NO_PATH: string[] = [];

export function sameArray(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
