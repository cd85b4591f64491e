import { create, fromBinary } from '@bufbuild/protobuf';
import {
  type BehaviorEvent,
  type EndOfRun,
  EndOfRunSchema,
  EventRecordSchema,
  encode,
  type SemantizedWindow,
  userKey,
  WindowRecordSchema,
} from '@personastream/contracts';
import type { InRecord, OutRecord } from '@personastream/stream';

/** An event as the simulator/ingest put it on `behavior.events.v1`. */
export function eventRecord(e: BehaviorEvent): OutRecord {
  return {
    key: userKey(e.tenant, e.userId),
    value: encode(EventRecordSchema, create(EventRecordSchema, { kind: { case: 'event', value: e } })),
  };
}

/** End-of-run markers for every partition of a run. */
export function endOfRunRecords(runId: string, partitions: number, tenant = 'demo', records = 0): OutRecord[] {
  return Array.from({ length: partitions }, (_, p) => ({
    key: `eor/${runId}`,
    partition: p,
    value: encode(
      EventRecordSchema,
      create(EventRecordSchema, {
        kind: {
          case: 'endOfRun',
          value: create(EndOfRunSchema, {
            runId,
            producer: 'test',
            partition: p,
            totalPartitions: partitions,
            tenant,
            records,
          }),
        },
      }),
    ),
  }));
}

/** Decodes the windows topic: windows and forwarded markers, each with its partition. */
export function readWindows(records: readonly InRecord[]): {
  windows: { partition: number; key: string; window: SemantizedWindow }[];
  markers: { partition: number; marker: EndOfRun }[];
} {
  const windows: { partition: number; key: string; window: SemantizedWindow }[] = [];
  const markers: { partition: number; marker: EndOfRun }[] = [];
  for (const r of records) {
    const rec = fromBinary(WindowRecordSchema, r.value);
    if (rec.kind.case === 'window') windows.push({ partition: r.partition, key: r.key, window: rec.kind.value });
    else if (rec.kind.case === 'endOfRun') markers.push({ partition: r.partition, marker: rec.kind.value });
  }
  return { windows, markers };
}
