import { describe, expect, it } from 'vitest';
import { chunkBySize, replicationProblem } from './kafka.js';

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

describe('replicationProblem', () => {
  const prod = { replicationFactor: 3, minInsyncReplicas: 2 };

  it('accepts a topic with as many replicas and in-sync replicas as configured', () => {
    expect(replicationProblem('t', { replicas: [3, 3, 4] }, prod)).toBeUndefined();
    expect(replicationProblem('t', { replicas: [3], minInsyncReplicas: 2 }, prod)).toBeUndefined();
    expect(replicationProblem('t', { replicas: [1, 1] }, { replicationFactor: 1 })).toBeUndefined();
  });

  it('names the topic and its replication factor when it has fewer replicas than required', () => {
    expect(replicationProblem('behavior.events.v1', { replicas: [3, 1, 3] }, prod)).toBe(
      'Kafka topic behavior.events.v1 has replication factor 1 (partition 1), below the 3 this service requires (KAFKA_REPLICATION_FACTOR): one broker lost could lose acknowledged records. Reassign it to 3 replicas, or set KAFKA_REPLICATION_FACTOR=1 on a single-broker dev cluster.',
    );
  });

  it('names the topic and its min.insync.replicas when it is lower than required', () => {
    expect(replicationProblem('t', { replicas: [3], minInsyncReplicas: 1 }, prod)).toBe(
      'Kafka topic t has min.insync.replicas 1, below the 2 this service requires (KAFKA_MIN_INSYNC_REPLICAS): acks=all would wait for 1 replica only. Set min.insync.replicas=2 on the topic.',
    );
    // not checked when the service does not require a minimum
    expect(replicationProblem('t', { replicas: [3], minInsyncReplicas: 1 }, { replicationFactor: 3 })).toBeUndefined();
  });
});
