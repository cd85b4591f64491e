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

describe('chunkBySize per partition', () => {
  it('bounds each partition of a chunk and the chunk as a whole', () => {
    const records = Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: new Uint8Array(300), p: i % 4 }));
    const size = (rs: typeof records) => rs.reduce((a, r) => a + r.value.byteLength + r.key.length + 64, 0);
    const chunks = chunkBySize(records, 1000, (r) => r.p);
    expect(chunks.flat()).toEqual(records);
    // four partitions of at most 1000 bytes each: ~2 records per partition, ~8 per chunk
    expect(chunks.length).toBeLessThan(chunkBySize(records, 1000).length);
    for (const c of chunks)
      for (let p = 0; p < 4; p++) expect(size(c.filter((r) => r.p === p))).toBeLessThanOrEqual(1000);
    for (const c of chunkBySize(records, 1000, (r) => r.p, 2500)) expect(size(c)).toBeLessThanOrEqual(2500);
  });
});
