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

/** Live updates the evaluator wrote (`evaluator_live_updates_total`, scored or not). */
async function liveWritten(registry: Registry): Promise<number> {
  const values = (await registry.getSingleMetric('evaluator_live_updates_total')?.get())?.values ?? [];
  return values.reduce((s, v) => s + v.value, 0);
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

describe('runs are (tenant, run id) on real Kafka + ClickHouse', () => {
  it("two tenants send the same run id: A's markers complete only A's run; B's own markers complete B's", async () => {
    const runId = `it-shared-${suffix}`;
    const a = syntheticRun({ runId, tenant: 'acme', users: 20, seed: 41, partitions: PARTITIONS });
    const b = syntheticRun({ runId, tenant: 'globex', users: 14, seed: 42, partitions: PARTITIONS });
    const encA = encodeSyntheticRun(a);
    const encB = encodeSyntheticRun(b);
    const isMarker = (r: EncodedRecord) => r.key.startsWith('run/');
    const svc = service(`it-eval-tenants-${suffix}`);
    await svc.start();
    try {
      const waitA = svc.waitForRun('acme', runId);
      // B's records without its markers, then all of A's (markers included)
      await publish({
        truth: encB.truth.filter((r) => !isMarker(r)),
        updates: encB.updates.filter((r) => !isMarker(r)),
      });
      await publish(encA);
      const reportA = await waitA;
      expect(reportA.tenant).toBe('acme');
      expect(reportA.users).toBe(20);
      const acc = new RunAccumulator(runId, { stack: 'local' });
      for (const u of a.updates) acc.addUpdate(u.value);
      for (const t of a.truths) acc.addTruth(t.value);
      for (const m of a.updateMarkers) acc.addMarker('updates', m);
      for (const m of a.truthMarkers) acc.addMarker('truth', m);
      expect(reportA).toEqual(acc.report());
      // B: consumed (its checkpoint is there) but not complete, not scored
      const sink = new ClickHouseScoreSink(db.client);
      const deadline = Date.now() + 60_000;
      while (
        (await sink.loadCheckpoint('globex', runId)).length <
        encB.updates.length + encB.truth.length - 2 * PARTITIONS
      ) {
        if (Date.now() > deadline) throw new Error("globex's records were not checkpointed");
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(svc.progress('globex', runId)).toMatchObject({ complete: false, users: 14 });
      expect(await sink.getRun('globex', runId)).toBeUndefined();
      const [rows] = await db.client.query<{ n: number }>(
        sql`SELECT count() AS n FROM runs FINAL WHERE run_id = ${runId}`,
      );
      expect(rows?.n).toBe(1);
      // B's markers complete B with its own records only; A's rows are unchanged
      const waitB = svc.waitForRun('globex', runId);
      await publish({ truth: encB.truth.filter(isMarker), updates: encB.updates.filter(isMarker) });
      const reportB = await waitB;
      expect(reportB.users).toBe(14);
      expect(reportB.user_rows.every((u) => u.tenant === 'globex')).toBe(true);
      expectReportsEqual(await sink.getRun('globex', runId), reportB);
      expectReportsEqual(await sink.getRun('acme', runId), reportA);
      const perTenant = await db.client.query<{ tenant: string; users: number }>(
        sql`SELECT tenant, count() AS users FROM user_scores FINAL WHERE run_id = ${runId} GROUP BY tenant ORDER BY tenant`,
      );
      expect(perTenant).toEqual([
        { tenant: 'acme', users: 20 },
        { tenant: 'globex', users: 14 },
      ]);
    } finally {
      await svc.stop();
    }
  });
});

describe('the live run on real Kafka + ClickHouse', () => {
  it('writes one live_updates row per update (re-delivery does not double count) and scores labelled users', async () => {
    const tenant = `live-${suffix}`.replaceAll('_', '-');
    const now = Date.now();
    const minute = Math.floor(now / 60_000) * 60_000;
    const live = syntheticRun({ runId: 'live', tenant, users: 15, seed: 43, partitions: PARTITIONS, startMs: minute });
    // live updates: entered the system 200 ms · version before their update; the first of each user early
    const updates = live.updates.map((u) => {
      const p = u.value.persona as NonNullable<typeof u.value.persona>;
      p.updatedMs = minute + 1000 * p.version;
      u.value.firstEntryMs = p.updatedMs - 200 * p.version;
      u.value.early = p.version === 1;
      return u;
    });
    const enc = encodeSyntheticRun({ ...live, updates, updateMarkers: [], truthMarkers: [] });
    // truths of 5 users only (labelled), sent before the updates
    const labelled = enc.truth.slice(0, 5);
    const registry = createRegistry('evaluator-it-live', false);
    const svc = service(`it-eval-live-${suffix}`, registry);
    await svc.start();
    const sink = new ClickHouseScoreSink(db.client);
    const rowsFinal = async () =>
      (
        await db.client.query<{ n: number; scored: number }>(
          sql`SELECT count() AS n, count(tag_score) AS scored FROM live_updates FINAL WHERE tenant = ${tenant}`,
        )
      )[0];
    try {
      await publish({ truth: labelled, updates: [] });
      const deadline = Date.now() + 60_000;
      while ((await sink.loadCheckpoint(tenant, 'live')).length < 5) {
        if (Date.now() > deadline) throw new Error('live truths were not checkpointed');
        await new Promise((r) => setTimeout(r, 200));
      }
      await publish({ truth: [], updates: enc.updates });
      while ((await rowsFinal())?.n !== updates.length) {
        if (Date.now() > deadline) throw new Error('live rows were not written');
        await new Promise((r) => setTimeout(r, 200));
      }
      const labelledUsers = new Set(labelled.map((r) => r.key));
      const expectedScored = updates.filter((u) => labelledUsers.has(u.key)).length;
      expect((await rowsFinal())?.scored).toBe(expectedScored);
      expect(svc.progress(tenant, 'live')).toBeUndefined(); // nothing accumulated
      const minutes = await sink.liveMinutes(tenant, minute, minute + 60 * 60_000);
      const total = minutes.reduce((s, m) => s + m.updates, 0);
      expect(total).toBe(updates.length);
      // re-deliver everything: same rows, same figures
      await publish({ truth: labelled, updates: enc.updates });
      const redelivered = Date.now() + 60_000;
      while ((await liveWritten(registry)) < 2 * updates.length) {
        if (Date.now() > redelivered) throw new Error('re-delivered live updates were not written');
        await new Promise((res) => setTimeout(res, 200));
      }
      expect(await rowsFinal()).toEqual({ n: updates.length, scored: expectedScored });
      expect(await sink.liveMinutes(tenant, minute, minute + 60 * 60_000)).toEqual(minutes);
    } finally {
      await svc.stop();
    }
  });
});

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
      const wait = svc.waitForRun('acme', runId);
      await publish(enc);
      const report = await wait;

      // the report: 60 users, test split scored, every enabled dimension
      expect(report.users).toBe(60);
      expect(report.test_users).toBe(run.truths.filter((t) => t.value.split === 'test').length);
      expect(report.samples).toBe(3);
      expect(Object.keys(report.tag_per_dimension)).toHaveLength(12);

      // the rows in ClickHouse equal the report
      const sink = new ClickHouseScoreSink(db.client);
      expectReportsEqual(await sink.getRun('acme', runId), report);
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
      expectReportsEqual(await sink.getRun('acme', runId), report);
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
      const wait = b.waitForRun('acme', runId);
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
