import { type DimensionSpec, dimensionSpec } from '@personastream/contracts';
import { BuiltinBackend } from './core/builtin/backend.js';
import type { ModelWeights } from './core/builtin/model.js';
import { trainBuiltinModel } from './core/builtin/train.js';
import { SYNTHETIC_DIMENSIONS, syntheticUsers } from './core/synthetic.js';

let cached: ModelWeights | undefined;

/** A small builtin model trained on synthetic windows (tests and benchmarks; ~0.3 s, cached). */
export function syntheticModel(): ModelWeights {
  if (cached) return cached;
  const dims = SYNTHETIC_DIMENSIONS.map((d) => dimensionSpec(d) as DimensionSpec);
  const users = syntheticUsers({ users: 80, seed: 3 });
  cached = trainBuiltinModel(
    users.map((u) => ({ id: u.userId, windows: u.windows, truth: u.truth })),
    { dimensions: dims, iterations: 80, lambdas: [0.03], name: 'builtin/synthetic-test' },
  );
  return cached;
}

export function syntheticBackend(): BuiltinBackend {
  return new BuiltinBackend(syntheticModel());
}
