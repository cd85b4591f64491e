import { createEvaluatorService, MemoryScoreSink, type RunReport } from '@personastream/evaluator';
import {
  createBuiltinBackend,
  createPersonaService,
  loadModel,
  MemoryPersonaStore,
  type ModelBackend,
} from '@personastream/persona';
import { createRegistry, type Logger, silentLogger } from '@personastream/runtime';
import { createSemantizerService, defaultSemantizerConfig, MemoryCheckpointStore } from '@personastream/semantizer';
import { publishRun, type SimulatorConfig } from '@personastream/simulator';
import { defaultTopicSpecs, MemoryBroker } from '@personastream/stream';
import { progressBar } from '../progress.js';
import { type BaselineInputs, baselineInputs, runBaselines } from './run-info.js';

export interface PipelineOptions {
  sim: SimulatorConfig;
  /** Model backend; default: the builtin model shipped with the persona service. */
  backend?: ModelBackend;
  samples?: number;
  partitions?: number;
  /** Score every user, not just the test split (tiny demos). */
  scoreAllUsers?: boolean;
  includeSensitive?: boolean;
  /** Tag score of the same backend on raw input, for retention. */
  rawTagScore?: () => number | null;
  quiet?: boolean;
  logger?: Logger;
}

export interface PipelineResult {
  report: RunReport;
  /** The personas after the run, per user id (embedded mode keeps them in memory). */
  store: MemoryPersonaStore;
  baselineInputs: BaselineInputs;
}

/**
 * The embedded mode: the very same service factories as `main.ts`, wired in one process with the
 * in-memory adapters (MemoryBroker for Kafka, MemoryPersonaStore for Redis, MemoryScoreSink for
 * ClickHouse). A run flows simulator → semantizer → persona → evaluator through the broker, and ends
 * when the evaluator has seen every partition's end-of-run marker.
 */
export async function runEmbeddedPipeline(opts: PipelineOptions): Promise<PipelineResult> {
  const logger = opts.logger ?? silentLogger();
  const registry = createRegistry('embedded', false);
  const partitions = opts.partitions ?? 4;
  const broker = new MemoryBroker(partitions);
  await broker.admin().ensureTopics(defaultTopicSpecs(partitions));
  const includeSensitive = opts.includeSensitive ?? true;
  const scoreAllUsers = opts.scoreAllUsers ?? false;
  const backend = opts.backend ?? createBuiltinBackend(loadModel());
  const started = Date.now();
  const inputs = baselineInputs(opts.sim);

  const semantizer = createSemantizerService(defaultSemantizerConfig, {
    stream: broker,
    checkpoints: new MemoryCheckpointStore(),
    logger,
    registry,
  });
  const store = new MemoryPersonaStore();
  const persona = createPersonaService(
    { samples: opts.samples ?? 1 },
    { stream: broker, store, backend, logger, registry },
  );
  const evaluator = createEvaluatorService(
    { scoreAllUsers, includeSensitive, stack: 'embedded' },
    {
      stream: broker,
      sink: new MemoryScoreSink(),
      logger,
      registry,
      baselines: async () => runBaselines(inputs, { includeSensitive, scoreAllUsers }),
      runInfo: async () => ({
        seed: opts.sim.seed,
        backend: backend.name,
        stack: 'embedded',
        events: inputs.events,
        wall_s: (Date.now() - started) / 1000,
        raw_tag_avg_at_k: opts.rawTagScore?.() ?? null,
      }),
    },
  );
  await Promise.all([semantizer.start(), persona.start(), evaluator.start()]);
  try {
    const bar = progressBar('simulate', opts.sim.users, opts.quiet);
    const waiting = evaluator.waitForRun(opts.sim.tenant, opts.sim.runId);
    await publishRun(opts.sim, { stream: broker, logger }, { onProgress: (n) => bar.update(n) });
    bar.stop();
    const report = await waiting;
    return { report, store, baselineInputs: inputs };
  } finally {
    await Promise.all([semantizer.stop(), persona.stop(), evaluator.stop()]);
  }
}
