import { type BehaviorEvent, type DimensionSpec, dimensionSpec, type GroundTruth } from '@personastream/contracts';
import { type DatasetManifest, readDatasetEvents, readDatasetManifest, readDatasetTruth } from '@personastream/dataset';

export interface LoadedDataset {
  manifest: DatasetManifest;
  events: BehaviorEvent[];
  truths: GroundTruth[];
  /** Dimensions the truth labels (scored and trained on). */
  dimensions: DimensionSpec[];
}

/** Reads a canonical dataset (events in file order, truth, manifest). */
export async function loadDataset(dir: string, onEvents?: (n: number) => void): Promise<LoadedDataset> {
  const manifest = await readDatasetManifest(dir);
  const events: BehaviorEvent[] = [];
  for await (const e of readDatasetEvents(dir)) {
    events.push(e);
    if (onEvents && events.length % 10_000 === 0) onEvents(events.length);
  }
  onEvents?.(events.length);
  const truths: GroundTruth[] = [];
  for await (const t of readDatasetTruth(dir)) truths.push(t);
  const dimensions = manifest.labelledDimensions
    .map((d) => dimensionSpec(d))
    .filter((d): d is DimensionSpec => d !== undefined);
  return { manifest, events, truths, dimensions };
}
