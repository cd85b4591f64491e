import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { fromJsonString, toJsonString } from '@bufbuild/protobuf';
import {
  type BehaviorEvent,
  BehaviorEventSchema,
  canonicalEventJson,
  ErrorCode,
  type GroundTruth,
  GroundTruthSchema,
  PersonaStreamError,
} from '@personastream/contracts';
import { DeterministicGzip } from './gzip.js';

export const DATASET_FORMAT = 'personastream-dataset';
export const DATASET_VERSION = 1;
export const EVENTS_FILE = 'events.jsonl.gz';
export const TRUTH_FILE = 'truth.jsonl';
export const MANIFEST_FILE = 'manifest.json';

/** What the producer of a dataset says about it; counts and hashes are added by the writer. */
export interface DatasetManifestBase {
  /** Where the data comes from, e.g. "simulator" or "retailrocket". */
  source: string;
  /** License of the data, e.g. "CC0-1.0". */
  license: string;
  /** Configuration that produced the data (the simulator config, import options…). */
  config?: unknown;
  /** Persona dimensions the truth file labels (empty when there is no truth). */
  labelledDimensions: string[];
  /** Free-form description. */
  description?: string;
}

export interface DatasetManifest extends DatasetManifestBase {
  format: typeof DATASET_FORMAT;
  version: typeof DATASET_VERSION;
  counts: { users: number; events: number; truths: number };
  /**
   * sha256 (hex) of each file's bytes, plus `events.jsonl`: the uncompressed event lines (stable even
   * where a different zlib build compresses differently).
   */
  hashes: { 'events.jsonl.gz': string; 'truth.jsonl': string; 'events.jsonl': string };
}

/** A record for `writeDataset`. Malformed records are accepted and skipped (files hold valid events only). */
export type DatasetRecord =
  | { kind: 'event'; event: BehaviorEvent }
  /** An event already rendered as its canonical JSON line (no newline); must equal `canonicalEventJson`. */
  | { kind: 'event-json'; json: string; userId: string }
  | { kind: 'truth'; truth: GroundTruth }
  | { kind: 'malformed' };

const CHUNK = 1024 * 1024;

function drained(s: WriteStream): Promise<void> {
  return s.writableNeedDrain ? once(s, 'drain').then(() => undefined) : Promise.resolve();
}

/**
 * A streaming writer of the canonical layout: memory stays flat however much is written. Call
 * `finish` once to close the files and write the manifest.
 */
export class DatasetWriter {
  private readonly eventsOut: WriteStream;
  private readonly truthOut: WriteStream;
  private readonly gz: DeterministicGzip;
  private readonly gzHash: Hash = createHash('sha256');
  private readonly rawHash: Hash = createHash('sha256');
  private readonly truthHash: Hash = createHash('sha256');
  private eventBuf = '';
  private truthBuf = '';
  private readonly users = new Set<string>();
  private events = 0;
  private truths = 0;
  private finished = false;

  private constructor(readonly dir: string) {
    this.eventsOut = createWriteStream(join(dir, EVENTS_FILE));
    this.truthOut = createWriteStream(join(dir, TRUTH_FILE));
    this.gz = new DeterministicGzip(this.eventsOut, (c) => this.gzHash.update(c));
    this.eventsOut.on('drain', () => this.gz.resume());
  }

  /** Creates `dir` (if needed) and opens the files. */
  static async open(dir: string): Promise<DatasetWriter> {
    await mkdir(dir, { recursive: true });
    const w = new DatasetWriter(dir);
    await Promise.all([once(w.eventsOut, 'open'), once(w.truthOut, 'open')]);
    return w;
  }

  /** Appends canonical event JSON lines (without newlines) of one user; one await per call. */
  async writeEventLines(lines: readonly string[], userId: string): Promise<void> {
    if (lines.length === 0) return;
    this.users.add(userId);
    this.events += lines.length;
    let buf = this.eventBuf;
    for (const l of lines) buf += `${l}\n`;
    this.eventBuf = buf;
    if (buf.length >= CHUNK) await this.flushEvents();
  }

