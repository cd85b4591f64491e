import { describe, expect, it } from 'vitest';
import { defaultMigrationsDir, loadMigrations, parseStatements, splitStatements } from './migrations.js';

describe('migrations', () => {
  it('splits statements at line-ending semicolons and drops comment lines', () => {
    expect(
      splitStatements('-- c\nCREATE TABLE a (x String) ENGINE = Log;\n\nCREATE TABLE b\n(y UInt8)\nENGINE = Log;\n'),
    ).toEqual(['CREATE TABLE a (x String) ENGINE = Log', 'CREATE TABLE b\n(y UInt8)\nENGINE = Log']);
    expect(splitStatements('SELECT 1')).toEqual(['SELECT 1']);
  });

  it('attaches an unless-table guard to the statement that follows it only', () => {
    expect(
      parseStatements(
        '-- unless-table: old_a\nRENAME TABLE a TO old_a;\n-- plain comment\nCREATE TABLE IF NOT EXISTS b (y UInt8) ENGINE = Log;\n' +
          '-- unless-table: a\n-- another comment\nRENAME TABLE a_new\nTO a;\n',
      ),
    ).toEqual([
      { sql: 'RENAME TABLE a TO old_a', unlessTable: 'old_a' },
      { sql: 'CREATE TABLE IF NOT EXISTS b (y UInt8) ENGINE = Log' },
      { sql: 'RENAME TABLE a_new\nTO a', unlessTable: 'a' },
    ]);
  });

  it('finds and orders the repository migrations; every statement is idempotent', async () => {
    expect(defaultMigrationsDir()).toMatch(/deploy\/clickhouse\/migrations$/);
    const ms = await loadMigrations();
    expect(ms.map((m) => `${m.version}_${m.name}`)).toEqual([
      '1_scores',
      '2_evaluator_inbox',
      '3_tenant_runs',
      '4_live_updates',
      '5_raw_items_retention',
      '6_erasures',
      '7_run_facts',
    ]);
    for (const m of ms) {
      expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
      for (const s of m.statements) {
        // re-runnable: IF NOT EXISTS, an ADD COLUMN (code 44 counts as done), or guarded
        const idempotent =
          /^CREATE TABLE IF NOT EXISTS /.test(s.sql) ||
          /^ALTER TABLE \w+ ADD COLUMN /.test(s.sql) ||
          s.unlessTable !== undefined;
        expect(idempotent, s.sql).toBe(true);
        // nothing newer than ClickHouse 18.16
        expect(s.sql).not.toMatch(/LowCardinality|DateTime64|\bTTL\b|\{[a-z_]+:[A-Za-z]/);
      }
    }
  });
});
