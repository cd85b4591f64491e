import { type GroundTruth, type SemantizedWindow, splitOf, userKey } from '@personastream/contracts';
import { readDatasetTruth } from '@personastream/dataset';
import {
  accEx,
  countHallucinations,
  DeterministicFactExtractor,
  fitPrior,
  hallucinationRate,
  type LabelSet,
  labelsFromTags,
  mean,
  overallCalibrationError,
  perDimensionScores,
  priorPrediction,
  reportContract,
  retention,
  type ScoringDimension,
  scoringDimensions,
  tagScore,
} from '@personastream/evaluator';
import {
  applyWindow,
  createBuiltinBackend,
  loadModel,
  type PersonaState,
  trainFromWindows,
} from '@personastream/persona';
import { semantizeEvents } from '@personastream/semantizer';
import { type LoadedDataset, loadDataset } from '../pipeline/dataset.js';
import type { LocalDatasetOptions } from '../pipeline/local-dataset.js';
import { datasetBaselines } from '../pipeline/run-info.js';
import { say } from '../progress.js';
import { formatReport } from '../report.js';

/**
 * `bench --dataset DIR`: HPR-Bench on a canonical dataset (simulated or imported real data). The
 * builtin model is trained on the dataset's train split and scored on its test split, on the
 * dimensions the dataset labels only, beside the `prior` and `raw_items` baselines (per dimension
 * too), with the ECE of its confidences and `retention` = its tag score ÷ raw_items'.
 */
export async function benchDataset(o: {
  dir: string;
  json: boolean;
  samples: number;
  /** Model file of the cross-domain row (default: the shipped default model). */
  crossModel?: string;
}): Promise<number> {
  const started = Date.now();
  const ds = await loadDataset(o.dir);
  const labelled = ds.dimensions.map((d) => d.name);
  say(
    `bench --dataset ${o.dir}: ${ds.events.length} events, ${ds.truths.length} labelled users; dimensions: ${labelled.join(', ')}`,
  );
  const { windows, stats } = semantizeEvents(ds.events);
  const trained = trainFromWindows({ windows, truths: ds.truths, dimensions: ds.dimensions });
  const dims = scoringDimensions({ includeSensitive: true, labeled: labelled });
  const ours = scoreOnTestUsers(createBuiltinBackend(trained.weights), windows, ds, dims);
  // Cross-domain row: a model trained elsewhere (default: the shipped one, trained on simulated users)
  // applied to this dataset's test users as it is — what a tenant gets before training on its own data.
  const crossModel = loadModel(o.crossModel);
  const cross = scoreOnTestUsers(createBuiltinBackend(crossModel), windows, ds, dims);
  const { scored, accs, halluc, perDim, tagScores, test } = ours;
  const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  const baselinesStarted = Date.now();
  const baselines = datasetBaselines(ds);
  const baselinesS = (Date.now() - baselinesStarted) / 1000;
  const wall = (Date.now() - started) / 1000;
  const priorPerDim = priorPerDimension(ds.truths, dims);
  const tagAvg = mean(tagScores);
  const out = {
    dataset: o.dir,
    source: ds.manifest.source,
    users: ds.truths.length,
    test_users: test.length,
    events: ds.events.length,
    seed: null,
    backend: `builtin (trained on the dataset's ${trained.users.train} train users)`,
    stack: 'batch',
    samples: 1,
    tag_avg_at_k: tagAvg,
    tag_per_dimension: Object.fromEntries(Object.entries(perDim).map(([d, xs]) => [d, mean(xs)])),
    acc_ex: accs.length ? mean(accs) : null,
    hallucination_rate: hallucinationRate(halluc),
    compression_bytes: stats.compressionBytes,
    compression_tokens: stats.compressionTokens,
    retention: retention(tagAvg, baselines.raw_items?.tag_avg_at_k),
    // the less-filtered semantized input is a simulator-run figure: not measured on datasets
    retention_vs_unfiltered: null,
    baselines,
    ece: overallCalibrationError(scored, dims),
    ece_per_dimension: Object.fromEntries(perDimensionScores(scored, dims).map((d) => [d.dimension, d.ece])),
    prior_per_dimension: priorPerDim,
    cross_domain: {
      model: crossModel.name,
      trained_on: crossModel.meta.source ?? 'unknown',
      tag_avg_at_k: mean(cross.tagScores),
      per_dimension: Object.fromEntries(Object.entries(cross.perDim).map(([d, xs]) => [d, mean(xs)])),
      ece: overallCalibrationError(cross.scored, dims),
    },
    raw_items_s: baselinesS,
    events_per_s: ds.events.length / wall,
    wall_s: wall,
    // In one process without a pipeline nothing enters a system: no freshness (`--stack local` has it).
    freshness_p50_ms: null,
    freshness_p99_ms: null,
  };
  const f = (v: number | null | undefined, digits = 4) =>
    v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits);
  say(
    `  tag score (test split) ${f(out.tag_avg_at_k)}   prior ${f(baselines.prior?.tag_avg_at_k)}   raw_items ${f(baselines.raw_items?.tag_avg_at_k)}`,
  );
  say(`  retention (÷ raw_items) ${f(out.retention)}   ECE ${f(out.ece)} (10 bins)`);
  say('    dimension           ours   prior  raw_items  ECE');
  for (const [d, v] of Object.entries(out.tag_per_dimension))
    say(
      `    ${d.padEnd(18)} ${f(v, 3)}  ${f(priorPerDim[d] ?? 0, 3)}  ${f(baselines.raw_items?.per_dimension?.[d], 3)}      ${f(out.ece_per_dimension[d], 3)}`,
    );
  say(
    `  cross-domain: ${out.cross_domain.model} (${out.cross_domain.trained_on}) as it is: tag ${f(out.cross_domain.tag_avg_at_k)}   ECE ${f(out.cross_domain.ece)}`,
  );
  if (o.json) console.log(JSON.stringify(out));
  return 0;
}

