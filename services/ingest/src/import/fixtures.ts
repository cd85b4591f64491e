import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
