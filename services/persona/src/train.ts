import {
  type BehaviorEvent,
  type DimensionSpec,
  enabledDimensions,
  type GroundTruth,
  type SemantizedWindow,
  splitOf,
  userKey,
} from '@personastream/contracts';
import { semantizeEvents } from '@personastream/semantizer';
import {
  runContext,
  type SimulatorConfigOverrides,
  simulateRawUser,
  simulateUsers,
  simulatorConfig,
  userRecords,
} from '@personastream/simulator';
import type { ModelWeights } from './core/builtin/model.js';
import {
  calibrateSummaryThresholds,
  evaluateBuiltin,
  type TrainingExample,
  type TrainOptions,
  trainBuiltinModel,
} from './core/builtin/train.js';
import { emptyStats, updateStats } from './core/stats.js';

export interface TrainReport {
  weights: ModelWeights;
  /** HPR-Bench tag score (mean over enabled dimensions) on the train users. */
  trainScore: number;
  /** The same on the test users (never seen in training). */
  testScore: number;
  perDimension: { train: Record<string, number>; test: Record<string, number> };
  users: { train: number; test: number };
  windows: number;
}

export interface WindowsTrainInput {
  /** Semantized windows of every user, in the order the service would apply them. */
  windows: readonly SemantizedWindow[];
  /** Ground truth per user (users without truth are ignored). */
  truths: readonly GroundTruth[];
  train?: TrainOptions;
  /** Dimensions scored (default: all, sensitive included). */
  dimensions?: readonly DimensionSpec[];
}

/** Folds windows into per-user statistics and pairs them with the truth (users without truth are skipped). */
export function examplesFromWindows(
  windows: readonly SemantizedWindow[],
  truths: readonly GroundTruth[],
  halfLifeDays = 14,
): TrainingExample[] {
  const byUser = new Map<string, ReturnType<typeof emptyStats>>();
  for (const w of windows) {
    const key = userKey(w.tenant, w.userId);
    let s = byUser.get(key);
    if (!s) {
      s = emptyStats({ halfLifeDays });
      byUser.set(key, s);
    }
    updateStats(s, w);
  }
  return truths.map((truth) => ({
    id: truth.userId,
    stats: byUser.get(userKey(truth.tenant, truth.userId)) ?? emptyStats({ halfLifeDays }),
    truth,
  }));
}

/**
 * Trains the builtin model on labelled examples: users are split 80/20 by `splitOf` (HPR-Bench §4);
 * the model is trained on the train users only and scored on both parts.
 */
export function trainFromExamples(
  examples: readonly TrainingExample[],
  opts: { train?: TrainOptions; dimensions?: readonly DimensionSpec[]; windows?: number } = {},
): TrainReport {
  const dims = opts.dimensions ?? enabledDimensions(true);
  const train = examples.filter((e) => splitOf(e.id ?? '') === 'train');
  const test = examples.filter((e) => splitOf(e.id ?? '') === 'test');
  const weights = trainBuiltinModel(train, { dimensions: dims, ...opts.train });
  const tr = evaluateBuiltin(weights, train, dims);
  const te = test.length > 0 ? evaluateBuiltin(weights, test, dims) : { score: 0, perDimension: {}, users: 0 };
  weights.meta.testScore = te.score;
  weights.meta.perDimension = te.perDimension;
  return {
    weights,
    trainScore: tr.score,
    testScore: te.score,
    perDimension: { train: tr.perDimension, test: te.perDimension },
    users: { train: train.length, test: test.length },
    windows: opts.windows ?? 0,
  };
}

/**
 * `trainFromExamples` over semantized windows and their users' truth. The model's item features are
 * scoped to the windows' tenants (their item ids) unless `train.itemTenants` says otherwise.
 */
export function trainFromWindows(input: WindowsTrainInput): TrainReport {
  const examples = examplesFromWindows(input.windows, input.truths, input.train?.halfLifeDays ?? 14);
  const tenants = [...new Set(input.windows.map((w) => w.tenant))];
  return trainFromExamples(examples, {
    train: { itemTenants: tenants, ...input.train },
    ...(input.dimensions ? { dimensions: input.dimensions } : {}),
    windows: input.windows.length,
  });
}

/**
 * Tenants the CLI runs the simulated shop under — `demo`, `bench` and the per-run `bench-…` tenants of
 * `bench --stack local`: a model trained on simulated users applies its item features to them only
 * (other tenants' item ids name other items).
 */
export const SIMULATED_TENANTS: readonly string[] = ['demo', 'bench', 'bench-*'];

/** Users simulated and semantized together (bounds memory; a chunk is like one benchmark run). */
const CHUNK_USERS = 1000;

