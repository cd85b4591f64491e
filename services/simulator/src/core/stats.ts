import { EventType, EventTypeSchema } from '@personastream/contracts';
import { DAY_MS, Noise, type RunContext, runContext, type SimEvent } from './behaviour.js';
import type { Tier } from './catalogue.js';
import type { SimulatorConfig } from './config.js';
import { simulateRawUser } from './run.js';
import {
  ACTIVITY_PATTERNS,
  type ActivityPattern,
  ENGAGEMENT_LEVELS,
  type EngagementLevel,
  INCOME_TIERS,
  type IncomeTier,
  type LifeEventKind,
  PRICE_SENSITIVITIES,
  type PriceSensitivity,
  TRAJECTORIES,
  type Trajectory,
} from './types.js';

/** Realism report of a run (see BANDS for the plausible range of each property). */
export interface SimStats {
  users: number;
  events: number;
  malformed: number;
  sessions: number;
  eventsPerUser: { mean: number; p10: number; p50: number; p90: number; p99: number };
  /** Share of all events produced by the 10 % most active users. */
  top10UserShare: number;
  /** Share of events by type (lower-case names, e.g. item_view). */
  eventTypeMix: Record<string, number>;
  /** Conversion rates on clean (non-noise) events. */
  funnel: { searchToView: number; viewToCart: number; cartToPurchase: number; viewToPurchase: number };
  /** Session length over real (non-bot, non-accidental) sessions. */
  session: { eventsP50: number; eventsMean: number; minutesP50: number; minutesMean: number };
  /** Share of clean events per UTC hour, per activity pattern (24 values each). */
  hourOfDay: Record<ActivityPattern, number[]>;
  /** Hour with the most events, per activity pattern. */
  peakHour: Record<ActivityPattern, number>;
  /** Exponent of a power law fitted on log(rank) vs log(views) of items (top 1,000 ranks). */
  zipfExponent: number;
  /** Share of events by noise kind (malformed: extra records per valid event). */
  noise: {
    duplicate: number;
    botBurst: number;
    accidentalClick: number;
    late: number;
    outOfOrder: number;
    malformed: number;
  };
  /** Per life event: mean share of the user's item views in the event's categories before and after it. */
  lifeEvents: Record<string, { users: number; shareBefore: number; shareAfter: number }>;
  /** Mean share of a user's (own-session) events on their primary device. */
  primaryDeviceShare: number;
  /** Median sessions per active week by engagement level. */
  sessionsPerWeek: Record<EngagementLevel, number>;
  /** Sessions in the last third of the horizon / sessions in the first third, over all users of a trajectory (new: 0). */
  trajectoryTrend: Record<Trajectory, number>;
  /** Mean price tier (0 low … 2 high) of purchased items by income tier. */
  purchaseTierByIncome: Record<IncomeTier, number>;
  /** Share of item views on discounted items by price sensitivity. */
  discountedViewShare: Record<PriceSensitivity, number>;
}

/** A plausible range [min, max] per stats property, as a dotted path into SimStats. */
export const BANDS: Record<string, [number, number]> = {
  'eventsPerUser.mean': [200, 600],
  'eventsPerUser.p50': [60, 500],
  top10UserShare: [0.35, 0.75],
  'eventTypeMix.item_view': [0.4, 0.75],
  'eventTypeMix.search': [0.06, 0.25],
  'eventTypeMix.add_to_cart': [0.02, 0.12],
  'eventTypeMix.purchase': [0.008, 0.05],
  'funnel.searchToView': [0.6, 0.98],
  'funnel.viewToCart': [0.03, 0.15],
  'funnel.cartToPurchase': [0.25, 0.7],
  'funnel.viewToPurchase': [0.01, 0.06],
  'session.eventsP50': [3, 20],
  'session.minutesP50': [1, 30],
  'peakHour.early_bird': [4, 9],
  'peakHour.daytime': [9, 16],
  'peakHour.evening': [17, 22],
  'peakHour.night_owl': [-3, 2],
  zipfExponent: [0.8, 1.3],
  'noise.duplicate': [0.003, 0.03],
  'noise.botBurst': [0.002, 0.05],
  'noise.accidentalClick': [0.002, 0.03],
  'noise.late': [0.005, 0.05],
  'noise.outOfOrder': [0.005, 0.08],
  'noise.malformed': [0.0005, 0.01],
  primaryDeviceShare: [0.7, 0.88],
  'trajectoryTrend.growing': [1.5, 10],
  'trajectoryTrend.declining': [0, 0.67],
  'trajectoryTrend.stable': [0.8, 1.25],
};

