import { create, toBinary } from '@bufbuild/protobuf';
import {
  GroundTruthSchema,
  PersonaSchema,
  PersonaUpdateRecordSchema,
  PersonaUpdateSchema,
  type Tag,
  TagSchema,
  TruthRecordSchema,
} from '@personastream/contracts';
import { createRegistry, silentLogger } from '@personastream/runtime';
import { MemoryBroker } from '@personastream/stream';
import { describe, expect, it } from 'vitest';
import { type CheckpointRecord, MemoryScoreSink } from './adapters/sink.js';
import { encodeSyntheticRun, syntheticRun } from './core/fixtures.js';
import { RunAccumulator } from './core/run.js';
import { createEvaluatorService } from './service.js';

const topics = { updates: 'u.test', truth: 't.test' };

function setup(sink = new MemoryScoreSink(), broker = new MemoryBroker(4, 50)) {
  broker.createTopic(topics.updates, 4);
  broker.createTopic(topics.truth, 4);
  const service = createEvaluatorService(
    { groupId: 'eval-test', topics, stack: 'embedded', waitTimeoutMs: 10_000 },
    { stream: broker, sink, logger: silentLogger(), registry: createRegistry('evaluator-test', false) },
  );
  return { broker, sink, service };
}

function expected(run: ReturnType<typeof syntheticRun>) {
  const acc = new RunAccumulator(run.updateMarkers[0]!.runId, { stack: 'embedded' });
  for (const u of run.updates) acc.addUpdate(u.value);
  for (const t of run.truths) acc.addTruth(t.value);
  for (const m of run.updateMarkers) acc.addMarker('updates', m);
  for (const m of run.truthMarkers) acc.addMarker('truth', m);
  return acc.report();
}

