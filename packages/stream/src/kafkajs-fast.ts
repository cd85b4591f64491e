/**
 * Faster produce and fetch paths for kafkajs 2.2.4, byte-identical on the wire.
 *
 * kafkajs encodes each record through its generic `Encoder` (a Buffer per varint, one per record,
 * one per header, then copies into the batch, the partition, the topic and the request), computes
 * CRC-32C one byte at a time, and groups messages per partition with an O(n²) array spread. At
 * ~360-byte records that costs ~20 µs of CPU per record — more than generating the record.
 *
 * `loadKafkajs()` loads kafkajs with three of its internal modules replaced (through Node's CommonJS
 * module cache, before kafkajs captures them):
 * - `producer/groupMessagesPerPartition` — the same result, built in one linear pass;
 * - `protocol/requests/produce/v3/request` (v4–v7 reuse it) — uncompressed requests without
 *   per-message timestamps are written in one pass into one buffer with a table-driven
 *   (slicing-by-8) CRC-32C; anything else (compression, explicit timestamps, header arrays) falls
 *   back to kafkajs's own encoder. `kafkajs-fast.test.ts` checks the bytes against kafkajs's.
 * - `protocol/recordBatch/v0/decoder` (fetch responses) — uncompressed record batches decoded in one
 *   pass with the same output objects (`kafkajs-fast-consume.ts`); anything else goes to kafkajs's.
 * Only kafkajs 2.2.4 is patched; with any other version `loadKafkajs()` returns kafkajs untouched.
 */

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { varintSize, writeVarint } from '@personastream/contracts';
import { fastRecordBatchDecoder } from './kafkajs-fast-consume.js';

type KafkaJs = typeof import('kafkajs');

/** The kafkajs version whose internals the fast path replaces. */
export const PATCHED_KAFKAJS_VERSION = '2.2.4';

const require = createRequire(import.meta.url);
let loaded: KafkaJs | undefined;
let patched = false;

/** kafkajs, with the fast produce path installed when its version is the patched one. */
export function loadKafkajs(): KafkaJs {
  if (loaded) return loaded;
  const main = require.resolve('kafkajs');
  const root = dirname(main);
  const version = (require(join(root, 'package.json')) as { version: string }).version;
  if (version === PATCHED_KAFKAJS_VERSION) {
    replaceModule(join(root, 'src/producer/groupMessagesPerPartition.js'), () => groupMessagesPerPartition);
    replaceModule(join(root, 'src/protocol/requests/produce/v3/request.js'), (original) =>
      fastProduceRequest(original as ProduceRequestFactory),
    );
    replaceModule(join(root, 'src/protocol/recordBatch/v0/decoder.js'), (original) =>
      fastRecordBatchDecoder(original as Parameters<typeof fastRecordBatchDecoder>[0]),
    );
    patched = true;
  }
  loaded = require(main) as KafkaJs;
  return loaded;
}

/** True when `loadKafkajs()` installed the fast path. */
export function fastPathInstalled(): boolean {
  return patched;
}

/** Replaces the exports of a CommonJS module (loading it first) with `make(original exports)`. */
function replaceModule(filename: string, make: (original: unknown) => unknown): void {
  const original = require(filename) as unknown;
  const cached = require.cache[filename];
  if (!cached) throw new Error(`kafkajs fast path: ${filename} is not in the module cache`);
  cached.exports = make(original);
}

// ------------------------------------------------------------------------------------------------
// groupMessagesPerPartition

interface PartitionerArgs {
  topic: string;
  partitionMetadata: unknown[];
  message: unknown;
}

/** kafkajs's `groupMessagesPerPartition`, linear instead of quadratic. */
export function groupMessagesPerPartition({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: {
  topic: string;
  partitionMetadata: unknown[];
  messages: unknown[];
  partitioner: (args: PartitionerArgs) => number;
}): Record<number, unknown[]> {
  const result: Record<number, unknown[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const current = result[partition];
    if (current) current.push(message);
    else result[partition] = [message];
  }
  return result;
}

// ------------------------------------------------------------------------------------------------
// Produce request (v3 layout, used by v3–v7)

/** A message as kafkajs hands it to the produce request. */
export interface ProduceMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, unknown>;
  timestamp?: string | number;
}

export interface ProduceTopicData {
  topic: string;
  partitions: { partition: number; firstSequence?: number; messages: ProduceMessage[] }[];
}

export interface ProduceRequestArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: ProduceTopicData[];
}

interface KafkajsRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  expectResponse: () => boolean;
  encode: () => Promise<unknown>;
}

type ProduceRequestFactory = ((args: ProduceRequestArgs) => KafkajsRequest) & { original?: ProduceRequestFactory };

