import type { Redis } from 'ioredis';
import { metricValue } from './plan.js';

/**
 * Bytes the semantizer keeps in Redis under `prefix`: for hashes (its checkpoints) the sum of
 * field + value bytes, for strings their length, for anything else `MEMORY USAGE`; and how many keys.
 */
export async function checkpointBytes(redis: Redis, prefix: string): Promise<{ bytes: number; keys: number }> {
  let bytes = 0;
  let keys = 0;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of found) {
      keys++;
      const type = await redis.type(key);
      if (type === 'hash') {
        let hc = '0';
        do {
          const [n, flat] = await redis.hscanBuffer(key, hc, 'COUNT', 1000);
          hc = n.toString();
          for (const b of flat) bytes += b.length;
        } while (hc !== '0');
      } else if (type === 'string') {
        bytes += await redis.strlen(key);
      } else if (type !== 'none') {
        bytes += Number((await redis.call('MEMORY', 'USAGE', key)) ?? 0);
      }
    }
  } while (cursor !== '0');
  return { bytes, keys };
}

/** Redis `used_memory` in MiB (`INFO memory`). */
export async function redisUsedMb(redis: Redis): Promise<number | null> {
  const m = /^used_memory:(\d+)/m.exec(await redis.info('memory'));
  return m?.[1] ? Number(m[1]) / 1024 / 1024 : null;
}

/** The semantizer's `/metrics` figures the soak reads (null when the build has no such metric). */
export async function semantizerMetrics(
  opsUrl: string,
): Promise<{ stateUsers: number | null; orphans: number | null; idleClosed: number | null; early: number | null }> {
  try {
    const text = await (await fetch(`${opsUrl}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    return {
      stateUsers: metricValue(text, 'semantizer_state_users'),
      orphans: metricValue(text, 'semantizer_orphan_events_total'),
      idleClosed: metricValue(text, 'semantizer_idle_closed_total'),
      early: metricValue(text, 'semantizer_early_windows_total'),
    };
  } catch {
    return { stateUsers: null, orphans: null, idleClosed: null, early: null };
  }
}
