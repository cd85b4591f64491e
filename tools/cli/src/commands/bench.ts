import { ErrorCode, PersonaStreamError } from '@personastream/contracts';
import { meanStd, type RunReport, reportContract } from '@personastream/evaluator';
import {
  createBuiltinBackend,
  createOpenAiBackend,
  loadModel,
  type ModelBackend,
  type SyncModelBackend,
} from '@personastream/persona';
import { simulatorConfig } from '@personastream/simulator';
import { choiceOption, intOption, parseOptions } from '../args.js';
import { runEmbeddedPipeline } from '../pipeline/embedded.js';
import { rawInputTagScore } from '../pipeline/retention.js';
import { say } from '../progress.js';
import { formatReport } from '../report.js';

const METRICS = [
  'tag_avg_at_k',
  'acc_ex',
  'hallucination_rate',
  'compression_bytes',
  'compression_tokens',
  'retention',
  'retention_vs_unfiltered',
  'ece',
  'events_per_s',
  'wall_s',
  'freshness_p50_ms',
  'freshness_p99_ms',
] as const;

/**
 * `personastream bench`: HPR-Bench on simulated users (one or more seeds) or on a canonical dataset,
 * through the embedded pipeline or the local stack. With --json the last stdout line is the report
 * contract of HPR-BENCH.md §5 (several seeds: means, plus `<metric>_std` and `per_seed`).
 */
export async function runBench(args: string[]): Promise<number> {
  const o = parseOptions('bench', args, {
    users: { type: 'string' },
    seed: { type: 'string' },
    seeds: { type: 'string' },
    dataset: { type: 'string' },
    stack: { type: 'string' },
    backend: { type: 'string' },
    samples: { type: 'string' },
    model: { type: 'string' },
    'cross-model': { type: 'string' },
    target: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const users = intOption('bench', 'users', o.users, 200);
  const stack = choiceOption('bench', 'stack', o.stack, ['embedded', 'local'] as const, 'embedded');
  const backendName = choiceOption('bench', 'backend', o.backend, ['builtin', 'openai'] as const, 'builtin');
  const samples = intOption('bench', 'samples', o.samples, backendName === 'builtin' ? 1 : 10);
  if (typeof o.dataset === 'string') {
    const { benchDataset, benchDatasetLocal } = await import('./bench-dataset.js');
    if (stack === 'local') {
      return benchDatasetLocal({
        dir: o.dataset,
        json: Boolean(o.json),
        target: choiceOption('bench', 'target', o.target, ['http', 'kafka'] as const, 'http'),
        ...(typeof o.model === 'string' ? { modelPath: o.model } : {}),
      });
    }
    const crossModel = o['cross-model'];
    return benchDataset({
      dir: o.dataset,
      json: Boolean(o.json),
      samples,
      ...(typeof crossModel === 'string' ? { crossModel } : {}),
    });
  }
  const seeds = parseSeeds(o.seeds, o.seed);
  const builtin = createBuiltinBackend(loadModel(typeof o.model === 'string' ? o.model : undefined));
  const backend = backendName === 'openai' ? openAiBackend(builtin) : builtin;

  const reports: RunReport[] = [];
  for (const seed of seeds) {
    const runId = `bench-s${seed}-u${users}-${Date.now().toString(36)}`;
    const sim = simulatorConfig({
      users,
      seed,
      runId,
      tenant: stack === 'local' ? `bench-${Date.now().toString(36)}` : 'bench',
    });
    say(`bench: seed ${seed}, ${users} users, stack ${stack}, backend ${backend.name}, samples ${samples}`);
    const rawScore = () => rawInputTagScore(sim, builtin, { includeSensitive: true, scoreAllUsers: false });
    let report: RunReport;
    if (stack === 'embedded') {
      ({ report } = await runEmbeddedPipeline({
        sim,
        backend,
        samples,
        rawTagScore: backendName === 'builtin' ? rawScore : undefined,
      }));
    } else {
      const { runLocalPipeline } = await import('../pipeline/local.js');
      ({ report } = await runLocalPipeline({
        sim,
        samples,
        rawTagScore: backendName === 'builtin' ? rawScore : undefined,
      }));
    }
    say(formatReport(report));
    reports.push(report);
  }
  const out = reports.length === 1 ? reportContract(reports[0] as RunReport) : aggregate(reports, seeds);
  if (reports.length > 1) say(formatAggregate(out as ReturnType<typeof aggregate>));
  if (o.json) console.log(JSON.stringify(out));
  return 0;
}

function parseSeeds(seeds: unknown, seed: unknown): number[] {
  if (typeof seeds === 'string') {
    const list = seeds.split(',').map((s) => Number(s.trim()));
    if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 0)) {
      throw new PersonaStreamError(
        ErrorCode.InvalidArgument,
        `bench: --seeds must be whole numbers like 1,2,3, got "${seeds}"`,
        'seeds',
      );
    }
    return list;
  }
  return [intOption('bench', 'seed', seed as string | undefined, 1)];
}

