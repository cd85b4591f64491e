export {
  type CheckpointScope,
  type CheckpointStore,
  type CheckpointWrite,
  MemoryCheckpointStore,
  type PartitionCheckpoint,
  type RedisCheckpointOptions,
  RedisCheckpointStore,
} from './adapters/checkpoints.js';
export { benchmarkCore, type CoreBenchmark } from './bench.js';
export {
  configFromEnv,
  defaultSemantizerConfig,
  loadEnv,
  type SemantizerConfig,
  type SemantizerTopics,
  semantizerEnv,
} from './config.js';
export { type ClosedWindow, type CoreStats, type IngestOutcome, PartitionEngine } from './core/engine.js';
export { RENDER_VERSION, renderText, TEXT_LEGEND } from './core/render.js';
export { type SemantizeOptions, Semantizer, type SemantizeStats, semantizeEvents } from './core/semantizer.js';
export { TokenCounter, type TokenizerName } from './core/tokens.js';
export { type CoreConfig, defaultCoreConfig, type StepResult } from './core/types.js';
export { windowId } from './core/window-id.js';
export { createSemantizerService, DlqHeaders, type SemantizerDeps, type SemantizerService } from './service.js';
export { MALFORMED_HEADER } from './steps/decode.js';
