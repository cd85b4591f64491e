import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRecordBatch, fastRecordBatchDecoder, type KafkajsDecoder } from './kafkajs-fast-consume.js';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('kafkajs'));
const Decoder = require(join(root, 'src/protocol/decoder.js')) as new (b: Buffer) => KafkajsDecoder;
type BatchDecoder = ((d: KafkajsDecoder) => Promise<Record<string, unknown>>) & { original?: BatchDecoder };
const loaded = require(join(root, 'src/protocol/recordBatch/v0/decoder.js')) as BatchDecoder;
/** kafkajs's own decoder (the module cache may already hold the fast one). */
const kafkajsDecode = loaded.original ?? loaded;
const { RecordBatch } = require(join(root, 'src/protocol/recordBatch/v0/index.js')) as {
  RecordBatch: (args: Record<string, unknown>) => Promise<{ buffer: Buffer }>;
};
const Record = require(join(root, 'src/protocol/recordBatch/record/v0/index.js')) as (
  args: Record<string, unknown>,
) => unknown;
const Long = require(join(root, 'src/utils/long.js')) as { fromValue(v: unknown): unknown };

interface Msg {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | Buffer[]>;
  timestampDelta?: number;
}

/** A record batch encoded by kafkajs itself. */
async function batchBytes(messages: Msg[], opts: Record<string, unknown> = {}): Promise<Buffer> {
  const records = messages.map((m, i) =>
    Record({
      offsetDelta: i,
      timestampDelta: Long.fromValue(m.timestampDelta ?? i * 3),
      key: m.key,
      value: m.value,
      headers: m.headers ?? {},
    }),
  );
  const batch = await RecordBatch({
    firstOffset: '1234567',
    firstTimestamp: 1_772_000_000_000,
    maxTimestamp: 1_772_000_009_999,
    lastOffsetDelta: messages.length - 1,
    records,
    ...opts,
  });
  return batch.buffer;
}

/** Both decoders over the same bytes (two batches back to back, as in a fetch response). */
async function both(buf: Buffer) {
  const twice = Buffer.concat([buf, buf]);
  const a = new Decoder(twice);
  const b = new Decoder(twice);
  const fast = fastRecordBatchDecoder(kafkajsDecode);
  const expected = [await kafkajsDecode(a), await kafkajsDecode(a)];
  const actual = [await fast(b), await fast(b)];
  return { expected, actual, offsets: [a.offset, b.offset] };
}

describe('fast record batch decoder', () => {
  it('returns what kafkajs returns: offsets, timestamps, keys, values, null keys, repeated headers', async () => {
    const messages: Msg[] = [
      { key: Buffer.from('demo/u1'), value: Buffer.from([1, 2, 3]) },
      { key: null, value: Buffer.from('x'), headers: { 'ps-entry-ms': Buffer.from('17') } },
      {
        key: Buffer.from('ü/é'),
        value: null,
        headers: { a: [Buffer.from('1'), Buffer.from('2')], b: Buffer.from('') },
      },
      { key: Buffer.alloc(0), value: Buffer.alloc(70_000, 7), timestampDelta: -5 },
      { key: Buffer.from('k'), value: Buffer.from('v'), timestampDelta: 2 ** 40 },
    ];
    const buf = await batchBytes(messages);
    expect(decodeRecordBatch(buf, 0)?.end).toBe(buf.length); // decoded by the fast path, not handed back
    const { expected, actual, offsets } = await both(buf);
    expect(actual).toEqual(expected);
    expect(offsets[1]).toBe(offsets[0]);
    const records = (actual[0] as { records: { offset: string; timestamp: string; key: Buffer | null }[] }).records;
    expect(records.map((r) => r.offset)).toEqual(['1234567', '1234568', '1234569', '1234570', '1234571']);
    expect(records[3]?.timestamp).toBe(String(1_772_000_000_000 - 5));
    expect(records[1]?.key).toBeNull();
  });

  it('decodes a large uncompressed batch itself, and leaves compressed, partial and log-append-time batches to kafkajs where it must', async () => {
    const many = Array.from(
      { length: 500 },
      (_, i): Msg => ({
        key: Buffer.from(`t/u${i % 7}`),
        value: Buffer.alloc(300, i),
        headers: i % 3 === 0 ? { h: Buffer.from(String(i)) } : {},
      }),
    );
    const buf = await batchBytes(many);
    expect(decodeRecordBatch(buf, 0)?.end).toBe(buf.length);
    const { expected, actual } = await both(buf);
    expect(actual).toEqual(expected);

    // log-append time: every record takes the batch's max timestamp
    const appendTime = await batchBytes(many.slice(0, 3));
    appendTime.writeInt16BE(appendTime.readInt16BE(21) | 0x08, 21);
    const r = await both(appendTime);
    expect(r.actual).toEqual(r.expected);

    // compressed (codec bits set): not ours
    const gzip = Buffer.from(buf);
    gzip.writeInt16BE(gzip.readInt16BE(21) | 0x01, 21);
    expect(decodeRecordBatch(gzip, 0)).toBeUndefined();

    // partial: kafkajs throws its partial-message error, through the fast decoder too
    const partial = buf.subarray(0, buf.length - 10);
    expect(decodeRecordBatch(partial, 0)).toBeUndefined();
    await expect(fastRecordBatchDecoder(kafkajsDecode)(new Decoder(Buffer.from(partial)))).rejects.toMatchObject({
      name: 'KafkaJSPartialMessageError',
    });
  });
});
