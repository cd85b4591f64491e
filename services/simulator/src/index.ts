// What the CLI and other packages may import from the simulator.
export { MALFORMED_HEADER, PRODUCER, type PublishOptions, publishRun, type RunSummary } from './adapters/publish.js';
export { benchmarkGeneration, type GenerationBenchmark } from './bench.js';
export { loadSimulatorEnv, type SimulatorEnv, simulatorEnv } from './config.js';
export {
  jaccard,
  type PriorBaseline,
  personaTags,
  priorBaseline,
  type TagPrediction,
  tagScore,
} from './core/baseline.js';
export { runContext, TASTE_SHARPNESS, userTasteVector } from './core/behaviour.js';
export {
  buildCatalogue,
  type Catalogue,
  catalogueFor,
  ITEM_FACTOR_NAMES,
  ITEM_FACTORS,
  itemFactors,
} from './core/catalogue.js';
export {
  DEFAULT_NOISE,
  DEFAULT_START_TIME_MS,
  defaultSimulatorConfig,
  ITEM_TASTE_DEFAULT,
  type NoiseConfig,
  type SimulatorConfig,
  type SimulatorConfigOverrides,
  simulatorConfig,
  userIdOf,
  validateSimulatorConfig,
} from './core/config.js';
export { eventJson, toBehaviorEvent } from './core/event-json.js';
export { samplePersona } from './core/persona-sampler.js';
export { DEFAULT_PRIORS, type PersonaPriors } from './core/priors.js';
export { type LearnabilityReport, referenceLearnerScore } from './core/reference-learner.js';
export {
  type RawUser,
  type SimRecord,
  simulateRawUser,
  simulateUserLines,
  simulateUsers,
  type UserLines,
  userRecords,
} from './core/run.js';
export { BANDS, type BandCheck, checkBands, LIFE_EVENT_BAND, type SimStats, simulationStats } from './core/stats.js';
export { GENERAL_TOPS, LEAVES, type LeafSpec, topOfInterest } from './core/taxonomy.js';
export { groundTruth, keyFacts, referenceSummary, truthTags } from './core/truth.js';
export type { Persona } from './core/types.js';
export { SIMULATOR_SOURCE, writeSimulatedDataset } from './dataset.js';