/** Per life event: the share of views in its categories must at least double and rise by 4 points. */
export const LIFE_EVENT_BAND = { minLift: 2, minRise: 0.04, minUsers: 5 };

export interface BandCheck {
  property: string;
  value: number;
  min: number;
  max: number;
  ok: boolean;
}

function getPath(o: unknown, path: string): number {
  let v: unknown = o;
  for (const k of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[k];
  return typeof v === 'number' ? v : Number.NaN;
}

/**
 * Checks every band, plus monotone signals (engagement, income → tier, price sensitivity → discounts)
 * and the category shift of each life event with enough users.
 */
export function checkBands(stats: SimStats): BandCheck[] {
  const out: BandCheck[] = [];
  for (const [property, [min, max]] of Object.entries(BANDS)) {
    let value = getPath(stats, property);
    // Night-owl peak hours wrap around midnight: 22, 23 → −2, −1.
    if (property === 'peakHour.night_owl' && value >= 12) value -= 24;
    out.push({ property, value, min, max, ok: value >= min && value <= max });
  }
  const mono = (property: string, values: number[]) => {
    const ok = values.every((v, i) => i === 0 || v > (values[i - 1] as number));
    out.push({ property, value: ok ? 1 : 0, min: 1, max: 1, ok });
  };
  mono(
    'sessionsPerWeek increasing casual < regular < power_user',
    ENGAGEMENT_LEVELS.map((l) => stats.sessionsPerWeek[l]),
  );
  mono(
    'purchaseTierByIncome increasing low < mid < high',
    INCOME_TIERS.map((l) => stats.purchaseTierByIncome[l]),
  );
  mono(
    'discountedViewShare increasing low < medium < high sensitivity',
    [...PRICE_SENSITIVITIES].reverse().map((l) => stats.discountedViewShare[l]),
  );
  for (const [kind, le] of Object.entries(stats.lifeEvents)) {
    if (le.users < LIFE_EVENT_BAND.minUsers) continue;
    const lift = le.shareAfter / Math.max(le.shareBefore, 1e-6);
    out.push({
      property: `lifeEvents.${kind}.lift`,
      value: lift,
      min: LIFE_EVENT_BAND.minLift,
      max: 1000,
      ok: lift >= LIFE_EVENT_BAND.minLift,
    });
    const rise = le.shareAfter - le.shareBefore;
    out.push({
      property: `lifeEvents.${kind}.rise`,
      value: rise,
      min: LIFE_EVENT_BAND.minRise,
      max: 1,
      ok: rise >= LIFE_EVENT_BAND.minRise,
    });
  }
  return out;
}

function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] as number;
}

/** Quantile from a histogram of non-negative integer bins. */
function histQuantile(hist: Float64Array, q: number, scale = 1): number {
  let total = 0;
  for (const c of hist) total += c;
  let acc = 0;
  for (let i = 0; i < hist.length; i++) {
    acc += hist[i] as number;
    if (acc >= q * total) return i * scale;
  }
  return (hist.length - 1) * scale;
}

const TYPE_NAME: string[] = [];
for (const v of EventTypeSchema.values) TYPE_NAME[v.number] = v.name.replace(/^EVENT_TYPE_/, '').toLowerCase();

