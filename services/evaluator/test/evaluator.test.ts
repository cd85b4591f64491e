import { createRegistry, type Registry, silentLogger } from '@personastream/runtime';
import { createKafkaStream, type Stream } from '@personastream/stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseScoreSink } from '../src/adapters/sink.js';
import { ident, sql } from '../src/adapters/sql.js';
import { type EncodedRecord, encodeSyntheticRun, syntheticRun } from '../src/core/fixtures.js';
import { RunAccumulator, type RunReport } from '../src/core/run.js';
import { createEvaluatorService, type EvaluatorService } from '../src/service.js';
import { expectReportsEqual, requireEnv, testDatabase, uniqueSuffix } from './helpers.js';

const PARTITIONS = 3;
let db: Awaited<ReturnType<typeof testDatabase>>;
let stream: Stream;
const suffix = uniqueSuffix();
const topics = { updates: `it.eval.updates.${suffix}`, truth: `it.eval.truth.${suffix}` };

beforeAll(async () => {
  const brokers = requireEnv('KAFKA_BROKERS').split(',');
  db = await testDatabase();
  stream = createKafkaStream({ brokers, clientId: `it-eval-${suffix}` }, { logger: silentLogger() });
  const admin = stream.admin();
  await admin.ensureTopics([
    { topic: topics.updates, partitions: PARTITIONS },
    { topic: topics.truth, partitions: PARTITIONS },
  ]);
  await admin.close();
});

afterAll(async () => {
  await db?.drop();
});

function service(groupId: string, registry = createRegistry('evaluator-it', false)): EvaluatorService {
  return createEvaluatorService(
    { groupId, topics, stack: 'local', waitTimeoutMs: 90_000 },
    { stream, sink: new ClickHouseScoreSink(db.client), logger: silentLogger(), registry },
  );
}

/** Sum of the evaluator's `evaluator_records_total` counter for one outcome. */
async function recordsCounted(registry: Registry, outcome: string): Promise<number> {
  const metric = registry.getSingleMetric('evaluator_records_total');
  const values = (await metric?.get())?.values ?? [];
  return values.filter((v) => v.labels.outcome === outcome).reduce((s, v) => s + v.value, 0);
}

async function publish(records: { updates: EncodedRecord[]; truth: EncodedRecord[] }) {
  const producer = stream.producer();
  await producer.send(topics.truth, records.truth);
  await producer.send(topics.updates, records.updates);
  await producer.close();
}

async function count(table: string, runId: string): Promise<number> {
  const [row] = await db.client.query<{ n: number }>(
    sql`SELECT count() AS n FROM ${ident(table)} FINAL WHERE run_id = ${runId}`,
  );
  return row?.n ?? -1;
}

