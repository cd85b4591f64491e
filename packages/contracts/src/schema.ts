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

/**
 * How a fact (dimension = value) is said in English. The first phrase is canonical (summaries write
 * it); the rest are synonyms a fact extractor also accepts. Phrases are lowercase.
 */
const PHRASES: Record<string, Record<string, readonly string[]>> = {
  age_band: {
    '18-24': ['aged 18-24', 'aged 18 to 24', 'early twenties', 'late teens'],
    '25-34': ['aged 25-34', 'aged 25 to 34', 'late twenties', 'early thirties'],
    '35-44': ['aged 35-44', 'aged 35 to 44', 'late thirties', 'early forties'],
    '45-54': ['aged 45-54', 'aged 45 to 54', 'late forties', 'early fifties'],
    '55+': ['aged 55+', 'aged 55 or over', 'aged over 55', 'senior'],
  },
  gender: { female: ['female', 'woman'], male: ['male', 'man'] },
  life_stage: {
    student: ['a student', 'studying'],
    young_professional: ['a young professional', 'early in their career'],
    new_parent: ['a new parent', 'recently became a parent'],
    family_with_kids: ['a family with kids', 'a parent of school-age children', 'family with children'],
    empty_nester: ['an empty nester', 'children have left home'],
    retiree: ['a retiree', 'in retirement'],
  },
  occupation_group: {
    student: ['works as a student', 'occupation: student'],
    tech: ['works in tech', 'works in technology', 'occupation: tech'],
    healthcare: ['works in healthcare', 'occupation: healthcare'],
    education: ['works in education', 'occupation: education', 'a teacher'],
    trades: ['works in the trades', 'occupation: trades', 'a tradesperson'],
    creative: ['works in a creative field', 'occupation: creative'],
    business: ['works in business', 'occupation: business'],
    retired: ['is retired', 'occupation: retired', 'no longer working'],
    other: ['works in another field', 'occupation: other'],
  },
  income_tier: {
    low: ['low income', 'a low income', 'modest income'],
    mid: ['mid income', 'a middle income', 'middle income'],
    high: ['high income', 'a high income', 'affluent'],
  },
  price_sensitivity: {
    high: ['highly price sensitive', 'high price sensitivity', 'very price conscious'],
    medium: ['moderately price sensitive', 'medium price sensitivity'],
    low: ['not price sensitive', 'low price sensitivity'],
  },
  shopping_style: {
    bargain_hunter: ['a bargain hunter', 'hunts for deals'],
    brand_loyal: ['brand loyal', 'sticks to favourite brands'],
    impulse_buyer: ['an impulse buyer', 'buys on impulse'],
    researcher: ['a researcher', 'researches before buying'],
    premium_seeker: ['a premium seeker', 'prefers premium products'],
  },
  activity_pattern: {
    early_bird: ['an early bird', 'active early in the morning'],
    daytime: ['active during the day', 'a daytime user'],
    evening: ['active in the evening', 'an evening user'],
    night_owl: ['a night owl', 'active late at night'],
  },
  primary_device: {
    mobile: ['mostly on mobile', 'uses a phone', 'on mobile'],
    desktop: ['mostly on desktop', 'uses a desktop computer', 'on desktop'],
    tablet: ['mostly on tablet', 'uses a tablet', 'on tablet'],
  },
  engagement_level: {
    casual: ['a casual user', 'visits occasionally'],
    regular: ['a regular user', 'visits regularly'],
    power_user: ['a power user', 'visits very often'],
  },
  trajectory: {
    new: ['a new user', 'recently joined'],
    growing: ['growing engagement', 'increasingly active'],
    stable: ['stable engagement', 'steadily active'],
    declining: ['declining engagement', 'less and less active'],
  },
  interests: Object.fromEntries(INTERESTS.map((i) => [i, [`interested in ${i}`, i]])),
  life_events: {
    moved_home: ['moved home', 'moved house', 'relocated'],
    new_baby: ['had a new baby', 'had a baby', 'new baby'],
    new_job: ['started a new job', 'new job'],
    started_fitness: ['started a fitness routine', 'took up fitness', 'started working out'],
    wedding: ['got married', 'had a wedding', 'wedding'],
    retirement: ['retired', 'retirement'],
    new_pet: ['got a new pet', 'adopted a pet', 'new pet'],
  },
};

/** Phrases of a fact, canonical first; `[value]` for an unknown pair. */
export function factPhrases(dimension: string, value: string): readonly string[] {
  return PHRASES[dimension]?.[value] ?? [value.replace(/_/g, ' ')];
}
