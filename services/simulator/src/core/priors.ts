import type {
  ActivityPattern,
  AgeBand,
  Device,
  EngagementLevel,
  IncomeTier,
  Interest,
  LifeStage,
  Occupation,
  PriceSensitivity,
  ShoppingStyle,
  Trajectory,
} from './types.js';

type Table<K extends string> = Record<K, number>;

/**
 * Dimension priors of the persona sampler (version 1). Every table holds relative weights (they need
 * not sum to 1). Conditional tables are read as P(column | row). The defaults are chosen so that the
 * most frequent value of no dimension dominates (the `prior` baseline scores ≈ 0.36, bound ≤ 0.45) while
 * every dimension still shapes behaviour. Documented in services/simulator/README.md.
 */
export interface PersonaPriors {
  version: 1;
  lifeStage: Table<LifeStage>;
  ageGivenLifeStage: Record<LifeStage, Table<AgeBand>>;
  /** P(female); male otherwise. */
  female: number;
  occupationGivenLifeStage: Record<LifeStage, Table<Occupation>>;
  incomeGivenOccupation: Record<Occupation, Table<IncomeTier>>;
  /** Per age band, a multiplier on the odds of a higher income tier (1 = no shift). */
  incomeAgeShift: Table<AgeBand>;
  priceSensitivityGivenIncome: Record<IncomeTier, Table<PriceSensitivity>>;
  shoppingStyleGivenPriceSensitivity: Record<PriceSensitivity, Table<ShoppingStyle>>;
  activityGivenLifeStage: Record<LifeStage, Table<ActivityPattern>>;
  deviceGivenAge: Record<AgeBand, Table<Device>>;
  engagement: Table<EngagementLevel>;
  /** Median sessions per week of each engagement level (log-normal across users, sigma below). */
  sessionsPerWeek: Table<EngagementLevel>;
  sessionsPerWeekSigma: number;
  trajectory: Table<Trajectory>;
  /** Weights of having 1, 2, 3, 4 or 5 interests. */
  interestCount: [number, number, number, number, number];
  /** Base weight of each interest before the persona's affinities multiply it. */
  interestBase: Table<Interest>;
}

