/** Kafka key of a user's records: `tenant/user_id`, so one user stays on one partition. */
export function userKey(tenant: string, userId: string): string {
  return `${tenant}/${userId}`;
}

/** Splits a `tenant/user_id` key; the user id may itself contain slashes. */
export function parseUserKey(key: string): { tenant: string; userId: string } {
  const slash = key.indexOf('/');
  if (slash <= 0) throw new Error(`invalid user key "${key}": expected tenant/user_id`);
  return { tenant: key.slice(0, slash), userId: key.slice(slash + 1) };
}

/**
 * Partition of a key: FNV-1a 32-bit hash modulo the partition count.
 * Every producer (Kafka or in-memory) uses this, so a user's records land on the same partition
 * index in every topic that has the same partition count.
 */
export function partitionForKey(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

/** Train/test split of a user: 80/20 by a hash of the user id (HPR-Bench §4). */
export function splitOf(userId: string): 'train' | 'test' {
  return partitionForKey(`split:${userId}`, 100) < 80 ? 'train' : 'test';
}