  /** Appends one canonical event JSON line (without newline). */
  async writeEventJson(json: string, userId: string): Promise<void> {
    this.users.add(userId);
    this.events++;
    this.eventBuf += `${json}\n`;
    if (this.eventBuf.length >= CHUNK) await this.flushEvents();
  }

  /** Appends one event (rendered with `canonicalEventJson`). */
  writeEvent(event: BehaviorEvent): Promise<void> {
    return this.writeEventJson(canonicalEventJson(event), event.userId);
  }

  /** Appends one ground truth (proto3 JSON). */
  async writeTruth(truth: GroundTruth): Promise<void> {
    this.users.add(truth.userId);
    this.truths++;
    this.truthBuf += `${toJsonString(GroundTruthSchema, truth)}\n`;
    if (this.truthBuf.length >= CHUNK) await this.flushTruth();
  }

  /** Appends a record of any kind (malformed ones are skipped). */
  write(r: DatasetRecord): Promise<void> {
    switch (r.kind) {
      case 'event':
        return this.writeEvent(r.event);
      case 'event-json':
        return this.writeEventJson(r.json, r.userId);
      case 'truth':
        return this.writeTruth(r.truth);
      default:
        return Promise.resolve();
    }
  }

  private async flushEvents(): Promise<void> {
    if (this.eventBuf.length === 0) return;
    const bytes = Buffer.from(this.eventBuf, 'utf8');
    this.eventBuf = '';
    this.rawHash.update(bytes);
    await this.gz.write(bytes);
  }

  private async flushTruth(): Promise<void> {
    if (this.truthBuf.length === 0) return;
    const bytes = Buffer.from(this.truthBuf, 'utf8');
    this.truthBuf = '';
    this.truthHash.update(bytes);
    this.truthOut.write(bytes);
    await drained(this.truthOut);
  }

