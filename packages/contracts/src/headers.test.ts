import { describe, expect, it } from 'vitest';
import { entryHeaders, entryMsOf, firstEntryMsOf, RecordHeaders } from './headers.js';

describe('entry-time header', () => {
  it('round-trips a wall-clock time through the record headers', () => {
    const t = 1_767_225_600_123;
    const h = entryHeaders(t);
    expect(h).toEqual({ [RecordHeaders.entryMs]: '1767225600123' });
    expect(entryMsOf(h)).toBe(t);
    expect(entryMsOf({ other: 'x', ...h })).toBe(t);
  });

  it('writes no header for an unknown time and reads unknown as 0', () => {
    for (const t of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) expect(entryHeaders(t)).toBeUndefined();
    expect(entryMsOf(undefined)).toBe(0);
    expect(entryMsOf({})).toBe(0);
    for (const v of ['', 'abc', '-1', '0', 'Infinity']) expect(entryMsOf({ [RecordHeaders.entryMs]: v })).toBe(0);
  });
});

describe('first-entry header', () => {
  it('travels beside the entry time and reads back on its own', () => {
    const h = entryHeaders(2_000, 1_500);
    expect(h).toEqual({ [RecordHeaders.entryMs]: '2000', [RecordHeaders.entryFirstMs]: '1500' });
    expect(entryMsOf(h)).toBe(2_000);
    expect(firstEntryMsOf(h)).toBe(1_500);
    expect(entryHeaders(0, 1_500)).toEqual({ [RecordHeaders.entryFirstMs]: '1500' });
    expect(firstEntryMsOf(entryHeaders(2_000))).toBe(0);
  });
});
