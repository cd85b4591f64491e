/**
 * Kafka record headers that carry pipeline metadata outside the deterministic record bytes.
 *
 * `ps-entry-ms` (on `behavior.windows.v1` window records): the wall-clock time, Unix epoch ms, at
 * which the window's newest event entered the pipeline — the largest Kafka record timestamp
 * (producer create time, set by ingest or the simulator when producing) of the event records in the
 * window; in embedded mode the time the event was handed to the in-memory broker. It is a header,
 * not a field of `SemantizedWindow`, because window bytes and ids must stay a function of the events
 * alone. The persona service copies it into `PersonaUpdate.ingest_time_ms`, from which the evaluator
 * computes pipeline latency (update wall time − entry time). Absent or unparsable → unknown.
 */
export const RecordHeaders = {
  entryMs: 'ps-entry-ms',
  /**
   * `ps-entry-first-ms` (window records, beside `ps-entry-ms`): the entry time of the *oldest* event
   * that this window is the first to show downstream (events an earlier early window of the same
   * session already showed are left out). The persona service copies it into
   * `PersonaUpdate.first_entry_ms`; freshness = update wall time − this, the longest any newly shown
   * event waited. Absent when the window shows no new event or the time is unknown.
   */
  entryFirstMs: 'ps-entry-first-ms',
} as const;

const known = (ms: number) => Number.isFinite(ms) && ms > 0;

/**
 * The headers that carry a window's entry times (none when unknown: not a positive finite number):
 * `entryMs` of its newest event, and `firstEntryMs` of the oldest event it is the first to show.
 */
export function entryHeaders(entryMs: number, firstEntryMs = 0): Record<string, string> | undefined {
  if (!known(entryMs) && !known(firstEntryMs)) return undefined;
  const h: Record<string, string> = {};
  if (known(entryMs)) h[RecordHeaders.entryMs] = String(Math.round(entryMs));
  if (known(firstEntryMs)) h[RecordHeaders.entryFirstMs] = String(Math.round(firstEntryMs));
  return h;
}

/** The entry time a record's headers carry, or 0 when unknown (missing, empty or not a positive number). */
export function entryMsOf(
  headers: Readonly<Record<string, string | undefined>> | undefined,
  name: string = RecordHeaders.entryMs,
): number {
  const v = headers?.[name];
  if (v === undefined || v === '') return 0;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** The `ps-entry-first-ms` time a record's headers carry, or 0 when unknown. */
export function firstEntryMsOf(headers: Readonly<Record<string, string | undefined>> | undefined): number {
  return entryMsOf(headers, RecordHeaders.entryFirstMs);
}
