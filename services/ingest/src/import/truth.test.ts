import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { partitionForKey, TruthRecordSchema } from '@personastream/contracts';
import { MemoryBroker } from '@personastream/stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeMovielensFixture } from './fixtures.js';
import { importDataset } from './import.js';
import { publishDatasetTruth } from './truth.js';

let tmp: string;
let ml: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ps-ingest-truth-'));
  await writeMovielensFixture(join(tmp, 'src'), 30);
  ml = join(tmp, 'ml');
  await importDataset({ format: 'movielens', path: join(tmp, 'src'), out: ml });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('publishDatasetTruth', () => {
  it('writes every truth keyed tenant/user with the rewrites, then a counted marker last on every partition', async () => {
    const broker = new MemoryBroker(3);
    broker.createTopic('truth', 3);
    const s = await publishDatasetTruth({
      path: ml,
      producer: broker.producer(),
      topic: 'truth',
      partitions: 3,
      tenant: 'acme',
      runId: 'ml-run-1',
      batchSize: 7,
    });
    expect(s).toEqual({ truths: 30, runs: ['ml-run-1'] });
    const users = new Set<string>();
    broker.partitions('truth').forEach((log, p) => {
      const kinds = log.records.map((r) => fromBinary(TruthRecordSchema, r.value).kind);
      const last = kinds.at(-1);
      if (last?.case !== 'endOfRun') throw new Error(`partition ${p} does not end with a marker`);
      expect(last.value).toMatchObject({ runId: 'ml-run-1', partition: p, totalPartitions: 3, tenant: 'acme' });
      const truths = kinds.slice(0, -1);
      expect(last.value.records).toBe(truths.length);
      for (const [i, k] of truths.entries()) {
        if (k.case !== 'truth') throw new Error('a marker before the end');
        expect(k.value).toMatchObject({ tenant: 'acme', runId: 'ml-run-1' });
        expect(log.records[i]?.key).toBe(`acme/${k.value.userId}`);
        expect(partitionForKey(`acme/${k.value.userId}`, 3)).toBe(p);
        expect(k.value.tags.map((t) => t.dimension).sort()).toEqual(['age_band', 'gender', 'occupation_group']);
        users.add(k.value.userId);
      }
    });
    expect(users.size).toBe(30);
  });
});