export interface SimulationTrainInput {
  /** Users per simulated run. */
  users: number;
  seed: number;
  /**
   * Several runs (seeds), `users` each; default `[seed]`. Catalogues (brand names) differ per seed,
   * so a model knows the brands of the seeds it was trained on.
   */
  seeds?: number[];
  /** Further simulator settings (default config otherwise). */
  simulator?: Omit<SimulatorConfigOverrides, 'users' | 'seed'>;
  train?: TrainOptions;
  dimensions?: readonly DimensionSpec[];
  log?: (message: string) => void;
  /**
   * Further users per seed, after the first `users` (train split only, never fitted on), on which the
   * per-dimension summary thresholds are re-chosen with the final model. Default 0 (held-out choice).
   */
  calibrationUsers?: number;
  /** Largest share of wrong facts among those stated that the calibration thresholds allow (default 0.04). */
  summaryTarget?: number;
}

/**
 * Re-chooses a model's summary thresholds on simulated users `from`..`from + count` of each seed (train
 * split only) — users the model was not trained on (`calibrateSummaryThresholds`).
 */
export function calibrateOnSimulation(
  weights: ModelWeights,
  input: {
    from: number;
    count: number;
    seeds: number[];
    simulator?: SimulationTrainInput['simulator'];
    /** Hallucination budget of the thresholds (default: `calibrateSummaryThresholds`'s). */
    target?: number;
  },
  dimensions: readonly DimensionSpec[] = enabledDimensions(true),
): { users: number; accEx: number; hallucination: number } {
  const examples: TrainingExample[] = [];
  for (const seed of input.seeds) {
    const config = simulatorConfig({ ...input.simulator, users: input.from + input.count, seed });
    const ctx = runContext(config);
    const events: BehaviorEvent[] = [];
    const truths: GroundTruth[] = [];
    for (let i = input.from; i < input.from + input.count; i++) {
      const raw = simulateRawUser(ctx, i);
      if (splitOf(raw.persona.userId) !== 'train') continue;
      for (const r of userRecords(raw)) {
        if (r.kind === 'event') events.push(r.event);
        else if (r.kind === 'truth') truths.push(r.truth);
      }
    }
    const { windows } = semantizeEvents(events, { tokenizer: 'none' });
    examples.push(...examplesFromWindows(windows, truths, weights.halfLifeDays));
  }
  return calibrateSummaryThresholds(weights, examples, dimensions, input.target);
}

/**
 * Simulates `users` users (simulator default config, `seed`), semantizes their events with the
 * semantizer's own core, and trains the builtin model on the train split (`trainFromWindows`).
 * Deterministic for a given (users, seed).
 */
export function trainFromSimulation(input: SimulationTrainInput): TrainReport {
  const log = input.log ?? (() => {});
  const seeds = input.seeds ?? [input.seed];
  const halfLifeDays = input.train?.halfLifeDays ?? 14;
  const examples: TrainingExample[] = [];
  let windowCount = 0;
  for (const seed of seeds) {
    const config = simulatorConfig({ ...input.simulator, users: input.users, seed });
    let events: BehaviorEvent[] = [];
    let truths: GroundTruth[] = [];
    let done = 0;
    const flush = () => {
      if (truths.length === 0) return;
      // Token counts only fill the compression report, which training does not use.
      const { windows } = semantizeEvents(events, { tokenizer: 'none' });
      windowCount += windows.length;
      examples.push(...examplesFromWindows(windows, truths, halfLifeDays));
      done += truths.length;
      log(`seed ${seed}: simulated and semantized ${done}/${input.users} users (${windowCount} windows in all)`);
      events = [];
      truths = [];
    };
    for (const u of simulateUsers(config)) {
      for (const r of u.records) {
        if (r.kind === 'event') events.push(r.event);
        else if (r.kind === 'truth') truths.push(r.truth);
      }
      if (truths.length >= CHUNK_USERS) flush();
    }
    flush();
  }
  const report = trainFromExamples(examples, {
    ...(input.dimensions ? { dimensions: input.dimensions } : {}),
    windows: windowCount,
    train: {
      seed: seeds[0] ?? input.seed,
      source: `simulator users=${input.users} seeds=${seeds.join(',')}`,
      log,
      itemTenants: [...SIMULATED_TENANTS, ...(input.simulator?.tenant ? [input.simulator.tenant] : [])],
      ...input.train,
    },
  });
  if (input.calibrationUsers) {
    const c = calibrateOnSimulation(
      report.weights,
      {
        from: input.users,
        count: input.calibrationUsers,
        seeds,
        ...(input.simulator ? { simulator: input.simulator } : {}),
        ...(input.summaryTarget !== undefined ? { target: input.summaryTarget } : {}),
      },
      input.dimensions,
    );
    log(
      `summary thresholds re-chosen on ${c.users} calibration users: Acc_Ex ≈ ${c.accEx}, hallucination ≈ ${c.hallucination}`,
    );
  }
  return report;
}
