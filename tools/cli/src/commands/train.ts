import { ErrorCode, PersonaStreamError, tenantIdProblem } from '@personastream/contracts';
import { saveModel, type TrainReport, trainFromSimulation, trainFromWindows } from '@personastream/persona';
import { semantizeEvents } from '@personastream/semantizer';
import { intOption, parseOptions } from '../args.js';
import { loadDataset } from '../pipeline/dataset.js';
import { progressBar, say } from '../progress.js';

/**
 * `personastream train`: trains the builtin model on the train split of a canonical dataset
 * (`--dataset DIR`) or of a simulated benchmark instance (`--users N --seed S`), reports its
 * train/test tag scores, and writes the weights to `--out FILE`. `--item-tenants a,b,c-*` names the
 * tenants the model's item features apply to (default: the dataset's own tenant; the simulator's
 * tenants for simulated training) — the tenant ids the model will serve, whose item ids the dataset holds.
 */
export async function runTrain(args: string[]): Promise<number> {
  const o = parseOptions('train', args, {
    dataset: { type: 'string' },
    users: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    'item-tenants': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const itemTenants = itemTenantsOption(o['item-tenants']);
  if (typeof o.out !== 'string')
    throw new PersonaStreamError(ErrorCode.InvalidArgument, 'train: --out FILE is required', 'out');
  let report: TrainReport;
  if (typeof o.dataset === 'string') {
    const bar = progressBar('read', 1);
    const ds = await loadDataset(o.dataset);
    bar.stop();
    if (ds.truths.length === 0) {
      throw new PersonaStreamError(
        ErrorCode.InvalidArgument,
        `train: ${o.dataset} has no truth labels to train on`,
        'dataset',
      );
    }
    say(
      `train: ${ds.events.length} events, ${ds.truths.length} labelled users, dimensions ${ds.dimensions.map((d) => d.name).join(', ')}`,
    );
    const { windows } = semantizeEvents(ds.events, { tokenizer: 'none' });
    report = trainFromWindows({
      windows,
      truths: ds.truths,
      dimensions: ds.dimensions,
      ...(itemTenants ? { train: { itemTenants } } : {}),
    });
  } else {
    const users = intOption('train', 'users', o.users, 2000);
    const seed = intOption('train', 'seed', o.seed, 1000);
    say(`train: simulating ${users} users (seed ${seed}), semantizing, fitting…`);
    report = trainFromSimulation({ users, seed, log: say, ...(itemTenants ? { train: { itemTenants } } : {}) });
  }
  saveModel(o.out, report.weights);
  say(`train: ${report.users.train} train users, ${report.users.test} test users, ${report.windows} windows`);
  say(`  tag score  train ${report.trainScore.toFixed(4)}   test ${report.testScore.toFixed(4)}`);
  for (const [d, v] of Object.entries(report.perDimension.test))
    say(`    ${d.padEnd(18)} test ${Number(v).toFixed(3)}`);
  say(`  item features apply to tenants: ${report.weights.items?.tenants.join(', ') ?? 'all'}`);
  say(`wrote ${o.out}`);
  if (o.json) {
    console.log(
      JSON.stringify({
        out: o.out,
        users: report.users,
        windows: report.windows,
        train_score: report.trainScore,
        test_score: report.testScore,
        per_dimension: report.perDimension,
      }),
    );
  }
  return 0;
}

/**
 * `--item-tenants a,b,c-*`: tenant ids (a trailing `*` makes a prefix), each checked like any tenant
 * id; undefined when the option is absent.
 */
export function itemTenantsOption(value: string | boolean | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? value.split(',').map((t) => t.trim()) : [];
  const bad = list.find((t) => t === '' || tenantIdProblem(t.endsWith('*') ? t.slice(0, -1) : t) !== undefined);
  if (list.length === 0 || bad !== undefined) {
    throw new PersonaStreamError(
      ErrorCode.InvalidArgument,
      `train: --item-tenants must be a comma-separated list of tenant ids (a trailing * makes a prefix)${bad !== undefined ? `; ${JSON.stringify(bad)} is not one` : ''}`,
      'item-tenants',
    );
  }
  return list;
}
