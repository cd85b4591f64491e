/**
 * Versioned ClickHouse migrations (`deploy/clickhouse/migrations/NNN_name.sql`), applied at start.
 * Idempotent: `CREATE DATABASE IF NOT EXISTS`, a `schema_migrations` table of applied versions (with
 * checksums: an applied migration that was edited afterwards is an error), and migration statements
 * that are themselves idempotent (`CREATE TABLE IF NOT EXISTS`), so two evaluators starting at once,
 * or a crash half-way through a file, are harmless. ClickHouse 18.16 has no
 * `ADD COLUMN IF NOT EXISTS`; the runner treats "column already exists" (code 44) on an
 * `ALTER … ADD COLUMN` as done, so such migrations stay re-runnable too.
 *
 * Steps that cannot be written idempotently (18.16 cannot put an existing column into a sorting
 * key, so such a table is rebuilt: new table, copy, `RENAME`) carry a guard comment on the line
 * before them: `-- unless-table: NAME` skips the statement when table NAME exists in the database.
 * With guards chosen so that each step is skipped once its effect exists, a rebuild re-run after a
 * crash at any point finishes it (see 003_tenant_runs.sql).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, PersonaStreamError } from '@personastream/contracts';
import { type ClickHouseClient, ClickHouseError } from './clickhouse.js';
import { ident, sql } from './sql.js';

/** One statement of a migration, with its guard. */
export interface MigrationStatement {
  sql: string;
  /** Skip the statement when this table exists (`-- unless-table: NAME` on the line before it). */
  unlessTable?: string;
}

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  statements: MigrationStatement[];
}

export interface MigrationResult {
  database: string;
  applied: string[];
  alreadyApplied: string[];
}

const FILE = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

/**
 * Default migrations directory: `CLICKHOUSE_MIGRATIONS_DIR`, else `deploy/clickhouse/migrations`
 * found by walking up from this module (works from `src/` and `dist/`).
 */
export function defaultMigrationsDir(): string {
  const fromEnv = process.env.CLICKHOUSE_MIGRATIONS_DIR;
  if (fromEnv) return resolve(fromEnv);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'deploy', 'clickhouse', 'migrations');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new PersonaStreamError(
    ErrorCode.FailedPrecondition,
    'ClickHouse migrations not found: set CLICKHOUSE_MIGRATIONS_DIR to deploy/clickhouse/migrations',
  );
}

const GUARD = /^--\s*unless-table:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/;

/**
 * Parses a migration file into statements: `;` at the end of a line ends one; `--` lines are
 * comments, except a `-- unless-table: NAME` guard, which applies to the statement that follows.
 */
export function parseStatements(text: string): MigrationStatement[] {
  const out: MigrationStatement[] = [];
  let current: string[] = [];
  let unlessTable: string | undefined;
  const push = () => {
    const sql = current.join('\n').trim().replace(/;$/, '');
    if (sql) out.push(unlessTable ? { sql, unlessTable } : { sql });
    current = [];
    unlessTable = undefined;
  };
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    const guard = GUARD.exec(trimmed);
    if (guard && current.length === 0) {
      unlessTable = guard[1];
      continue;
    }
    if (trimmed.startsWith('--') || trimmed === '') continue;
    current.push(line);
    if (trimmed.endsWith(';')) push();
  }
  push();
  return out;
}

/** The statements of a migration file as SQL text (guards dropped). */
export function splitStatements(text: string): string[] {
  return parseStatements(text).map((s) => s.sql);
}

/** Reads and orders the migrations of a directory. */
export async function loadMigrations(dir = defaultMigrationsDir()): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => FILE.test(f)).sort();
  const out: Migration[] = [];
  for (const f of files) {
    const m = FILE.exec(f) as RegExpExecArray;
    const text = await readFile(join(dir, f), 'utf8');
    out.push({
      version: Number(m[1]),
      name: m[2] as string,
      checksum: createHash('sha256').update(text).digest('hex'),
      statements: parseStatements(text),
    });
  }
  const versions = out.map((m) => m.version);
  if (new Set(versions).size !== versions.length) {
    throw new PersonaStreamError(ErrorCode.FailedPrecondition, `duplicate migration versions in ${dir}`);
  }
  return out;
}

export interface ApplyMigrationsOptions {
  /** Database to create and migrate (default: the client's database, else "personastream"). */
  database?: string;
  dir?: string;
  migrations?: Migration[];
  log?: (message: string) => void;
}

async function tableExists(db: ClickHouseClient, database: string, table: string): Promise<boolean> {
  const rows = await db.query<{ n: number }>(
    sql`SELECT count() AS n FROM system.tables WHERE database = ${database} AND name = ${table}`,
  );
  return Number(rows[0]?.n ?? 0) > 0;
}

/** Creates the database if missing and applies the migrations not yet applied, in order. */
export async function applyMigrations(
  client: ClickHouseClient,
  options: ApplyMigrationsOptions = {},
): Promise<MigrationResult> {
  const database = options.database ?? client.database ?? 'personastream';
  await client.withDatabase(undefined).exec(sql`CREATE DATABASE IF NOT EXISTS ${ident(database)}`);
  const db = client.withDatabase(database);
  await db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String, checksum String, applied_ms UInt64) ' +
      'ENGINE = ReplacingMergeTree(applied_ms) ORDER BY version',
  );
  const applied = new Map(
    (
      await db.query<{ version: number; name: string; checksum: string }>(
        'SELECT version, name, checksum FROM schema_migrations FINAL',
      )
    ).map((r) => [Number(r.version), r]),
  );
  const migrations = options.migrations ?? (await loadMigrations(options.dir));
  const result: MigrationResult = { database, applied: [], alreadyApplied: [] };
  for (const m of migrations) {
    const label = `${String(m.version).padStart(3, '0')}_${m.name}`;
    const done = applied.get(m.version);
    if (done) {
      if (done.checksum !== m.checksum) {
        throw new PersonaStreamError(
          ErrorCode.FailedPrecondition,
          `migration ${label} was changed after it was applied to ${database} (checksum differs); add a new migration instead`,
        );
      }
      result.alreadyApplied.push(label);
      continue;
    }
    for (const statement of m.statements) {
      if (statement.unlessTable && (await tableExists(db, database, statement.unlessTable))) continue;
      try {
        await db.exec(statement.sql);
      } catch (err) {
        const columnExists =
          err instanceof ClickHouseError && err.serverCode === 44 && /\bADD\s+COLUMN\b/i.test(statement.sql);
        if (!columnExists) throw err;
      }
    }
    await db.insert('schema_migrations', [
      { version: m.version, name: m.name, checksum: m.checksum, applied_ms: Date.now() },
    ]);
    options.log?.(`applied ClickHouse migration ${label} to ${database}`);
    result.applied.push(label);
  }
  return result;
}
