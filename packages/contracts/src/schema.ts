/**
 * The HPR-Bench persona schema (shared/HPR-BENCH.md §1): dimension names, their values, and which
 * are multi-valued or sensitive. Every service reads the vocabulary from here.
 */
export interface DimensionSpec {
  readonly name: DimensionName;
  readonly values: readonly string[];
  readonly multiValued: boolean;
  readonly sensitive: boolean;
  /** Multi-valued: inclusive bounds on how many values a user has. */
  readonly minValues?: number;
  readonly maxValues?: number;
}

export const INTERESTS = [
  'sports',
  'fitness',
  'gaming',
  'tech',
  'fashion',
  'beauty',
  'home',
  'cooking',
  'travel',
  'books',
  'music',
  'movies',
  'parenting',
  'pets',
  'outdoors',
  'automotive',
  'finance',
  'health',
  'art',
  'education',
] as const;

export const LIFE_EVENTS = [
  'moved_home',
  'new_baby',
  'new_job',
  'started_fitness',
  'wedding',
  'retirement',
  'new_pet',
] as const;

export const DIMENSIONS = [
  { name: 'age_band', values: ['18-24', '25-34', '35-44', '45-54', '55+'], multiValued: false, sensitive: false },
  { name: 'gender', values: ['female', 'male'], multiValued: false, sensitive: true },
  {
    name: 'life_stage',
    values: ['student', 'young_professional', 'new_parent', 'family_with_kids', 'empty_nester', 'retiree'],
    multiValued: false,
    sensitive: false,
  },
  {
    name: 'occupation_group',
    values: ['student', 'tech', 'healthcare', 'education', 'trades', 'creative', 'business', 'retired', 'other'],
    multiValued: false,
    sensitive: false,
  },
  { name: 'income_tier', values: ['low', 'mid', 'high'], multiValued: false, sensitive: false },
  { name: 'price_sensitivity', values: ['high', 'medium', 'low'], multiValued: false, sensitive: false },
  {
    name: 'shopping_style',
    values: ['bargain_hunter', 'brand_loyal', 'impulse_buyer', 'researcher', 'premium_seeker'],
    multiValued: false,
    sensitive: false,
  },
  {
    name: 'activity_pattern',
    values: ['early_bird', 'daytime', 'evening', 'night_owl'],
    multiValued: false,
    sensitive: false,
  },
  { name: 'primary_device', values: ['mobile', 'desktop', 'tablet'], multiValued: false, sensitive: false },
  { name: 'engagement_level', values: ['casual', 'regular', 'power_user'], multiValued: false, sensitive: false },
  { name: 'trajectory', values: ['new', 'growing', 'stable', 'declining'], multiValued: false, sensitive: false },
  { name: 'interests', values: INTERESTS, multiValued: true, sensitive: false, minValues: 1, maxValues: 5 },
  { name: 'life_events', values: LIFE_EVENTS, multiValued: true, sensitive: false, minValues: 0, maxValues: 2 },
] as const;

export type DimensionName = (typeof DIMENSIONS)[number]['name'];

export const DIMENSION_NAMES: readonly DimensionName[] = DIMENSIONS.map((d) => d.name);

const byName = new Map<string, DimensionSpec>(DIMENSIONS.map((d) => [d.name, d as DimensionSpec]));

/** The spec of a dimension, or undefined for an unknown name. */
export function dimensionSpec(name: string): DimensionSpec | undefined {
  return byName.get(name);
}

/** Dimensions enabled for a tenant: sensitive ones only when `includeSensitive`. */
export function enabledDimensions(includeSensitive: boolean): DimensionSpec[] {
  return DIMENSIONS.filter((d) => includeSensitive || !d.sensitive) as DimensionSpec[];
}

/**
 * Tag values of one user keyed by dimension: single-valued dimensions hold one value, multi-valued
 * ones a list. Life events carry when they began in `lifeEventSince` (epoch ms).
 */
export interface TagValues {
  single: Partial<Record<DimensionName, string>>;
  multi: Partial<Record<DimensionName, string[]>>;
  lifeEventSince?: Record<string, number>;
}