/** Wraps kafkajs's v3 produce request: same request object, faster `encode` when it applies. */
function fastProduceRequest(original: ProduceRequestFactory): ProduceRequestFactory {
  const Encoder = require(join(dirname(require.resolve('kafkajs')), 'src/protocol/encoder.js')) as EncoderClass;
  const Long = require(join(dirname(require.resolve('kafkajs')), 'src/utils/long.js')) as LongClass;
  const fast: ProduceRequestFactory = (args) => {
    const request = original(args);
    if (!canEncodeFast(args)) return request;
    return {
      ...request,
      encode: async () => {
        const buf = encodeProduceRequest(args, (v) => Long.fromValue(v ?? -1).value);
        const encoder = new Encoder(0);
        encoder.buf = buf;
        encoder.offset = buf.length;
        return encoder;
      },
    };
  };
  fast.original = original;
  return fast;
}

interface EncoderInstance {
  buf: Buffer;
  offset: number;
}
type EncoderClass = new (initialSize?: number) => EncoderInstance;
type LongClass = { fromValue(v: unknown): { value: bigint } };

/** True when every message can take the one-pass encoder (no compression, timestamps or header arrays). */
export function canEncodeFast(args: ProduceRequestArgs): boolean {
  if ((args.compression ?? 0) !== 0) return false;
  for (const t of args.topicData) {
    for (const p of t.partitions) {
      for (const m of p.messages) {
        if (m.timestamp != null) return false;
        if (!isBytesLike(m.value) || (m.key != null && !isBytesLike(m.key))) return false;
        if (m.headers) {
          for (const k in m.headers) {
            const v = m.headers[k];
            if (v === null || !isBytesLike(v)) return false; // kafkajs rejects null header values itself
          }
        }
      }
    }
  }
  return true;
}

function isBytesLike(v: unknown): v is Buffer | string | null {
  return v === null || typeof v === 'string' || Buffer.isBuffer(v);
}

const MAGIC_BYTE = 2;
const TRANSACTIONAL = 16;
/** Bytes of a record batch before its records: offset, length, epoch, magic, crc, attributes … count. */
const BATCH_HEADER = 8 + 4 + 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
/** Offset of the attributes field (start of the CRC'd part) inside a record batch. */
const CRC_START = 8 + 4 + 4 + 1 + 4;

/**
 * Encodes the body of a Produce request (v3 layout: transactional id, acks, timeout, topics →
 * partitions → record batch v2) in one buffer, exactly as kafkajs 2.2.4 does for uncompressed
 * messages without timestamps (every record's timestamp delta 0, batch timestamps `now`).
 */
export function encodeProduceRequest(
  args: ProduceRequestArgs,
  toBigInt: (v: unknown) => bigint,
  now: number = Date.now(),
): Buffer {
  const txId = args.transactionalId ?? null;
  // sizes first: one allocation, no copies
  let size = 2 + (txId === null ? 0 : Buffer.byteLength(txId)) + 2 + 4 + 4;
  const recordSizes: number[] = [];
  for (const t of args.topicData) {
    size += 2 + Buffer.byteLength(t.topic) + 4;
    for (const p of t.partitions) {
      size += 4 + 4 + BATCH_HEADER;
      let offsetDelta = 0;
      for (const m of p.messages) {
        const body = recordBodySize(m, offsetDelta++);
        recordSizes.push(body);
        size += varIntSize(body) + body;
      }
    }
  }
  const buf = Buffer.allocUnsafe(size);
  let o = 0;
  if (txId === null) o = buf.writeInt16BE(-1, o);
  else {
    o = buf.writeInt16BE(Buffer.byteLength(txId), o);
    o += buf.write(txId, o);
  }
  o = buf.writeInt16BE(args.acks, o);
  o = buf.writeInt32BE(args.timeout, o);
  o = buf.writeInt32BE(args.topicData.length, o);
  const producerId = toBigInt(args.producerId);
  // no compression, create time; kafkajs marks batches of a transactional producer transactional
  const attributes = txId ? TRANSACTIONAL : 0;
  const nowBig = BigInt(now);
  let r = 0;
  for (const t of args.topicData) {
    o = buf.writeInt16BE(Buffer.byteLength(t.topic), o);
    o += buf.write(t.topic, o);
    o = buf.writeInt32BE(t.partitions.length, o);
    for (const p of t.partitions) {
      o = buf.writeInt32BE(p.partition, o);
      const sizeAt = o;
      o += 4;
      const batchStart = o;
      o = buf.writeBigInt64BE(0n, o); // first offset
      o += 4; // batch length, below
      o = buf.writeInt32BE(0, o); // partition leader epoch
      o = buf.writeInt8(MAGIC_BYTE, o);
      const crcAt = o;
      o += 4;
      o = buf.writeInt16BE(attributes, o);
      o = buf.writeInt32BE(p.messages.length - 1, o); // last offset delta
      o = buf.writeBigInt64BE(nowBig, o); // first timestamp
      o = buf.writeBigInt64BE(nowBig, o); // max timestamp
      o = buf.writeBigInt64BE(producerId, o);
      o = buf.writeInt16BE(args.producerEpoch ?? 0, o);
      o = buf.writeInt32BE(p.firstSequence ?? 0, o);
      o = buf.writeInt32BE(p.messages.length, o);
      let offsetDelta = 0;
      for (const m of p.messages) o = writeRecord(buf, o, m, recordSizes[r++] as number, offsetDelta++);
      buf.writeInt32BE(o - batchStart, sizeAt);
      buf.writeInt32BE(o - batchStart - 12, batchStart + 8);
      buf.writeUInt32BE(crc32c(buf, batchStart + CRC_START, o), crcAt);
    }
  }
  if (o !== size) throw new Error(`produce request encoder: wrote ${o} of ${size} bytes`);
  return buf;
}