/** Least-squares slope of log(count) on log(rank), negated (the Zipf exponent). */
export function zipfFit(counts: number[], maxRank = 1000): number {
  const c = counts
    .filter((x) => x > 0)
    .sort((a, b) => b - a)
    .slice(0, maxRank);
  if (c.length < 10) return Number.NaN;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < c.length; i++) {
    const x = Math.log(i + 1);
    const y = Math.log(c[i] as number);
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const n = c.length;
  return -(n * sxy - sx * sy) / (n * sxx - sx * sx);
}

/** Categories (leaf indices) that a life event shifts behaviour towards, both genders. */
function lifeEventLeaves(ctx: RunContext, kind: LifeEventKind): Set<number> {
  if (kind === 'new_baby') return new Set(ctx.baby.leaves);
  const r = ctx.lifeEvent.get(kind);
  return new Set([...(r?.female.leaves ?? []), ...(r?.male.leaves ?? [])]);
}

/** Computes the realism report by streaming over the users of a run (memory: one number per user). */
export function simulationStats(config: SimulatorConfig): SimStats {
  const ctx = runContext(config);
  const cat = ctx.catalogue;
  const perUser = new Float64Array(config.users);
  const typeCounts = new Float64Array(32);
  const itemViews = new Float64Array(cat.size);
  const sessionEvents = new Float64Array(2001);
  const sessionMinutes = new Float64Array(2 * 24 * 60 + 1);
  const hours: Record<string, Float64Array> = {};
  for (const p of ACTIVITY_PATTERNS) hours[p] = new Float64Array(24);
  let events = 0;
  let malformed = 0;
  let sessions = 0;
  let dup = 0;
  let bot = 0;
  let acc = 0;
  let late = 0;
  let outOfOrder = 0;
  let searches = 0;
  let searchesFollowed = 0;
  let views = 0;
  let carts = 0;
  let purchases = 0;
  let sessEventsSum = 0;
  let sessMinutesSum = 0;
  let primaryShareSum = 0;
  let primaryUsers = 0;
  const spw: Record<string, number[]> = { casual: [], regular: [], power_user: [] };
  const trend: Record<string, { sum: number; n: number }> = {};
  for (const t of TRAJECTORIES) trend[t] = { sum: 0, n: 0 };
  const tierSum: Record<string, { sum: number; n: number }> = {};
  for (const t of INCOME_TIERS) tierSum[t] = { sum: 0, n: 0 };
  const discViews: Record<string, { disc: number; n: number }> = {};
  for (const t of PRICE_SENSITIVITIES) discViews[t] = { disc: 0, n: 0 };
  const le: Record<string, { users: number; before: number; after: number }> = {};
  const leLeaves = new Map<string, Set<number>>();
  const horizon = config.horizonDays * DAY_MS;

  for (let i = 0; i < config.users; i++) {
    const raw = simulateRawUser(ctx, i);
    const p = raw.persona;
    const evs = raw.behaviour.events;
    perUser[i] = evs.length;
    events += evs.length;
    malformed += raw.behaviour.malformed.length;
    let maxSeen = -1;
    let primary = 0;
    let own = 0;
    const thirds = [0, 0, 0];
    for (const e of evs) {
      typeCounts[e.type] = (typeCounts[e.type] as number) + 1;
      if (e.noise === Noise.duplicate) dup++;
      else if (e.noise === Noise.bot) bot++;
      else if (e.noise === Noise.accidental) acc++;
      if (e.late) late++;
      if (e.seq < maxSeen) outOfOrder++;
      else maxSeen = e.seq;
      if (e.noise !== Noise.none) continue;
      const h = new Date(e.timeMs).getUTCHours();
      const hp = hours[p.activityPattern] as Float64Array;
      hp[h] = (hp[h] as number) + 1;
      if (e.session.kind === 'own') {
        own++;
        if (e.session.device === p.primaryDevice) primary++;
      }
      if (e.type === EventType.ITEM_VIEW) {
        views++;
        itemViews[e.item] = (itemViews[e.item] as number) + 1;
        if (e.session.kind === 'own') {
          const d = discViews[p.priceSensitivity] as { disc: number; n: number };
          d.n++;
          if (e.props?.includes('discount_pct')) d.disc++;
        }
      } else if (e.type === EventType.ADD_TO_CART) carts++;
      else if (e.type === EventType.PURCHASE) {
        purchases++;
        if (e.session.kind === 'own') {
          const t = tierSum[p.incomeTier] as { sum: number; n: number };
          t.sum += cat.itemTier[e.item] as Tier;
          t.n++;
        }
      }
    }
    if (own > 0) {
      primaryShareSum += primary / own;
      primaryUsers++;
    }
    // Sessions: length, search → view, thirds of the horizon.
    const bySession = new Map<number, SimEvent[]>();
    for (const e of evs) {
      if (e.noise === Noise.duplicate) continue;
      const list = bySession.get(e.session.index);
      if (list) list.push(e);
      else bySession.set(e.session.index, [e]);
    }
    let realSessions = 0;
    for (const s of raw.behaviour.sessions) {
      if (s.kind === 'bot' || s.kind === 'accidental') continue;
      const list = bySession.get(s.index);
      if (!list || list.length === 0) continue;
      list.sort((a, b) => a.seq - b.seq);
      realSessions++;
      const n = list.length;
      sessionEvents[Math.min(n, 2000)] = (sessionEvents[Math.min(n, 2000)] as number) + 1;
      sessEventsSum += n;
      const minutes = ((list[n - 1] as SimEvent).timeMs - (list[0] as SimEvent).timeMs) / 60_000;
      const bin = Math.min(sessionMinutes.length - 1, Math.floor(minutes * 2));
      sessionMinutes[bin] = (sessionMinutes[bin] as number) + 1;
      sessMinutesSum += minutes;
      const third = Math.min(2, Math.floor(((s.startMs - config.startTimeMs) / horizon) * 3));
      thirds[third] = (thirds[third] as number) + 1;
      for (let k = 0; k < n; k++) {
        if ((list[k] as SimEvent).type !== EventType.SEARCH) continue;
        searches++;
        for (let j = k + 1; j < n; j++) {
          const t = (list[j] as SimEvent).type;
          if (t === EventType.SEARCH) break;
          if (t === EventType.ITEM_VIEW) {
            searchesFollowed++;
            break;
          }
        }
      }
    }
    sessions += raw.behaviour.sessions.length;
    const activeWeeks = (config.horizonDays * (1 - p.hidden.joinAt)) / 7;
    spw[p.engagementLevel]?.push(realSessions / activeWeeks);
    if (p.trajectory !== 'new') {
      // Totals over users (sum = sessions in the last third, n = in the first third).
      const t = trend[p.trajectory] as { sum: number; n: number };
      t.sum += thirds[2] as number;
      t.n += thirds[0] as number;
    }
    // Life events: share of own item views in the event's categories before vs after.
    for (const ev of p.lifeEvents) {
      let set = leLeaves.get(ev.kind);
      if (!set) {
        set = lifeEventLeaves(ctx, ev.kind);
        leLeaves.set(ev.kind, set);
      }
      let b = 0;
      let bn = 0;
      let a = 0;
      let an = 0;
      for (const e of evs) {
        if (e.noise !== Noise.none || e.type !== EventType.ITEM_VIEW || e.session.kind !== 'own') continue;
        const hit = set.has(cat.itemLeaf[e.item] as number) ? 1 : 0;
        if (e.timeMs < ev.timeMs) {
          b += hit;
          bn++;
        } else {
          a += hit;
          an++;
        }
      }
      if (bn < 5 || an < 5) continue;
      const r = le[ev.kind] ?? { users: 0, before: 0, after: 0 };
      le[ev.kind] = r;
      r.users++;
      r.before += b / bn;
      r.after += a / an;
    }
  }

  const sorted = Float64Array.from(perUser).sort();
  const top = Math.max(1, Math.floor(config.users / 10));
  let topSum = 0;
  for (let k = sorted.length - top; k < sorted.length; k++) topSum += sorted[k] as number;
  const mix: Record<string, number> = {};
  typeCounts.forEach((c, t) => {
    if (c > 0) mix[TYPE_NAME[t] ?? String(t)] = c / events;
  });
  const hourOfDay = {} as Record<ActivityPattern, number[]>;
  const peakHour = {} as Record<ActivityPattern, number>;
  for (const p of ACTIVITY_PATTERNS) {
    const h = hours[p] as Float64Array;
    const total = h.reduce((s, x) => s + x, 0) || 1;
    hourOfDay[p] = Array.from(h, (x) => Math.round((x / total) * 10_000) / 10_000);
    peakHour[p] = h.indexOf(Math.max(...h));
  }
  const median = (xs: number[]) =>
    quantile(
      xs.sort((a, b) => a - b),
      0.5,
    );
  const lifeEvents: SimStats['lifeEvents'] = {};
  for (const [k, r] of Object.entries(le))
    lifeEvents[k] = { users: r.users, shareBefore: r.before / r.users, shareAfter: r.after / r.users };
  return {
    users: config.users,
    events,
    malformed,
    sessions,
    eventsPerUser: {
      mean: events / config.users,
      p10: quantile(sorted, 0.1),
      p50: quantile(sorted, 0.5),
      p90: quantile(sorted, 0.9),
      p99: quantile(sorted, 0.99),
    },
    top10UserShare: topSum / Math.max(1, events),
    eventTypeMix: mix,
    funnel: {
      searchToView: searchesFollowed / Math.max(1, searches),
      viewToCart: carts / Math.max(1, views),
      cartToPurchase: purchases / Math.max(1, carts),
      viewToPurchase: purchases / Math.max(1, views),
    },
    session: {
      eventsP50: histQuantile(sessionEvents, 0.5),
      eventsMean:
        sessEventsSum /
        Math.max(
          1,
          sessionEvents.reduce((s, x) => s + x, 0),
        ),
      minutesP50: histQuantile(sessionMinutes, 0.5, 0.5),
      minutesMean:
        sessMinutesSum /
        Math.max(
          1,
          sessionEvents.reduce((s, x) => s + x, 0),
        ),
    },
    hourOfDay,
    peakHour,
    zipfExponent: zipfFit(Array.from(itemViews)),
    noise: {
      duplicate: dup / Math.max(1, events),
      botBurst: bot / Math.max(1, events),
      accidentalClick: acc / Math.max(1, events),
      late: late / Math.max(1, events),
      outOfOrder: outOfOrder / Math.max(1, events),
      malformed: malformed / Math.max(1, events),
    },
    lifeEvents,
    primaryDeviceShare: primaryShareSum / Math.max(1, primaryUsers),
    sessionsPerWeek: {
      casual: median(spw.casual ?? []),
      regular: median(spw.regular ?? []),
      power_user: median(spw.power_user ?? []),
    },
    trajectoryTrend: {
      new: 0,
      growing: (trend.growing?.sum ?? 0) / Math.max(1, trend.growing?.n ?? 0),
      stable: (trend.stable?.sum ?? 0) / Math.max(1, trend.stable?.n ?? 0),
      declining: (trend.declining?.sum ?? 0) / Math.max(1, trend.declining?.n ?? 0),
    },
    purchaseTierByIncome: {
      low: (tierSum.low?.sum ?? 0) / Math.max(1, tierSum.low?.n ?? 0),
      mid: (tierSum.mid?.sum ?? 0) / Math.max(1, tierSum.mid?.n ?? 0),
      high: (tierSum.high?.sum ?? 0) / Math.max(1, tierSum.high?.n ?? 0),
    },
    discountedViewShare: {
      high: (discViews.high?.disc ?? 0) / Math.max(1, discViews.high?.n ?? 0),
      medium: (discViews.medium?.disc ?? 0) / Math.max(1, discViews.medium?.n ?? 0),
      low: (discViews.low?.disc ?? 0) / Math.max(1, discViews.low?.n ?? 0),
    },
  };
}
