import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventType, splitOf } from '@personastream/contracts';
import { readDatasetEvents, readDatasetManifest, readDatasetTruth, verifyDataset } from '@personastream/dataset';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  writeMovielensFixture,
  writeRetailrocketFixture,
  writeSegmentFixture,
  writeTaobaoFixture,
} from './fixtures.js';
import { importDataset } from './import.js';
import type { ImportProgress } from './types.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ps-ingest-import-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('importDataset', () => {
  it('MovieLens 100K: ratings → RATE events in time order, users → labels with splits', async () => {
    const src = join(tmp, 'ml-100k');
    await writeMovielensFixture(src);
    const progress: ImportProgress[] = [];
    const out = join(tmp, 'ml-out');
    const r = await importDataset({
      format: 'movielens',
      path: src,
      out,
      onProgress: (p) => progress.push(p),
      sortChunk: 10,
    });
    expect(r.events).toBe(48);
    expect(r.truths).toBe(12);
    expect(r.skipped).toEqual({ malformed_line: 1, invalid_rating: 1 });
    const events = await all(readDatasetEvents(out));
    expect(events).toHaveLength(48);
    const times = events.map((e) => e.eventTimeMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const e = events.find((x) => x.eventId === 'ml-2-4');
    expect(e).toMatchObject({ tenant: 'movielens', userId: '2', type: EventType.RATE, runId: 'import-movielens' });
    expect(e?.item).toMatchObject({ id: '4', title: 'Unknown Film (1990)', categoryPath: ['Movies'] });
    const amelie = events.find((x) => x.item?.id === '3');
    expect(amelie?.item?.title).toBe('Amélie (2001)');
    expect(amelie?.item?.categoryPath).toEqual(['Movies', 'Comedy']);
    expect(amelie?.properties).toEqual({ genres: 'Comedy|Romance', year: '2001' });

    const truth = await all(readDatasetTruth(out));
    const u1 = truth.find((t) => t.userId === '1');
    expect(u1?.tags.map((t) => [t.dimension, t.value])).toEqual([
      ['age_band', '18-24'],
      ['gender', 'male'],
      ['occupation_group', 'trades'],
    ]);
    expect(u1?.split).toBe(splitOf('1'));
    expect(u1?.referenceSummary).toBe('A male user aged 18-24 who works in the trades.');
    const u5 = truth.find((t) => t.userId === '5'); // age 15: youngest band
    expect(u5?.tags.find((t) => t.dimension === 'age_band')?.value).toBe('18-24');
    const u7 = truth.find((t) => t.userId === '7');
    expect(u7?.tags.map((t) => t.value)).toEqual(['55+', 'male', 'retired']);

    const m = await readDatasetManifest(out);
    expect(m.source).toBe('movielens-100k');
    expect(m.license).toMatch(/GroupLens/);
    expect(m.labelledDimensions).toEqual(['age_band', 'gender', 'occupation_group']);
    expect(m.counts).toEqual({ users: 12, events: 48, truths: 12 });
    expect((await verifyDataset(out)).ok).toBe(true);
    expect(progress.at(-1)).toMatchObject({ phase: 'write', events: 48, totalEvents: 48 });

    // deterministic: the same input gives byte-identical files
    const again = await importDataset({ format: 'movielens', path: join(src, 'u.data'), out: join(tmp, 'ml-out-2') });
    expect(again.manifest.hashes).toEqual(m.hashes);
  });

  it('RetailRocket: view/addtocart/transaction with category paths, duplicates collapsed, no truth', async () => {
    const src = join(tmp, 'rr');
    await writeRetailrocketFixture(src);
    const out = join(tmp, 'rr-out');
    const r = await importDataset({ format: 'retailrocket', path: join(src, 'events.csv'), out });
    expect(r.skipped).toEqual({ unknown_event: 1, malformed_line: 1, duplicate_event_id: 1 });
    const events = await all(readDatasetEvents(out));
    expect(events.map((e) => e.type)).toEqual([
      EventType.ITEM_VIEW,
      EventType.ITEM_VIEW,
      EventType.ITEM_VIEW,
      EventType.ITEM_VIEW,
      EventType.ADD_TO_CART,
      EventType.PURCHASE,
      EventType.ITEM_VIEW,
    ]);
    const buy = events.find((e) => e.type === EventType.PURCHASE);
    expect(buy).toMatchObject({
      userId: '483717',
      quantity: 1,
      properties: { transaction_id: '4000' },
      eventTimeMs: 1433223236124,
    });
    expect(buy?.item?.categoryPath).toEqual(['213', '1016']);
    expect(events.find((e) => e.item?.id === '355908')?.item?.categoryPath).toEqual(['169', '809']);
    const m = await readDatasetManifest(out);
    expect(m.labelledDimensions).toEqual([]);
    expect(m.counts.truths).toBe(0);
    expect(m.license).toMatch(/CC BY-NC-SA 4\.0/);
  });

  it('Taobao UserBehavior: pv/buy/cart/fav in seconds', async () => {
    const src = join(tmp, 'tb');
    await writeTaobaoFixture(src);
    const out = join(tmp, 'tb-out');
    const r = await importDataset({ format: 'taobao', path: src, out, tenant: 'tb' });
    expect(r.events).toBe(6);
    expect(r.skipped).toEqual({ unknown_event: 1, malformed_line: 1 });
    const events = await all(readDatasetEvents(out));
    expect(events[0]).toMatchObject({
      eventId: 'tb-1-2268318-pv-1511544070',
      tenant: 'tb',
      eventTimeMs: 1511544070000,
      type: EventType.ITEM_VIEW,
    });
    expect(events[0]?.item?.categoryPath).toEqual(['2520377']);
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set([EventType.ITEM_VIEW, EventType.PURCHASE, EventType.ADD_TO_CART, EventType.FAVORITE]),
    );
  });

  it('Segment JSON lines through the same mapping core', async () => {
    const src = join(tmp, 'segment.jsonl');
    await writeSegmentFixture(src);
    const out = join(tmp, 'seg-out');
    const r = await importDataset({ format: 'segment-jsonl', path: src, out, tenant: 'shop' });
    expect(r.skipped).toEqual({ timestamp_required: 1, userId_required: 1, invalid_json: 1 });
    const events = await all(readDatasetEvents(out));
    expect(events.map((e) => e.eventId)).toEqual(['s2', 's1', 's3', 's4#0', 's4#1']);
    expect(events[0]).toMatchObject({
      userId: 'anon:a9',
      type: EventType.PAGE_VIEW,
      receivedTimeMs: Date.UTC(2024, 4, 1, 9, 0, 1),
    });
    expect(events[2]?.properties).toEqual({ 'trait.plan': 'gold' });
    expect(events[1]?.receivedTimeMs).toBe(0);
  });

  it('fails clearly on a missing source or an unknown format', async () => {
    await expect(importDataset({ format: 'movielens', path: join(tmp, 'nope'), out: join(tmp, 'x') })).rejects.toThrow(
      /does not exist/,
    );
    await expect(importDataset({ format: 'csv' as never, path: tmp, out: join(tmp, 'x') })).rejects.toThrow(
      /unknown import format/,
    );
  });
});
