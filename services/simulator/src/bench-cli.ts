/**
 * Speed benchmark: `node services/simulator/dist/bench-cli.js [users] [--files] [--kafka]` prints
 * events/s of generation to canonical JSON lines; with --files the end-to-end rate of writing a
 * dataset (temporary directory); with --kafka (KAFKA_BROKERS set) the rate of publishing a run to
 * fresh benchmark topics (4 partitions each, never the pipeline's topics).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';
import { publishRun } from './adapters/publish.js';
import { benchmarkGeneration } from './bench.js';
import { simulatorConfig } from './core/config.js';
import { writeSimulatedDataset } from './dataset.js';

const args = process.argv.slice(2);
const users = Number(args.find((a) => /^\d+$/.test(a)) ?? 2000);
benchmarkGeneration(Math.min(200, users)); // warm-up
const gen = benchmarkGeneration(users);
console.log(JSON.stringify({ benchmark: 'generation', ...gen }));
if (args.includes('--files')) {
  const dir = await mkdtemp(join(tmpdir(), 'ps-sim-bench-'));
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const m = await writeSimulatedDataset(simulatorConfig({ users }), dir);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  // CPU time includes zlib's worker thread (gzip runs off the main thread).
  const cpuSeconds = (used.user + used.system) / 1e6;
  console.log(
    JSON.stringify({
      benchmark: 'files',
      users,
      events: m.counts.events,
      seconds,
      eventsPerSecond: m.counts.events / seconds,
      cpuSeconds,
      eventsPerCpuSecond: m.counts.events / cpuSeconds,
    }),
  );
  await rm(dir, { recursive: true, force: true });
}
if (args.includes('--kafka')) {
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers) throw new Error('--kafka needs KAFKA_BROKERS (source .infra/env)');
  const logger = silentLogger();
  const stream = createKafkaStream({ brokers: brokers.split(','), clientId: 'simulator-bench' }, { logger });
  const suffix = `${Date.now().toString(36)}${process.pid}`;
  const topics = { events: `bench.sim.events.${suffix}`, truth: `bench.sim.truth.${suffix}` };
  const admin = stream.admin();
  await admin.ensureTopics([
    { topic: topics.events, partitions: 4 },
    { topic: topics.truth, partitions: 4 },
  ]);
  await admin.close();
  const kUsers = Math.min(users, Number(process.env.BENCH_KAFKA_USERS ?? 500));
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const s = await publishRun(
    simulatorConfig({ users: kUsers, runId: `bench-${suffix}` }),
    { stream, logger },
    { topics, batchSize: 2000 },
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  console.log(
    JSON.stringify({
      benchmark: 'kafka',
      users: kUsers,
      events: s.events,
      seconds,
      eventsPerSecond: s.events / seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      topics,
    }),
  );
}
