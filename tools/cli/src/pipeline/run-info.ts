import { EventType } from '@personastream/contracts';
import {
  type Baselines,
  type CategoryCount,
  computeBaselines,
  DeterministicFactExtractor,
  scoringDimensions,
  type TruthInput,
} from '@personastream/evaluator';
import { type SimulatorConfig, simulateUsers } from '@personastream/simulator';

/** What the baselines need of a simulated run: truths and each user's raw category views. */
export interface BaselineInputs {
  truths: TruthInput[];
  categories: Map<string, CategoryCount[]>;
  events: number;
}

/**
 * Re-generates a run's records (the simulator is deterministic) and keeps what the `prior` and
 * `raw_frequency` baselines need: truth, and raw (uncleaned) item views per category.
 */
export function baselineInputs(config: SimulatorConfig): BaselineInputs {
  const truths: TruthInput[] = [];
  const categories = new Map<string, CategoryCount[]>();
  let events = 0;
  for (const user of simulateUsers(config)) {
    const views = new Map<string, number>();
    for (const r of user.records) {
      if (r.kind === 'event') {
        events++;
        const e = r.event;
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
  return { truths, categories, events };
}

/** Both baselines of a run, scored like the model (test split unless `scoreAllUsers`). */
export function runBaselines(
  inputs: BaselineInputs,
  opts: { includeSensitive: boolean; scoreAllUsers: boolean },
): Baselines {
  const dims = scoringDimensions({ includeSensitive: opts.includeSensitive });
  return computeBaselines({
    truths: inputs.truths,
    categories: inputs.categories,
    scoreAllUsers: opts.scoreAllUsers,
    dims,
    extractor: new DeterministicFactExtractor({ includeSensitive: opts.includeSensitive }),
  });
}
