import { type BehaviorEvent, type DimensionSpec, EventType, type GroundTruth, splitOf } from '@personastream/contracts';
import {
  type Baselines,
  type CategoryCount,
  computeBaselines,
  DeterministicFactExtractor,
  RawItemCounts,
  scoringDimensions,
  type TruthInput,
} from '@personastream/evaluator';
import { type SimulatorConfig, simulateUsers } from '@personastream/simulator';

/**
 * What the baselines need of a simulated run: truths, each user's raw category views and each user's
 * raw event tokens (item ids, category path levels, action types).
 */
export interface BaselineInputs {
  truths: TruthInput[];
  categories: Map<string, CategoryCount[]>;
  rawItems: RawItemCounts;
  events: number;
}

/**
 * Re-generates a run's records (the simulator is deterministic) and keeps what the `prior`,
 * `raw_frequency` and `raw_items` baselines need: truth, raw (uncleaned) item views per category, and
 * the tokens of every raw event.
 */
export function baselineInputs(config: SimulatorConfig): BaselineInputs {
  const truths: TruthInput[] = [];
  const categories = new Map<string, CategoryCount[]>();
  const rawItems = new RawItemCounts();
  let events = 0;
  for (const user of simulateUsers(config)) {
    const views = new Map<string, number>();
    for (const r of user.records) {
      if (r.kind === 'event') {
        events++;
        const e = r.event;
        rawItems.add(user.userId, e);
        if (e.type === EventType.ITEM_VIEW && e.item && e.item.categoryPath.length > 0) {
          const top = e.item.categoryPath.join(' > ');
          views.set(top, (views.get(top) ?? 0) + 1);
        }
      } else if (r.kind === 'truth') {
        const t = r.truth;
        truths.push({ userId: t.userId, split: t.split, tags: t.tags, keyFacts: t.keyFacts });
      }
    }
    categories.set(
      user.userId,
      [...views.entries()].map(([category, count]) => ({ category, count })),
    );
  }
  return { truths, categories, rawItems, events };
}

/** The baselines of a run (`prior`, `raw_frequency`, `raw_items`), scored like the model (test split unless `scoreAllUsers`). */
export function runBaselines(
  inputs: BaselineInputs,
  opts: { includeSensitive: boolean; scoreAllUsers: boolean },
): Baselines {
  const dims = scoringDimensions({ includeSensitive: opts.includeSensitive });
  return computeBaselines({
    truths: inputs.truths,
    categories: inputs.categories,
    rawItems: inputs.rawItems.users,
    scoreAllUsers: opts.scoreAllUsers,
    dims,
    extractor: new DeterministicFactExtractor({ includeSensitive: opts.includeSensitive }),
  });
}

/** What the baselines need of a canonical dataset (`loadDataset`). */
export interface DatasetBaselineInputs {
  events: readonly BehaviorEvent[];
  truths: readonly GroundTruth[];
  /** Dimensions the dataset labels. */
  dimensions: readonly DimensionSpec[];
}

/**
 * The baselines of a labelled dataset, scored like the model on its test split (`splitOf`) and on
 * the dimensions it labels: `prior` and `raw_items` (trained on the train split over the tokens of
 * every raw event of the dataset). `raw_frequency` needs item views mapped to interests, which a
 * dataset that does not label interests cannot use: it is left out.
 */
export function datasetBaselines(ds: DatasetBaselineInputs): Baselines {
  const rawItems = new RawItemCounts();
  for (const e of ds.events) rawItems.add(e.userId, e);
  const labelled = ds.dimensions.map((d) => d.name);
  return computeBaselines({
    truths: ds.truths.map((t) => ({ userId: t.userId, split: splitOf(t.userId), tags: t.tags, keyFacts: t.keyFacts })),
    rawItems: rawItems.users,
    dims: scoringDimensions({ includeSensitive: true, labeled: labelled }),
    extractor: new DeterministicFactExtractor({ dimensions: ds.dimensions }),
  });
}
