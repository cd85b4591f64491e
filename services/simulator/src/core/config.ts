import { ErrorCode, INTERESTS, PersonaStreamError } from '@personastream/contracts';
import { DEFAULT_PRIORS, type PersonaPriors } from './priors.js';
import {
  ACTIVITY_PATTERNS,
  AGE_BANDS,
  DEVICES,
  ENGAGEMENT_LEVELS,
  INCOME_TIERS,
  LIFE_STAGES,
  OCCUPATIONS,
  PRICE_SENSITIVITIES,
  SHOPPING_STYLES,
  TRAJECTORIES,
} from './types.js';

/** Noise and implicit-signal levels. All rates are probabilities in [0, 1] unless noted. */
export interface NoiseConfig {
  /** Share of events delivered twice (same event id, later receipt). */
  duplicateRate: number;
  /** Expected bot bursts per user over the horizon (dozens of views within seconds). */
  botBurstsPerUser: number;
  /** Share of sessions with an accidental click (off-profile item, tiny dwell, immediate bounce). */
  accidentalClickRate: number;
  /** Share of events delivered late: received 1 min … `maxLatenessMs` after they happened. */
  lateRate: number;
  /** Upper bound of late delivery, ms. */
  maxLatenessMs: number;
  /** Upper bound of the normal delivery delay, ms (reorders events that are close in time). */
  jitterMs: number;
  /** Share of sessions shopping for someone else (off-profile categories). */
  giftRate: number;
  /** Share of users who share a device with another household member. */
  sharedDeviceRate: number;
  /** Share of a sharing user's sessions made by the other household member. */
  sharedSessionRate: number;
  /** Strength of seasonal spikes (New Year fitness, Valentine's gifts, spring garden…); 0 disables. */
  seasonality: number;
}

/** A benchmark instance: what to simulate. Versioned; documented in services/simulator/README.md. */
export interface SimulatorConfig {
  version: 1;
  /** Number of users (ids u000001 …). */
  users: number;
  /** Seed of every random draw. */
  seed: number;
  /** Tenant of the events. */
  tenant: string;
  /** Run id stamped on events and markers; default `sim-s${seed}-u${users}`. */
  runId: string;
  /** Length of each user's history, days. */
  horizonDays: number;
  /** Start of the history, epoch ms. */
  startTimeMs: number;
  /** Number of catalogue items. */
  catalogueSize: number;
  /**
   * Seed of the catalogue (items, brands, prices, popularity, discounts, item factors). Separate from
   * `seed`: a shop keeps its catalogue while benchmark seeds draw different users.
   */
  catalogueSeed: number;
  /**
   * Strength of item-level taste: a listing weighs each item by exp(itemTaste × item factors · user
   * factors) (age, gender, money, a hidden taste; `behaviour.ts`). 0 disables it.
   */
  itemTaste: number;
  noise: NoiseConfig;
  /** Probability that a user has at least one life event (30 % of those have two). */
  lifeEventRate: number;
  /** Dimension priors of the persona sampler. */
  priors: PersonaPriors;
  /** Share of extra malformed records (for ingest/DLQ paths), per valid event. */
  malformedRate: number;
}

export const DEFAULT_NOISE: NoiseConfig = {
  duplicateRate: 0.012,
  botBurstsPerUser: 0.06,
  accidentalClickRate: 0.06,
  lateRate: 0.015,
  maxLatenessMs: 2 * 3600_000,
  jitterMs: 1500,
  giftRate: 0.04,
  sharedDeviceRate: 0.25,
  sharedSessionRate: 0.12,
  seasonality: 1,
};

export const DEFAULT_START_TIME_MS = Date.UTC(2026, 0, 1);

/** Default item-taste strength (chosen by measurement; README, "Item-level taste"). */
export const ITEM_TASTE_DEFAULT = 0.75;

