import { create, toBinary } from '@bufbuild/protobuf';
import {
  DefaultPartitions,
  type GroundTruth,
  partitionForKey,
  runKey,
  Topics,
  TruthRecordSchema,
  userKey,
} from '@personastream/contracts';
import { readDatasetTruth } from '@personastream/dataset';
import type { OutRecord, StreamProducer } from '@personastream/stream';
import { markerCountKey, replayMarkers } from './markers.js';

export interface PublishTruthOptions {
  /** Folder of a canonical dataset (its `truth.jsonl`). */
  path: string;
  producer: StreamProducer;
  /** Truth topic (default the contract's `hpr.truth.v1`). */
  topic?: string;
  /** Partitions of the truth topic (default the contract's default). */
  partitions?: number;
  /** Rewrites every truth's tenant / run id (as the replay of the same dataset does). */
  tenant?: string;
  runId?: string;
  /** Records per produce call (default 500). */
  batchSize?: number;
  /** End each run with EndOfRun markers on every partition after its truths (default true). */
  endOfRun?: boolean;
}

export interface PublishTruthSummary {
  /** Ground truths written (acknowledged). */
  truths: number;
  /** Runs that were ended with markers. */
  runs: string[];
}

/** One dataset truth as the TruthRecord the evaluator reads, with the rewrites applied. */
export function truthRecord(t: GroundTruth, rewrite: { tenant?: string; runId?: string }): OutRecord {
  if (rewrite.tenant !== undefined) t.tenant = rewrite.tenant;
  if (rewrite.runId !== undefined) t.runId = rewrite.runId;
  return {
    key: userKey(t.tenant, t.userId),
    value: toBinary(TruthRecordSchema, create(TruthRecordSchema, { kind: { case: 'truth', value: t } })),
  };
}

/**
 * Publishes a canonical dataset's ground truth (`truth.jsonl`) to the truth topic, keyed
 * `tenant/user_id`, and ends each run on every partition with an EndOfRun marker (producer
 * `ingest-replay`, per-partition record counts) — the truth side of a dataset run, which the
 * evaluator needs beside the persona updates to score it. Real datasets carry no run markers of
 * their own; batches are awaited in order, so each marker follows its partition's truths.
 */
export async function publishDatasetTruth(opts: PublishTruthOptions): Promise<PublishTruthSummary> {
  const topic = opts.topic ?? Topics.truth;
  const partitions = opts.partitions ?? DefaultPartitions[Topics.truth];
  const batchSize = Math.max(1, opts.batchSize ?? 500);
  const counts = new Map<string, number>();
  /** runKey → [run id, tenant] */
  const runsSeen = new Map<string, readonly [string, string]>();
  let truths = 0;
  let batch: OutRecord[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const b = batch;
    batch = [];
    await opts.producer.send(topic, b);
    truths += b.length;
  };
  for await (const t of readDatasetTruth(opts.path)) {
    const record = truthRecord(t, opts);
    const key = markerCountKey(t.tenant, t.runId, partitionForKey(record.key, partitions));
    counts.set(key, (counts.get(key) ?? 0) + 1);
    runsSeen.set(runKey(t.tenant, t.runId), [t.runId, t.tenant]);
    batch.push(record);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  if (opts.endOfRun ?? true) {
    const markers = replayMarkers(runsSeen.values(), partitions, counts, (marker) =>
      toBinary(TruthRecordSchema, create(TruthRecordSchema, { kind: { case: 'endOfRun', value: marker } })),
    );
    if (markers.length > 0) await opts.producer.send(topic, markers);
  }
  return { truths, runs: [...new Set([...runsSeen.values()].map(([run]) => run))] };
}
