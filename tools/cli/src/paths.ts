import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder holding `tools/infra`), found from this file's location. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'tools', 'infra', 'infra.sh'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('cannot find the PersonaStream repository root (tools/infra/infra.sh)');
}