describe('evaluator service (embedded)', () => {
  it('scores a run when every marker arrived, writes it, then resolves waiters and callbacks', async () => {
    const { broker, sink, service } = setup();
    const run = syntheticRun({ runId: 'run-a', users: 30, seed: 5, samples: 2 });
    const enc = encodeSyntheticRun(run);
    const seen: string[] = [];
    service.onRunComplete((r) => void seen.push(r.run_id));
    await service.start();
    expect(service.health()).toBe(true);
    const wait = service.waitForRun('acme', 'run-a');
    await broker.producer().send(topics.truth, enc.truth);
    await broker.producer().send(topics.updates, enc.updates.slice(0, -1));
    await broker.drained();
    expect(service.progress('acme', 'run-a')?.complete).toBe(false);
    await broker.producer().send(topics.updates, enc.updates.slice(-1));
    const report = await wait;
    expect(report).toEqual(expected(run));
    expect(await sink.getRun('acme', 'run-a')).toEqual(report);
    expect(seen).toEqual(['run-a']);
    expect(await service.waitForRun('acme', 'run-a')).toBe(report); // already complete
    await service.stop();
    expect(service.health()).toBe(false);
  });

  it('does not double count re-delivered records, and rescores a run when a new record arrives', async () => {
    const { broker, sink, service } = setup();
    const run = syntheticRun({ runId: 'run-b', users: 20, seed: 6 });
    const enc = encodeSyntheticRun(run);
    await service.start();
    const first = service.waitForRun('acme', 'run-b');
    await broker.producer().send(topics.truth, enc.truth);
    await broker.producer().send(topics.updates, enc.updates);
    const r1 = await first;
    expect(sink.writes).toBe(1);
    // the same records again (a producer retry, a replay): recognised, nothing rewritten
    await broker.producer().send(topics.updates, enc.updates);
    await broker.producer().send(topics.truth, enc.truth);
    await broker.drained();
    expect(sink.writes).toBe(1);
    const stored = await sink.getRun('acme', 'run-b');
    expect(stored).toEqual(r1);
    expect(stored?.users).toBe(20);
    expect(stored?.updates).toBe(run.updates.length);
    // a late update of a scored run: the run is rebuilt from the checkpoint and scored again
    const late = syntheticRun({ runId: 'run-b', users: 21, seed: 6 });
    const extra = encodeSyntheticRun({
      ...late,
      updates: late.updates.filter((u) => u.value.persona?.userId === 'u0020'),
    });
    const rescored = new Promise<number>((resolve) => service.onRunComplete((r) => resolve(r.users)));
    await broker.producer().send(
      topics.updates,
      extra.updates.filter((r) => !r.key.startsWith('run/')),
    );
    expect(await rescored).toBe(21);
    expect(sink.writes).toBe(2);
    await service.stop();
  });

  it('survives a restart mid-run: state comes back from the checkpoint', async () => {
    const sink = new MemoryScoreSink();
    const broker = new MemoryBroker(4, 50);
    const run = syntheticRun({ runId: 'run-c', users: 25, seed: 7 });
    const enc = encodeSyntheticRun(run);
    const half = Math.floor(enc.updates.length / 2);

    const a = setup(sink, broker);
    await a.service.start();
    await broker.producer().send(topics.truth, enc.truth);
    await broker.producer().send(
      topics.updates,
      enc.updates.slice(0, half).filter((r) => !r.key.startsWith('run/')),
    );
    await broker.drained();
    await a.service.stop(); // offsets of everything so far are committed

    const b = setup(sink, broker); // a new process: empty memory, same group, same sink
    await b.service.start();
    const wait = b.service.waitForRun('acme', 'run-c');
    await broker.producer().send(
      topics.updates,
      enc.updates.filter((r, i) => i >= half || r.key.startsWith('run/')),
    );
    expect(await wait).toEqual(expected(run));
    await b.service.stop();
  });

  it('retries a batch whose write failed, and times out with the run progress', async () => {
    class FlakySink extends MemoryScoreSink {
      failures = 1;
      override async checkpoint(records: readonly CheckpointRecord[]) {
        if (this.failures-- > 0) throw new Error('ClickHouse down');
        return super.checkpoint(records);
      }
    }
    const { broker, service } = setup(new FlakySink());
    const run = syntheticRun({ runId: 'run-d', users: 10, seed: 8 });
    const enc = encodeSyntheticRun(run);
    await service.start();
    const wait = service.waitForRun('acme', 'run-d');
    await broker.producer().send(topics.truth, enc.truth);
    await broker.producer().send(topics.updates, enc.updates);
    expect((await wait).users).toBe(10);
    await expect(service.waitForRun('acme', 'run-zzz', 50)).rejects.toThrow(
      /run run-zzz of tenant acme not complete after 50 ms/,
    );
    const partial = service.waitForRun('acme', 'run-e', 200);
    const other = encodeSyntheticRun(syntheticRun({ runId: 'run-e', users: 5, seed: 9 }));
    await broker.producer().send(topics.truth, other.truth);
    await expect(partial).rejects.toThrow(/truth markers 4\/4, 5 users/);
    await service.stop();
  });
});

describe('evaluator service with an LLM judge', () => {
  it('scores Acc_Ex with the judge instead of the extractor', async () => {
    const broker = new MemoryBroker(4, 50);
    broker.createTopic(topics.updates, 4);
    broker.createTopic(topics.truth, 4);
    const asked: number[] = [];
    const service = createEvaluatorService(
      { groupId: 'eval-judge', topics, scoreAllUsers: true },
      {
        stream: broker,
        sink: new MemoryScoreSink(),
        logger: silentLogger(),
        registry: createRegistry('evaluator-judge', false),
        // a judge that says every summary states exactly one fact: interests = sports
        judge: {
          statedFacts: async (_summary, candidates) => {
            asked.push(candidates.length);
            return [{ dimension: 'interests', value: 'sports' }];
          },
        },
      },
    );
    const run = syntheticRun({ runId: 'run-j', users: 8, seed: 12 });
    const enc = encodeSyntheticRun(run);
    await service.start();
    const wait = service.waitForRun('acme', 'run-j');
    await broker.producer().send(topics.truth, enc.truth);
    await broker.producer().send(topics.updates, enc.updates);
    const r = await wait;
    const sportsUsers = run.truths.filter((t) => t.value.keyFacts.some((f) => f.value === 'sports'));
    expect(asked.length).toBe(8);
    expect(asked[0]).toBeGreaterThan(50); // every value of every scored dimension is a candidate
    expect(r.user_rows.every((u) => u.stated_facts === 1)).toBe(true);
    expect(r.hallucination_rate).toBeCloseTo(1 - sportsUsers.length / 8, 12);
    await service.stop();
  });
});

