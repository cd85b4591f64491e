import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  canEncodeFast,
  crc32c,
  encodeProduceRequest,
  fastPathInstalled,
  groupMessagesPerPartition,
  loadKafkajs,
  type ProduceMessage,
  type ProduceRequestArgs,
  varIntSize,
} from './kafkajs-fast.js';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('kafkajs'));
type Factory = ((args: ProduceRequestArgs) => { encode(): Promise<{ buffer: Buffer }> }) & { original?: Factory };
const loadedV3 = require(join(root, 'src/protocol/requests/produce/v3/request.js')) as Factory;
/** kafkajs's own v3 produce request (the cache may already hold the fast one). */
const kafkajsV3 = loadedV3.original ?? loadedV3;
const Long = require(join(root, 'src/utils/long.js')) as { fromValue(v: unknown): { value: bigint } };
const kafkajsCrc32c = require(join(root, 'src/protocol/recordBatch/crc32C/index.js')) as (b: Buffer) => number;

/** Deterministic pseudo-random numbers (tests must not depend on Math.random). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

function randomMessages(rand: () => number, n: number): ProduceMessage[] {
  return Array.from({ length: n }, (_, i) => {
    const size = Math.floor(rand() * (rand() < 0.05 ? 20000 : 400));
    const value = Buffer.alloc(size);
    for (let j = 0; j < size; j++) value[j] = Math.floor(rand() * 256);
    const m: ProduceMessage = {
      key: rand() < 0.1 ? null : rand() < 0.5 ? `tenant/ü${i}` : Buffer.from(`k${i}`),
      value,
    };
    if (rand() < 0.3) m.headers = { 'ps-malformed': '1', 'ps-reason': Buffer.from(`r€${i}`) };
    return m;
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('kafkajs fast produce path', () => {
  it('encodes produce requests byte for byte like kafkajs 2.2.4', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(1_780_000_000_123);
    const rand = rng(7);
    for (let round = 0; round < 20; round++) {
      const args: ProduceRequestArgs = {
        acks: round % 3 === 0 ? 1 : -1,
        timeout: 30000,
        transactionalId: round % 5 === 4 ? 'tx-ü' : undefined,
        producerId: round % 2 === 0 ? undefined : Long.fromValue(1234567890123),
        producerEpoch: round % 2,
        compression: 0,
        topicData: Array.from({ length: 1 + (round % 3) }, (_, t) => ({
          topic: `topic.${t}.${round}`,
          partitions: Array.from({ length: 1 + ((round + t) % 4) }, (_, p) => ({
            partition: p * 3 + t,
            firstSequence: round * 10 + p,
            messages: randomMessages(rand, 1 + Math.floor(rand() * (round === 7 ? 300 : 40))),
          })),
        })),
      };
      expect(canEncodeFast(args)).toBe(true);
      const expected = (await kafkajsV3(args).encode()).buffer;
      const actual = encodeProduceRequest(args, (v) => Long.fromValue(v ?? -1).value);
      expect(actual.equals(expected)).toBe(true);
    }
  });

  it('leaves compression, timestamps and null header values to kafkajs', () => {
    const base = { acks: -1, timeout: 1000 };
    const one = (m: ProduceMessage, compression = 0): ProduceRequestArgs => ({
      ...base,
      compression,
      topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [m] }] }],
    });
    expect(canEncodeFast(one({ key: 'k', value: Buffer.from('v') }))).toBe(true);
    expect(canEncodeFast(one({ key: 'k', value: Buffer.from('v') }, 2))).toBe(false);
    expect(canEncodeFast(one({ key: 'k', value: Buffer.from('v'), timestamp: '1' }))).toBe(false);
    expect(canEncodeFast(one({ key: 'k', value: Buffer.from('v'), headers: { a: null } }))).toBe(false);
    expect(canEncodeFast(one({ key: 'k', value: Buffer.from('v'), headers: { a: ['x', 'y'] } }))).toBe(false);
  });

  it('computes CRC-32C like kafkajs, at any offset and length', () => {
    const rand = rng(3);
    const buf = Buffer.alloc(1000);
    for (let i = 0; i < buf.length; i++) buf[i] = Math.floor(rand() * 256);
    for (const [s, e] of [
      [0, 0],
      [0, 1],
      [3, 10],
      [5, 1000],
      [0, 1000],
      [17, 530],
    ] as const)
      expect(crc32c(buf, s, e)).toBe(kafkajsCrc32c(buf.subarray(s, e)));
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283); // the standard check value
  });

  it('sizes zig-zag varints', () => {
    for (const [v, n] of [
      [0, 1],
      [-1, 1],
      [63, 1],
      [64, 2],
      [-65, 2],
      [8191, 2],
      [8192, 3],
      [2 ** 30, 5],
    ] as const)
      expect(varIntSize(v)).toBe(n);
  });

  it('groups messages per partition like kafkajs, in order', () => {
    const messages = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `${i}`, p: (i * 7) % 5 }));
    const args = {
      topic: 't',
      partitionMetadata: [{}, {}, {}, {}, {}],
      messages,
      partitioner: ({ message }: { topic: string; partitionMetadata: unknown[]; message: unknown }) =>
        (message as { p: number }).p,
    };
    // kafkajs 2.2.4's implementation, verbatim (the module cache may already hold the fast one)
    const kafkajsGroup = ({ topic, partitionMetadata, messages, partitioner }: typeof args) =>
      partitionMetadata.length === 0
        ? {}
        : messages.reduce<Record<number, unknown[]>>((result, message) => {
            const partition = partitioner({ topic, partitionMetadata, message });
            const current = result[partition] || [];
            return Object.assign(result, { [partition]: [...current, message] });
          }, {});
    expect(groupMessagesPerPartition(args)).toEqual(kafkajsGroup(args));
    expect(groupMessagesPerPartition({ ...args, partitionMetadata: [] })).toEqual({});
  });

  it('installs itself under kafkajs 2.2.4', () => {
    const kafkajs = loadKafkajs();
    expect(typeof kafkajs.Kafka).toBe('function');
    expect(fastPathInstalled()).toBe(true);
  });
});
