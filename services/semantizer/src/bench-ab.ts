/**
 * Same-process A/B of the semantizer core against another build (a command, not a test):
 *
 *   node services/semantizer/dist/bench-ab.js BASE_DIST [tokenizer=cl100k_base] [pairs=10] [users=1000]
 *
 * BASE_DIST is the `dist/` directory of another build of this package, e.g. a worktree of an older
 * commit (`git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npx turbo run build)`,
 * then `/tmp/base/services/semantizer/dist`). Both builds semantize the simulator's events of
 * `users` users (seed 1) in one process, alternating which goes first, after two warm-up runs each;
 * it prints the CPU milliseconds of every run and the median of the per-pair ratios this ÷ base
 * (below 1: this build is cheaper). On a shared machine single runs of this memory-heavy work vary
 * by ±25 %; pairs run minutes apart see the same conditions, so their ratio is the figure to quote.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchmarkCore, simulatedEvents } from './bench.js';
import type { TokenizerName } from './core/tokens.js';

type Core = typeof benchmarkCore;

async function main(): Promise<void> {
  const [baseDir, tokenizerArg = 'cl100k_base', pairsArg = '10', usersArg = '1000'] = process.argv.slice(2);
  if (!baseDir) throw new Error('usage: bench-ab.js BASE_DIST [tokenizer] [pairs] [users]');
  const tokenizer = tokenizerArg as TokenizerName | 'none';
  if (!['cl100k_base', 'o200k_base', 'none'].includes(tokenizer))
    throw new Error(`bench-ab: tokenizer must be cl100k_base, o200k_base or none (got ${tokenizerArg})`);
  const pairs = Number(pairsArg);
  const users = Number(usersArg);
  if (!Number.isInteger(pairs) || pairs < 1)
    throw new Error(`bench-ab: pairs must be a positive integer (got ${pairsArg})`);
  if (!Number.isInteger(users) || users < 1)
    throw new Error(`bench-ab: users must be a positive integer (got ${usersArg})`);
  const base = (await import(pathToFileURL(resolve(baseDir, 'bench.js')).href)) as { benchmarkCore: Core };
  const events = await simulatedEvents(users);
  const run = (core: Core) => core(events, { tokenizer }).cpuMs;
  for (let i = 0; i < 2; i++) {
    run(base.benchmarkCore);
    run(benchmarkCore);
  }
  const baseMs: number[] = [];
  const thisMs: number[] = [];
  for (let i = 0; i < pairs; i++) {
    if (i % 2 === 0) {
      baseMs.push(run(base.benchmarkCore));
      thisMs.push(run(benchmarkCore));
    } else {
      thisMs.push(run(benchmarkCore));
      baseMs.push(run(base.benchmarkCore));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const ratios = thisMs.map((t, i) => t / (baseMs[i] as number));
  process.stdout.write(
    `${JSON.stringify({
      benchmark: 'semantizer-core-ab',
      base: baseDir,
      tokenizer,
      events: events.length,
      baseCpuMs: baseMs.map(Math.round),
      thisCpuMs: thisMs.map(Math.round),
      medianRatio: Number(median(ratios).toFixed(3)),
      baseEventsPerCpuSecond: Math.round(events.length / (median(baseMs) / 1000)),
      thisEventsPerCpuSecond: Math.round(events.length / (median(thisMs) / 1000)),
    })}\n`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
