import { create } from '@bufbuild/protobuf';
import {
  ActionCountSchema,
  type DimensionSpec,
  dimensionSpec,
  itemCodeText,
  SemantizedWindowSchema,
} from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { cloneStats, emptyStats, MAX_ITEMS, updateStats } from '../stats.js';
import { BuiltinBackend } from './backend.js';
import { extractFeatures, ITEM_PREFIX } from './features.js';
import { itemsApply } from './model.js';
import { trainBuiltinModel } from './train.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5, 12);

function window(i: number, items: number[], tenant = 'shop') {
  return create(SemantizedWindowSchema, {
    windowId: `w${i}`,
    tenant,
    userId: 'u',
    startMs: T0 + i * DAY,
    endMs: T0 + i * DAY + 600_000,
    eventCount: 10,
    actions: [create(ActionCountSchema, { action: 'view', category: 'Movies > Drama', count: 10 })],
    items,
  });
}

describe('item codes in the statistics and features', () => {
  it('counts each code once per window and keeps the MAX_ITEMS most frequent', () => {
    const s = emptyStats();
    updateStats(s, window(0, [7, 9]));
    updateStats(s, window(1, [9]));
    expect(s.items).toEqual({ [itemCodeText(7)]: 1, [itemCodeText(9)]: 2 });
    expect(cloneStats(s).items).toEqual(s.items);
    const many = emptyStats();
    for (let w = 0; w < 40; w++)
      updateStats(
        many,
        window(
          w,
          Array.from({ length: 8 }, (_, k) => 100 + w * 8 + k),
        ),
      );
    updateStats(many, window(40, [100]));
    expect(Object.keys(many.items ?? {})).toHaveLength(MAX_ITEMS);
    expect(many.items?.[itemCodeText(100)]).toBe(2); // the most frequent is kept
  });

  it('writes item shares under item: — and none when items are off', () => {
    const s = emptyStats();
    updateStats(s, window(0, [7, 9]));
    updateStats(s, window(1, [9]));
    const f = extractFeatures(s);
    expect(f.get(`${ITEM_PREFIX}:${itemCodeText(9)}`)).toBeCloseTo(2 / 3, 12);
    expect(f.get(`${ITEM_PREFIX}:${itemCodeText(7)}`)).toBeCloseTo(1 / 3, 12);
    const off = extractFeatures(s, { items: false });
    expect([...off.keys()].some((k) => k.startsWith(`${ITEM_PREFIX}:`))).toBe(false);
    expect(off.get('log_windows')).toBe(f.get('log_windows'));
  });
});

describe('the scope of item features', () => {
  it('applies to the listed tenants and prefixes, to everyone without a scope, and always without a tenant', () => {
    const scoped = { items: { tenants: ['demo', 'bench-*'] } };
    expect(itemsApply(scoped, 'demo')).toBe(true);
    expect(itemsApply(scoped, 'bench-k2x')).toBe(true);
    expect(itemsApply(scoped, 'bench')).toBe(false);
    expect(itemsApply(scoped, 'acme')).toBe(false);
    expect(itemsApply(scoped, undefined)).toBe(true);
    expect(itemsApply({}, 'acme')).toBe(true);
  });

  it('a model trained on one shop reads item codes for that shop only', () => {
    // Ten users per age band; each band's users engage with the band's own items (codes 10·band …).
    const bands = ['18-24', '25-34', '35-44', '45-54', '55+'];
    const examples = bands.flatMap((band, b) =>
      Array.from({ length: 10 }, (_, k) => ({
        id: `u${b}-${k}`,
        windows: [0, 1, 2].map((i) => window(i, [10 * b + ((k + i) % 5), 10 * b + ((k + i + 1) % 5)])),
        truth: { tags: [{ dimension: 'age_band', value: band }] },
      })),
    );
    const dims = [dimensionSpec('age_band') as DimensionSpec];
    const weights = trainBuiltinModel(examples, { dimensions: dims, itemTenants: ['shop'], lambdas: [0.1] });
    expect(weights.items).toEqual({ tenants: ['shop'] });
    const backend = new BuiltinBackend(weights, { shrink: false });
    const s = emptyStats();
    for (const i of [0, 1, 2]) updateStats(s, window(i, [40, 41]));
    const inShop = backend.predictTags(s, dims, 'shop')[0];
    const elsewhere = backend.predictTags(s, dims, 'other-shop')[0];
    expect(inShop?.value).toBe('55+');
    expect(inShop?.confidence).toBeGreaterThan(0.5);
    // Another tenant's codes name other items: predicted as if the user had no item codes at all.
    const noItems = emptyStats();
    for (const i of [0, 1, 2]) updateStats(noItems, window(i, []));
    expect(elsewhere).toEqual(backend.predictTags(noItems, dims, 'shop')[0]);
  });
});
