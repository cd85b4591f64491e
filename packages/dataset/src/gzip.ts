import { once } from 'node:events';
import type { Writable } from 'node:stream';
import * as zlib from 'node:zlib';

/** Fixed deflate level of dataset files (changing it changes every content hash). */
export const GZIP_LEVEL = 3;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

const nativeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 (IEEE) of `data`, continuing from `crc` (zlib.crc32 where Node has it). */
export function crc32(data: Uint8Array, crc = 0): number {
  if (nativeCrc32) return nativeCrc32(data, crc);
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = (CRC_TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A gzip member written with a fixed header (no name, mtime 0, OS 255 "unknown") around raw deflate
 * at GZIP_LEVEL, so the bytes depend only on the content (and the zlib build), not on the machine's
 * OS or the time. Every byte written to `out` also goes to `onBytes` (for hashing).
 */
export class DeterministicGzip {
  private readonly deflate: zlib.DeflateRaw;
  private crc = 0;
  private size = 0;
  private readonly done: Promise<void>;

  constructor(
    private readonly out: Writable,
    private readonly onBytes: (chunk: Uint8Array) => void,
    level = GZIP_LEVEL,
  ) {
    const xfl = level === 9 ? 2 : level === 1 ? 4 : 0;
    const header = Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]);
    this.emit(header);
    this.deflate = zlib.createDeflateRaw({
      level,
      memLevel: 8,
      windowBits: 15,
      chunkSize: 256 * 1024,
      strategy: zlib.constants.Z_DEFAULT_STRATEGY,
    });
    this.deflate.on('data', (chunk: Buffer) => this.emit(chunk));
    this.done = once(this.deflate, 'end').then(() => undefined);
  }

  private emit(chunk: Uint8Array): void {
    this.onBytes(chunk);
    if (!this.out.write(chunk)) this.deflate?.pause();
  }

  /** Resumes the deflate stream once the output drained (wired by the writer). */
  resume(): void {
    this.deflate.resume();
  }

  /** Writes uncompressed bytes; resolves when the deflate stream can take more. */
  async write(data: Uint8Array): Promise<void> {
    this.crc = crc32(data, this.crc);
    this.size = (this.size + data.length) % 0x100000000;
    if (!this.deflate.write(data)) await once(this.deflate, 'drain');
  }

  /** Finishes the member (deflate end + CRC/size trailer). Does not end `out`. */
  async end(): Promise<void> {
    this.deflate.end();
    await this.done;
    const trailer = new Uint8Array(8);
    const v = new DataView(trailer.buffer);
    v.setUint32(0, this.crc >>> 0, true);
    v.setUint32(4, this.size >>> 0, true);
    this.onBytes(trailer);
    this.out.write(trailer);
  }
}
