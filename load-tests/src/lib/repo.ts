import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder holding `tools/infra/infra.sh`), found from this file's location. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'tools', 'infra', 'infra.sh'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('cannot find the PersonaStream repository root (tools/infra/infra.sh)');
}

/** A built service's entry point: `services/<name>/dist/main.js` (load tests run services as processes). */
export function serviceMain(name: string): string {
  const main = join(repoRoot(), 'services', name, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run "npm run build -w @personastream/${name}"`);
  return main;
}

/** The built CLI (`tools/cli/dist/main.js`). */
export function cliMain(): string {
  const main = join(repoRoot(), 'tools', 'cli', 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run "npm run build -w personastream-cli"`);
  return main;
}

/** A variable of the environment, else of `.infra/env` (written by `infra up`), else undefined. */
export function infraVar(name: 'KAFKA_BROKERS' | 'REDIS_URL' | 'CLICKHOUSE_URL'): string | undefined {
  const own = process.env[name];
  if (own) return own;
  try {
    const text = readFileSync(join(repoRoot(), '.infra', 'env'), 'utf8');
    const m = new RegExp(`^(?:export\\s+)?${name}=(.*)$`, 'm').exec(text);
    return m?.[1]?.trim().replace(/^['"]|['"]$/g, '') || undefined;
  } catch {
    return undefined;
  }
}
