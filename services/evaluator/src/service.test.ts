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
    const wait = service.waitForRun('run-a');
    await broker.producer().send(topics.truth, enc.truth);
    await broker.producer().send(topics.updates, enc.updates.slice(0, -1));
    await broker.drained();
    expect(service.progress('run-a')?.complete).toBe(false);
    await broker.producer().send(topics.updates, enc.updates.slice(-1));
    const report = await wait;
    expect(report).toEqual(expected(run));
    expect(await sink.getRun('run-a')).toEqual(report);
    expect(seen).toEqual(['run-a']);
    expect(await service.waitForRun('run-a')).toBe(report); // already complete
    await service.stop();
    expect(service.health()).toBe(false);
  });

  it('does not double count re-delivered records, and rescores a run when a new record arrives', async () => {
    const { broker, sink, service } = setup();
    const run = syntheticRun({ runId: 'run-b', users: 20, seed: 6 });
    const enc = encodeSyntheticRun(run);
    await service.start();
    const first = service.waitForRun('run-b');
    await broker.producer().send(topics.truth, enc.truth);
    await broker.producer().send(topics.updates, enc.updates);
    const r1 = await first;
    expect(sink.writes).toBe(1);
    // the same records again (a producer retry, a replay): recognised, nothing rewritten
    await broker.producer().send(topics.updates, enc.updates);
    await broker.producer().send(topics.truth, enc.truth);
    await broker.drained();
    expect(sink.writes).toBe(1);
    const stored = await sink.getRun('run-b');
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
    const wait = b.service.waitForRun('run-c');
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
    const wait = service.waitForRun('run-d');
    await broker.producer().send(topics.truth, enc.truth);
    await broker.producer().send(topics.updates, enc.updates);
    expect((await wait).users).toBe(10);
    await expect(service.waitForRun('run-zzz', 50)).rejects.toThrow(/run run-zzz not complete after 50 ms/);
    const partial = service.waitForRun('run-e', 200);
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
    const wait = service.waitForRun('run-j');
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
