/**
 * Simulator speed and simulator → Kafka:
 * `npx personastream loadtest simulator-kafka [users] [--files] [--no-kafka] [--send-only] [--batch N]`
 * prints events/s of generation to canonical JSON lines; with --files the end-to-end rate of writing
 * a dataset (temporary directory); then (unless --no-kafka; KAFKA_BROKERS set) the rate of publishing
 * a run (`BENCH_KAFKA_USERS` users, default 500; batches of `--batch` records, default 4,000) to fresh
 * benchmark topics (4 partitions each, never the pipeline's topics), deleted afterwards; with
 * --send-only also the Kafka path alone (the run's event records encoded first, then sent). One JSON
 * line per part, then a summary line with all of them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { EventRecordSchema, userKey } from '@personastream/contracts';
import { silentLogger } from '@personastream/runtime';
import {
  benchmarkGeneration,
  publishRun,
  simulateUsers,
  simulatorConfig,
  writeSimulatedDataset,
} from '@personastream/simulator';
import { createKafkaStream, type OutRecord } from '@personastream/stream';

const args = process.argv.slice(2);
const batchAt = args.indexOf('--batch');
const batchSize = batchAt >= 0 ? Number(args[batchAt + 1]) : 4000;
if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`--batch must be a positive integer`);
const users = Number(args.find((a, i) => /^\d+$/.test(a) && (batchAt < 0 || i !== batchAt + 1)) ?? 2000);
benchmarkGeneration(Math.min(200, users)); // warm-up
const gen = benchmarkGeneration(users);
const parts: Record<string, unknown>[] = [];
const report = (part: Record<string, unknown>) => {
  parts.push(part);
  console.log(JSON.stringify(part));
};
report({ benchmark: 'generation', ...gen });
if (args.includes('--files')) {
  const dir = await mkdtemp(join(tmpdir(), 'ps-sim-bench-'));
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const m = await writeSimulatedDataset(simulatorConfig({ users }), dir);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  // CPU time includes zlib's worker thread (gzip runs off the main thread).
  const cpuSeconds = (used.user + used.system) / 1e6;
  report({
    benchmark: 'files',
    users,
    events: m.counts.events,
    seconds,
    eventsPerSecond: m.counts.events / seconds,
    cpuSeconds,
    eventsPerCpuSecond: m.counts.events / cpuSeconds,
  });
  await rm(dir, { recursive: true, force: true });
}
if (!args.includes('--no-kafka')) {
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
  const kUsers = Math.min(users, Number(process.env.BENCH_KAFKA_USERS ?? 500));
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const s = await publishRun(
    simulatorConfig({ users: kUsers, runId: `bench-${suffix}` }),
    { stream, logger },
    { topics, batchSize },
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  report({
    benchmark: 'kafka',
    users: kUsers,
    events: s.events,
    seconds,
    eventsPerSecond: s.events / seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    batchSize,
  });
  if (args.includes('--send-only')) {
    // the Kafka path alone: the same run's event records encoded first, then sent in batches,
    // one in flight, as publishRun sends them
    const records: OutRecord[] = [];
    const config = simulatorConfig({ users: kUsers, runId: `bench-${suffix}` });
    for (const { userId, records: simulated } of simulateUsers(config))
      for (const r of simulated)
        if (r.kind === 'event')
          records.push({
            key: userKey(config.tenant, userId),
            value: toBinary(EventRecordSchema, create(EventRecordSchema, { kind: { case: 'event', value: r.event } })),
          });
    const producer = stream.producer();
    await producer.send(topics.events, records.slice(0, 1)); // connect
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    for (let i = 1; i < records.length; i += batchSize)
      await producer.send(topics.events, records.slice(i, i + batchSize));
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    const u = process.cpuUsage(c0);
    await producer.close();
    report({
      benchmark: 'kafka-send-only',
      events: records.length - 1,
      seconds: sec,
      eventsPerSecond: (records.length - 1) / sec,
      cpuSeconds: (u.user + u.system) / 1e6,
      batchSize,
    });
  }
  await admin.deleteTopics([topics.events, topics.truth]);
  await admin.close();
}
console.log(JSON.stringify({ loadtest: 'simulator-kafka', ...Object.fromEntries(parts.map((p) => [p.benchmark, p])) }));
