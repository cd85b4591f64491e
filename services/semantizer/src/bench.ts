import { pathToFileURL } from 'node:url';
import type { BehaviorEvent } from '@personastream/contracts';
import { type SemantizeOptions, semantizeEvents } from './core/semantizer.js';
import { generateEvents } from './testing/generator.js';

export interface CoreBenchmark {
  events: number;
  windows: number;
  elapsedMs: number;
  /** Events per wall-clock second through the whole core (validate → window → clean → aggregate → render). */
  eventsPerSecond: number;
  /** CPU time the run used (user + system), ms: on a shared machine a fairer "one core" measure. */
  cpuMs: number;
  /** Events per CPU second. */
  eventsPerCpuSecond: number;
  tokenizer: string;
  compressionBytes: number;
  compressionTokens: number;
}

/**
 * Runs the in-memory core (`semantizeEvents`, i.e. the service's per-partition engines) over the
 * events once and reports throughput. Pass `{ tokenizer: 'none' }` to measure without token
 * counting. One core: the call is synchronous and single-threaded.
 */
export function benchmarkCore(events: Iterable<BehaviorEvent>, options: SemantizeOptions = {}): CoreBenchmark {
  const list = Array.isArray(events) ? (events as BehaviorEvent[]) : [...events];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const { windows, stats } = semantizeEvents(list, options);
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    events: list.length,
    windows: windows.length,
    elapsedMs,
    eventsPerSecond: list.length / (elapsedMs / 1000),
    cpuMs,
    eventsPerCpuSecond: list.length / (cpuMs / 1000),
    tokenizer: stats.tokenizer,
    compressionBytes: stats.compressionBytes,
    compressionTokens: stats.compressionTokens,
  };
}

/**
 * The simulator's events of `users` users (default config, seed 1): the realistic payloads (item
 * properties, contexts, search typos, gifts, bots) that the service sees in the pipeline.
 */
export async function simulatedEvents(users: number): Promise<BehaviorEvent[]> {
  // the simulator is a dev dependency: loaded only by this benchmark
  const { simulateUsers, simulatorConfig } = await import('@personastream/simulator');
  const events: BehaviorEvent[] = [];
  for (const u of simulateUsers(simulatorConfig({ users, seed: 1 }))) {
    for (const r of u.records) if (r.kind === 'event') events.push(r.event);
  }
  return events;
}

/**
 * `node dist/bench.js [users] [days] [repeats] [--simulated USERS]`: generated events (seed 1) — or,
 * with `--simulated`, the simulator's events of USERS users (heavier, realistic payloads); one warm-up
 * run per mode, then `repeats` rounds alternating without and with token counting. Prints every run,
 * then one summary line per mode with the best and the median (a shared machine's load varies run to
 * run).
 */
async function main(): Promise<void> {
  const flag = process.argv.indexOf('--simulated');
  const simulated = flag > 0 ? Number(process.argv[flag + 1]) : undefined;
  const positional =
    flag > 0 ? process.argv.slice(2, flag).concat(process.argv.slice(flag + 2)) : process.argv.slice(2);
  const users = Number(positional[0] ?? 200);
  const days = Number(positional[1] ?? 30);
  const repeats = Number(positional[2] ?? 3);
  if (simulated !== undefined && !(Number.isInteger(simulated) && simulated > 0))
    throw new Error(`--simulated needs a positive number of users, got ${process.argv[flag + 1]}`);
  const events = simulated ? await simulatedEvents(simulated) : generateEvents({ users, days, seed: 1 });
  const input = simulated ? `simulator (${simulated} users, seed 1)` : `generator (${users} users × ${days} days)`;
  const modes = ['none', 'cl100k_base'] as const;
  for (const tokenizer of modes) benchmarkCore(events, { tokenizer });
  const runs = new Map<string, CoreBenchmark[]>(modes.map((m) => [m, []]));
  for (let r = 0; r < repeats; r++) {
    for (const tokenizer of modes) {
      const b = benchmarkCore(events, { tokenizer });
      runs.get(tokenizer)?.push(b);
      process.stdout.write(
        `${JSON.stringify({ ...b, eventsPerSecond: Math.round(b.eventsPerSecond), eventsPerCpuSecond: Math.round(b.eventsPerCpuSecond) })}\n`,
      );
    }
  }
  for (const [tokenizer, list] of runs) {
    const summary = (f: (b: CoreBenchmark) => number) => {
      const xs = list.map(f).sort((a, b) => a - b);
      return { best: Math.round(xs[xs.length - 1] ?? 0), median: Math.round(xs[Math.floor(xs.length / 2)] ?? 0) };
    };
    process.stdout.write(
      `${JSON.stringify({
        summary: tokenizer,
        input,
        events: events.length,
        runs: list.length,
        eventsPerSecond: summary((b) => b.eventsPerSecond),
        eventsPerCpuSecond: summary((b) => b.eventsPerCpuSecond),
      })}\n`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
