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
} as const;

/** The headers that carry an entry time (none when it is unknown: not a positive finite number). */
export function entryHeaders(entryMs: number): Record<string, string> | undefined {
  if (!(Number.isFinite(entryMs) && entryMs > 0)) return undefined;
  return { [RecordHeaders.entryMs]: String(Math.round(entryMs)) };
}

/** The entry time a record's headers carry, or 0 when unknown (missing, empty or not a positive number). */
export function entryMsOf(headers: Readonly<Record<string, string | undefined>> | undefined): number {
  const v = headers?.[RecordHeaders.entryMs];
  if (v === undefined || v === '') return 0;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : 0;
}
