import { ErrorCode, PersonaStreamError } from '@personastream/contracts';
import { checkBands, simulationStats, simulatorConfig, writeSimulatedDataset } from '@personastream/simulator';
import { intOption, parseOptions } from '../args.js';
import { progressBar, say } from '../progress.js';

/**
 * `personastream simulate`: writes a benchmark instance in the canonical dataset layout
 * (`--out DIR`), or prints the realism report (`--stats`, each property against its band).
 */
export async function runSimulate(args: string[]): Promise<number> {
  const o = parseOptions('simulate', args, {
    users: { type: 'string' },
    seed: { type: 'string' },
    tenant: { type: 'string' },
    out: { type: 'string' },
    stats: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  const users = intOption('simulate', 'users', o.users, 200);
  const seed = intOption('simulate', 'seed', o.seed, 1);
  const config = simulatorConfig({ users, seed, ...(o.tenant ? { tenant: o.tenant } : {}) });
  if (o.stats) {
    say(`simulate: realism statistics of ${users} users, seed ${seed}…`);
    const stats = simulationStats(config);
    const bands = checkBands(stats);
    if (o.json) {
      console.log(JSON.stringify({ users, seed, stats, bands, all_in_band: bands.every((b) => b.ok) }));
    } else {
      for (const b of bands) {
        say(
          `  ${b.ok ? 'ok ' : 'OUT'} ${b.property.padEnd(40)} ${b.value.toFixed(4).padStart(10)}   band [${b.min}, ${b.max}]`,
        );
      }
    }
    return bands.every((b) => b.ok) ? 0 : 1;
  }
  if (typeof o.out !== 'string') {
    throw new PersonaStreamError(
      ErrorCode.InvalidArgument,
      'simulate: give --out DIR (write a dataset) or --stats',
      'out',
    );
  }
  const bar = progressBar('simulate', users);
  const manifest = await writeSimulatedDataset(config, o.out, (n) => bar.update(n));
  bar.stop();
  say(`wrote ${o.out}: ${JSON.stringify(manifest.counts)}`);
  for (const [file, hash] of Object.entries(manifest.hashes)) say(`  ${file}  sha256 ${hash}`);
  if (o.json) console.log(JSON.stringify(manifest));
  return 0;
}
