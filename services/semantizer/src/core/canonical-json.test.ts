import { canonicalEventJson } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { edgeCaseEvents } from '../testing/edge-events.js';
import { generateEvents } from '../testing/generator.js';
import { canonicalEventJsonBytes, fastCanonicalEventJson, lastLineByteLength } from './canonical-json.js';

describe('fastCanonicalEventJson', () => {
  it('equals canonicalEventJson on generated events', () => {
    for (const e of generateEvents({ users: 5, days: 3, seed: 7 })) {
      const line = fastCanonicalEventJson(e);
      expect(line).toBe(canonicalEventJson(e));
      expect(lastLineByteLength(line)).toBe(Buffer.byteLength(line));
      expect(canonicalEventJsonBytes(e)).toBe(Buffer.byteLength(line));
    }
  });

  it('equals canonicalEventJson on random edge-case events', () => {
    for (const e of edgeCaseEvents(3, 3000)) {
      const line = fastCanonicalEventJson(e);
      expect(line).toBe(canonicalEventJson(e));
      expect(lastLineByteLength(line)).toBe(Buffer.byteLength(line));
      expect(canonicalEventJsonBytes(e)).toBe(Buffer.byteLength(line));
    }
  });
});
