import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';

export const infraUsage = 'personastream infra up|down|status|env [--purge]';

/** `personastream infra …`: runs tools/infra/infra.sh, which installs and runs Kafka, Redis, ClickHouse. */
export function runInfra(args: string[]): number {
  const root = repoRoot();
  const result = spawnSync('bash', [join(root, 'tools', 'infra', 'infra.sh'), ...args], {
    stdio: 'inherit',
    cwd: root,
  });
  if (result.error) throw result.error;
  return result.status ?? 1;
}
