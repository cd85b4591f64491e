import { create } from '@bufbuild/protobuf';
import { ActionCountSchema, SemantizedWindowSchema } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { cloneStats, emptyStats, type FeatureStats, updateStats } from '../stats.js';
import { extractFeatures } from './features.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5, 12);

function window(i: number, signals: Record<string, number>, purchases = 1) {
  return create(SemantizedWindowSchema, {
    windowId: `w${i}`,
    tenant: 't',
    userId: 'u',
    startMs: T0 + i * DAY,
    endMs: T0 + i * DAY + 600_000,
    eventCount: 10,
    actions: [
      create(ActionCountSchema, { action: 'view', category: 'Books > Fiction', count: 6 }),
      create(ActionCountSchema, { action: 'purchase', category: 'Books > Fiction', count: purchases }),
    ],
    signals,
  });
}

function statsOf(windows: ReturnType<typeof window>[]): FeatureStats {
  const s = emptyStats();
  for (const w of windows) updateStats(s, w);
  return s;
}

describe('behaviour signal features', () => {
  it('folds window signals into the statistics and rates them against what they qualify', () => {
    const s = statsOf([
      window(0, { coupon: 1, sale_view: 3 }),
      window(1, { sale_view: 1 }),
      window(2, { coupon: 1, signup: 1 }),
      window(3, {}),
    ]);
    expect(s.signals).toEqual({ coupon: 2, sale_view: 4, signup: 1 });
    expect(s.signalWindows).toEqual({ coupon: 2, sale_view: 2, signup: 1 });
    const f = extractFeatures(s);
    // Coupons per purchase (4 purchases, smoothed by one), discounted views per view (24 views).
    expect(f.get('sig:coupon')).toBeCloseTo(2 / 5);
    expect(f.get('sig:sale_view')).toBeCloseTo(4 / 25);
    // Signals without a base: per window; the windows carrying them; presence.
    expect(f.get('sig:signup')).toBeCloseTo(1 / 4);
    expect(f.get('sigW:coupon')).toBeCloseTo(2 / 4);
    expect(f.get('sigAny:signup')).toBe(1);
    expect(f.has('sig:pay_later')).toBe(false);
    // The copy keeps its own signal maps.
    const c = cloneStats(s);
    updateStats(c, window(4, { coupon: 1 }));
    expect(s.signals?.coupon).toBe(2);
    expect(c.signals?.coupon).toBe(3);
  });

  it('reads statistics stored before signals existed', () => {
    const s = statsOf([window(0, {})]);
    delete s.signals;
    delete s.signalWindows;
    expect(() => extractFeatures(s)).not.toThrow();
    updateStats(s, window(1, { express: 1 }));
    expect(s.signals).toEqual({ express: 1 });
    expect(extractFeatures(s).get('sigAny:express')).toBe(1);
  });

  it('measures activity at its peak, whatever the trend', () => {
    // Busy first two weeks (new user exploring), then one window a week.
    const busy = Array.from({ length: 14 }, (_, i) => window(i, {}));
    const quiet = Array.from({ length: 10 }, (_, i) => window(14 + 7 * (i + 1), {}));
    const f = extractFeatures(statsOf([...busy, ...quiet]));
    expect(f.get('first_bucket_ratio') as number).toBeGreaterThan(0.5);
    expect(f.get('peak_windows_per_week') as number).toBeCloseTo(Math.log1p(7));
    expect(f.get('peak_windows_per_week') as number).toBeGreaterThan(f.get('windows_per_week') as number);
  });
});

describe('interest features (the semantizer’s taxonomy)', () => {
  const w = (i: number, interests: Record<string, number>, unmapped = 0) =>
    create(SemantizedWindowSchema, { ...window(i, {}), interests, unmapped });

  it('accumulate long-term and decayed counts like the categories, ignore names outside the schema, count unmapped', () => {
    const s = statsOf([w(0, { tech: 4, music: 2 }, 1), w(14, { tech: 2, 'not-an-interest': 9 }, 2)]);
    expect(s.interests).toEqual({ tech: 6, music: 2 });
    // 14 days later with a 14-day half-life: the first window's counts weigh ½.
    expect(s.recentInterests?.tech).toBeCloseTo(4 / 2 + 2, 10);
    expect(s.recentInterests?.music).toBeCloseTo(1, 10);
    expect(s.unmapped).toBe(3);
    const f = extractFeatures(s);
    expect(f.get('int:tech')).toBeCloseTo(6 / 8, 10);
    expect(f.get('int:music')).toBeCloseTo(2 / 8, 10);
    expect(f.get('intR:tech')).toBeCloseTo(4 / 5, 10);
    expect(f.get('intRate:tech')).toBeCloseTo(Math.log1p(6 / 2), 10);
    expect(f.has('int:not-an-interest')).toBe(false);
    const copy = cloneStats(s);
    copy.interests = { ...copy.interests, tech: 0 };
    expect(s.interests?.tech).toBe(6);
  });

  it('statistics stored before interests existed still give features (none from interests)', () => {
    const s = statsOf([window(0, {})]) as Partial<FeatureStats>;
    delete s.interests;
    delete s.recentInterests;
    delete s.unmapped;
    const f = extractFeatures(s as FeatureStats);
    expect([...f.keys()].some((k) => k.startsWith('int:'))).toBe(false);
    expect(f.get('log_windows')).toBeCloseTo(Math.log(2), 10);
  });
});
