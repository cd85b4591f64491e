import { describe, expect, it } from 'vitest';
import { defaultMigrationsDir, loadMigrations, splitStatements } from './migrations.js';

describe('migrations', () => {
  it('splits statements at line-ending semicolons and drops comment lines', () => {
    expect(
      splitStatements('-- c\nCREATE TABLE a (x String) ENGINE = Log;\n\nCREATE TABLE b\n(y UInt8)\nENGINE = Log;\n'),
    ).toEqual(['CREATE TABLE a (x String) ENGINE = Log', 'CREATE TABLE b\n(y UInt8)\nENGINE = Log']);
    expect(splitStatements('SELECT 1')).toEqual(['SELECT 1']);
  });

  it('finds and orders the repository migrations; every statement is idempotent', async () => {
    expect(defaultMigrationsDir()).toMatch(/deploy\/clickhouse\/migrations$/);
    const ms = await loadMigrations();
    expect(ms.map((m) => `${m.version}_${m.name}`)).toEqual(['1_scores', '2_evaluator_inbox']);
    for (const m of ms) {
      expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
      for (const s of m.statements) expect(s).toMatch(/^CREATE TABLE IF NOT EXISTS /);
      // nothing newer than ClickHouse 18.16
      for (const s of m.statements) expect(s).not.toMatch(/LowCardinality|DateTime64|\bTTL\b|\{[a-z_]+:[A-Za-z]/);
    }
  });
});
