import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { create } from '@bufbuild/protobuf';
import {
  BehaviorEventSchema,
  canonicalEventJson,
  EventType,
  GroundTruthSchema,
  TagSchema,
} from '@personastream/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import {
  crc32,
  type DatasetRecord,
  readDatasetEventLines,
  readDatasetEvents,
  readDatasetManifest,
  readDatasetTruth,
  verifyDataset,
  writeDataset,
} from './index.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ps-dataset-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function records(n: number): DatasetRecord[] {
  const out: DatasetRecord[] = [];
  for (let u = 0; u < n; u++) {
    const userId = `u${u}`;
    for (let k = 0; k < 50; k++) {
      out.push({
        kind: 'event',
        event: create(BehaviorEventSchema, {
          eventId: `r-${u}-${k}`,
          tenant: 't',
          userId,
          eventTimeMs: 1_767_225_600_000 + k * 1000,
          type: EventType.ITEM_VIEW,
          item: { id: `i${k}`, categoryPath: ['Books', 'Fiction', 'Thrillers'], price: 9.99, currency: 'USD' },
          properties: { source: 'search' },
          runId: 'r',
        }),
      });
    }
    out.push({ kind: 'malformed' });
    out.push({
      kind: 'truth',
      truth: create(GroundTruthSchema, {
        tenant: 't',
        userId,
        runId: 'r',
        tags: [create(TagSchema, { dimension: 'interests', value: 'books' })],
        split: 'train',
      }),
    });
  }
  return out;
}

const base = { source: 'test', license: 'CC0-1.0', labelledDimensions: ['interests'], config: { n: 3 } };

describe('dataset files', () => {
  it('round-trips events and truth, with counts and hashes in the manifest', async () => {
    const dir = await tempDir();
    const recs = records(3);
    const manifest = await writeDataset(dir, { manifestBase: base, records: recs });
    expect(manifest.counts).toEqual({ users: 3, events: 150, truths: 3 });
    expect(await readDatasetManifest(dir)).toEqual(manifest);
    const events = [];
    for await (const e of readDatasetEvents(dir)) events.push(e);
    expect(events.map((e) => canonicalEventJson(e))).toEqual(
      recs.flatMap((r) => (r.kind === 'event' ? [canonicalEventJson(r.event)] : [])),
    );
    const lines = [];
    for await (const l of readDatasetEventLines(dir)) lines.push(l);
    expect(lines).toHaveLength(150);
    const truths = [];
    for await (const t of readDatasetTruth(dir)) truths.push(t);
    expect(truths.map((t) => t.userId)).toEqual(['u0', 'u1', 'u2']);
    // A plain gunzip reads the file, and the raw hash covers exactly the lines.
    const raw = gunzipSync(await readFile(join(dir, 'events.jsonl.gz'))).toString('utf8');
    expect(raw.split('\n')).toHaveLength(151);
    expect(await verifyDataset(dir)).toEqual({ ok: true, mismatches: [] });
  });

  it('writes byte-identical files for the same records (async iterables too)', async () => {
    const a = await tempDir();
    const b = await tempDir();
    const ma = await writeDataset(a, { manifestBase: base, records: records(4) });
    async function* gen() {
      for (const r of records(4)) yield r;
    }
    const mb = await writeDataset(b, { manifestBase: base, records: gen() });
    expect(mb.hashes).toEqual(ma.hashes);
    expect(await readFile(join(a, 'events.jsonl.gz'))).toEqual(await readFile(join(b, 'events.jsonl.gz')));
    // Header: gzip magic, deflate, no flags, mtime 0, OS 255.
    const head = (await readFile(join(a, 'events.jsonl.gz'))).subarray(0, 10);
    expect([...head]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
  });

  it('streams large inputs with flat memory and valid CRC', async () => {
    const dir = await tempDir();
    const line = JSON.stringify({ x: 'y'.repeat(200) });
    async function* many(): AsyncGenerator<DatasetRecord> {
      for (let i = 0; i < 20_000; i++) yield { kind: 'event-json', json: line, userId: `u${i % 7}` };
    }
    const m = await writeDataset(dir, { manifestBase: base, records: many() });
    expect(m.counts).toEqual({ users: 7, events: 20_000, truths: 0 });
    const buf = await readFile(join(dir, 'events.jsonl.gz'));
    const raw = gunzipSync(buf);
    expect(buf.readUInt32LE(buf.length - 8)).toBe(crc32(raw));
    expect(buf.readUInt32LE(buf.length - 4)).toBe(raw.length);
  });

  it('names the line of a bad event and the field of a bad manifest', async () => {
    const dir = await tempDir();
    await writeDataset(dir, {
      manifestBase: base,
      records: [
        { kind: 'event-json', json: '{"eventId":"a","userId":"u"}', userId: 'u' },
        { kind: 'event-json', json: '{"eventId":"b","eventTimeMs":"soon"}', userId: 'u' },
      ],
    });
    const read = async () => {
      for await (const _ of readDatasetEvents(dir)) {
        // consume
      }
    };
    await expect(read()).rejects.toThrow(/events\.jsonl\.gz:2: invalid event/);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ format: 'personastream-dataset', version: 2 }));
    await expect(readDatasetManifest(dir)).rejects.toThrow(/unsupported version 2/);
    await expect(readDatasetManifest(join(dir, 'missing'))).rejects.toThrow(/cannot read dataset manifest/);
  });

  it('detects a tampered file', async () => {
    const dir = await tempDir();
    await writeDataset(dir, { manifestBase: base, records: records(1) });
    await writeFile(join(dir, 'truth.jsonl'), '{}\n');
    const v = await verifyDataset(dir);
    expect(v.ok).toBe(false);
    expect(v.mismatches[0]).toMatch(/^truth\.jsonl/);
  });
});