/** A backend's personas of a dataset's test users (windows applied in order, as the persona service does), scored. */
function scoreOnTestUsers(
  backend: ReturnType<typeof createBuiltinBackend>,
  windows: readonly SemantizedWindow[],
  ds: LoadedDataset,
  dims: readonly ScoringDimension[],
) {
  const labelled = ds.dimensions.map((d) => d.name);
  const states = new Map<string, PersonaState>();
  for (const w of windows) {
    if (splitOf(w.userId) !== 'test') continue;
    const key = userKey(w.tenant, w.userId);
    states.set(
      key,
      applyWindow(states.get(key), w, backend, { inPlace: true, enabledDimensions: ds.dimensions }).state,
    );
  }
  const extractor = new DeterministicFactExtractor({ dimensions: ds.dimensions });
  const tagScores: number[] = [];
  const accs: number[] = [];
  const halluc = [];
  const scored: Array<{ truth: LabelSet; samples: LabelSet[] }> = [];
  const perDim: Record<string, number[]> = Object.fromEntries(labelled.map((d) => [d, []]));
  const test = ds.truths.filter((t) => splitOf(t.userId) === 'test');
  for (const t of test) {
    const persona = states.get(userKey(t.tenant, t.userId))?.persona;
    const predicted = labelsFromTags(persona?.tags ?? []);
    const truth = labelsFromTags(t.tags);
    scored.push({ truth, samples: persona ? [predicted] : [] });
    tagScores.push(tagScore(predicted, truth, dims));
    for (const d of dims) perDim[d.name]?.push(tagScore(predicted, truth, [d]));
    const stated = extractor.extract(persona?.summary ?? '');
    const keyFacts = t.keyFacts.filter((f) => (labelled as string[]).includes(f.dimension));
    const a = accEx(keyFacts, stated);
    if (a !== null) accs.push(a);
    halluc.push(countHallucinations(stated, truth, dims));
  }
  return { tagScores, accs, halluc, scored, perDim, test };
}

/**
 * The `prior` baseline per dimension: each dimension's most frequent value among the train split's
 * truths, scored on the test split (the mean over dimensions is the prior's tag score).
 */
export function priorPerDimension(
  truths: readonly GroundTruth[],
  dims: readonly ScoringDimension[],
): Record<string, number> {
  const split = (t: GroundTruth) => t.split || splitOf(t.userId);
  const train = truths.filter((t) => split(t) === 'train').map((t) => labelsFromTags(t.tags));
  const test = truths.filter((t) => split(t) === 'test').map((t) => labelsFromTags(t.tags));
  const prior = priorPrediction(fitPrior(train, dims));
  return Object.fromEntries(dims.map((d) => [d.name, mean(test.map((t) => tagScore(prior, t, [d])))]));
}

/**
 * `bench --dataset DIR --stack local [--target http|kafka] [--model FILE]`: the same benchmark
 * through the real pipeline — the dataset's truth to the truth topic, its events replayed through
 * ingest (or straight to Kafka) into semantizer → persona (the dataset's model) → evaluator, whose
 * report is printed. `--json`: the §5 contract plus `dataset`, `source`, `tenant`,
 * `prior_per_dimension`, `replay` (the replay summary) and `truths` on the last line.
 */
export async function benchDatasetLocal(o: LocalDatasetOptions & { json: boolean }): Promise<number> {
  const { runLocalDatasetPipeline } = await import('../pipeline/local-dataset.js');
  const { json, ...opts } = o;
  const r = await runLocalDatasetPipeline(opts);
  const truths: GroundTruth[] = [];
  for await (const t of readDatasetTruth(o.dir)) truths.push(t);
  const dims = scoringDimensions({ includeSensitive: true, labeled: r.manifest.labelledDimensions });
  const priorPerDim = priorPerDimension(truths, dims);
  say(formatReport(r.report));
  const items = r.report.baselines.raw_items?.per_dimension ?? {};
  say('  per dimension (test split)   ours   prior  raw_items  ECE');
  for (const [d, v] of Object.entries(r.report.tag_per_dimension)) {
    const ece = r.report.dimensions.find((x) => x.dimension === d)?.ece;
    say(
      `    ${d.padEnd(24)} ${v.toFixed(3)}  ${(priorPerDim[d] ?? 0).toFixed(3)}  ${items[d]?.toFixed(3) ?? '—'}      ${ece?.toFixed(3) ?? '—'}`,
    );
  }
  if (json) {
    console.log(
      JSON.stringify({
        ...reportContract(r.report),
        dataset: o.dir,
        source: r.manifest.source,
        tenant: r.tenant,
        prior_per_dimension: priorPerDim,
        ece_per_dimension: Object.fromEntries(r.report.dimensions.map((d) => [d.dimension, d.ece])),
        replay: r.replay,
        truths: r.truth.truths,
      }),
    );
  }
  return 0;
}
