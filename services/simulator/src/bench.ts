import { simulatorConfig } from './core/config.js';
import { simulateUserLines } from './core/run.js';

export interface GenerationBenchmark {
  users: number;
  events: number;
  /** Canonical JSON bytes generated (lines + newlines). */
  bytes: number;
  /** Wall-clock seconds. */
  seconds: number;
  eventsPerSecond: number;
  /** CPU seconds of this process (user + system): stable on a shared machine. */
  cpuSeconds: number;
  eventsPerCpuSecond: number;
}

/**
 * Measures generation speed: personas, behaviour and canonical JSON lines for `users` users of the
 * default config (one core, no I/O). Not a timed test — run it from `npx personastream loadtest simulator-kafka` (load-tests) or the CLI.
 */
export function benchmarkGeneration(users: number, seed = 1): GenerationBenchmark {
  const config = simulatorConfig({ users, seed });
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  let events = 0;
  let bytes = 0;
  for (const u of simulateUserLines(config)) {
    events += u.lines.length;
    for (const l of u.lines) bytes += l.length + 1;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  return {
    users,
    events,
    bytes,
    seconds,
    eventsPerSecond: events / seconds,
    cpuSeconds,
    eventsPerCpuSecond: events / cpuSeconds,
  };
}
