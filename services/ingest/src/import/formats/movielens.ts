import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { EventType, factPhrases, type GroundTruth, GroundTruthSchema, splitOf } from '@personastream/contracts';
import { newEvent, newItem } from '../../core/messages.js';
import { readLines } from '../lines.js';
import type { Converted, ImportSource, SourceContext } from '../types.js';

/** The 19 genre flags of `u.item`, in file order (as listed by `u.genre`). */
export const MOVIELENS_GENRES = [
  'unknown',
  'Action',
  'Adventure',
  'Animation',
  "Children's",
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
] as const;

/**
 * MovieLens occupations (`u.occupation`) → HPR-Bench `occupation_group`. The judgement calls:
 * administrator, executive, lawyer, marketing, salesman → business; engineer, programmer,
 * scientist → tech; technician → trades (hands-on technical work); librarian, educator → education;
 * artist, entertainment, writer → creative; doctor, healthcare → healthcare; homemaker, none,
 * other → other; student → student; retired → retired. An unlisted occupation maps to other.
 */
export const MOVIELENS_OCCUPATIONS: Readonly<Record<string, string>> = {
  administrator: 'business',
  artist: 'creative',
  doctor: 'healthcare',
  educator: 'education',
  engineer: 'tech',
  entertainment: 'creative',
  executive: 'business',
  healthcare: 'healthcare',
  homemaker: 'other',
  lawyer: 'business',
  librarian: 'education',
  marketing: 'business',
  none: 'other',
  other: 'other',
  programmer: 'tech',
  retired: 'retired',
  salesman: 'business',
  scientist: 'tech',
  student: 'student',
  technician: 'trades',
  writer: 'creative',
};

/** Age in years → `age_band`. The schema's youngest band is 18-24, so MovieLens users under 18 are labelled 18-24. */
export function ageBand(age: number): string {
  if (age < 25) return '18-24';
  if (age < 35) return '25-34';
  if (age < 45) return '35-44';
  if (age < 55) return '45-54';
  return '55+';
}

async function locate(path: string): Promise<string> {
  const s = await stat(path).catch(() => undefined);
  if (!s) throw new Error(`movielens: ${path} does not exist`);
  const dir = s.isDirectory() ? path : dirname(path);
  if (!existsSync(join(dir, 'u.data'))) throw new Error(`movielens: no u.data in ${dir} (expected the ml-100k folder)`);
  return dir;
}

interface Movie {
  title: string;
  genres: string[];
  year: string;
}

/**
 * MovieLens 100K (`u.data`, `u.item`, `u.user`): each rating → a RATE event (rating 1..5, event id
 * `ml-<user>-<item>`, time = unix seconds × 1000) about the movie (item id = movie id, title, category
 * path `Movies > <first genre>`, all genres in `properties.genres`, release year in
 * `properties.year`). No views are invented: a rating is the only observed action. `u.user` → ground
 * truth `age_band`, `gender`, `occupation_group` (see `MOVIELENS_OCCUPATIONS`), split by `splitOf`.
 * `u.item` is latin-1; the catalogue (1,682 movies) is held in memory, ratings are streamed.
 */
