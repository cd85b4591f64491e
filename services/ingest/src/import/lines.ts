import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

/**
 * Streams the lines of a text file (gunzipped when it ends in `.gz`), reporting raw bytes read
 * through `onBytes`. Memory stays flat: one line at a time.
 */
export async function* readLines(
  path: string,
  opts: { encoding?: BufferEncoding; onBytes?: (n: number) => void } = {},
): AsyncGenerator<string> {
  const file = createReadStream(path);
  if (opts.onBytes) {
    const report = opts.onBytes;
    file.on('data', (chunk) => report(chunk.length));
  }
  const input = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  if (input !== file) file.on('error', (e) => input.destroy(e));
  input.setEncoding(opts.encoding ?? 'utf8');
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
    file.destroy();
  }
}

/** Size of a file in bytes, 0 when it does not exist. */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Splits one CSV line (RFC 4180 quotes; the formats here rarely need them). */
export function splitCsv(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}
