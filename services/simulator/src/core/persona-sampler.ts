import { INTERESTS } from '@personastream/contracts';
import type { SimulatorConfig } from './config.js';
import { userIdOf } from './config.js';
import { Rng, Stream } from './rng.js';
import type {
  ActivityPattern,
  AgeBand,
  Device,
  EngagementLevel,
  Interest,
  LifeEvent,
  LifeEventKind,
  LifeStage,
  Occupation,
  Persona,
  ShoppingStyle,
} from './types.js';

const DAY_MS = 86_400_000;

function tilt<K extends string>(
  table: Readonly<Record<K, number>>,
  factors: Partial<Record<K, number>>,
): Record<K, number> {
  const out = { ...table } as Record<K, number>;
  for (const k of Object.keys(factors) as K[]) out[k] = (out[k] ?? 0) * (factors[k] as number);
  return out;
}

const YOUNG: ReadonlySet<AgeBand> = new Set(['18-24', '25-34']);
const OLDER: ReadonlySet<AgeBand> = new Set(['45-54', '55+']);

/**
 * Multiplicative affinity of a persona for each interest: how life stage, age, gender, occupation and
 * income make interests more or less likely (documented in the README).
 */
export function interestAffinity(
  interest: Interest,
  p: Pick<Persona, 'ageBand' | 'gender' | 'lifeStage' | 'occupation' | 'incomeTier'>,
): number {
  const f = p.gender === 'female';
  const young = YOUNG.has(p.ageBand);
  const older = OLDER.has(p.ageBand);
  const ls = p.lifeStage;
  switch (interest) {
    case 'sports':
      return (f ? 0.7 : 1.6) * (p.ageBand === '55+' ? 0.6 : 1);
    case 'fitness':
      return (young ? 1.4 : 1) * (p.ageBand === '55+' ? 0.6 : 1);
    case 'gaming':
      return (f ? 0.6 : 1.8) * ({ '18-24': 2.2, '25-34': 1.3, '35-44': 0.8, '45-54': 0.4, '55+': 0.2 }[p.ageBand] ?? 1);
    case 'tech':
      return (p.occupation === 'tech' ? 3 : 1) * (f ? 0.8 : 1.3);
    case 'fashion':
      return (f ? 2 : 0.6) * (young ? 1.3 : 1);
    case 'beauty':
      return f ? 2.6 : 0.35;
    case 'home':
      return ls === 'new_parent' || ls === 'family_with_kids' || ls === 'empty_nester'
        ? 1.4
        : ls === 'student'
          ? 0.4
          : 1;
    case 'cooking':
      return {
        student: 0.6,
        young_professional: 1,
        new_parent: 1,
        family_with_kids: 1.4,
        empty_nester: 1.5,
        retiree: 1.3,
      }[ls];
    case 'travel':
      return (
        (({ retiree: 1.8, empty_nester: 1.6, new_parent: 0.5 } as Partial<Record<LifeStage, number>>)[ls] ?? 1) *
        (p.incomeTier === 'high' ? 1.5 : p.incomeTier === 'low' ? 0.7 : 1)
      );
    case 'books':
      return (ls === 'retiree' ? 1.6 : ls === 'student' ? 1.2 : 1) * (p.occupation === 'education' ? 2 : 1);
    case 'music':
      return p.ageBand === '18-24' ? 1.5 : 1;
    case 'movies':
      return young ? 1.2 : 1;
    case 'parenting':
      return ls === 'new_parent' || ls === 'family_with_kids'
        ? 9
        : ls === 'empty_nester' || ls === 'retiree'
          ? 0.5
          : 0.15;
    case 'pets':
      return 1;
    case 'outdoors':
      return (f ? 0.8 : 1.3) * (p.ageBand === '35-44' || p.ageBand === '45-54' ? 1.2 : 1);
    case 'automotive':
      return f ? 0.5 : 2.2;
    case 'finance':
      return (p.occupation === 'business' ? 3 : 1) * (p.incomeTier === 'high' ? 1.6 : p.incomeTier === 'low' ? 0.6 : 1);
    case 'health':
      return (
        ({ '18-24': 0.5, '25-34': 0.8, '35-44': 1, '45-54': 1.6, '55+': 2.5 }[p.ageBand] ?? 1) *
        (p.occupation === 'healthcare' ? 1.5 : 1)
      );
    case 'art':
      return p.occupation === 'creative' ? 5 : 1;
    case 'education':
      return p.occupation === 'student' ? 4 : p.occupation === 'education' ? 2.5 : older ? 0.7 : 1;
  }
}

