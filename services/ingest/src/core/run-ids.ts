import { readString } from './fields.js';
import { type FieldIssue, LIMITS } from './types.js';

const ID = { max: LIMITS.id };

/** True when `s` has a C0 control character or DEL (run ids end up in Redis keys, log lines and record keys). */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * Why `runId` is not a valid run id, or undefined when it is. A run id is 1 to 256 characters, not
 * only spaces, without control characters. The same rule holds for an event's `run_id`, a batch's
 * `run_id`, the `:runId` of the end-of-run route and `INGEST_DEFAULT_RUN_ID`.
 */
export function runIdProblem(runId: string): string | undefined {
  if (runId.trim() === '') return 'is empty or only spaces';
  if (runId.length > LIMITS.id) return `is ${runId.length} characters long; at most ${LIMITS.id}`;
  if (hasControl(runId)) return 'contains a control character';
  return undefined;
}

/**
 * Reads an optional run id field (`''` when absent): a string up to 256 characters (`too_long`),
 * and when present not blank and free of control characters (`invalid_format`).
 */
export function readRunId(v: unknown, field: string, issues: FieldIssue[]): string {
  const s = readString(v, field, issues, ID);
  if (s !== '' && runIdProblem(s) !== undefined) {
    issues.push({ field, reason: 'invalid_format' });
    return '';
  }
  return s;
}
