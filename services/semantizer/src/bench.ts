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

/** `node dist/bench.js [users] [days]`: generated events, warm-up run, then with and without tokens. */
async function main(): Promise<void> {
  const users = Number(process.argv[2] ?? 200);
  const days = Number(process.argv[3] ?? 30);
  const events = generateEvents({ users, days, seed: 1 });
  benchmarkCore(events.slice(0, 20_000), { tokenizer: 'none' });
  benchmarkCore(events.slice(0, 20_000));
  for (const tokenizer of ['none', 'cl100k_base'] as const) {
    const r = benchmarkCore(events, { tokenizer });
    process.stdout.write(
      `${JSON.stringify({ ...r, eventsPerSecond: Math.round(r.eventsPerSecond), eventsPerCpuSecond: Math.round(r.eventsPerCpuSecond) })}\n`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
