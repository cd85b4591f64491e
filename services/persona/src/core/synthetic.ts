import { create } from '@bufbuild/protobuf';
import {
  ActionCountSchema,
  CompressionStatsSchema,
  type GroundTruth,
  GroundTruthSchema,
  mulberry32,
  NotableEventSchema,
  type SemantizedWindow,
  SemantizedWindowSchema,
  TagSchema,
} from '@personastream/contracts';

/**
 * A small deterministic generator of semantized windows with known truth, for unit tests and the
 * update benchmark (the real simulator + semantizer live in their own services). Only a few
 * dimensions are simulated: interests, primary_device, activity_pattern, income_tier, gender and
 * the new_baby / new_pet life events.
 */
export interface SyntheticUser {
  tenant: string;
  userId: string;
  windows: SemantizedWindow[];
  truth: GroundTruth;
}

export const SYNTHETIC_DIMENSIONS = [
  'gender',
  'income_tier',
  'activity_pattern',
  'primary_device',
  'interests',
  'life_events',
];

const rng = mulberry32;

const INTEREST_CATS: Record<string, string> = {
  sports: 'Sports',
  cooking: 'Kitchen',
  tech: 'Electronics',
  books: 'Books',
  travel: 'Travel',
  gaming: 'Games',
};
const PATTERN_HOURS: Record<string, number> = { early_bird: 6, daytime: 13, evening: 19, night_owl: 23 };
const DAY = 86_400_000;

export interface SyntheticOptions {
  users: number;
  seed?: number;
  tenant?: string;
  /** Windows per user (default 30). */
  windowsPerUser?: number;
  startMs?: number;
}

