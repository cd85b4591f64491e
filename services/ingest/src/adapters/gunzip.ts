import { Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** Content codings a request body may have: `identity` (or none) and gzip. */
export type BodyCoding = 'identity' | 'gzip' | 'unsupported';

/** The coding a `Content-Encoding` header names (`gzip` and its alias `x-gzip`, any case). */
export function bodyCodingOf(header: string | string[] | undefined): BodyCoding {
  if (header === undefined) return 'identity';
  if (Array.isArray(header)) return 'unsupported';
  const v = header.trim().toLowerCase();
  if (v === '' || v === 'identity') return 'identity';
  if (v === 'gzip' || v === 'x-gzip') return 'gzip';
  return 'unsupported';
}

/** The inflated body went past the limit (HTTP 413). */
export class InflatedTooLargeError extends Error {
  readonly statusCode = 413;
  readonly code = 'PS_INFLATED_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`request body is larger than ${limit} bytes once decompressed`);
  }
}

/** The body is not a valid gzip stream (HTTP 400). */
export class BadGzipError extends Error {
  readonly statusCode = 400;
  readonly code = 'PS_BAD_GZIP';
  constructor(cause: Error) {
    super(`body is not valid gzip (Content-Encoding: gzip): ${cause.message}`);
  }
}

export interface GunzipStats {
  /** Compressed bytes read from the request. */
  encoded: number;
  /** Bytes the inflater produced and this stream took in (at most the limit + one inflater chunk). */
  inflated: number;
}

/** A readable of the inflated body, as fastify's `preParsing` hook returns it. */
export type InflatingStream = Transform & { readonly receivedEncodedLength: number };

const CHUNK = 16 * 1024;

/**
 * Inflates a gzip request body as a stream, never past `limit` inflated bytes: the inflater works in
 * 16 KiB chunks under backpressure, and the first chunk that takes the total past the limit fails the
 * stream with `InflatedTooLargeError` and destroys the inflater — a 50 MB bomb of zeros is stopped
 * after about `limit` bytes, whatever its ratio. A corrupt or truncated stream fails with
 * `BadGzipError`. The request stream is left readable (unpiped and drained), so the error can still
 * be answered. `receivedEncodedLength` (the compressed bytes) is what fastify compares with
 * `Content-Length` and its own body limit. `done` is called once with the totals, however it ends.
 */
export function gunzipCapped(
  source: NodeJS.ReadableStream,
  limit: number,
  done?: (stats: GunzipStats) => void,
): InflatingStream {
  const stats: GunzipStats = { encoded: 0, inflated: 0 };
  const gunzip = createGunzip({ chunkSize: CHUNK });
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    source.unpipe(gunzip);
    source.removeListener('data', countEncoded);
    gunzip.destroy();
    // drop what the client still sends, so that the answer can be written
    source.resume();
    done?.(stats);
  };
  const out = new Transform({
    readableHighWaterMark: CHUNK,
    writableHighWaterMark: CHUNK,
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      stats.inflated += chunk.length;
      if (stats.inflated > limit) {
        cb(new InflatedTooLargeError(limit));
        return;
      }
      cb(null, chunk);
    },
  }) as InflatingStream;
  Object.defineProperty(out, 'receivedEncodedLength', { get: () => stats.encoded });
  const countEncoded = (chunk: Buffer | string) => {
    stats.encoded += chunk.length;
  };
  source.on('data', countEncoded);
  gunzip.on('error', (err) => out.destroy(new BadGzipError(err)));
  source.on('error', (err) => out.destroy(err));
  out.on('error', finish);
  out.on('close', finish);
  out.on('end', finish);
  source.pipe(gunzip).pipe(out);
  return out;
}
