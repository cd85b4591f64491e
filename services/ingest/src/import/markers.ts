import { type EndOfRun, endOfRun } from '@personastream/contracts';
import type { OutRecord } from '@personastream/stream';

/**
 * The end-of-run markers a replay ends with: one per run and partition, carrying how many records
 * of that run it wrote to that partition (`counts` keyed `run\0partition`). `encode` wraps a marker
 * in the topic's record type.
 */
export function replayMarkers(
  runs: Iterable<readonly [run: string, tenant: string]>,
  partitions: number,
  counts: ReadonlyMap<string, number>,
  encode: (marker: EndOfRun) => Uint8Array,
): OutRecord[] {
  const markers: OutRecord[] = [];
  for (const [run, tenant] of runs) {
    for (let p = 0; p < partitions; p++) {
      const marker = endOfRun({
        runId: run,
        producer: 'ingest-replay',
        partition: p,
        totalPartitions: partitions,
        records: counts.get(`${run}\u0000${p}`) ?? 0,
        tenant,
      });
      markers.push({ key: `eor/${run}`, partition: p, value: encode(marker) });
    }
  }
  return markers;
}
