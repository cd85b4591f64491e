import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mulberry32, splitOf } from '@personastream/contracts';
import { MOVIELENS_GENRES } from './formats/movielens.js';

/**
 * Small files in each public format, written by tests (never downloaded): a few dozen lines each,
 * with the quirks of the real files (latin-1 titles, headers, unsorted rows, a bad row or two).
 */
export async function writeMovielensFixture(dir: string, users = 12, ratingsPerUser = 4): Promise<void> {
  if (ratingsPerUser > 4)
    throw new Error('the MovieLens fixture has 4 movies: at most 4 ratings per user (one per movie, as in u.data)');
  await mkdir(dir, { recursive: true });
  const genres = MOVIELENS_GENRES;
  await writeFile(join(dir, 'u.genre'), `${genres.map((g, i) => `${g}|${i}`).join('\n')}\n\n`, 'latin1');
  const flags = (on: number[]) => genres.map((_, i) => (on.includes(i) ? '1' : '0')).join('|');
  const items = [
    `1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|${flags([3, 4, 5])}`,
    `2|GoldenEye (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?GoldenEye%20(1995)|${flags([1, 2, 16])}`,
    `3|Amélie (2001)|01-Jan-2001||http://us.imdb.com/|${flags([5, 14])}`,
    `4|Unknown Film (1990)|01-Jan-1990||http://us.imdb.com/|${flags([0])}`,
  ];
  await writeFile(join(dir, 'u.item'), `${items.join('\n')}\n`, 'latin1');
  const occupations = [
    'technician',
    'other',
    'writer',
    'executive',
    'student',
    'programmer',
    'retired',
    'doctor',
    'educator',
    'homemaker',
    'lawyer',
    'artist',
  ];
  const ages = [24, 53, 23, 33, 15, 42, 62, 36, 29, 47, 55, 19];
  const userLines = Array.from(
    { length: users },
    (_, i) => `${i + 1}|${ages[i % ages.length]}|${i % 2 ? 'F' : 'M'}|${occupations[i % occupations.length]}|8571${i}`,
  );
  await writeFile(join(dir, 'u.user'), `${userLines.join('\n')}\n`, 'latin1');
  const ratings: string[] = [];
  for (let u = 1; u <= users; u++) {
    for (let r = 0; r < ratingsPerUser; r++) {
      const item = ((u + r) % 4) + 1;
      // not sorted by time, like the real u.data
      const ts = 881250949 + ((u * 7919 + r * 104729) % 1_000_000);
      ratings.push(`${u}\t${item}\t${((u + r) % 5) + 1}\t${ts}`);
    }
  }
  ratings.push('bad line');
  ratings.push(`1\t1\t9\t881250949`);
  await writeFile(join(dir, 'u.data'), `${ratings.join('\n')}\n`);
}

export async function writeRetailrocketFixture(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const rows = [
    'timestamp,visitorid,event,itemid,transactionid',
    '1433224214164,257597,view,355908,',
    '1433221332117,257597,view,248676,',
    '1433221999827,111016,view,318965,',
    '1433224214164,257597,view,355908,',
    '1433222276276,483717,addtocart,253185,',
    '1433223236124,483717,transaction,253185,4000',
    '1433221955914,951259,view,367447,',
    '1433222147345,972639,view,22556,',
    '1433221337106,1000,teleport,1,',
    'garbage',
  ];
  await writeFile(join(dir, 'events.csv'), `${rows.join('\n')}\n`);
  await writeFile(join(dir, 'category_tree.csv'), 'categoryid,parentid\n1016,213\n809,169\n213,\n169,\n');
  await writeFile(
    join(dir, 'item_properties_part1.csv'),
    'timestamp,itemid,property,value\n1435460400000,355908,categoryid,1016\n1441508400000,355908,categoryid,809\n1431226800000,253185,categoryid,1016\n1431226800000,253185,available,1\n',
  );
}

export async function writeTaobaoFixture(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const rows = [
    '1,2268318,2520377,pv,1511544070',
    '1,2333346,2520771,pv,1511561733',
    '1,2576651,149192,buy,1511572885',
    '100,4182583,1258177,cart,1511606467',
    '100,2337874,1194311,fav,1511561766',
    '100,3827899,2920476,pv,1511751022',
    '100,1,2,wink,1511751022',
    '2,1,2,pv',
  ];
  await writeFile(join(dir, 'UserBehavior.csv'), `${rows.join('\n')}\n`);
}

export async function writeSegmentFixture(path: string): Promise<void> {
  const lines = [
    {
      type: 'track',
      messageId: 's1',
      userId: 'u1',
      event: 'Product Viewed',
      timestamp: '2024-05-01T10:00:00.000Z',
      properties: { product_id: 'p1', category: 'Books > Fiction', price: 12 },
    },
    {
      type: 'page',
      messageId: 's2',
      anonymousId: 'a9',
      name: 'Home',
      originalTimestamp: '2024-05-01T09:00:00Z',
      receivedAt: '2024-05-01T09:00:01Z',
    },
    {
      batch: [
        {
          type: 'identify',
          messageId: 's3',
          userId: 'u1',
          traits: { email: 'x@y.z', plan: 'gold' },
          timestamp: '2024-05-01T11:00:00Z',
        },
        {
          type: 'track',
          messageId: 's4',
          userId: 'u2',
          event: 'Order Completed',
          timestamp: '2024-05-02T11:00:00Z',
          properties: {
            products: [
              { product_id: 'p2', price: 3 },
              { product_id: 'p3', price: 4 },
            ],
          },
        },
      ],
    },
    { type: 'track', messageId: 's5', userId: 'u3', event: 'Product Added' },
    { type: 'track', messageId: 's6', event: 'Product Viewed', timestamp: '2024-05-01T10:00:00Z' },
  ];
  await writeFile(path, `${lines.map((l) => JSON.stringify(l)).join('\n')}\nnot json\n`);
}

