import { describe, expect, it } from 'vitest';
import { lastJsonLine } from './loadtest.js';

const run = (json: boolean, chunks: string[]) => {
  let out = '';
  const f = lastJsonLine(json, (s) => {
    out += s;
  });
  for (const c of chunks) f.push(c);
  f.end();
  return out;
};

describe('loadtest output', () => {
  it('keeps the JSON summary as the last line with --json and leaves it out without', () => {
    const chunks = ['figures: 1', '0 events/s\nmore\n{"a":', '1}\n'];
    expect(run(true, chunks)).toBe('figures: 10 events/s\nmore\n{"a":1}\n');
    expect(run(false, chunks)).toBe('figures: 10 events/s\nmore\n');
  });

  it('prints a last line that is no JSON object either way, and an unterminated last line', () => {
    expect(run(false, ['a\n', 'done\n'])).toBe('a\ndone\n');
    expect(run(true, ['{"x":1}\nnot json'])).toBe('{"x":1}\nnot json\n');
    expect(run(false, ['{"x":1}'])).toBe('');
    expect(run(true, [])).toBe('');
  });
});
