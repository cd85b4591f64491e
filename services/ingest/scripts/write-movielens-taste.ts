/**
 * Writes a MovieLens 100K-format folder whose users' tastes follow their labels
 * (`writeMovielensTasteFixture`): import it with `personastream import --format movielens`.
 *
 *   npx vite-node --config vitest.config.ts services/ingest/scripts/write-movielens-taste.ts DIR [users] [movies] [itemTaste] [seed]
 */
import { writeMovielensTasteFixture } from '../src/import/fixtures.js';

const [dir, users = '943', movies = '1682', itemTaste = '0.5', seed = '1'] = process.argv.slice(2);
if (!dir) {
  console.error('usage: write-movielens-taste.ts DIR [users=943] [movies=1682] [itemTaste=0.5] [seed=1]');
  process.exit(2);
}
await writeMovielensTasteFixture(dir, {
  users: Number(users),
  movies: Number(movies),
  itemTaste: Number(itemTaste),
  seed: Number(seed),
});
console.log(
  JSON.stringify({
    dir,
    users: Number(users),
    movies: Number(movies),
    itemTaste: Number(itemTaste),
    seed: Number(seed),
  }),
);
