import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { ClickHouseClient } from '../src/adapters/clickhouse.js';
import { applyMigrations, loadMigrations } from '../src/adapters/migrations.js';
import { ident, sql } from '../src/adapters/sql.js';
import type { RunReport } from '../src/core/run.js';

/** A required env var (set by `personastream infra up` in .infra/env), or a clear failure naming it. */
export function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `${name} is not set: the evaluator's integration tests need the local infrastructure. ` +
        'Run "npx personastream infra up", then "set -a; . .infra/env; set +a" before vitest.',
    );
  }
  return v;
}

export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/**
 * A fresh, migrated test database (`it_eval_<random>`); `drop()` removes it. `upTo`: apply the
 * migrations up to that version only (a database as an older evaluator left it).
 */
export async function testDatabase(prefix = 'it_eval', options: { upTo?: number } = {}) {
  const url = requireEnv('CLICKHOUSE_URL');
  const database = `${prefix}_${uniqueSuffix()}`;
  const client = new ClickHouseClient({ url, database, timeoutMs: 20_000 });
  const upTo = options.upTo;
  const migrations = await applyMigrations(
    client,
    upTo === undefined ? {} : { migrations: (await loadMigrations()).filter((m) => m.version <= upTo) },
  );
  return {
    client,
    database,
    migrations,
    drop: () => client.withDatabase(undefined).exec(sql`DROP DATABASE IF EXISTS ${ident(database)}`),
  };
}

/** Expects two reports to be equal, numbers within 1e-9 (ClickHouse 18.16 may lose the last ulp). */
export function expectReportsEqual(actual: RunReport | undefined, expected: RunReport): void {
  expect(actual).toBeDefined();
  const round = (v: unknown): unknown => {
    if (typeof v === 'number') return Number.isInteger(v) ? v : Math.round(v * 1e9) / 1e9;
    if (Array.isArray(v)) return v.map(round);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, round(x)]));
    return v;
  };
  expect(round(actual)).toEqual(round(expected));
}
