import { ErrorCode, PersonaStreamError, runKey, Topics } from '@personastream/contracts';
import { readDatasetManifest, readDatasetTruth } from '@personastream/dataset';
import { type PublishTruthSummary, publishDatasetTruth, replayDataset } from '@personastream/ingest';
import { type ClientTls, createLogger, loadClientTls, tlsFetch } from '@personastream/runtime';
import { createKafkaStream } from '@personastream/stream';
import { choiceOption, parseOptions } from '../args.js';
import { progressBar, say } from '../progress.js';

/**
 * `personastream replay`: sends a canonical dataset through the ingest HTTP API (`--target http`) or
 * straight to Kafka (`--target kafka`, KAFKA_BROKERS), through the same validation, ending the run
 * with end-of-run markers; prints accepted/rejected by reason. `--truth` also publishes the
 * dataset's labels to the truth topic (KAFKA_BROKERS), with markers, so a running evaluator scores
 * the run — on the dimensions the dataset labels when `--evaluator URL` is given (run facts, sent
 * with the bearer token in EVALUATOR_TOKEN: the run's tenant's token or the admin token); `--tenant`
 * / `--run-id` rewrite the events' (and labels') tenant and run id.
 */
export async function runReplay(args: string[]): Promise<number> {
  const o = parseOptions('replay', args, {
    path: { type: 'string' },
    target: { type: 'string' },
    url: { type: 'string' },
    speedup: { type: 'string' },
    tenant: { type: 'string' },
    'run-id': { type: 'string' },
    truth: { type: 'boolean', default: false },
    evaluator: { type: 'string' },
    'ca-file': { type: 'string' },
    'cert-file': { type: 'string' },
    'key-file': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const tls = clientTlsOf(o);
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
    ...(typeof o['run-id'] === 'string' ? { runId: o['run-id'] } : {}),
  };
  const kafkaStream = () => {
    const brokers = process.env.KAFKA_BROKERS;
    if (!brokers)
      throw new PersonaStreamError(
        ErrorCode.InvalidArgument,
        `replay ${target === 'kafka' ? '--target kafka' : '--truth'} needs KAFKA_BROKERS (see .infra/env)`,
        target === 'kafka' ? 'target' : 'truth',
      );
    return createKafkaStream(
      { brokers: brokers.split(','), clientId: 'replay' },
      { logger: createLogger('replay', 'warn') },
    );
  };
  const evaluatorToken = typeof o.evaluator === 'string' && o.truth ? requireEvaluatorToken() : undefined;
  let truth: PublishTruthSummary | undefined;
  if (o.truth) {
    // labels first: the evaluator scores the run once both topics' markers are in
    const stream = kafkaStream();
    const producer = stream.producer();
    const admin = stream.admin();
    try {
      truth = await publishDatasetTruth({
        path: o.path,
        ...(common.tenant !== undefined ? { tenant: common.tenant } : {}),
        ...(common.runId !== undefined ? { runId: common.runId } : {}),
        producer,
        partitions: await admin.partitionCount(Topics.truth),
      });
    } finally {
      await producer.close();
      await admin.close();
    }
    say(`truth: ${truth.truths} labelled users → ${Topics.truth}`);
    // the evaluator scores the dimensions the dataset labels only when told (run facts)
    if (typeof o.evaluator === 'string' && evaluatorToken !== undefined) {
      const runs =
        common.tenant !== undefined
          ? truth.runs.map((run) => [common.tenant as string, run] as const)
          : await truthRuns(o.path, common.runId);
      for (const [tenant, run] of runs) await putRunFacts(o.evaluator, evaluatorToken, tenant, run, manifest, tls);
      say(`run facts (labelled dimensions ${manifest.labelledDimensions.join(', ')}) → ${o.evaluator}`);
    }
  }
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
      ...(tls ? { tls } : {}),
    });
  } else {
    const stream = kafkaStream();
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
  if (o.json) console.log(JSON.stringify(truth ? { ...summary, truths: truth.truths } : summary));
  return 0;
}

/** The CA / client certificate files of `--ca-file`, `--cert-file`, `--key-file`, read once (errors name the option). */
function clientTlsOf(o: Record<string, unknown>): ClientTls | undefined {
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const files = { caFile: str('ca-file'), certFile: str('cert-file'), keyFile: str('key-file') };
  try {
    return loadClientTls(files);
  } catch (err) {
    throw new PersonaStreamError(ErrorCode.InvalidArgument, `replay: ${(err as Error).message}`, 'ca-file');
  }
}

/** The (tenant, run id) pairs of a dataset's truth, with the `--run-id` rewrite applied. */
async function truthRuns(path: string, runId: string | undefined): Promise<Array<readonly [string, string]>> {
  const runs = new Map<string, readonly [string, string]>();
  for await (const t of readDatasetTruth(path)) {
    const run = runId ?? t.runId;
    runs.set(runKey(t.tenant, run), [t.tenant, run]);
  }
  return [...runs.values()];
}

/** The evaluator token of `--evaluator` (checked before anything is published). */
function requireEvaluatorToken(): string {
  const token = process.env.EVALUATOR_TOKEN;
  if (!token) {
    throw new PersonaStreamError(
      ErrorCode.InvalidArgument,
      "replay --evaluator needs EVALUATOR_TOKEN in the environment (the run's tenant's evaluator token, or the admin token)",
      'evaluator',
    );
  }
  return token;
}

/**
 * `PUT /api/tenants/:tenant/runs/:runId/facts` of an evaluator: the dataset's labelled dimensions,
 * event count and start time.
 */
async function putRunFacts(
  evaluatorUrl: string,
  token: string,
  tenant: string,
  runId: string,
  manifest: Awaited<ReturnType<typeof readDatasetManifest>>,
  tls: ClientTls | undefined,
): Promise<void> {
  const fetch = tlsFetch(tls);
  const url = `${evaluatorUrl.replace(/\/+$/, '')}/api/tenants/${encodeURIComponent(tenant)}/runs/${encodeURIComponent(runId)}/facts`;
  const res = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      info: {
        labeled_dimensions: manifest.labelledDimensions,
        events: manifest.counts.events,
        started_ms: Date.now(),
        stack: 'replay',
      },
    }),
  });
  if (!res.ok) {
    throw new PersonaStreamError(
      ErrorCode.Unavailable,
      `replay: the evaluator refused the run facts of ${runId} (tenant ${tenant}): ${res.status} ${await res.text()}`,
      'evaluator',
    );
  }
}
