import { describe, expect, it } from 'vitest';
import { readRunId, runIdProblem } from './run-ids.js';
import type { FieldIssue } from './types.js';

describe('run ids', () => {
  it('takes 1..256 characters without control characters, not only spaces', () => {
    expect(runIdProblem('live')).toBeUndefined();
    expect(runIdProblem('bench-2025/01 a.b:c')).toBeUndefined();
    expect(runIdProblem('x'.repeat(256))).toBeUndefined();
    expect(runIdProblem('')).toMatch(/empty/);
    expect(runIdProblem('   ')).toMatch(/only spaces/);
    expect(runIdProblem('x'.repeat(257))).toMatch(/257 characters long; at most 256/);
    expect(runIdProblem('a\u0000b')).toMatch(/control character/);
    expect(runIdProblem('a\nb')).toMatch(/control character/);
    expect(runIdProblem('a\u007fb')).toMatch(/control character/);
  });

  it('reads an optional run id field with field errors', () => {
    const issues: FieldIssue[] = [];
    expect(readRunId(undefined, 'run_id', issues)).toBe('');
    expect(readRunId('r-1', 'run_id', issues)).toBe('r-1');
    expect(issues).toEqual([]);
    expect(readRunId(' ', 'run_id', issues)).toBe('');
    expect(readRunId('a\tb', 'run_id', issues)).toBe('');
    expect(readRunId(7, 'run_id', issues)).toBe('');
    expect(readRunId('y'.repeat(300), 'run_id', issues)).toBe('');
    expect(issues.map((i) => i.reason)).toEqual(['invalid_format', 'invalid_format', 'invalid_type', 'too_long']);
  });
});