function openAiBackend(fallback: SyncModelBackend): ModelBackend {
  const url = process.env.PERSONA_LLM_URL;
  const model = process.env.PERSONA_LLM_MODEL;
  if (!url || !model) {
    throw new PersonaStreamError(
      ErrorCode.InvalidArgument,
      'bench --backend openai needs PERSONA_LLM_URL and PERSONA_LLM_MODEL (and PERSONA_LLM_API_KEY if the endpoint wants one)',
      'backend',
    );
  }
  return createOpenAiBackend({ url, model, apiKey: process.env.PERSONA_LLM_API_KEY }, fallback);
}

/** Mean ± std over seeds of every metric, the baselines too. */
export function aggregate(reports: RunReport[], seeds: number[]) {
  const first = reports[0] as RunReport;
  const ms = (pick: (r: RunReport) => number | null | undefined) => {
    const values = reports.map(pick).filter((v): v is number => typeof v === 'number');
    return values.length === 0 ? { mean: null, std: null } : meanStd(values);
  };
  const out: Record<string, unknown> = {
    users: reports.reduce((a, r) => a + r.users, 0),
    test_users: reports.reduce((a, r) => a + r.test_users, 0),
    events: reports.reduce((a, r) => a + r.events, 0),
    seed: null,
    seeds,
    backend: first.backend,
    stack: first.stack,
    samples: first.samples,
  };
  for (const m of METRICS) {
    const { mean, std } = ms((r) => r[m] as number | null);
    out[m] = mean;
    out[`${m}_std`] = std;
  }
  const dims = Object.keys(first.tag_per_dimension);
  out.tag_per_dimension = Object.fromEntries(dims.map((d) => [d, ms((r) => r.tag_per_dimension[d]).mean]));
  const baseline = (name: 'prior' | 'raw_frequency' | 'raw_items') => {
    const tag = ms((r) => r.baselines[name]?.tag_avg_at_k);
    const acc = ms((r) => r.baselines[name]?.acc_ex);
    const perDimension = Object.fromEntries(
      dims.map((d) => [d, ms((r) => r.baselines[name]?.per_dimension?.[d]).mean]),
    );
    return {
      tag_avg_at_k: tag.mean,
      tag_avg_at_k_std: tag.std,
      acc_ex: acc.mean,
      acc_ex_std: acc.std,
      per_dimension: perDimension,
    };
  };
  out.baselines = {
    prior: baseline('prior'),
    raw_frequency: baseline('raw_frequency'),
    raw_items: baseline('raw_items'),
  };
  out.per_seed = reports.map((r) => reportContract(r));
  return out;
}

function formatAggregate(a: Record<string, unknown>): string {
  const f = (k: string) => {
    const m = a[k] as number | null;
    const s = a[`${k}_std`] as number | null;
    return m === null ? '—' : `${m.toFixed(4)} ± ${(s ?? 0).toFixed(4)}`;
  };
  const b = a.baselines as Record<string, Record<string, number | null>>;
  const g = (x: number | null | undefined, s: number | null | undefined) =>
    x === null || x === undefined ? '—' : `${x.toFixed(4)} ± ${(s ?? 0).toFixed(4)}`;
  return [
    `Over seeds ${(a.seeds as number[]).join(', ')} (mean ± std):`,
    `  tag Avg@k           ${f('tag_avg_at_k')}   (paper 0.7325; prior ${g(b.prior?.tag_avg_at_k, b.prior?.tag_avg_at_k_std)}, raw-freq ${g(b.raw_frequency?.tag_avg_at_k, b.raw_frequency?.tag_avg_at_k_std)}, raw-items ${g(b.raw_items?.tag_avg_at_k, b.raw_items?.tag_avg_at_k_std)})`,
    `  Acc_Ex              ${f('acc_ex')}   (paper 0.7528; prior ${g(b.prior?.acc_ex, b.prior?.acc_ex_std)}, raw-freq ${g(b.raw_frequency?.acc_ex, b.raw_frequency?.acc_ex_std)})`,
    `  hallucination rate  ${f('hallucination_rate')}`,
    `  compression (bytes) ${f('compression_bytes')}   (paper up to 0.979)`,
    `  retention           ${f('retention')}   (÷ raw_items; vs unfiltered input ${f('retention_vs_unfiltered')})`,
    `  ECE (10 bins)       ${f('ece')}`,
    '',
  ].join('\n');
}