  /** Flushes and closes the files, writes manifest.json and returns it. */
  async finish(base: DatasetManifestBase): Promise<DatasetManifest> {
    if (this.finished) throw new Error('dataset writer already finished');
    this.finished = true;
    await this.flushEvents();
    await this.flushTruth();
    await this.gz.end();
    this.eventsOut.end();
    this.truthOut.end();
    await Promise.all([once(this.eventsOut, 'close'), once(this.truthOut, 'close')]);
    const manifest: DatasetManifest = {
      format: DATASET_FORMAT,
      version: DATASET_VERSION,
      source: base.source,
      license: base.license,
      ...(base.description !== undefined ? { description: base.description } : {}),
      config: base.config ?? null,
      counts: { users: this.users.size, events: this.events, truths: this.truths },
      hashes: {
        'events.jsonl.gz': this.gzHash.digest('hex'),
        'truth.jsonl': this.truthHash.digest('hex'),
        'events.jsonl': this.rawHash.digest('hex'),
      },
      labelledDimensions: [...base.labelledDimensions],
    };
    await writeFile(join(this.dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  }

  /** Closes the files without writing a manifest (after an error). */
  async abort(): Promise<void> {
    this.finished = true;
    this.eventsOut.destroy();
    this.truthOut.destroy();
  }
}

/**
 * Writes a dataset from a (sync or async) stream of records, holding at most one chunk in memory.
 * Events are written in the order given (emission order: duplicates and out-of-order events kept).
 */
export async function writeDataset(
  dir: string,
  opts: { manifestBase: DatasetManifestBase; records: Iterable<DatasetRecord> | AsyncIterable<DatasetRecord> },
): Promise<DatasetManifest> {
  const w = await DatasetWriter.open(dir);
  try {
    for await (const r of opts.records) await w.write(r);
    return await w.finish(opts.manifestBase);
  } catch (err) {
    await w.abort();
    throw err;
  }
}

function bad(message: string): PersonaStreamError {
  return new PersonaStreamError(ErrorCode.InvalidArgument, message);
}

/** Reads and checks manifest.json of a dataset directory. */
export async function readDatasetManifest(dir: string): Promise<DatasetManifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new PersonaStreamError(
      ErrorCode.NotFound,
      `${path}: cannot read dataset manifest (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
  let m: Partial<DatasetManifest>;
  try {
    m = JSON.parse(text) as Partial<DatasetManifest>;
  } catch (err) {
    throw bad(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (m.format !== DATASET_FORMAT)
    throw bad(`${path}: format must be "${DATASET_FORMAT}" (got ${JSON.stringify(m.format)})`);
  if (m.version !== DATASET_VERSION)
    throw bad(`${path}: unsupported version ${JSON.stringify(m.version)} (this reader knows ${DATASET_VERSION})`);
  for (const k of ['users', 'events', 'truths'] as const)
    if (typeof m.counts?.[k] !== 'number') throw bad(`${path}: counts.${k} must be a number`);
  if (typeof m.hashes?.['events.jsonl.gz'] !== 'string' || typeof m.hashes?.['truth.jsonl'] !== 'string')
    throw bad(`${path}: hashes must name events.jsonl.gz and truth.jsonl`);
  if (!Array.isArray(m.labelledDimensions)) throw bad(`${path}: labelledDimensions must be an array`);
  return m as DatasetManifest;
}

async function* lines(path: string, gzip: boolean): AsyncGenerator<[number, string]> {
  try {
    await stat(path);
  } catch {
    throw new PersonaStreamError(ErrorCode.NotFound, `${path}: dataset file not found`);
  }
  const file = createReadStream(path);
  const input = gzip ? file.pipe(createGunzip()) : file;
  if (gzip) file.on('error', (e) => input.destroy(e));
  const rl = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  try {
    for await (const line of rl) {
      n++;
      if (line.trim() === '') continue;
      yield [n, line];
    }
  } catch (err) {
    throw bad(`${path}: cannot read after line ${n}: ${(err as Error).message}`);
  } finally {
    rl.close();
    file.destroy();
  }
}

/** Streams the canonical JSON lines of a dataset's events (no parsing). */
export async function* readDatasetEventLines(dir: string): AsyncGenerator<string> {
  for await (const [, line] of lines(join(dir, EVENTS_FILE), true)) yield line;
}

/** Streams a dataset's events (gunzip + readline); a bad line fails with its line number. */
export async function* readDatasetEvents(dir: string): AsyncGenerator<BehaviorEvent> {
  const path = join(dir, EVENTS_FILE);
  for await (const [n, line] of lines(path, true)) {
    let e: BehaviorEvent;
    try {
      e = fromJsonString(BehaviorEventSchema, line);
    } catch (err) {
      throw bad(`${path}:${n}: invalid event: ${(err as Error).message}`);
    }
    yield e;
  }
}

/** Streams a dataset's ground truth; a bad line fails with its line number. */
export async function* readDatasetTruth(dir: string): AsyncGenerator<GroundTruth> {
  const path = join(dir, TRUTH_FILE);
  for await (const [n, line] of lines(path, false)) {
    let t: GroundTruth;
    try {
      t = fromJsonString(GroundTruthSchema, line);
    } catch (err) {
      throw bad(`${path}:${n}: invalid ground truth: ${(err as Error).message}`);
    }
    yield t;
  }
}

async function sha256File(path: string, gunzip = false): Promise<string> {
  const h = createHash('sha256');
  const file = createReadStream(path);
  const input = gunzip ? file.pipe(createGunzip()) : file;
  for await (const chunk of input) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Recomputes the content hashes of a dataset and compares them with its manifest. */
export async function verifyDataset(dir: string): Promise<{ ok: boolean; mismatches: string[] }> {
  const m = await readDatasetManifest(dir);
  const mismatches: string[] = [];
  const check = async (name: string, expected: string | undefined, actual: Promise<string>) => {
    if (expected === undefined) return;
    const a = await actual;
    if (a !== expected) mismatches.push(`${name}: manifest ${expected.slice(0, 12)}…, file ${a.slice(0, 12)}…`);
  };
  await check(EVENTS_FILE, m.hashes['events.jsonl.gz'], sha256File(join(dir, EVENTS_FILE)));
  await check('events.jsonl', m.hashes['events.jsonl'], sha256File(join(dir, EVENTS_FILE), true));
  await check(TRUTH_FILE, m.hashes['truth.jsonl'], sha256File(join(dir, TRUTH_FILE)));
  return { ok: mismatches.length === 0, mismatches };
}
