import { type StdioOptions, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';

export const infraUsage = 'personastream infra up|down|status|env [--purge]';

/**
 * `personastream infra …`: runs tools/infra/infra.sh, which installs and runs Kafka, Redis, ClickHouse.
 * `output`: `inherit` (default), `stderr` (its output on this process's stderr, so stdout stays
 * machine-readable) or `quiet`.
 */
export function runInfra(args: string[], output: 'inherit' | 'stderr' | 'quiet' = 'inherit'): number {
  const root = repoRoot();
  const stdio: StdioOptions = output === 'inherit' ? 'inherit' : output === 'stderr' ? ['ignore', 2, 2] : 'ignore';
  const result = spawnSync('bash', [join(root, 'tools', 'infra', 'infra.sh'), ...args], {
    stdio,
    cwd: root,
  });
  if (result.error) throw result.error;
  return result.status ?? 1;
}
