import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelWeights } from './core/builtin/model.js';

/** The default model shipped with the package (`services/persona/models/builtin-default.json`). */
export const defaultModelPath: string = fileURLToPath(new URL('../models/builtin-default.json', import.meta.url));

/** Reads and checks a builtin model file. */
export function loadModel(path: string = defaultModelPath): ModelWeights {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read builtin model ${path}: ${(err as Error).message}`);
  }
  const m = parsed as Partial<ModelWeights>;
  if (m.format !== 'personastream-builtin/1') {
    throw new Error(`${path} is not a builtin model (format ${String(m.format)}; expected personastream-builtin/1)`);
  }
  const f = m.features?.length ?? -1;
  if (!Array.isArray(m.features) || m.mean?.length !== f || m.std?.length !== f || !m.single || !m.multi) {
    throw new Error(`${path}: malformed model (features, mean, std, single and multi must agree)`);
  }
  const scope = m.items?.tenants;
  if (m.items !== undefined && (!Array.isArray(scope) || !scope.every((t) => typeof t === 'string' && t !== ''))) {
    throw new Error(`${path}: items.tenants must be a list of tenant ids (a trailing * makes a prefix)`);
  }
  for (const [dim, d] of Object.entries(m.single)) {
    if (d.w.length !== d.classes.length * (f + 1)) throw new Error(`${path}: weights of ${dim} have the wrong size`);
  }
  for (const [dim, d] of Object.entries(m.multi)) {
    if (d.w.length !== d.labels.length * (f + 1)) throw new Error(`${path}: weights of ${dim} have the wrong size`);
  }
  return m as ModelWeights;
}

/** Writes a model file (pretty enough to diff, one weight row per line is not attempted). */
export function saveModel(path: string, weights: ModelWeights): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(weights)}\n`);
}