export interface MovielensTasteOptions {
  users: number;
  movies: number;
  seed?: number;
  /**
   * Share of a user's ratings chosen by **item-level** taste: among the movies whose latent audience
   * (a hidden age band, independent of the movie's genres) is the user's own. Only the item ids carry
   * it; the genres (the categories) do not. Default 0.
   */
  itemTaste?: number;
}

const TASTE_AGES = [19, 29, 39, 49, 61]; // one per age band
// one MovieLens occupation per occupation group
const TASTE_OCCUPATIONS = [
  'student',
  'programmer',
  'doctor',
  'educator',
  'technician',
  'writer',
  'lawyer',
  'retired',
  'homemaker',
];

/**
 * A MovieLens 100K folder (`u.item` latin-1 with 19 genre flags, `u.user`, `u.data` tab-separated
 * and unsorted) whose users' tastes follow their labels: test and train users get the labels round
 * robin (so the test split holds every age band, both genders and every occupation group); 70 % of
 * the non-item-taste ratings pick a movie of the genre f(age, gender, occupation), the rest any
 * movie; with `itemTaste` a share of ratings picks a movie of the user's latent audience (item-level
 * signal that genres do not show). 2–3 sessions days apart, 5–9 ratings each, one rating per movie.
 */
export async function writeMovielensTasteFixture(dir: string, o: MovielensTasteOptions): Promise<void> {
  await mkdir(dir, { recursive: true });
  const random = mulberry32(o.seed ?? 42);
  const itemTaste = o.itemTaste ?? 0;
  const items: string[] = [];
  const genreOf: number[] = [];
  const audienceOf: number[] = [];
  for (let m = 1; m <= o.movies; m++) {
    const g = 1 + (m % 18);
    genreOf[m] = g;
    audienceOf[m] = Math.floor(m / 18) % TASTE_AGES.length;
    const flags = MOVIELENS_GENRES.map((_, i) => (i === g || i === 1 + ((m * 7) % 18) ? '1' : '0')).join('|');
    const title = m % 5 === 0 ? `Amélie ${m} (2001)` : `Film ${m} (199${m % 10})`;
    items.push(`${m}|${title}|01-Jan-199${m % 10}||http://us.imdb.com/M/title-exact?${m}|${flags}`);
  }
  await writeFile(join(dir, 'u.item'), `${items.join('\n')}\n`, 'latin1');
  const users: string[] = [];
  const ratings: string[] = [];
  let testIndex = 0;
  let trainIndex = 0;
  for (let u = 1; u <= o.users; u++) {
    const i = splitOf(String(u)) === 'test' ? testIndex++ : trainIndex++;
    const ageIndex = i % TASTE_AGES.length;
    const age = TASTE_AGES[ageIndex] as number;
    const female = Math.floor(i / TASTE_AGES.length) % 2 === 1;
    const occupation = TASTE_OCCUPATIONS[i % TASTE_OCCUPATIONS.length] as string;
    users.push(`${u}|${age}|${female ? 'F' : 'M'}|${occupation}|0${u}`);
    const seen = new Set<number>();
    const sessions = 2 + (u % 2);
    const wantedGenre = 1 + ((ageIndex * 3 + (female ? 1 : 0) + TASTE_OCCUPATIONS.indexOf(occupation)) % 18);
    for (let s = 0; s < sessions; s++) {
      const start = 880_000_000 + u * 3_600 + s * 5 * 86_400;
      const n = 5 + Math.floor(random() * 5);
      for (let r = 0; r < n; r++) {
        const byItem = itemTaste > 0 && random() < itemTaste;
        const liked = !byItem && random() < 0.7;
        let movie = 1 + Math.floor(random() * o.movies);
        if (byItem || liked) {
          const candidates = genreOf.flatMap((g, m) =>
            !seen.has(m) && (byItem ? audienceOf[m] === ageIndex : g === wantedGenre) ? [m] : [],
          );
          if (candidates.length > 0) movie = candidates[Math.floor(random() * candidates.length)] as number;
        }
        if (seen.has(movie)) continue; // one rating per user and movie, as in u.data
        seen.add(movie);
        ratings.push(`${u}\t${movie}\t${1 + Math.floor(random() * 5)}\t${start + r * 90}`);
      }
    }
  }
  await writeFile(join(dir, 'u.user'), `${users.join('\n')}\n`, 'latin1');
  ratings.reverse(); // not in time order, like the real file
  await writeFile(join(dir, 'u.data'), `${ratings.join('\n')}\n`);
}