function bytesLength(v: Buffer | string): number {
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

function varBytesSize(v: Buffer | string | null | undefined): number {
  if (v == null) return 1; // varint -1
  const n = bytesLength(v);
  return varIntSize(n) + n;
}

function recordBodySize(m: ProduceMessage, offsetDelta: number): number {
  let size = 1 + 1 + varIntSize(offsetDelta) + varBytesSize(m.key) + varBytesSize(m.value);
  let headers = 0;
  if (m.headers) {
    for (const k in m.headers) {
      headers++;
      const klen = Buffer.byteLength(k);
      size += varIntSize(klen) + klen + varBytesSize(m.headers[k] as Buffer | string | null);
    }
  }
  return size + varIntSize(headers);
}

function writeRecord(buf: Buffer, o: number, m: ProduceMessage, body: number, offsetDelta: number): number {
  o = writeVarInt(buf, o, body);
  buf[o++] = 0; // attributes
  buf[o++] = 0; // timestamp delta (varlong 0)
  o = writeVarInt(buf, o, offsetDelta);
  o = writeVarBytes(buf, o, m.key);
  o = writeVarBytes(buf, o, m.value);
  if (!m.headers) {
    buf[o++] = 0;
    return o;
  }
  let n = 0;
  for (const _ in m.headers) n++;
  o = writeVarInt(buf, o, n);
  for (const k in m.headers) {
    o = writeVarBytes(buf, o, k);
    o = writeVarBytes(buf, o, m.headers[k] as Buffer | string | null);
  }
  return o;
}

function writeVarBytes(buf: Buffer, o: number, v: Buffer | string | null | undefined): number {
  if (v == null) return writeVarInt(buf, o, -1);
  if (typeof v === 'string') {
    const n = Buffer.byteLength(v);
    o = writeVarInt(buf, o, n);
    return o + buf.write(v, o);
  }
  o = writeVarInt(buf, o, v.length);
  return o + v.copy(buf, o);
}

/**
 * Kafka's signed varints: zig-zag (0, −1, 1, −2, … → 0, 1, 2, 3, …), then the plain varint of
 * `@personastream/contracts`. Values fit in 32 bits.
 */
function zigzag(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

/** Bytes of a zig-zag varint. */
export function varIntSize(value: number): number {
  return varintSize(zigzag(value));
}

function writeVarInt(buf: Buffer, o: number, value: number): number {
  return writeVarint(buf, o, zigzag(value));
}

// ------------------------------------------------------------------------------------------------
// CRC-32C (Castagnoli), slicing-by-8

/** Eight 256-entry tables in one array (table t at t * 256): one flat array is what V8 does best. */
const CRC_TABLE = makeCrcTable();

function makeCrcTable(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i] as number;
    for (let k = 1; k < 8; k++) {
      c = (t[c & 0xff] as number) ^ (c >>> 8);
      t[k * 256 + i] = c;
    }
  }
  return t;
}

/** CRC-32C of `buf[start, end)`, as an unsigned 32-bit number. */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  const t = CRC_TABLE;
  let crc = -1;
  let i = start;
  const end8 = start + ((end - start) & ~7);
  while (i < end8) {
    const a =
      crc ^
      ((buf[i] as number) |
        ((buf[i + 1] as number) << 8) |
        ((buf[i + 2] as number) << 16) |
        ((buf[i + 3] as number) << 24));
    crc =
      (t[1792 + (a & 0xff)] as number) ^
      (t[1536 + ((a >>> 8) & 0xff)] as number) ^
      (t[1280 + ((a >>> 16) & 0xff)] as number) ^
      (t[1024 + (a >>> 24)] as number) ^
      (t[768 + (buf[i + 4] as number)] as number) ^
      (t[512 + (buf[i + 5] as number)] as number) ^
      (t[256 + (buf[i + 6] as number)] as number) ^
      (t[buf[i + 7] as number] as number);
    i += 8;
  }
  while (i < end) crc = (t[(crc ^ (buf[i++] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