export async function movielensSource(path: string): Promise<ImportSource> {
  const dir = await locate(path);
  const files = ['u.data', 'u.item', 'u.user'].map((f) => join(dir, f)).filter((f) => existsSync(f));

  async function loadMovies(ctx: SourceContext): Promise<Map<string, Movie>> {
    const movies = new Map<string, Movie>();
    const itemPath = join(dir, 'u.item');
    if (!existsSync(itemPath)) return movies;
    let genreNames: readonly string[] = MOVIELENS_GENRES;
    const genrePath = join(dir, 'u.genre');
    if (existsSync(genrePath)) {
      const names: string[] = [];
      for await (const line of readLines(genrePath, { encoding: 'latin1' })) {
        const [name, idx] = line.split('|');
        if (name && idx !== undefined && /^\d+$/.test(idx)) names[Number(idx)] = name;
      }
      if (names.length === 19) genreNames = names;
    }
    for await (const line of readLines(itemPath, { encoding: 'latin1', onBytes: ctx.onBytes })) {
      const f = line.split('|');
      if (f.length < 24 || !f[0]) continue;
      const flags = f.slice(f.length - 19);
      const genres = genreNames.filter((_, i) => flags[i] === '1');
      const year = /(\d{4})$/.exec(f[2] ?? '')?.[1] ?? '';
      movies.set(f[0], { title: f[1] ?? '', genres, year });
    }
    return movies;
  }

  return {
    source: 'movielens-100k',
    license:
      'MovieLens 100K, (c) GroupLens Research, University of Minnesota. Research use under the GroupLens usage license: no redistribution without permission, acknowledge the source (F. M. Harper, J. A. Konstan, "The MovieLens Datasets", ACM TiiS 2015). https://grouplens.org/datasets/movielens/100k/',
    description:
      'Movie ratings of 943 users (RATE events about movies with genre category paths) with demographic labels from u.user.',
    labelledDimensions: existsSync(join(dir, 'u.user')) ? ['age_band', 'gender', 'occupation_group'] : [],
    files,
    config: {
      occupationGroups: MOVIELENS_OCCUPATIONS,
      ageBands: 'under 25 → 18-24 (under 18 included), 25-34, 35-44, 45-54, 55+',
      events: 'one RATE event per rating; category path Movies > first genre',
    },

    async *events(ctx): AsyncGenerator<Converted> {
      const movies = await loadMovies(ctx);
      for await (const line of readLines(join(dir, 'u.data'), { onBytes: ctx.onBytes })) {
        if (line.trim() === '') continue;
        const f = line.split('\t');
        const [user, item, rating, ts] = f;
        if (f.length < 4 || !user || !item) {
          yield { skip: 'malformed_line' };
          continue;
        }
        const r = Number(rating);
        const seconds = Number(ts);
        if (!Number.isInteger(r) || r < 1 || r > 5) {
          yield { skip: 'invalid_rating' };
          continue;
        }
        if (!Number.isFinite(seconds) || seconds <= 0) {
          yield { skip: 'invalid_timestamp' };
          continue;
        }
        const movie = movies.get(item);
        const genres = movie?.genres.filter((g) => g !== 'unknown') ?? [];
        const properties: Record<string, string> = {};
        if (movie && movie.genres.length > 0) properties.genres = movie.genres.join('|');
        if (movie?.year) properties.year = movie.year;
        yield {
          event: newEvent({
            eventId: `ml-${user}-${item}`,
            tenant: ctx.tenant,
            userId: user,
            eventTimeMs: seconds * 1000,
            type: EventType.RATE,
            rating: r,
            item: newItem({
              id: item,
              title: movie?.title ?? '',
              categoryPath: genres[0] ? ['Movies', genres[0]] : ['Movies'],
            }),
            properties,
            runId: ctx.runId,
          }),
        };
      }
    },

    async *truths(ctx): AsyncGenerator<GroundTruth> {
      const userPath = join(dir, 'u.user');
      if (!existsSync(userPath)) return;
      for await (const line of readLines(userPath, { encoding: 'latin1', onBytes: ctx.onBytes })) {
        const [id, age, gender, occupation] = line.split('|');
        if (!id || age === undefined || !/^\d+$/.test(age)) continue;
        const values: Array<[string, string]> = [['age_band', ageBand(Number(age))]];
        if (gender === 'M' || gender === 'F') values.push(['gender', gender === 'M' ? 'male' : 'female']);
        if (occupation)
          values.push(['occupation_group', MOVIELENS_OCCUPATIONS[occupation.trim().toLowerCase()] ?? 'other']);
        const v = Object.fromEntries(values);
        const who = v.gender ? `A ${v.gender} user` : 'A user';
        const summary = `${who} ${factPhrases('age_band', v.age_band ?? '')[0]}${v.occupation_group ? ` who ${factPhrases('occupation_group', v.occupation_group)[0]}` : ''}.`;
        yield create(GroundTruthSchema, {
          tenant: ctx.tenant,
          userId: id,
          runId: ctx.runId,
          tags: values.map(([dimension, value]) => ({ dimension, value, confidence: 1 })),
          keyFacts: values.map(([dimension, value]) => ({ dimension, value })),
          referenceSummary: summary,
          split: splitOf(id),
        });
      }
    },
  };
}