describe('evaluator service: runs are (tenant, run id)', () => {
  it("two tenants' runs of one run id never touch each other: A's markers complete only A", async () => {
    const { broker, sink, service } = setup();
    const a = syntheticRun({ runId: 'same', tenant: 'acme', users: 12, seed: 31 });
    const b = syntheticRun({ runId: 'same', tenant: 'globex', users: 9, seed: 32 });
    const encA = encodeSyntheticRun(a);
    const encB = encodeSyntheticRun(b);
    const isMarker = (r: { key: string }) => r.key.startsWith('run/');
    await service.start();
    const waitA = service.waitForRun('acme', 'same');
    // globex's records first, without its markers; then every record of acme, markers included
    await broker.producer().send(
      topics.truth,
      encB.truth.filter((r) => !isMarker(r)),
    );
    await broker.producer().send(
      topics.updates,
      encB.updates.filter((r) => !isMarker(r)),
    );
    await broker.producer().send(topics.truth, encA.truth);
    await broker.producer().send(topics.updates, encA.updates);
    const reportA = await waitA;
    expect(reportA).toEqual(expected(a));
    expect(reportA.tenant).toBe('acme');
    expect(reportA.users).toBe(12);
    // globex's run of the same id: still open, untouched by acme's markers
    expect(service.progress('globex', 'same')).toMatchObject({ complete: false, users: 9 });
    expect(service.progress('globex', 'same')?.markers.updates.received).toEqual([]);
    expect(await sink.getRun('globex', 'same')).toBeUndefined();
    await expect(service.waitForRun('globex', 'same', 100)).rejects.toThrow(/tenant globex not complete/);
    // its own markers complete it, with its own report; acme's stays as it was
    const waitB = service.waitForRun('globex', 'same');
    await broker.producer().send(topics.truth, encB.truth.filter(isMarker));
    await broker.producer().send(topics.updates, encB.updates.filter(isMarker));
    const reportB = await waitB;
    expect(reportB).toEqual(expected(b));
    expect(reportB.users).toBe(9);
    expect(await sink.getRun('acme', 'same')).toEqual(reportA);
    expect(await sink.getRun('globex', 'same')).toEqual(reportB);
    expect((await sink.listRuns()).map((r) => `${r.tenant}/${r.run_id}`).sort()).toEqual(['acme/same', 'globex/same']);
    await service.stop();
  });

  it('skips records whose tenant id is invalid, and end-of-run markers of the live run', async () => {
    const registry = createRegistry('evaluator-test-invalid', false);
    const broker = new MemoryBroker(4, 50);
    broker.createTopic(topics.updates, 4);
    broker.createTopic(topics.truth, 4);
    const sink = new MemoryScoreSink();
    const service = createEvaluatorService(
      { groupId: 'eval-invalid', topics },
      { stream: broker, sink, logger: silentLogger(), registry },
    );
    const run = syntheticRun({ runId: 'r', tenant: 'a/b', users: 2, seed: 1 });
    const live = syntheticRun({ runId: 'live', tenant: 'acme', users: 1, seed: 1 });
    await service.start();
    await broker
      .producer()
      .send(topics.updates, [
        ...encodeSyntheticRun(run).updates,
        ...encodeSyntheticRun(live).updates.filter((r) => r.key.startsWith('run/')),
      ]);
    await broker.drained();
    const invalid = (await registry.getSingleMetric('evaluator_records_total')?.get())?.values.find(
      (v) => v.labels.outcome === 'invalid',
    );
    expect(invalid?.value).toBe(encodeSyntheticRun(run).updates.length + 4);
    expect(service.progress('a/b', 'r')).toBeUndefined();
    expect(await sink.loadCheckpoint('acme', 'live')).toEqual([]);
    await expect(service.waitForRun('acme', 'live')).rejects.toThrow(/never completes/);
    await service.stop();
  });
});

