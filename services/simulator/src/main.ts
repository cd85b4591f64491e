import type { AddressInfo } from 'node:net';
import { Counter, createLogger, createRegistry, onShutdown, startOpsServer } from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';
import { publishRun } from './adapters/publish.js';
import { loadSimulatorEnv } from './config.js';
import { simulatorConfig } from './core/config.js';

/**
 * The simulator as a batch Job: publishes one run to Kafka (events, truth, end-of-run markers), logs
 * the summary as JSON and exits 0.
 */
async function main(): Promise<void> {
  const env = loadSimulatorEnv();
  const logger = createLogger('simulator', env.LOG_LEVEL);
  const config = simulatorConfig({
    users: env.SIM_USERS,
    seed: env.SIM_SEED,
    tenant: env.SIM_TENANT,
    ...(env.SIM_RUN_ID ? { runId: env.SIM_RUN_ID } : {}),
  });
  const registry = createRegistry('simulator');
  const published = new Counter({
    name: 'simulator_events_published_total',
    help: 'Records published by the simulator, by kind (event, malformed, truth).',
    labelNames: ['kind'],
    registers: [registry],
  });
  const users = new Counter({ name: 'simulator_users_total', help: 'Users simulated.', registers: [registry] });
  const ops = await startOpsServer(env.OPS_PORT, { registry, health: () => true }, env.OPS_HOST);
  logger.info(
    { port: (ops.address() as AddressInfo).port, runId: config.runId, users: config.users },
    'simulator started',
  );

  const stream = createKafkaStream(
    { brokers: env.KAFKA_BROKERS, clientId: `simulator-${config.runId}`, ...env.kafkaTopics },
    { logger },
  );
  const abort = new AbortController();
  let running: Promise<unknown> = Promise.resolve();
  // SIGTERM: stop after the in-flight batch. End-of-run markers are NOT flushed on abort (on purpose:
  // downstream stages must never see an incomplete run as complete); a rerun with the same seed
  // republishes identical records, which consumers de-duplicate by event id.
  onShutdown(
    logger,
    async () => {
      abort.abort();
      await running.catch(() => undefined);
      ops.close();
    },
    { deadlineMs: env.SHUTDOWN_DEADLINE_MS },
  );

  let lastUsers = 0;
  const run = publishRun(
    config,
    { stream, logger },
    {
      speedup: env.SIM_SPEEDUP,
      signal: abort.signal,
      onBatch: (sent) => {
        published.inc({ kind: 'event' }, sent.events);
        published.inc({ kind: 'malformed' }, sent.malformed);
        published.inc({ kind: 'truth' }, sent.truths);
      },
      onProgress: (done) => {
        users.inc(done - lastUsers);
        lastUsers = done;
      },
    },
  );
  running = run;
  const summary = await run;
  logger.info({ summary }, summary.aborted ? 'run aborted' : 'run complete');
  if (summary.aborted) return; // the shutdown handler closes the ops server and exits 0
  ops.close();
  process.exit(0);
}

main().catch((err: unknown) => {
  // Config errors and broker failures end the Job with a readable message.
  process.stderr.write(
    `${JSON.stringify({ level: 'fatal', service: 'simulator', msg: String(err instanceof Error ? err.message : err) })}\n`,
  );
  process.exit(1);
});
