import { describe, expect, it } from 'vitest';
import { chunkBySize } from './kafka.js';

describe('chunkBySize', () => {
  it('keeps order, never splits a record, and bounds each chunk', () => {
    const records = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: new Uint8Array(300) }));
    const chunks = chunkBySize(records, 1000);
    expect(chunks.flat()).toEqual(records);
    for (const c of chunks)
      expect(c.reduce((a, r) => a + r.value.byteLength + r.key.length + 64, 0)).toBeLessThanOrEqual(1000);
    expect(chunkBySize([{ key: 'big', value: new Uint8Array(5000) }], 1000)).toHaveLength(1);
  });
});
