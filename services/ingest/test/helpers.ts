import { randomBytes } from 'node:crypto';
import { fromBinary } from '@bufbuild/protobuf';
import { type BehaviorEvent, EventRecordSchema } from '@personastream/contracts';
import type { Stream } from '@personastream/stream';

/** A required env var, or a clear failure naming it and how to get it. */
export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `${name} is not set: integration tests need the local infrastructure. Run "npx personastream infra up", then "set -a; . .infra/env; set +a" before vitest.`,
    );
  }
  return v;
}

export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Reads a topic from the beginning until `until(events)` holds (or the timeout), then stops. */
export async function consumeEvents(
  stream: Stream,
  topic: string,
  until: (events: BehaviorEvent[]) => boolean,
  timeoutMs = 60_000,
): Promise<BehaviorEvent[]> {
  const events: BehaviorEvent[] = [];
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => {
    done = r;
  });
  const consumer = stream.consumer({ groupId: `ingest-test-${uniqueSuffix()}`, topics: [topic], fromBeginning: true });
  await consumer.start(async (batch) => {
    for (const r of batch.records) {
      const rec = fromBinary(EventRecordSchema, r.value);
      if (rec.kind.case === 'event') events.push(rec.kind.value);
    }
    if (until(events)) done();
  });
  const timer = setTimeout(done, timeoutMs);
  await finished;
  clearTimeout(timer);
  await consumer.stop();
  return events;
}

/** POSTs JSON and returns status, headers and parsed body. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
