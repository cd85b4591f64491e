import { DIMENSION_NAMES } from '@personastream/contracts';
import { type DatasetManifest, DatasetWriter } from '@personastream/dataset';
import type { SimulatorConfig } from './core/config.js';
import { simulateUserLines } from './core/run.js';

/** Manifest `source` of simulated datasets. */
export const SIMULATOR_SOURCE = 'personastream-simulator';

/**
 * Writes a simulated run in the canonical dataset layout (events.jsonl.gz, truth.jsonl,
 * manifest.json), streaming one user at a time. Events are written in emission order (duplicates and
 * late events kept, as a platform would log them); malformed records are not written. Same config ⇒
 * byte-identical files.
 */
export async function writeSimulatedDataset(
  config: SimulatorConfig,
  dir: string,
  onProgress?: (usersDone: number) => void,
): Promise<DatasetManifest> {
  const w = await DatasetWriter.open(dir);
  try {
    let done = 0;
    for (const u of simulateUserLines(config)) {
      await w.writeEventLines(u.lines, u.userId);
      await w.writeTruth(u.truth);
      onProgress?.(++done);
    }
    return await w.finish({
      source: SIMULATOR_SOURCE,
      license: 'CC0-1.0',
      description: `Simulated HPR-Bench run ${config.runId}: ${config.users} users, ${config.horizonDays} days, seed ${config.seed}`,
      config,
      labelledDimensions: [...DIMENSION_NAMES],
    });
  } catch (err) {
    await w.abort();
    throw err;
  }
}
