import type { Stream } from '@personastream/stream';
import type { Redis } from 'ioredis';
import {
  addContent,
  type EndState,
  emptyState,
  normalPersona,
  normalRow,
  normalUpdate,
  normalWindow,
  TABLE_KEYS,
} from './compare.js';

/** Where one run's state lives. */
export interface RunStorage {
  tenant: string;
  runId: string;
  topics: { windows: string; updates: string };
  /** The persona service's Redis key prefix (`PERSONA_REDIS_PREFIX`). */
  personaPrefix: string;
  clickhouseUrl: string;
  clickhouseDatabase: string;
}

/** Reads a finished run's end state: both topics from the beginning, the personas, the ClickHouse rows. */
export async function collectEndState(stream: Stream, redis: Redis, s: RunStorage, groupId: string): Promise<EndState> {
  const state = emptyState();
  await readTopics(stream, s, groupId, state);
  await readPersonas(redis, s, state);
  await readRows(s, state);
  return state;
}

async function readTopics(stream: Stream, s: RunStorage, groupId: string, state: EndState): Promise<void> {
  const topics = [s.topics.windows, s.topics.updates];
  const consumer = stream.consumer({ groupId, topics, fromBeginning: true });
  await consumer.start(async (batch) => {
    const windows = batch.topic === s.topics.windows;
    for (const r of batch.records) {
      const n = windows ? normalWindow(r.value) : normalUpdate(r.value);
      if (n) addContent(state, windows ? 'windows' : 'updates', n.key, n.content);
    }
  });
  const admin = stream.admin();
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const lag = await admin.groupLag(groupId, topics);
      if (lag.length > 0 && lag.every((l) => l.lag === 0)) break;
      if (Date.now() > deadline) throw new Error(`chaos: reading ${topics.join(', ')} did not finish in 120 s`);
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    await consumer.stop();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.close();
  }
}

async function readPersonas(redis: Redis, s: RunStorage, state: EndState): Promise<void> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${s.personaPrefix}{*}:s`, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  for (let i = 0; i < keys.length; i += 500) {
    const chunk = keys.slice(i, i + 500);
    const pipeline = redis.pipeline();
    for (const k of chunk) pipeline.hgetBuffer(k, 'persona');
    const results = (await pipeline.exec()) ?? [];
    chunk.forEach((k, j) => {
      const [err, buf] = results[j] ?? [null, null];
      if (err) throw err;
      const user = k.slice(s.personaPrefix.length + 1, k.lastIndexOf('}'));
      addContent(state, 'personas', user, buf ? normalPersona(buf as Buffer) : 'no persona');
    });
  }
}

async function readRows(s: RunStorage, state: EndState): Promise<void> {
  for (const table of Object.keys(TABLE_KEYS)) {
    const sql = `SELECT * FROM ${s.clickhouseDatabase}.${table} WHERE run_id = '${s.runId}' FORMAT JSONEachRow`;
    const res = await fetch(s.clickhouseUrl, { method: 'POST', body: sql });
    const text = await res.text();
    if (!res.ok) throw new Error(`chaos: ClickHouse ${table}: ${res.status} ${text.slice(0, 300)}`);
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const n = normalRow(table, JSON.parse(line) as Record<string, unknown>);
      addContent(state, 'rows', n.key, n.content);
    }
  }
}