export const defaultSimulatorConfig: SimulatorConfig = {
  version: 1,
  users: 200,
  seed: 1,
  tenant: 'demo',
  runId: 'sim-s1-u200',
  horizonDays: 90,
  startTimeMs: DEFAULT_START_TIME_MS,
  catalogueSize: 5000,
  catalogueSeed: 1,
  itemTaste: ITEM_TASTE_DEFAULT,
  noise: DEFAULT_NOISE,
  lifeEventRate: 0.5,
  priors: DEFAULT_PRIORS,
  malformedRate: 0.002,
};

/** Overrides accepted by `simulatorConfig`: nested objects may be partial. */
export type SimulatorConfigOverrides = Partial<Omit<SimulatorConfig, 'noise' | 'priors'>> & {
  noise?: Partial<NoiseConfig>;
  priors?: Partial<PersonaPriors>;
};

function invalid(field: string, message: string): never {
  throw new PersonaStreamError(ErrorCode.InvalidArgument, `simulator config: ${field} ${message}`, field);
}

function checkInt(field: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    invalid(field, `must be an integer in [${min}, ${max}] (got ${JSON.stringify(v)})`);
}

function checkNum(field: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    invalid(field, `must be a number in [${min}, ${max}] (got ${JSON.stringify(v)})`);
}

function checkTable(field: string, table: unknown, keys: readonly string[]): void {
  if (typeof table !== 'object' || table === null) invalid(field, 'must be an object of weights');
  const t = table as Record<string, unknown>;
  for (const k of Object.keys(t)) if (!keys.includes(k)) invalid(`${field}.${k}`, `is not a known value`);
  let sum = 0;
  for (const k of keys) {
    const v = t[k];
    checkNum(`${field}.${k}`, v, 0, 1e6);
    sum += v as number;
  }
  if (sum <= 0) invalid(field, 'must have a positive weight');
}

function checkConditional(field: string, table: unknown, rows: readonly string[], cols: readonly string[]): void {
  if (typeof table !== 'object' || table === null) invalid(field, 'must be an object of tables');
  for (const r of rows) checkTable(`${field}.${r}`, (table as Record<string, unknown>)[r], cols);
}

/** Validates dimension priors; throws naming the first bad field. */
export function validatePriors(p: PersonaPriors): void {
  if (p.version !== 1) invalid('priors.version', 'must be 1');
  checkTable('priors.lifeStage', p.lifeStage, LIFE_STAGES);
  checkConditional('priors.ageGivenLifeStage', p.ageGivenLifeStage, LIFE_STAGES, AGE_BANDS);
  checkNum('priors.female', p.female, 0, 1);
  checkConditional('priors.occupationGivenLifeStage', p.occupationGivenLifeStage, LIFE_STAGES, OCCUPATIONS);
  checkConditional('priors.incomeGivenOccupation', p.incomeGivenOccupation, OCCUPATIONS, INCOME_TIERS);
  checkTable('priors.incomeAgeShift', p.incomeAgeShift, AGE_BANDS);
  checkConditional(
    'priors.priceSensitivityGivenIncome',
    p.priceSensitivityGivenIncome,
    INCOME_TIERS,
    PRICE_SENSITIVITIES,
  );
  checkConditional(
    'priors.shoppingStyleGivenPriceSensitivity',
    p.shoppingStyleGivenPriceSensitivity,
    PRICE_SENSITIVITIES,
    SHOPPING_STYLES,
  );
  checkConditional('priors.activityGivenLifeStage', p.activityGivenLifeStage, LIFE_STAGES, ACTIVITY_PATTERNS);
  checkConditional('priors.deviceGivenAge', p.deviceGivenAge, AGE_BANDS, DEVICES);
  checkTable('priors.engagement', p.engagement, ENGAGEMENT_LEVELS);
  checkTable('priors.sessionsPerWeek', p.sessionsPerWeek, ENGAGEMENT_LEVELS);
  checkNum('priors.sessionsPerWeekSigma', p.sessionsPerWeekSigma, 0, 3);
  checkTable('priors.trajectory', p.trajectory, TRAJECTORIES);
  if (!Array.isArray(p.interestCount) || p.interestCount.length !== 5)
    invalid('priors.interestCount', 'must be 5 weights (1…5 interests)');
  checkTable('priors.interestCount', Object.fromEntries(p.interestCount.map((w, i) => [String(i + 1), w])), [
    '1',
    '2',
    '3',
    '4',
    '5',
  ]);
  checkTable('priors.interestBase', p.interestBase, INTERESTS);
}

