import { describe, expect, it } from 'vitest';
import { ident, sql, sqlArray, sqlIdentifier, sqlJoin, sqlNumber, sqlString, sqlValue } from './sql.js';

describe('sqlString', () => {
  it('quotes and escapes quotes, backslashes and control characters', () => {
    expect(sqlString('plain')).toBe("'plain'");
    expect(sqlString("O'Brien")).toBe("'O\\'Brien'");
    expect(sqlString('back\\slash')).toBe("'back\\\\slash'");
    expect(sqlString('a\nb\rc\td')).toBe("'a\\nb\\rc\\td'");
    expect(sqlString('nul\0byte')).toBe("'nul\\0byte'");
    expect(sqlString('bell\u0007 del\u007f')).toBe("'bell\\x07 del\\x7f'");
    expect(sqlString('')).toBe("''");
  });

  it('passes unicode through and replaces lone surrogates', () => {
    expect(sqlString('café 😀 日本')).toBe("'café 😀 日本'");
    expect(sqlString('bad\ud800x')).toBe("'bad\ufffdx'");
  });

  it('neutralises injection attempts', () => {
    const attacks = [
      "x' OR 1=1 --",
      "'; DROP TABLE runs; --",
      "\\'; DROP TABLE runs; --",
      "\\\\'; SELECT 1",
      'x\\',
      "'\n' UNION ALL SELECT * FROM system.users --",
    ];
    for (const a of attacks) {
      const lit = sqlString(a);
      // the literal is one token: no unescaped quote inside it
      const inner = lit.slice(1, -1);
      expect(inner.replace(/\\./g, '')).not.toContain("'");
      expect(lit.endsWith("'")).toBe(true);
      // the literal never ends in an escaping backslash
      expect(/(^|[^\\])(\\\\)*\\'$/.test(lit)).toBe(false);
    }
  });
});

describe('sqlNumber / sqlArray / sqlIdentifier / sqlValue', () => {
  it('binds finite numbers only', () => {
    expect(sqlNumber(42)).toBe('42');
    expect(sqlNumber(-0.5)).toBe('-0.5');
    expect(sqlNumber(1e-7)).toBe('1e-7');
    expect(sqlNumber(-0)).toBe('0');
    expect(sqlNumber(12345678901234567890n)).toBe('12345678901234567890');
    expect(() => sqlNumber(Number.NaN)).toThrow(/NaN/);
    expect(() => sqlNumber(Number.POSITIVE_INFINITY)).toThrow(/Infinity/);
  });

  it('builds arrays', () => {
    expect(sqlArray(['a', "b'c"])).toBe("['a', 'b\\'c']");
    expect(sqlArray([1, 2.5])).toBe('[1, 2.5]');
    expect(sqlArray([])).toBe('[]');
    expect(sqlArray([['x'], []])).toBe("[['x'], []]");
  });

  it('validates and back-quotes identifiers', () => {
    expect(sqlIdentifier('runs')).toBe('`runs`');
    expect(sqlIdentifier('it_eval_1.runs')).toBe('`it_eval_1`.`runs`');
    expect(sqlIdentifier('db', 'runs')).toBe('`db`.`runs`');
    for (const bad of ['', 'a-b', 'x`y', 'runs; DROP', '1abc', 'a b', 'é']) {
      expect(() => sqlIdentifier(bad), bad).toThrow(/invalid SQL identifier|empty/);
    }
  });

  it('maps values by type', () => {
    expect(sqlValue(null)).toBe('NULL');
    expect(sqlValue(undefined)).toBe('NULL');
    expect(sqlValue(true)).toBe('1');
    expect(sqlValue(false)).toBe('0');
    expect(() => sqlValue({} as never)).toThrow(/cannot bind/);
  });
});

describe('sql tagged template', () => {
  it('escapes every interpolated value and nests fragments', () => {
    const runId = "r1' OR '1'='1";
    const where = sql`run_id = ${runId} AND n > ${3}`;
    const q = sql`SELECT * FROM ${ident('db', 'runs')} WHERE ${where} AND has(${['a', 'b']}, tag)`;
    expect(q.text).toBe(
      "SELECT * FROM `db`.`runs` WHERE run_id = 'r1\\' OR \\'1\\'=\\'1' AND n > 3 AND has(['a', 'b'], tag)",
    );
    expect(String(q)).toBe(q.text);
  });

  it('joins fragments with safe separators only', () => {
    expect(sqlJoin([sql`a = ${1}`, sql`b = ${'x'}`], ' AND ').text).toBe("a = 1 AND b = 'x'");
    expect(() => sqlJoin([], '; DROP TABLE x; ')).toThrow(/separator/);
  });
});
