// Public API of the persona service (what the CLI, the evaluator and tests may import).
export {
  type CallOptions,
  createPersonaClient,
  grpcChannelCredentials,
  type PersonaClient,
  type WatchStream,
} from './adapters/grpc-client.js';
export {
  type GrpcServerOptions,
  grpcServerCredentials,
  hashToken,
  PERSONA_SERVICE_NAME,
  parseTenantTokens,
  personaServiceDefinition,
  type RunningGrpcServer,
  startGrpcServer,
  type TenantTokens,
} from './adapters/grpc-server.js';
export { MemoryPersonaStore } from './adapters/memory-store.js';
export { createOpenAiClient, type OpenAiClientOptions } from './adapters/openai-client.js';
export { RedisPersonaStore, type RedisStoreOptions } from './adapters/redis-store.js';
export type {
  AppliedWindow,
  ApplyBatchOptions,
  DeleteOutcome,
  PendingRef,
  PersonaChange,
  PersonaStore,
  PlanUser,
  UserBatch,
  UserWrite,
} from './adapters/store.js';
export { benchmarkUpdates, type UpdateBenchmark } from './bench.js';
export { loadPersonaConfig, type PersonaConfig, type PersonaEnv, personaEnvShape } from './config.js';
export type { ModelBackend, PredictContext, Prediction, SyncModelBackend, TokenUsage } from './core/backend.js';
export { isDuplicateWindow, MAX_RUNS_KEPT, type Overlay, type RunMark } from './core/bookkeeping.js';
export { BuiltinBackend, type BuiltinOptions, createBuiltinBackend } from './core/builtin/backend.js';
export { extractFeatures } from './core/builtin/features.js';
export type { ModelWeights, MultiDimModel, SinceMethod, SingleDimModel } from './core/builtin/model.js';
export { evaluateBuiltin, type TrainingExample, type TrainOptions, trainBuiltinModel } from './core/builtin/train.js';
export { flippedDimensions, type TagValue } from './core/flips.js';
export { OpenAiBackend, type OpenAiBackendOptions, type PromptTemplates } from './core/openai/backend.js';
export type { ChatClient, ChatRequest, ChatResult } from './core/openai/port.js';
export { type GroupedTags, groupTags, jaccard, tagScore } from './core/score.js';
export {
  type ApplyOptions,
  type ApplyResult,
  applyWindow,
  applyWindowAsync,
  applyWindowsInOrder,
  applyWindowsInOrderAsync,
  newState,
  type PersonaState,
  type SequenceResult,
  type UserSnapshot,
  type WindowStep,
  windowCarriesConsent,
} from './core/state.js';
export { emptyStats, type FeatureStats, updateStats } from './core/stats.js';
export { statedPhrase, writeSummary } from './core/summary.js';
export {
  SYNTHETIC_DIMENSIONS,
  type SyntheticUser,
  syntheticEarlyWindow,
  syntheticUsers,
} from './core/synthetic.js';
export { defaultModelPath, loadModel, saveModel } from './model-file.js';
export { createOpenAiBackend, loadPromptTemplates, type OpenAiSettings, promptsDir } from './openai.js';
export {
  type Caller,
  createPersonaService,
  type PersonaApi,
  type PersonaService,
  type PersonaServiceConfig,
  type PersonaServiceDeps,
} from './service.js';
export {
  examplesFromWindows,
  type SimulationTrainInput,
  type TrainReport,
  trainFromExamples,
  trainFromSimulation,
  trainFromWindows,
  type WindowsTrainInput,
} from './train.js';
