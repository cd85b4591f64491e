/**
 * One tenant's ids: an open-addressing hash table (linear probing) whose slots hold a non-zero
 * 32-bit hash beside the id, and a ring of the ids (and their hashes) in insertion order for
 * eviction. Probing reads only the hash array (0 = empty slot); an id string is compared only when
 * its hash matches, so a lookup of a new id costs one access to a flat array.
 */
class IdTable {
  /** Slot → id (undefined: empty). */
  private keys: Array<string | undefined>;
  /** Slot → hash of its id, never 0 (0: empty). */
  private hashes: Int32Array;
  private mask: number;
  private count = 0;
  /** Ids in insertion order (a ring once `capacity` is reached) and their hashes. */
  private readonly ring: string[] = [];
  private ringHashes = new Int32Array(64);
  private head = 0;

  constructor(private readonly capacity: number) {
    const slots = Math.min(tableSize(capacity), 1024);
    this.keys = new Array(slots).fill(undefined);
    this.hashes = new Int32Array(slots);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  has(id: string): boolean {
    return this.find(id, hashId(id)) >= 0;
  }

  /** Adds an id; the oldest is forgotten once `capacity` ids are held. */
  add(id: string): void {
    const h = hashId(id);
    if (this.find(id, h) >= 0) return;
    const n = this.ring.length;
    if (n < this.capacity) {
      if (n === this.ringHashes.length) {
        const grown = new Int32Array(Math.min(n * 2, this.capacity));
        grown.set(this.ringHashes);
        this.ringHashes = grown;
      }
      this.ringHashes[n] = h;
      this.ring.push(id);
    } else {
      this.remove(this.ring[this.head] as string, this.ringHashes[this.head] as number);
      this.ring[this.head] = id;
      this.ringHashes[this.head] = h;
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    }
    if ((this.count + 1) * 2 > this.keys.length) this.grow();
    this.insert(id, h);
  }

  private find(id: string, h: number): number {
    const hashes = this.hashes;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const x = hashes[i] as number;
      if (x === 0) return -1;
      if (x === h && this.keys[i] === id) return i;
    }
  }

  private insert(id: string, h: number): void {
    const hashes = this.hashes;
    const mask = this.mask;
    let i = h & mask;
    while (hashes[i] !== 0) i = (i + 1) & mask;
    this.keys[i] = id;
    hashes[i] = h;
    this.count++;
  }

  /** Deletes by backward shift (no tombstones): later entries of the probe run move up into the gap. */
  private remove(id: string, h: number): void {
    let gap = this.find(id, h);
    if (gap < 0) return;
    const keys = this.keys;
    const hashes = this.hashes;
    const mask = this.mask;
    keys[gap] = undefined;
    hashes[gap] = 0;
    this.count--;
    for (let j = (gap + 1) & mask; hashes[j] !== 0; j = (j + 1) & mask) {
      const home = (hashes[j] as number) & mask;
      // j's entry may move to the gap unless its home lies cyclically in (gap, j]
      const stays = gap <= j ? gap < home && home <= j : gap < home || home <= j;
      if (stays) continue;
      keys[gap] = keys[j];
      hashes[gap] = hashes[j] as number;
      keys[j] = undefined;
      hashes[j] = 0;
      gap = j;
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldHashes = this.hashes;
    const slots = oldKeys.length * 2;
    this.keys = new Array(slots).fill(undefined);
    this.hashes = new Int32Array(slots);
    this.mask = slots - 1;
    this.count = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const h = oldHashes[i] as number;
      if (h !== 0) this.insert(oldKeys[i] as string, h);
    }
  }
}

/** Slots for `capacity` ids at a load factor of at most 1/2 (a power of two). */
function tableSize(capacity: number): number {
  let n = 4;
  while (n < capacity * 2) n *= 2;
  return n;
}

/**
 * FNV-1a over the UTF-16 code units, then a murmur3 finalizer (linear probing wants well-mixed low
 * bits); never 0, which marks an empty slot.
 */
function hashId(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h === 0 ? 1 : h;
}

/**
 * A bounded set of recently seen ids per tenant (the oldest are forgotten first). Remembers event
 * ids whose records Kafka acknowledged, so a retried batch is answered without producing them
 * again. Bounded: an id older than the last `capacity` ids of its tenant may be produced twice,
 * which downstream de-duplication by event id absorbs.
 *
 * On the hot path of every request (a lookup per incoming event, an insert and an eviction per
 * accepted one), so it is a flat table rather than a JS `Set`: a `Set` lookup follows pointers to
 * the stored strings (cache misses on a table of 200,000 ids), and evicting through a `Set`'s
 * iterator walks the holes that deletions leave, which made each insert at capacity a scan.
 */
export class RecentIds {
  private readonly tenants = new Map<string, IdTable>();

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error('RecentIds capacity must be >= 1');
  }

  has(tenant: string, id: string): boolean {
    return this.tenants.get(tenant)?.has(id) ?? false;
  }

  add(tenant: string, id: string): void {
    let t = this.tenants.get(tenant);
    if (!t) {
      t = new IdTable(this.capacity);
      this.tenants.set(tenant, t);
    }
    t.add(id);
  }

  size(tenant: string): number {
    return this.tenants.get(tenant)?.size ?? 0;
  }
}
