import { stat } from 'node:fs/promises';
import type { GroundTruth } from '@personastream/contracts';
import { isObject } from '../../core/fields.js';
import { mapSegmentMessage } from '../../core/segment.js';
import { issueReason, type MapContext } from '../../core/types.js';
import { readLines } from '../lines.js';
import type { Converted, ImportSource } from '../types.js';

/**
 * Segment JSON lines (one message per line — `track`, `page`, `screen`, `identify` — or a
 * `{ "batch": [...] }` object per line; `.gz` files are gunzipped), mapped by the same core as the
 * HTTP API (`mapSegmentMessage`). A message without `timestamp` uses `originalTimestamp`, then
 * `receivedAt`, then `sentAt`; with none of them it is skipped (`timestamp_required`), so that an
 * import never depends on the clock. `receivedAt` becomes `received_time_ms`. Skipped messages are
 * counted by the reason of their first issue. No labels: no truth.
 */
export async function segmentJsonlSource(path: string): Promise<ImportSource> {
  if (!(await stat(path).catch(() => undefined))) throw new Error(`segment-jsonl: ${path} does not exist`);
  return {
    source: 'segment',
    license: 'Data of the exporting platform: its owner decides (not redistributable unless stated).',
    description: 'Segment track/page/identify messages (JSON lines).',
    labelledDimensions: [],
    files: [path],
    config: {},

    async *events(ctx): AsyncGenerator<Converted> {
      const mapCtx: MapContext = {
        tenant: ctx.tenant,
        nowMs: 0,
        defaultRunId: ctx.runId,
        minEventTimeMs: Date.UTC(1990, 0, 1),
        maxEventTimeMs: Date.UTC(2100, 0, 1),
      };
      for await (const line of readLines(path, { onBytes: ctx.onBytes })) {
        if (line.trim() === '') continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          yield { skip: 'invalid_json' };
          continue;
        }
        const messages = isObject(parsed) && Array.isArray(parsed.batch) ? (parsed.batch as unknown[]) : [parsed];
        for (const raw of messages) {
          if (!isObject(raw)) {
            yield { skip: 'invalid_type' };
            continue;
          }
          const when = raw.timestamp ?? raw.originalTimestamp ?? raw.receivedAt ?? raw.sentAt;
          if (when === undefined || when === null || when === '') {
            yield { skip: 'timestamp_required' };
            continue;
          }
          const r = mapSegmentMessage({ ...raw, timestamp: when }, mapCtx);
          if (!r.ok) {
            yield { skip: issueReason(r.issues[0] ?? { field: '', reason: 'invalid_type' }) };
            continue;
          }
          const received = typeof raw.receivedAt === 'string' ? Date.parse(raw.receivedAt) : Number.NaN;
          for (const event of r.events) {
            event.receivedTimeMs = Number.isFinite(received) ? received : 0;
            yield { event };
          }
        }
      }
    },

    async *truths(): AsyncGenerator<GroundTruth> {},
  };
}
