// What the CLI and other packages may import from the ingest service.

export { coalescingProducer } from './adapters/coalescing-producer.js';
export { bodyCodingOf, gunzipCapped } from './adapters/gunzip.js';
export { apiKeyOf, buildIngestApp, type IngestAppDeps } from './adapters/http.js';
export { openApiDocument } from './adapters/openapi.js';
export { RedisRunStore, type RedisRunStoreOptions } from './adapters/redis-run-store.js';
export {
  createRunCoordinator,
  EndTimeoutError,
  MemoryRunStore,
  type RunCoordinator,
  type RunCoordinatorOptions,
  type RunStore,
  type SendTicket,
} from './adapters/run-coordinator.js';
export {
  DEFAULT_APP_CONFIG,
  type IngestAppConfig,
  type IngestConfig,
  type IngestEnv,
  ingestEnvShape,
  loadIngestConfig,
} from './config.js';
export { ApiKeyStore, TENANT_ID } from './core/api-keys.js';
export { mapNativeEvent } from './core/native.js';
export { RecentIds } from './core/recent-ids.js';
export { checkEvent, ITEM_TYPES } from './core/rules.js';
export { runIdProblem } from './core/run-ids.js';
export { mapSegmentMessage, PII_TRAITS, SEGMENT_EVENT_TYPES, type SegmentType } from './core/segment.js';
export { TokenBuckets } from './core/token-bucket.js';
export {
  type EventError,
  type FieldIssue,
  type FieldReason,
  issueReason,
  LIMITS,
  type MapContext,
  type MapResult,
  type StepResult,
} from './core/types.js';
export { type BatchValidation, type ValidateOptions, type ValidEvent, validateBatch } from './core/validate.js';
export {
  type MovielensTasteOptions,
  writeMovielensFixture,
  writeMovielensTasteFixture,
  writeRetailrocketFixture,
  writeSegmentFixture,
  writeTaobaoFixture,
} from './import/fixtures.js';
export {
  ageBand,
  MOVIELENS_GENRES,
  MOVIELENS_OCCUPATIONS,
} from './import/formats/movielens.js';
export { IMPORT_FORMATS, type ImportOptions, type ImportResult, importDataset } from './import/import.js';
export { type ReplayOptions, type ReplayProgress, type ReplaySummary, replayDataset } from './import/replay.js';
export {
  type PublishTruthOptions,
  type PublishTruthSummary,
  publishDatasetTruth,
  truthRecord,
} from './import/truth.js';
export type { ImportFormat, ImportProgress } from './import/types.js';
export {
  createIngestService,
  type EndRunOutcome,
  type EndRunReply,
  type ErrorReply,
  type IngestOutcome,
  type IngestReply,
  type IngestRequest,
  type IngestService,
  type IngestServiceDeps,
  type IngestTopics,
} from './service.js';
export { createDedupStep } from './steps/dedup.js';
export { createEncodeStep } from './steps/encode.js';
export { createMapEventStep, type EventShape } from './steps/map-event.js';