describe('evaluator service: the live run', () => {
  const T0 = 1_759_999_980_000; // a whole minute
  const tag = (dimension: string, value: string, confidence = 0.5) =>
    create(TagSchema, { dimension, value, confidence });
  const liveUpdate = (tenant: string, userId: string, version: number, tags: Tag[], updatedMs: number) =>
    create(PersonaUpdateSchema, {
      runId: 'live',
      windowId: `${userId}-w${version}`,
      persona: create(PersonaSchema, { tenant, userId, version, tags, updatedMs, model: 'm' }),
      firstEntryMs: updatedMs - 250 * version,
      early: version % 2 === 1,
      flipped: version > 1 ? 1 : 0,
    });
  const updateRecord = (u: ReturnType<typeof liveUpdate>) => ({
    key: `${u.persona?.tenant}/${u.persona?.userId}`,
    value: toBinary(
      PersonaUpdateRecordSchema,
      create(PersonaUpdateRecordSchema, { kind: { case: 'update', value: u } }),
    ),
  });
  const truthRecord = (tenant: string, userId: string, tags: Tag[]) => ({
    key: `${tenant}/${userId}`,
    value: toBinary(
      TruthRecordSchema,
      create(TruthRecordSchema, {
        kind: {
          case: 'truth',
          value: create(GroundTruthSchema, { tenant, userId, runId: 'live', tags, split: 'train' }),
        },
      }),
    ),
  });
  const truthTags = [tag('age_band', '25-34', 1), tag('interests', 'tech', 1)];
  const right = [tag('age_band', '25-34'), tag('interests', 'tech')];
  const wrong = [tag('age_band', '55+'), tag('interests', 'tech')];

  it('writes each update as a row (nothing accumulated), idempotently; scores labelled users’ later updates', async () => {
    const registry = createRegistry('evaluator-live', false);
    const broker = new MemoryBroker(4, 50);
    broker.createTopic(topics.updates, 4);
    broker.createTopic(topics.truth, 4);
    const sink = new MemoryScoreSink();
    const make = () =>
      createEvaluatorService(
        { groupId: 'eval-live', topics, labeledDimensions: ['age_band', 'interests'] },
        { stream: broker, sink, logger: silentLogger(), registry },
      );
    const service = make();
    await service.start();
    // minute 0: u1 v1 (unlabelled yet), u2 v1 ; then u1's truth ; minute 1: u1 v2, u1 v3 (wrong age), u2 v2
    await broker
      .producer()
      .send(topics.updates, [
        updateRecord(liveUpdate('acme', 'u1', 1, right, T0 + 1000)),
        updateRecord(liveUpdate('acme', 'u2', 1, wrong, T0 + 2000)),
      ]);
    await broker.drained();
    await broker.producer().send(topics.truth, [truthRecord('acme', 'u1', truthTags)]);
    await broker.drained();
    const later = [
      updateRecord(liveUpdate('acme', 'u1', 2, right, T0 + 61_000)),
      updateRecord(liveUpdate('acme', 'u1', 3, wrong, T0 + 62_000)),
      updateRecord(liveUpdate('acme', 'u2', 2, right, T0 + 63_000)),
      updateRecord(liveUpdate('globex', 'u1', 1, right, T0 + 64_000)), // same user id, other tenant: unlabelled
    ];
    await broker.producer().send(topics.updates, later);
    await broker.drained();
    // nothing of the live run is held as a run: no accumulator, no checkpointed update
    expect(service.progress('acme', 'live')).toBeUndefined();
    expect((await registry.getSingleMetric('evaluator_runs_open')?.get())?.values[0]?.value ?? 0).toBe(0);
    expect((await sink.loadCheckpoint('acme', 'live')).map((r) => r.recordId)).toEqual(['t|acme/u1']);

    const minutes = await sink.liveMinutes('acme', T0, T0 + 2 * 60_000);
    expect(minutes).toEqual([
      {
        minute_ms: T0,
        updates: 2,
        users: 2,
        early_share: 1,
        flip_rate: 0,
        mean_confidence: 0.5,
        freshness_count: 2,
        freshness_p50_ms: 250,
        freshness_p99_ms: 250,
        scored_updates: 0, // u1's first update came before its truth
        tag_score: null,
      },
      {
        minute_ms: T0 + 60_000,
        updates: 3,
        users: 2,
        early_share: 1 / 3,
        flip_rate: 1,
        mean_confidence: 0.5,
        freshness_count: 3,
        freshness_p50_ms: 500,
        freshness_p99_ms: 750,
        scored_updates: 2, // u1 v2 (1) and v3 (age wrong: 0.5); u2 is unlabelled
        tag_score: 0.75,
      },
    ]);
    expect((await sink.liveMinutes('globex', T0, T0 + 2 * 60_000))[0]).toMatchObject({ updates: 1, scored_updates: 0 });

    // re-delivery (and a restarted evaluator that reloads the tenant's truths) changes nothing
    await service.stop();
    const again = make();
    await again.start();
    await broker.producer().send(topics.updates, later);
    await broker.producer().send(topics.truth, [truthRecord('acme', 'u1', truthTags)]);
    await broker.drained();
    expect(await sink.liveMinutes('acme', T0, T0 + 2 * 60_000)).toEqual(minutes);
    expect((await registry.getSingleMetric('evaluator_live_labelled_users')?.get())?.values[0]?.value).toBe(1);
    // a new update of u1 after the restart is scored from the reloaded truth
    await broker.producer().send(topics.updates, [updateRecord(liveUpdate('acme', 'u1', 4, right, T0 + 121_000))]);
    await broker.drained();
    expect((await sink.liveMinutes('acme', T0 + 120_000, T0 + 180_000))[0]).toMatchObject({
      updates: 1,
      scored_updates: 1,
      tag_score: 1,
    });
    expect(await sink.liveTags('acme', T0, T0 + 3 * 60_000)).toEqual([
      { dimension: 'age_band', value: '25-34', users: 2, share: 1 },
      { dimension: 'interests', value: 'tech', users: 2, share: 1 },
    ]);
    await again.stop();
  });
});