export function syntheticUsers(opts: SyntheticOptions): SyntheticUser[] {
  const r = rng(opts.seed ?? 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const tenant = opts.tenant ?? 'synthetic';
  const start = opts.startMs ?? Date.UTC(2026, 0, 1);
  const out: SyntheticUser[] = [];
  for (let u = 0; u < opts.users; u++) {
    const userId = `u${String(u).padStart(5, '0')}`;
    const gender = pick(['female', 'male']);
    const income = pick(['low', 'mid', 'high']);
    const pattern = pick(Object.keys(PATTERN_HOURS));
    const device = pick(['mobile', 'desktop', 'tablet']);
    const pool = Object.keys(INTEREST_CATS);
    const interests = [pick(pool)];
    if (r() < 0.6) {
      const second = pick(pool);
      if (!interests.includes(second)) interests.push(second);
    }
    const lifeEvent = r() < 0.3 ? pick(['new_baby', 'new_pet']) : undefined;
    const n = opts.windowsPerUser ?? 30;
    const eventStart = start + Math.floor(n * 0.5) * 3 * DAY;
    const windows: SemantizedWindow[] = [];
    for (let i = 0; i < n; i++) {
      const t = start + i * 3 * DAY + Math.floor(r() * DAY);
      const actions = [];
      for (const it of interests) {
        const cat = INTEREST_CATS[it] as string;
        actions.push(
          create(ActionCountSchema, { action: 'view', category: `${cat} > Misc`, count: 2 + Math.floor(r() * 4) }),
        );
        if (r() < 0.3) actions.push(create(ActionCountSchema, { action: 'purchase', category: cat, count: 1 }));
      }
      actions.push(
        create(ActionCountSchema, {
          action: 'view',
          category: gender === 'female' ? 'Fashion > Women' : 'Fashion > Men',
          count: 1 + Math.floor(r() * 2),
        }),
      );
      if (r() < 0.2)
        actions.push(
          create(ActionCountSchema, { action: 'view', category: pick(Object.values(INTEREST_CATS)), count: 1 }),
        );
      const notable = [];
      if (lifeEvent && t >= eventStart) {
        const cat = lifeEvent === 'new_baby' ? 'Baby' : 'Pet Supplies';
        actions.push(
          create(ActionCountSchema, {
            action: 'view',
            category: `${cat} > Essentials`,
            count: 3 + Math.floor(r() * 3),
          }),
        );
        if (windows.every((w) => !w.actions.some((a) => a.category.startsWith(cat)))) {
          notable.push(create(NotableEventSchema, { kind: 'category_shift', detail: `started ${cat}`, timeMs: t }));
        }
      }
      const eventCount = actions.reduce((s, a) => s + a.count, 0);
      const hours = new Array<number>(24).fill(0);
      const h = ((PATTERN_HOURS[pattern] as number) + Math.floor(r() * 3) - 1 + 24) % 24;
      hours[h] = eventCount;
      const tierCounts: Record<string, number> = { low: 0, mid: 0, high: 0 };
      for (let k = 0; k < 4; k++) {
        const tier = r() < 0.6 ? income : pick(['low', 'mid', 'high']);
        tierCounts[tier] = (tierCounts[tier] ?? 0) + 1;
      }
      const devices: Record<string, number> = {
        [r() < 0.8 ? device : pick(['mobile', 'desktop', 'tablet'])]: eventCount,
      };
      const id = `w-${tenant}-${userId}-${i}`;
      windows.push(
        create(SemantizedWindowSchema, {
          windowId: id,
          tenant,
          userId,
          runId: 'synthetic',
          startMs: t,
          endMs: t + 20 * 60_000,
          eventCount,
          actions,
          spend: 10 + r() * (income === 'high' ? 200 : 40),
          dwellMs: eventCount * 30_000,
          hourHistogram: hours,
          devices,
          intents: [pick(['gift', 'cheap', 'best', 'review'])],
          brands: [pick(['Acme', 'Globex', 'Initech', 'Umbrella'])],
          priceTiers: tierCounts,
          funnelDepth: actions.some((a) => a.action === 'purchase') ? 4 : 2,
          notable,
          text: `session ${i}: ${actions.map((a) => `${a.action} ${a.category} x${a.count}`).join('; ')}`,
          compression: create(CompressionStatsSchema, {
            rawBytes: eventCount * 300,
            semantizedBytes: 200,
            rawTokens: eventCount * 80,
            semantizedTokens: 50,
            tokenizer: 'synthetic',
          }),
          seq: i,
          ingestTimeMs: t + 25 * 60_000,
          maxEventTimeMs: t + 20 * 60_000,
        }),
      );
    }
    const tags = [
      create(TagSchema, { dimension: 'gender', value: gender }),
      create(TagSchema, { dimension: 'income_tier', value: income }),
      create(TagSchema, { dimension: 'activity_pattern', value: pattern }),
      create(TagSchema, { dimension: 'primary_device', value: device }),
      ...interests.map((i) => create(TagSchema, { dimension: 'interests', value: i })),
      ...(lifeEvent ? [create(TagSchema, { dimension: 'life_events', value: lifeEvent, sinceMs: eventStart })] : []),
    ];
    out.push({
      tenant,
      userId,
      windows,
      truth: create(GroundTruthSchema, { tenant, userId, runId: 'synthetic', tags }),
    });
  }
  return out;
}

/**
 * An early window of the final window `final` (tests): what the session showed after `share` of it —
 * `provisional`, revision `revision`, the final window's seq, an id of its own, and part of its counts.
 */
export function syntheticEarlyWindow(final: SemantizedWindow, revision: number, share: number): SemantizedWindow {
  const part = (n: number) => Math.max(1, Math.floor(n * share));
  return create(SemantizedWindowSchema, {
    ...final,
    windowId: `${final.windowId}.early-${revision}`,
    provisional: true,
    revision,
    endMs: final.startMs + Math.floor((final.endMs - final.startMs) * share),
    eventCount: part(final.eventCount),
    actions: final.actions.map((a) => create(ActionCountSchema, { ...a, count: part(a.count) })),
    hourHistogram: final.hourHistogram.map((n) => (n > 0 ? part(n) : 0)),
    spend: final.spend * share,
    dwellMs: final.dwellMs * share,
    brands: final.brands.slice(0, 1),
  });
}