/** How likely each life event is for a persona (0 = impossible). */
function lifeEventWeights(p: Pick<Persona, 'lifeStage' | 'ageBand' | 'occupation'>): Record<LifeEventKind, number> {
  const working = p.occupation !== 'student' && p.occupation !== 'retired';
  const wedAge = p.ageBand === '25-34' || p.ageBand === '35-44';
  return {
    new_baby: p.lifeStage === 'new_parent' ? 7 : 0,
    retirement: p.lifeStage === 'retiree' ? 5 : 0,
    new_job: working ? 1.4 : p.lifeStage === 'student' ? 0 : 0,
    wedding: wedAge && (p.lifeStage === 'young_professional' || p.lifeStage === 'new_parent') ? 1.3 : 0.25,
    moved_home: 1,
    started_fitness: 1,
    new_pet: 0.8,
  };
}

/** A working occupation for a retiree's history before a retirement event. */
function preRetirementOccupation(rng: Rng, config: SimulatorConfig): Occupation {
  const table = { ...config.priors.occupationGivenLifeStage.empty_nester, retired: 0, student: 0 };
  return rng.weightedKey(table);
}

/** Samples the latent persona of user `userIndex` (0-based). Pure: depends only on (config, index). */
export function samplePersona(config: SimulatorConfig, userIndex: number): Persona {
  const pr = config.priors;
  const rng = Rng.of(config.seed, Stream.persona, userIndex);

  const lifeStage = rng.weightedKey(pr.lifeStage);
  const ageBand = rng.weightedKey(pr.ageGivenLifeStage[lifeStage]);
  const gender = rng.chance(pr.female) ? 'female' : 'male';
  const f = gender === 'female';
  const occupation = rng.weightedKey(
    tilt(pr.occupationGivenLifeStage[lifeStage], {
      trades: f ? 0.45 : 1.6,
      healthcare: f ? 1.5 : 0.65,
      education: f ? 1.3 : 0.75,
    }),
  );
  const shift = pr.incomeAgeShift[ageBand];
  const incomeTier = rng.weightedKey(
    tilt(pr.incomeGivenOccupation[occupation], { mid: Math.sqrt(shift), high: shift }),
  );
  const priceSensitivity = rng.weightedKey(pr.priceSensitivityGivenIncome[incomeTier]);
  const shoppingStyle: ShoppingStyle = rng.weightedKey(
    tilt(pr.shoppingStyleGivenPriceSensitivity[priceSensitivity], {
      premium_seeker: incomeTier === 'high' ? 1.6 : incomeTier === 'low' ? 0.4 : 1,
      bargain_hunter: incomeTier === 'low' ? 1.3 : 1,
    }),
  );
  const activityPattern: ActivityPattern = rng.weightedKey(
    tilt(pr.activityGivenLifeStage[lifeStage], {
      early_bird: occupation === 'trades' ? 2 : 1,
      night_owl: (occupation === 'healthcare' ? 1.5 : 1) * (ageBand === '55+' ? 0.5 : 1),
    }),
  );
  const desk = occupation === 'tech' || occupation === 'business' ? 1.5 : occupation === 'creative' ? 1.3 : 1;
  const primaryDevice: Device = rng.weightedKey(tilt(pr.deviceGivenAge[ageBand], { desktop: desk }));
  const engagementLevel: EngagementLevel = rng.weightedKey(
    tilt(pr.engagement, {
      power_user: lifeStage === 'student' ? 1.3 : 1,
      casual: lifeStage === 'retiree' ? 1.2 : 1,
    }),
  );
  const trajectory = rng.weightedKey(pr.trajectory);
  const sessionsPerWeek = rng.logNormal(pr.sessionsPerWeek[engagementLevel], pr.sessionsPerWeekSigma);

  // Interests: 1–5, drawn without replacement by base weight × affinity.
  const base = { ageBand, gender, lifeStage, occupation, incomeTier } as const;
  const count = rng.weighted(pr.interestCount) + 1;
  const weights = INTERESTS.map((i) => pr.interestBase[i] * interestAffinity(i, base));
  const interests: Interest[] = [];
  for (let k = 0; k < count; k++) {
    const i = rng.weighted(weights);
    interests.push(INTERESTS[i] as Interest);
    weights[i] = 0;
  }

  // Trajectory `new`: the user joins part-way through the horizon.
  const joinAt = trajectory === 'new' ? rng.range(0.3, 0.7) : 0;

  // Life events: 0–2, each at a random day in the history (after joining), shifting behaviour after.
  const lifeEvents: LifeEvent[] = [];
  let previousOccupation: Occupation = occupation;
  const k = rng.chance(config.lifeEventRate) ? (rng.chance(0.3) ? 2 : 1) : 0;
  if (k > 0) {
    const ew = lifeEventWeights(base);
    const kinds = Object.keys(ew) as LifeEventKind[];
    const lo = Math.max(0.15, joinAt + 0.12);
    const hi = 0.85;
    for (let e = 0; e < k && hi > lo; e++) {
      const w = kinds.map((kind) => ew[kind]);
      if (w.every((x) => x === 0)) break;
      const kind = kinds[rng.weighted(w)] as LifeEventKind;
      ew[kind] = 0;
      const day = Math.floor(rng.range(lo, hi) * config.horizonDays);
      lifeEvents.push({ kind, timeMs: config.startTimeMs + day * DAY_MS });
    }
    lifeEvents.sort((a, b) => a.timeMs - b.timeMs);
    if (lifeEvents.some((e) => e.kind === 'retirement')) previousOccupation = preRetirementOccupation(rng, config);
  }
  // Lasting life events bring a lasting interest, active from the event on.
  const interestSince = interests.map(() => 0);
  const add = (i: Interest, since: number) => {
    if (interests.includes(i)) return;
    if (interests.length >= 5) {
      // Drop the weakest sampled interest (never one another life event brought).
      const drop = interestSince.lastIndexOf(0);
      interests.splice(drop, 1);
      interestSince.splice(drop, 1);
    }
    interests.push(i);
    interestSince.push(since);
  };
  for (const e of lifeEvents) {
    if (e.kind === 'started_fitness') add('fitness', e.timeMs);
    if (e.kind === 'new_pet') add('pets', e.timeMs);
  }

  const interestWeights = interests.map(() => rng.range(0.6, 1));
  const sharedDevice: Device | null = rng.chance(config.noise.sharedDeviceRate)
    ? rng.chance(0.6)
      ? 'tablet'
      : 'desktop'
    : null;
  const locale = rng.weightedKey({ 'en-US': 0.7, 'en-GB': 0.15, 'en-CA': 0.08, 'en-AU': 0.07 });

  return {
    userIndex,
    userId: userIdOf(userIndex),
    ageBand,
    gender,
    lifeStage,
    occupation,
    previousOccupation,
    incomeTier,
    priceSensitivity,
    shoppingStyle,
    activityPattern,
    primaryDevice,
    engagementLevel,
    trajectory,
    interests,
    lifeEvents,
    hidden: {
      sessionsPerWeek,
      primaryDeviceShare: rng.range(0.72, 0.86),
      interestWeights,
      interestSince,
      joinAt,
      hourShift: rng.int(3) - 1,
      sharedDevice,
      locale,
    },
  };
}