describe('evaluator on real Kafka + ClickHouse', () => {
  it('scores a run into ClickHouse; rows equal the report; re-delivery does not double count', async () => {
    const runId = `it-run-${suffix}`;
    const run = syntheticRun({ runId, users: 60, seed: 21, samples: 3, partitions: PARTITIONS, missingPersona: 0.05 });
    const enc = encodeSyntheticRun(run);
    const registry = createRegistry('evaluator-it', false);
    const svc = service(`it-eval-${suffix}`, registry);
    const completions: RunReport[] = [];
    svc.onRunComplete((r) => void completions.push(r));
    await svc.start();
    try {
      const wait = svc.waitForRun(runId);
      await publish(enc);
      const report = await wait;

      // the report: 60 users, test split scored, every enabled dimension
      expect(report.users).toBe(60);
      expect(report.test_users).toBe(run.truths.filter((t) => t.value.split === 'test').length);
      expect(report.samples).toBe(3);
      expect(Object.keys(report.tag_per_dimension)).toHaveLength(12);

      // the rows in ClickHouse equal the report
      const sink = new ClickHouseScoreSink(db.client);
      expectReportsEqual(await sink.getRun(runId), report);
      const [runRow] = await db.client.query<{
        users: number;
        test_users: number;
        tag_avg_at_k: number;
        acc_ex: number;
      }>(sql`SELECT users, test_users, tag_avg_at_k, acc_ex FROM runs FINAL WHERE run_id = ${runId}`);
      expect(runRow?.users).toBe(report.users);
      expect(runRow?.test_users).toBe(report.test_users);
      expect(runRow?.tag_avg_at_k).toBeCloseTo(report.tag_avg_at_k, 12);
      expect(runRow?.acc_ex).toBeCloseTo(report.acc_ex, 12);
      const dims = await db.client.query<{ dimension: string; accuracy: number }>(
        sql`SELECT dimension, accuracy FROM dimension_scores FINAL WHERE run_id = ${runId} ORDER BY dimension`,
      );
      expect(dims).toHaveLength(12);
      for (const d of dims) expect(d.accuracy).toBeCloseTo(report.tag_per_dimension[d.dimension] as number, 12);
      // Avg@k recomputed in SQL from the per-user rows
      const [sqlAvg] = await db.client.query<{ avg: number }>(
        sql`SELECT avg(tag_score) AS avg FROM user_scores FINAL WHERE run_id = ${runId} AND scored = 1`,
      );
      expect(sqlAvg?.avg).toBeCloseTo(report.tag_avg_at_k, 12);
      expect(await count('user_scores', runId)).toBe(60);
      expect(await count('convergence', runId)).toBe(run.updates.length);

      // re-deliver every message (updates, truth and markers): recognised as duplicates, nothing double counted
      const duplicatesBefore = await recordsCounted(registry, 'duplicate');
      await publish(enc);
      const deadline = Date.now() + 60_000;
      while ((await recordsCounted(registry, 'duplicate')) < duplicatesBefore + enc.updates.length + enc.truth.length) {
        if (Date.now() > deadline) throw new Error('the re-delivered records were not consumed');
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(await count('user_scores', runId)).toBe(60);
      expect(await count('runs', runId)).toBe(1);
      expect(await count('dimension_scores', runId)).toBe(12);
      expect(await count('convergence', runId)).toBe(run.updates.length);
      expectReportsEqual(await sink.getRun(runId), report);
      expect(completions.filter((r) => r.run_id === runId)).toHaveLength(1);
    } finally {
      await svc.stop();
    }
  });

  it('resumes an unfinished run after a restart from the checkpoint and the committed offsets', async () => {
    const runId = `it-restart-${suffix}`;
    const run = syntheticRun({ runId, users: 30, seed: 22, partitions: PARTITIONS });
    const enc = encodeSyntheticRun(run);
    const group = `it-eval-restart-${suffix}`;
    const firstHalf = { truth: enc.truth, updates: enc.updates.filter((r) => !r.key.startsWith('run/')).slice(0, 40) };
    const rest = { truth: [] as EncodedRecord[], updates: enc.updates.filter((r) => !firstHalf.updates.includes(r)) };

    const a = service(group);
    await a.start();
    await publish(firstHalf);
    // wait until the first instance checkpointed everything it was sent
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [row] = await db.client.query<{ n: number }>(
        sql`SELECT count() AS n FROM evaluator_inbox FINAL WHERE run_id = ${runId}`,
      );
      if ((row?.n ?? 0) >= firstHalf.truth.length + firstHalf.updates.length) break;
      if (Date.now() > deadline) throw new Error('first instance did not checkpoint the first half');
      await new Promise((r) => setTimeout(r, 200));
    }
    await a.stop(); // committed: the restarted instance will not see these records again

    const b = service(group);
    await b.start();
    try {
      const wait = b.waitForRun(runId);
      await publish(rest);
      const report = await wait;
      expect(report.users).toBe(30);
      expect(report.updates).toBe(run.updates.length);
      expect(report.user_rows.filter((u) => u.has_persona)).toHaveLength(new Set(run.updates.map((u) => u.key)).size);
      const acc = new RunAccumulator(runId, { stack: 'local' });
      for (const u of run.updates) acc.addUpdate(u.value);
      for (const t of run.truths) acc.addTruth(t.value);
      for (const m of run.updateMarkers) acc.addMarker('updates', m);
      for (const m of run.truthMarkers) acc.addMarker('truth', m);
      expect(report).toEqual(acc.report());
    } finally {
      await b.stop();
    }
  });
});
