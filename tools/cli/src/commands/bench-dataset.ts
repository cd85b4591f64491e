import { splitOf, userKey } from '@personastream/contracts';
import {
  accEx,
  computeBaselines,
  countHallucinations,
  DeterministicFactExtractor,
  hallucinationRate,
  labelsFromTags,
  scoringDimensions,
  tagScore,
} from '@personastream/evaluator';
import { applyWindow, createBuiltinBackend, type PersonaState, trainFromWindows } from '@personastream/persona';
import { semantizeEvents } from '@personastream/semantizer';
import { loadDataset } from '../pipeline/dataset.js';
import { say } from '../progress.js';

/**
 * `bench --dataset DIR`: HPR-Bench on a canonical dataset (simulated or imported real data). The
 * builtin model is trained on the dataset's train split and scored on its test split, on the
 * dimensions the dataset labels only, beside the `prior` baseline.
 */
export async function benchDataset(o: { dir: string; json: boolean; samples: number }): Promise<number> {
  const started = Date.now();
  const ds = await loadDataset(o.dir);
  const labelled = ds.dimensions.map((d) => d.name);
  say(
    `bench --dataset ${o.dir}: ${ds.events.length} events, ${ds.truths.length} labelled users; dimensions: ${labelled.join(', ')}`,
  );
  const { windows, stats } = semantizeEvents(ds.events);
  const trained = trainFromWindows({ windows, truths: ds.truths, dimensions: ds.dimensions });
  const backend = createBuiltinBackend(trained.weights);

  // apply each test user's windows in order, as the persona service would
  const states = new Map<string, PersonaState>();
  for (const w of windows) {
    if (splitOf(w.userId) !== 'test') continue;
    const key = userKey(w.tenant, w.userId);
    states.set(
      key,
      applyWindow(states.get(key), w, backend, { inPlace: true, enabledDimensions: ds.dimensions }).state,
    );
  }
  const dims = scoringDimensions({ includeSensitive: true, labeled: labelled });
  const extractor = new DeterministicFactExtractor({ dimensions: ds.dimensions });
  const tagScores: number[] = [];
  const accs: number[] = [];
  const halluc = [];
  const perDim: Record<string, number[]> = Object.fromEntries(labelled.map((d) => [d, []]));
  const test = ds.truths.filter((t) => splitOf(t.userId) === 'test');
  for (const t of test) {
    const persona = states.get(userKey(t.tenant, t.userId))?.persona;
    const predicted = labelsFromTags(persona?.tags ?? []);
    const truth = labelsFromTags(t.tags);
    tagScores.push(tagScore(predicted, truth, dims));
    for (const d of dims) perDim[d.name]?.push(tagScore(predicted, truth, [d]));
    const stated = extractor.extract(persona?.summary ?? '');
    const keyFacts = t.keyFacts.filter((f) => (labelled as string[]).includes(f.dimension));
    const a = accEx(keyFacts, stated);
    if (a !== null) accs.push(a);
    halluc.push(countHallucinations(stated, truth, dims));
  }
  const mean = (xs: number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  const baselines = computeBaselines({
    truths: ds.truths.map((t) => ({ userId: t.userId, split: splitOf(t.userId), tags: t.tags, keyFacts: t.keyFacts })),
    dims,
    extractor,
  });
  const wall = (Date.now() - started) / 1000;
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
    tag_avg_at_k: mean(tagScores),
    tag_per_dimension: Object.fromEntries(Object.entries(perDim).map(([d, xs]) => [d, mean(xs)])),
    acc_ex: accs.length ? mean(accs) : null,
    hallucination_rate: hallucinationRate(halluc),
    compression_bytes: stats.compressionBytes,
    compression_tokens: stats.compressionTokens,
    retention: null,
    baselines,
    events_per_s: ds.events.length / wall,
    wall_s: wall,
  };
  say(
    `  tag score (test split) ${out.tag_avg_at_k.toFixed(4)}   prior ${baselines.prior?.tag_avg_at_k.toFixed(4) ?? '—'}`,
  );
  for (const [d, v] of Object.entries(out.tag_per_dimension)) say(`    ${d.padEnd(18)} ${v.toFixed(3)}`);
  if (o.json) console.log(JSON.stringify(out));
  return 0;
}
