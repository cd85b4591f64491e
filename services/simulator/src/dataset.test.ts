import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalEventJson } from '@personastream/contracts';
import { readDatasetEvents, readDatasetManifest, readDatasetTruth, verifyDataset } from '@personastream/dataset';
import { afterAll, describe, expect, it } from 'vitest';
import { benchmarkGeneration } from './bench.js';
import { simulatorConfig } from './core/config.js';
import { simulateUserLines } from './core/run.js';
import { writeSimulatedDataset } from './dataset.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ps-sim-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

// Generous timeouts: the machine is shared, and these write real files.
describe('simulated datasets', { timeout: 30_000 }, () => {
  const config = simulatorConfig({ users: 12, seed: 1 });

  it('writes identical files for the same config and different ones for another seed', async () => {
    const [a, b, c] = [await tempDir(), await tempDir(), await tempDir()];
    const progress: number[] = [];
    const ma = await writeSimulatedDataset(config, a, (n) => progress.push(n));
    const mb = await writeSimulatedDataset(config, b);
    const mc = await writeSimulatedDataset(simulatorConfig({ users: 12, seed: 2 }), c);
    expect(progress).toHaveLength(12);
    expect(mb.hashes).toEqual(ma.hashes);
    expect(await readFile(join(a, 'events.jsonl.gz'))).toEqual(await readFile(join(b, 'events.jsonl.gz')));
    expect(await readFile(join(a, 'manifest.json'), 'utf8')).toBe(await readFile(join(b, 'manifest.json'), 'utf8'));
    expect(mc.hashes['events.jsonl.gz']).not.toBe(ma.hashes['events.jsonl.gz']);
    expect(mc.hashes['truth.jsonl']).not.toBe(ma.hashes['truth.jsonl']);
    expect(await verifyDataset(a)).toEqual({ ok: true, mismatches: [] });
  });

  it('holds the run: canonical lines in emission order, truth per user, manifest with config and counts', async () => {
    const dir = await tempDir();
    const m = await writeSimulatedDataset(config, dir);
    const manifest = await readDatasetManifest(dir);
    expect(manifest).toEqual(m);
    expect(manifest.source).toBe('personastream-simulator');
    expect(manifest.config).toEqual(JSON.parse(JSON.stringify(config)));
    expect(manifest.labelledDimensions).toContain('life_events');
    const expected = [...simulateUserLines(config)].flatMap((u) => u.lines);
    const got: string[] = [];
    for await (const e of readDatasetEvents(dir)) got.push(canonicalEventJson(e));
    expect(got).toEqual(expected);
    expect(m.counts).toEqual({ users: 12, events: expected.length, truths: 12 });
    const truths = [];
    for await (const t of readDatasetTruth(dir)) truths.push(t);
    expect(truths.map((t) => t.userId)).toEqual(
      Array.from({ length: 12 }, (_, i) => `u${String(i + 1).padStart(6, '0')}`),
    );
  });

  it('benchmarks generation (tiny run, no timing assertion)', () => {
    const r = benchmarkGeneration(5);
    expect(r.events).toBeGreaterThan(100);
    expect(r.eventsPerSecond).toBeGreaterThan(0);
  });
});