describe('evaluator service: live truths checkpointed by another instance', () => {
  it('reads them again after liveTruthRefreshMs and scores the user’s later updates', async () => {
    const T0 = 1_759_999_980_000;
    let clock = T0;
    const broker = new MemoryBroker(4, 50);
    broker.createTopic(topics.updates, 4);
    broker.createTopic(topics.truth, 4);
    const sink = new MemoryScoreSink();
    const service = createEvaluatorService(
      { groupId: 'eval-refresh', topics, labeledDimensions: ['age_band'], liveTruthRefreshMs: 60_000 },
      {
        stream: broker,
        sink,
        logger: silentLogger(),
        registry: createRegistry('eval-refresh', false),
        now: () => clock,
      },
    );
    const tags = [create(TagSchema, { dimension: 'age_band', value: '25-34', confidence: 1 })];
    const send = async (version: number, at: number) => {
      const u = create(PersonaUpdateSchema, {
        runId: 'live',
        windowId: `w${version}`,
        persona: create(PersonaSchema, { tenant: 'acme', userId: 'u1', version, tags, updatedMs: at }),
      });
      await broker.producer().send(topics.updates, [
        {
          key: 'acme/u1',
          value: toBinary(
            PersonaUpdateRecordSchema,
            create(PersonaUpdateRecordSchema, { kind: { case: 'update', value: u } }),
          ),
        },
      ]);
      await broker.drained();
    };
    await service.start();
    await send(1, T0);
    // another instance (owner of u1's truth partition) checkpoints u1's truth
    const truth = create(GroundTruthSchema, { tenant: 'acme', userId: 'u1', runId: 'live', tags, split: 'test' });
    await sink.checkpoint([
      {
        tenant: 'acme',
        runId: 'live',
        recordId: 't|acme/u1',
        role: 'truth',
        payload: toBinary(TruthRecordSchema, create(TruthRecordSchema, { kind: { case: 'truth', value: truth } })),
      },
    ]);
    clock = T0 + 30_000;
    await send(2, T0 + 30_000); // not read again yet
    clock = T0 + 61_000;
    await send(3, T0 + 61_000); // read again: scored
    const minutes = await sink.liveMinutes('acme', T0, T0 + 2 * 60_000);
    expect(minutes.map((m) => [m.updates, m.scored_updates, m.tag_score])).toEqual([
      [2, 0, null],
      [1, 1, 1],
    ]);
    await service.stop();
  });
});
