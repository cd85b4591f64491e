import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, PersonaStreamError } from '@personastream/contracts';
import { type DatasetManifest, readDatasetManifest } from '@personastream/dataset';
import type { RunReport } from '@personastream/evaluator';
import {
  type PublishTruthSummary,
  publishDatasetTruth,
  type ReplaySummary,
  replayDataset,
} from '@personastream/ingest';
import { saveModel, trainFromWindows } from '@personastream/persona';
import { createLogger } from '@personastream/runtime';
import { semantizeEvents } from '@personastream/semantizer';
import { createKafkaStream } from '@personastream/stream';
import { progressBar, say } from '../progress.js';
import { type LoadedDataset, loadDataset } from './dataset.js';
import { type LocalPorts, startLocalStack } from './local.js';
import { datasetBaselines } from './run-info.js';

export interface LocalDatasetOptions {
  /** Folder of a canonical dataset with truth labels (e.g. `import --format movielens --out DIR`). */
  dir: string;
  /** Builtin model weights (`train --dataset DIR --out FILE`); default: trained here on the dataset's train split. */
  modelPath?: string;
  /** How the events enter the pipeline: through the ingest HTTP API, or straight to Kafka. */
  target: 'http' | 'kafka';
  /** Replay pacing relative to event time (0: as fast as possible). */
  speedup?: number;
  /** Ports / private topics and groups / log file suffix of the local stack (see `startLocalStack`). */
  ports?: LocalPorts;
  isolate?: string;
  logSuffix?: string;
  /** Report wait limit, ms (default 10 min). */
  timeoutMs?: number;
  /** Service variables for the stack's services (e.g. `CLICKHOUSE_DATABASE`), over the caller's environment. */
  env?: Readonly<Record<string, string>>;
}

export interface LocalDatasetResult {
  report: RunReport;
  manifest: DatasetManifest;
  /** What the replay sent (accepted / duplicates / rejected by reason). */
  replay: ReplaySummary;
  truth: PublishTruthSummary;
  /** Run id and tenant the dataset was replayed as (fresh per run, so runs never share state). */
  runId: string;
  tenant: string;
  modelPath: string;
}

/**
 * Trains the builtin model on a dataset's train split (as `train --dataset` does) into a temp file;
 * its item features apply to `tenant`, the tenant the dataset is replayed as (its item ids).
 */
async function trainModel(dir: string, ds: LoadedDataset, tenant: string): Promise<string> {
  say(`training the builtin model on the train split of ${dir}…`);
  const { windows } = semantizeEvents(ds.events, { tokenizer: 'none' });
  const report = trainFromWindows({
    windows,
    truths: ds.truths,
    dimensions: ds.dimensions,
    train: { itemTenants: [tenant] },
  });
  const file = join(await mkdtemp(join(tmpdir(), 'ps-model-')), 'model.json');
  saveModel(file, report.weights);
  say(`  ${report.users.train} train users, test tag score ${report.testScore.toFixed(4)} (batch) → ${file}`);
  return file;
}

/**
 * A labelled dataset through the real pipeline: the local stack (semantizer → persona with the
 * dataset's model → evaluator) under a fresh tenant and run id; the dataset's truth goes to the truth
 * topic and its events are replayed through ingest (HTTP) or straight to Kafka — both end every
 * partition with an EndOfRun marker for the run, since real datasets carry none — and the evaluator
 * scores the run on the dimensions the dataset labels, beside the `prior` baseline of its train split
 * and the `raw_items` reference learner (computed here over the dataset's raw events).
 */
export async function runLocalDatasetPipeline(opts: LocalDatasetOptions): Promise<LocalDatasetResult> {
  const manifest = await readDatasetManifest(opts.dir);
  if (manifest.labelledDimensions.length === 0 || manifest.counts.truths === 0) {
    throw new PersonaStreamError(
      ErrorCode.InvalidArgument,
      `bench --dataset ${opts.dir}: the dataset has no labels to score (labelledDimensions is empty)`,
      'dataset',
    );
  }
  const ds = await loadDataset(opts.dir);
  const stamp = Date.now().toString(36);
  const tenant = `ds-${stamp}`;
  const runId = `bench-ds-${stamp}`;
  const modelPath = opts.modelPath ?? (await trainModel(opts.dir, ds, tenant));
  // the raw-events reference learner, computed here (the evaluator never sees raw events) and given
  // to the evaluator as a run fact; the evaluator fits its own prior on the truths it consumes
  const { raw_items } = datasetBaselines(ds);
  const stack = await startLocalStack({
    tenant,
    modelPath,
    ports: opts.ports,
    isolate: opts.isolate,
    logSuffix: opts.logSuffix,
    env: opts.env,
  });
  let kafka: ReturnType<typeof createKafkaStream>;
  try {
    kafka = createKafkaStream(
      { brokers: (stack.infra.KAFKA_BROKERS ?? '').split(',').filter(Boolean), clientId: 'bench-dataset' },
      { logger: createLogger('bench-dataset', 'warn') },
    );
  } catch (err) {
    await stack.stop();
    throw err;
  }
  const producer = kafka.producer();
  const admin = kafka.admin();
  try {
    await stack.putFacts(tenant, runId, {
      info: {
        seed: null,
        stack: 'local',
        events: manifest.counts.events,
        started_ms: Date.now(),
        labeled_dimensions: manifest.labelledDimensions,
      },
      ...(raw_items ? { baselines: { raw_items } } : {}),
    });
    const truth = await publishDatasetTruth({
      path: opts.dir,
      producer,
      topic: stack.topics.truth,
      partitions: await admin.partitionCount(stack.topics.truth),
      tenant,
      runId,
    });
    say(`truth: ${truth.truths} labelled users → ${stack.topics.truth}`);
    const bar = progressBar(`replay → ${opts.target}`, manifest.counts.events);
    const common = {
      path: opts.dir,
      tenant,
      runId,
      speedup: opts.speedup ?? 0,
      onProgress: (p: { events: number }) => bar.update(p.events),
    };
    const replay =
      opts.target === 'http'
        ? await replayDataset({
            ...common,
            target: 'http',
            url: `http://127.0.0.1:${stack.ports.ingestHttp}`,
            apiKey: stack.token,
          })
        : await replayDataset({
            ...common,
            target: 'kafka',
            producer,
            topics: { events: stack.topics.events, dlq: stack.topics.dlq },
            partitions: await admin.partitionCount(stack.topics.events),
          });
    bar.stop();
    say(
      `replay → ${opts.target}: ${replay.accepted} accepted, ${replay.duplicates} duplicates, rejected ${JSON.stringify(replay.rejected)}`,
    );
    const report = await stack.waitForReport(tenant, runId, opts.timeoutMs ?? 600_000);
    return { report, manifest, replay, truth, runId, tenant, modelPath };
  } finally {
    await producer.close();
    await admin.close();
    await stack.stop();
  }
}
