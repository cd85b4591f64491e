import { type EndOfRun, endOfRun, isLiveRun, runKey } from '@personastream/contracts';
import type { OutRecord } from '@personastream/stream';

/** The key of `counts` in `replayMarkers`: one run (tenant, run id) on one partition. */
export function markerCountKey(tenant: string, run: string, partition: number): string {
  return `${runKey(tenant, run)}\u0000${partition}`;
}

/**
 * The end-of-run markers a replay ends with: one per run (tenant, run id) and partition, carrying how
 * many records of that run it wrote to that partition (`counts` keyed by `markerCountKey`). The live
 * run never ends: it gets none. `encode` wraps a marker in the topic's record type.
 */
export function replayMarkers(
  runs: Iterable<readonly [run: string, tenant: string]>,
  partitions: number,
  counts: ReadonlyMap<string, number>,
  encode: (marker: EndOfRun) => Uint8Array,
): OutRecord[] {
  const markers: OutRecord[] = [];
  for (const [run, tenant] of runs) {
    if (isLiveRun(run)) continue;
    for (let p = 0; p < partitions; p++) {
      const marker = endOfRun({
        runId: run,
        producer: 'ingest-replay',
        partition: p,
        totalPartitions: partitions,
        records: counts.get(markerCountKey(tenant, run, p)) ?? 0,
        tenant,
      });
      markers.push({ key: `eor/${run}`, partition: p, value: encode(marker) });
    }
  }
  return markers;
}
