// Item-level signal of a simulated run (a measurement, not a test):
//   npx tsx services/simulator/scripts/item-signal.ts [users=1000] [seeds=1] [itemTaste…=0 0.5]
// (seeds: a comma-separated list; accuracies are averaged over them.)
// For each item-taste strength and seed: simulates `users` users (default config otherwise), then trains the
// evaluator's `raw_items` learner (TF-IDF + one-vs-rest logistic regression over raw events, train
// split by `splitOf`) on four token sets — item ids only; categories only; what a window keeps of an
// item (categories, brand, price level within the leaf); that plus item ids — and prints test accuracy
// per single-valued dimension beside the prior (most frequent train value). An item id implies its
// leaf, brand and tier, so `items` alone already carries the category signal; the item-level signal
// (what categories, brands and tiers do not carry) is `window+items` − `window`.
import { DIMENSIONS, splitOf } from '@personastream/contracts';
import {
  addEventTokens,
  fitRawItems,
  type RawItemsExample,
  rawItemsPrediction,
  type TokenCounts,
} from '../../evaluator/src/core/metrics/raw-items.js';
import { simulateUsers, simulatorConfig } from '../src/index.js';

const users = Number(process.argv[2] ?? 1000);
const seeds = (process.argv[3] ?? '1').split(',').map(Number);
const strengths = process.argv.length > 4 ? process.argv.slice(4).map(Number) : [0, 0.5];
const SINGLE = DIMENSIONS.filter((d) => !d.multiValued).map((d) => d.name);
const VIEWS = ['items', 'categories', 'window', 'window+items'] as const;
type View = (typeof VIEWS)[number];

interface User {
  id: string;
  counts: Record<View, TokenCounts>;
  labels: Record<string, string>;
}

function simulate(seed: number, itemTaste: number): User[] {
  const out: User[] = [];
  for (const { userId, records } of simulateUsers(simulatorConfig({ users, seed, itemTaste }))) {
    const all: TokenCounts = new Map();
    const bump = (t: string) => all.set(t, (all.get(t) ?? 0) + 1);
    for (const r of records) {
      if (r.kind !== 'event') continue;
      addEventTokens(all, r.event);
      const item = r.event.item;
      if (!item) continue;
      // What a window keeps of an item besides its categories: brand and a price level in its leaf.
      bump(`b:${item.brand}`);
      bump(`p:${item.categoryPath.join('>')}:${Math.round(Math.log2(Math.max(item.price, 0.5)))}`);
    }
    const only = (prefix: RegExp) => new Map([...all].filter(([t]) => prefix.test(t)));
    const labels: Record<string, string> = {};
    for (const r of records) if (r.kind === 'truth') for (const t of r.truth.tags) labels[t.dimension] = t.value;
    out.push({
      id: userId,
      counts: {
        items: only(/^i:/),
        categories: only(/^c\d:/),
        window: only(/^[cbp]\d?:/),
        'window+items': only(/^[cbpi]\d?:/),
      },
      labels,
    });
  }
  return out;
}

function accuracy(data: User[], view: View): Record<string, number> {
  const train = data.filter((u) => splitOf(u.id) === 'train');
  const test = data.filter((u) => splitOf(u.id) === 'test');
  const examples: RawItemsExample[] = train.map((u) => ({
    counts: u.counts[view],
    labels: { single: Object.fromEntries(SINGLE.map((d) => [d, u.labels[d] as string])), multi: {} },
  }));
  const model = fitRawItems(
    examples,
    SINGLE.map((name) => ({ name, multiValued: false })),
  );
  const hits: Record<string, number> = {};
  for (const u of test) {
    const p = rawItemsPrediction(model, u.counts[view]);
    for (const d of SINGLE) hits[d] = (hits[d] ?? 0) + (p.single[d] === u.labels[d] ? 1 : 0);
  }
  return Object.fromEntries(SINGLE.map((d) => [d, (hits[d] ?? 0) / test.length]));
}

function prior(data: User[]): Record<string, number> {
  const train = data.filter((u) => splitOf(u.id) === 'train');
  const test = data.filter((u) => splitOf(u.id) === 'test');
  const out: Record<string, number> = {};
  for (const d of SINGLE) {
    const freq = new Map<string, number>();
    for (const u of train) freq.set(u.labels[d] as string, (freq.get(u.labels[d] as string) ?? 0) + 1);
    const top = [...freq].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
    out[d] = test.filter((u) => u.labels[d] === top).length / test.length;
  }
  return out;
}

const rows: string[] = [
  `| dimension | prior | ${strengths.flatMap((s) => VIEWS.map((v) => `${v} (${s})`)).join(' | ')} |`,
];
const mean = (xs: Array<Record<string, number>>) =>
  Object.fromEntries(SINGLE.map((d) => [d, xs.reduce((a, x) => a + (x[d] as number), 0) / xs.length]));
const results = strengths.map((s) => {
  const runs = seeds.map((seed) => {
    const data = simulate(seed, s);
    return { p: prior(data), acc: Object.fromEntries(VIEWS.map((v) => [v, accuracy(data, v)])) };
  });
  return {
    p: mean(runs.map((r) => r.p)),
    acc: Object.fromEntries(VIEWS.map((v) => [v, mean(runs.map((r) => r.acc[v] as Record<string, number>))])),
  };
});
rows.push(`|---|---|${strengths.flatMap(() => VIEWS.map(() => '---')).join('|')}|`);
const f = (x: number) => x.toFixed(3);
for (const d of SINGLE) {
  const cells = results.flatMap((r) => VIEWS.map((v) => f((r.acc[v] as Record<string, number>)[d] as number)));
  rows.push(`| ${d} | ${f((results[0]?.p[d] as number) ?? 0)} | ${cells.join(' | ')} |`);
}
console.log(`users ${users}, seeds ${seeds.join(',')} (mean accuracy on each seed's test split, ~20 % of users)`);
console.log(rows.join('\n'));