export const DEFAULT_PRIORS: PersonaPriors = {
  version: 1,
  lifeStage: {
    student: 0.16,
    young_professional: 0.23,
    new_parent: 0.13,
    family_with_kids: 0.2,
    empty_nester: 0.14,
    retiree: 0.14,
  },
  ageGivenLifeStage: {
    student: { '18-24': 0.86, '25-34': 0.12, '35-44': 0.02, '45-54': 0, '55+': 0 },
    young_professional: { '18-24': 0.22, '25-34': 0.63, '35-44': 0.15, '45-54': 0, '55+': 0 },
    new_parent: { '18-24': 0.05, '25-34': 0.55, '35-44': 0.37, '45-54': 0.03, '55+': 0 },
    family_with_kids: { '18-24': 0, '25-34': 0.15, '35-44': 0.5, '45-54': 0.32, '55+': 0.03 },
    empty_nester: { '18-24': 0, '25-34': 0, '35-44': 0.04, '45-54': 0.54, '55+': 0.42 },
    retiree: { '18-24': 0, '25-34': 0, '35-44': 0, '45-54': 0.05, '55+': 0.95 },
  },
  female: 0.51,
  occupationGivenLifeStage: {
    student: {
      student: 0.94,
      tech: 0,
      healthcare: 0,
      education: 0,
      trades: 0,
      creative: 0.02,
      business: 0,
      retired: 0,
      other: 0.04,
    },
    young_professional: {
      student: 0,
      tech: 0.24,
      healthcare: 0.13,
      education: 0.1,
      trades: 0.13,
      creative: 0.13,
      business: 0.19,
      retired: 0,
      other: 0.08,
    },
    new_parent: {
      student: 0.02,
      tech: 0.19,
      healthcare: 0.16,
      education: 0.14,
      trades: 0.15,
      creative: 0.09,
      business: 0.16,
      retired: 0,
      other: 0.09,
    },
    family_with_kids: {
      student: 0,
      tech: 0.17,
      healthcare: 0.16,
      education: 0.14,
      trades: 0.17,
      creative: 0.08,
      business: 0.18,
      retired: 0,
      other: 0.1,
    },
    empty_nester: {
      student: 0,
      tech: 0.12,
      healthcare: 0.15,
      education: 0.14,
      trades: 0.16,
      creative: 0.07,
      business: 0.17,
      retired: 0.1,
      other: 0.09,
    },
    retiree: {
      student: 0,
      tech: 0,
      healthcare: 0,
      education: 0,
      trades: 0,
      creative: 0,
      business: 0,
      retired: 1,
      other: 0,
    },
  },
  incomeGivenOccupation: {
    student: { low: 0.8, mid: 0.17, high: 0.03 },
    tech: { low: 0.07, mid: 0.43, high: 0.5 },
    healthcare: { low: 0.12, mid: 0.53, high: 0.35 },
    education: { low: 0.22, mid: 0.63, high: 0.15 },
    trades: { low: 0.27, mid: 0.58, high: 0.15 },
    creative: { low: 0.38, mid: 0.47, high: 0.15 },
    business: { low: 0.08, mid: 0.44, high: 0.48 },
    retired: { low: 0.35, mid: 0.45, high: 0.2 },
    other: { low: 0.5, mid: 0.42, high: 0.08 },
  },
  incomeAgeShift: { '18-24': 0.5, '25-34': 0.9, '35-44': 1.1, '45-54': 1.3, '55+': 1 },
  priceSensitivityGivenIncome: {
    low: { high: 0.72, medium: 0.23, low: 0.05 },
    mid: { high: 0.28, medium: 0.52, low: 0.2 },
    high: { high: 0.06, medium: 0.3, low: 0.64 },
  },
  shoppingStyleGivenPriceSensitivity: {
    high: { bargain_hunter: 0.58, brand_loyal: 0.09, impulse_buyer: 0.1, researcher: 0.2, premium_seeker: 0.03 },
    medium: { bargain_hunter: 0.14, brand_loyal: 0.27, impulse_buyer: 0.24, researcher: 0.27, premium_seeker: 0.08 },
    low: { bargain_hunter: 0.03, brand_loyal: 0.25, impulse_buyer: 0.22, researcher: 0.14, premium_seeker: 0.36 },
  },
  activityGivenLifeStage: {
    student: { early_bird: 0.05, daytime: 0.15, evening: 0.3, night_owl: 0.5 },
    young_professional: { early_bird: 0.17, daytime: 0.13, evening: 0.45, night_owl: 0.25 },
    new_parent: { early_bird: 0.28, daytime: 0.2, evening: 0.22, night_owl: 0.3 },
    family_with_kids: { early_bird: 0.27, daytime: 0.2, evening: 0.43, night_owl: 0.1 },
    empty_nester: { early_bird: 0.3, daytime: 0.3, evening: 0.32, night_owl: 0.08 },
    retiree: { early_bird: 0.45, daytime: 0.4, evening: 0.12, night_owl: 0.03 },
  },
  deviceGivenAge: {
    '18-24': { mobile: 0.8, desktop: 0.12, tablet: 0.08 },
    '25-34': { mobile: 0.66, desktop: 0.26, tablet: 0.08 },
    '35-44': { mobile: 0.52, desktop: 0.33, tablet: 0.15 },
    '45-54': { mobile: 0.42, desktop: 0.36, tablet: 0.22 },
    '55+': { mobile: 0.26, desktop: 0.37, tablet: 0.37 },
  },
  engagement: { casual: 0.46, regular: 0.37, power_user: 0.17 },
  sessionsPerWeek: { casual: 1.4, regular: 3.6, power_user: 9.5 },
  sessionsPerWeekSigma: 0.3,
  trajectory: { new: 0.21, growing: 0.23, stable: 0.34, declining: 0.22 },
  interestCount: [0.16, 0.3, 0.29, 0.17, 0.08],
  interestBase: {
    sports: 1,
    fitness: 1,
    gaming: 0.9,
    tech: 1,
    fashion: 1,
    beauty: 0.8,
    home: 1,
    cooking: 1,
    travel: 1,
    books: 1,
    music: 0.9,
    movies: 0.9,
    parenting: 0.4,
    pets: 0.9,
    outdoors: 0.8,
    automotive: 0.7,
    finance: 0.7,
    health: 0.8,
    art: 0.6,
    education: 0.6,
  },
};