/** Validates a full config; throws a PersonaStreamError naming the first bad field. */
export function validateSimulatorConfig(c: SimulatorConfig): SimulatorConfig {
  if (c.version !== 1) invalid('version', 'must be 1');
  checkInt('users', c.users, 1, 50_000_000);
  checkInt('seed', c.seed, 0, 0xffffffff);
  if (typeof c.tenant !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(c.tenant))
    invalid('tenant', `must be 1–64 characters [A-Za-z0-9_.-] (got ${JSON.stringify(c.tenant)})`);
  if (typeof c.runId !== 'string' || !/^[A-Za-z0-9_.:-]{1,128}$/.test(c.runId))
    invalid('runId', `must be 1–128 characters [A-Za-z0-9_.:-] (got ${JSON.stringify(c.runId)})`);
  checkInt('horizonDays', c.horizonDays, 7, 3650);
  checkInt('startTimeMs', c.startTimeMs, 0, 8.64e15);
  checkInt('catalogueSize', c.catalogueSize, 500, 2_000_000);
  checkInt('catalogueSeed', c.catalogueSeed, 0, 0xffffffff);
  checkNum('itemTaste', c.itemTaste, 0, 5);
  checkNum('lifeEventRate', c.lifeEventRate, 0, 1);
  checkNum('malformedRate', c.malformedRate, 0, 0.5);
  const n = c.noise;
  if (typeof n !== 'object' || n === null) invalid('noise', 'must be an object');
  checkNum('noise.duplicateRate', n.duplicateRate, 0, 0.5);
  checkNum('noise.botBurstsPerUser', n.botBurstsPerUser, 0, 20);
  checkNum('noise.accidentalClickRate', n.accidentalClickRate, 0, 1);
  checkNum('noise.lateRate', n.lateRate, 0, 1);
  checkInt('noise.maxLatenessMs', n.maxLatenessMs, 60_000, 7 * 86_400_000);
  checkInt('noise.jitterMs', n.jitterMs, 0, 600_000);
  checkNum('noise.giftRate', n.giftRate, 0, 1);
  checkNum('noise.sharedDeviceRate', n.sharedDeviceRate, 0, 1);
  checkNum('noise.sharedSessionRate', n.sharedSessionRate, 0, 1);
  checkNum('noise.seasonality', n.seasonality, 0, 5);
  validatePriors(c.priors);
  return c;
}

/**
 * A validated config from overrides over the defaults. `noise` and `priors` merge field by field;
 * `runId` defaults to `sim-s${seed}-u${users}`. Unknown fields are rejected.
 */
export function simulatorConfig(overrides: SimulatorConfigOverrides = {}): SimulatorConfig {
  const known = new Set(Object.keys(defaultSimulatorConfig));
  for (const k of Object.keys(overrides)) if (!known.has(k)) invalid(k, 'is not a simulator config field');
  for (const k of Object.keys(overrides.noise ?? {}))
    if (!(k in DEFAULT_NOISE)) invalid(`noise.${k}`, 'is not a noise config field');
  for (const k of Object.keys(overrides.priors ?? {}))
    if (!(k in DEFAULT_PRIORS)) invalid(`priors.${k}`, 'is not a priors field');
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const seed = overrides.seed ?? defaultSimulatorConfig.seed;
  const users = overrides.users ?? defaultSimulatorConfig.users;
  const config: SimulatorConfig = {
    ...defaultSimulatorConfig,
    ...defined,
    runId: overrides.runId ?? `sim-s${seed}-u${users}`,
    noise: { ...DEFAULT_NOISE, ...(overrides.noise ?? {}) },
    priors: { ...DEFAULT_PRIORS, ...(overrides.priors ?? {}) },
  };
  return validateSimulatorConfig(config);
}

/** User id of a 0-based user index: u000001, u000002, … */
export function userIdOf(index: number): string {
  return `u${String(index + 1).padStart(6, '0')}`;
}
