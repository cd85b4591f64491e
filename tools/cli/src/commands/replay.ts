import { ErrorCode, PersonaStreamError, Topics } from '@personastream/contracts';
import { readDatasetManifest } from '@personastream/dataset';
import { replayDataset } from '@personastream/ingest';
import { createLogger } from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';
import { choiceOption, parseOptions } from '../args.js';
import { progressBar, say } from '../progress.js';

/**
 * `personastream replay`: sends a canonical dataset through the ingest HTTP API (`--target http`) or
 * straight to Kafka (`--target kafka`, KAFKA_BROKERS), through the same validation, ending the run
 * with end-of-run markers; prints accepted/rejected by reason.
 */
export async function runReplay(args: string[]): Promise<number> {
  const o = parseOptions('replay', args, {
    path: { type: 'string' },
    target: { type: 'string' },
    url: { type: 'string' },
    speedup: { type: 'string' },
    tenant: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (typeof o.path !== 'string')
    throw new PersonaStreamError(ErrorCode.InvalidArgument, 'replay: --path DIR is required', 'path');
  const target = choiceOption('replay', 'target', o.target, ['http', 'kafka'] as const, 'http');
  const speedup = o.speedup === undefined ? 0 : Number(o.speedup);
  if (!Number.isFinite(speedup) || speedup < 0) {
    throw new PersonaStreamError(
      ErrorCode.InvalidArgument,
      `replay: --speedup must be a number ≥ 0, got "${o.speedup}"`,
      'speedup',
    );
  }
  const manifest = await readDatasetManifest(o.path);
  const bar = progressBar('replay', manifest.counts.events);
  const common = {
    path: o.path,
    speedup,
    onProgress: (p: { events: number }) => bar.update(p.events),
    ...(typeof o.tenant === 'string' ? { tenant: o.tenant } : {}),
  };
  let summary: Awaited<ReturnType<typeof replayDataset>>;
  if (target === 'http') {
    const apiKey = process.env.INGEST_API_KEY;
    if (!apiKey)
      throw new PersonaStreamError(
        ErrorCode.InvalidArgument,
        'replay --target http needs INGEST_API_KEY in the environment',
        'target',
      );
    summary = await replayDataset({
      ...common,
      target,
      url: typeof o.url === 'string' ? o.url : 'http://127.0.0.1:8080',
      apiKey,
    });
  } else {
    const brokers = process.env.KAFKA_BROKERS;
    if (!brokers)
      throw new PersonaStreamError(
        ErrorCode.InvalidArgument,
        'replay --target kafka needs KAFKA_BROKERS (see .infra/env)',
        'target',
      );
    const stream = createKafkaStream(
      { brokers: brokers.split(','), clientId: 'replay' },
      { logger: createLogger('replay', 'warn') },
    );
    const producer = stream.producer();
    const admin = stream.admin();
    try {
      const partitions = await admin.partitionCount(Topics.events);
      summary = await replayDataset({ ...common, target, producer, partitions });
    } finally {
      await producer.close();
      await admin.close();
    }
  }
  bar.stop();
  say(
    `replay → ${target}: ${summary.accepted} accepted, ${summary.duplicates} duplicates, rejected ${JSON.stringify(summary.rejected)}`,
  );
  if (o.json) console.log(JSON.stringify(summary));
  return 0;
}
