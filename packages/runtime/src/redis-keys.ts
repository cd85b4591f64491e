/** The two commands `deleteKeysWithPrefix` needs (an ioredis client fits; no Redis dependency here). */
export interface KeyScanClient {
  scan(cursor: string, match: 'MATCH', pattern: string, count: 'COUNT', n: number): Promise<[string, string[]]>;
  del(...keys: string[]): Promise<number>;
}

/** Deletes every key that starts with `prefix` (SCAN, never KEYS: safe on a shared Redis). */
export async function deleteKeysWithPrefix(redis: KeyScanClient, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
