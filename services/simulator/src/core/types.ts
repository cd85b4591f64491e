import type { INTERESTS, LIFE_EVENTS } from '@personastream/contracts';

export const AGE_BANDS = ['18-24', '25-34', '35-44', '45-54', '55+'] as const;
export const GENDERS = ['female', 'male'] as const;
export const LIFE_STAGES = [
  'student',
  'young_professional',
  'new_parent',
  'family_with_kids',
  'empty_nester',
  'retiree',
] as const;
export const OCCUPATIONS = [
  'student',
  'tech',
  'healthcare',
  'education',
  'trades',
  'creative',
  'business',
  'retired',
  'other',
] as const;
export const INCOME_TIERS = ['low', 'mid', 'high'] as const;
export const PRICE_SENSITIVITIES = ['high', 'medium', 'low'] as const;
export const SHOPPING_STYLES = [
  'bargain_hunter',
  'brand_loyal',
  'impulse_buyer',
  'researcher',
  'premium_seeker',
] as const;
export const ACTIVITY_PATTERNS = ['early_bird', 'daytime', 'evening', 'night_owl'] as const;
export const DEVICES = ['mobile', 'desktop', 'tablet'] as const;
export const ENGAGEMENT_LEVELS = ['casual', 'regular', 'power_user'] as const;
export const TRAJECTORIES = ['new', 'growing', 'stable', 'declining'] as const;

export type AgeBand = (typeof AGE_BANDS)[number];
export type Gender = (typeof GENDERS)[number];
export type LifeStage = (typeof LIFE_STAGES)[number];
export type Occupation = (typeof OCCUPATIONS)[number];
export type IncomeTier = (typeof INCOME_TIERS)[number];
export type PriceSensitivity = (typeof PRICE_SENSITIVITIES)[number];
export type ShoppingStyle = (typeof SHOPPING_STYLES)[number];
export type ActivityPattern = (typeof ACTIVITY_PATTERNS)[number];
export type Device = (typeof DEVICES)[number];
export type EngagementLevel = (typeof ENGAGEMENT_LEVELS)[number];
export type Trajectory = (typeof TRAJECTORIES)[number];
export type Interest = (typeof INTERESTS)[number];
export type LifeEventKind = (typeof LIFE_EVENTS)[number];

/** A life event of a persona: what happened and when (epoch ms, inside the history). */
export interface LifeEvent {
  kind: LifeEventKind;
  timeMs: number;
}

/**
 * A latent persona: the true value of every HPR-Bench dimension, plus hidden behaviour parameters
 * (never scored) that make users differ within a class.
 */
export interface Persona {
  userIndex: number;
  userId: string;
  ageBand: AgeBand;
  gender: Gender;
  lifeStage: LifeStage;
  occupation: Occupation;
  /** Occupation before a retirement life event (behaviour before the event follows it). */
  previousOccupation: Occupation;
  incomeTier: IncomeTier;
  priceSensitivity: PriceSensitivity;
  shoppingStyle: ShoppingStyle;
  activityPattern: ActivityPattern;
  primaryDevice: Device;
  engagementLevel: EngagementLevel;
  trajectory: Trajectory;
  /** 1–5 interests, strongest first. */
  interests: Interest[];
  /** 0–2 life events in time order. */
  lifeEvents: LifeEvent[];
  hidden: {
    /** Sessions per week at full activity. */
    sessionsPerWeek: number;
    /** Share of sessions on the primary device. */
    primaryDeviceShare: number;
    /** Relative weight of each interest (same order as `interests`). */
    interestWeights: number[];
    /** When each interest became active, epoch ms (0: throughout; later for interests a life event brought). */
    interestSince: number[];
    /** For `new` users: fraction of the horizon at which they joined. */
    joinAt: number;
    /** Hour shift of the daily rhythm (−1, 0, +1). */
    hourShift: number;
    /** Whether another household member sometimes uses one of the user's devices. */
    sharedDevice: Device | null;
    /** Locale of the user's client. */
    locale: string;
  };
}
