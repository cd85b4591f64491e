import { canonicalEventJson } from '@personastream/contracts';
import { type DatasetManifest, DatasetWriter } from '@personastream/dataset';
import { movielensSource } from './formats/movielens.js';
import { retailrocketSource } from './formats/retailrocket.js';
import { segmentJsonlSource } from './formats/segment-jsonl.js';
import { taobaoSource } from './formats/taobao.js';
import { fileSize } from './lines.js';
import { ExternalSorter } from './sort.js';
import type { ImportFormat, ImportProgress, ImportSource, SourceContext } from './types.js';

export const IMPORT_FORMATS: readonly ImportFormat[] = ['movielens', 'retailrocket', 'taobao', 'segment-jsonl'];

export interface ImportOptions {
  format: ImportFormat;
  /** The source file or folder (MovieLens: the ml-100k folder or its u.data). */
  path: string;
  /** Output folder of the canonical dataset (events.jsonl.gz, truth.jsonl, manifest.json). */
  out: string;
  onProgress?: (p: ImportProgress) => void;
  /** Tenant of the events and truth (default: `movielens`, `retailrocket`, `taobao`, `segment`). */
  tenant?: string;
  /** Run id of the events and truth (default `import-<format>`). */
  runId?: string;
  /** Overrides the format's license note (e.g. for a Segment export). */
  license?: string;
  /** Events sorted in memory before spilling a sorted run to a temp file (default 200,000). */
  sortChunk?: number;
  /** Where sort runs are spilled (default: the OS temp dir). */
  tmpDir?: string;
}

export interface ImportResult {
  manifest: DatasetManifest;
  events: number;
  truths: number;
  /** Source rows not converted, by reason (malformed_line, unknown_event, duplicate_event_id…). */
  skipped: Record<string, number>;
}

const DEFAULT_TENANT: Record<ImportFormat, string> = {
  movielens: 'movielens',
  retailrocket: 'retailrocket',
  taobao: 'taobao',
  'segment-jsonl': 'segment',
};

function sourceOf(format: ImportFormat, path: string): Promise<ImportSource> {
  switch (format) {
    case 'movielens':
      return movielensSource(path);
    case 'retailrocket':
      return retailrocketSource(path);
    case 'taobao':
      return taobaoSource(path);
    case 'segment-jsonl':
      return segmentJsonlSource(path);
    default:
      throw new Error(`unknown import format "${String(format)}" (expected ${IMPORT_FORMATS.join(', ')})`);
  }
}

/**
 * Converts a public dataset into the canonical dataset layout (via `@personastream/dataset`).
 * Streaming with flat memory: source rows are read line by line; events are sorted by (event time,
 * event id) with an external merge sort (bounded chunks spilled to temp files), so a replay sends
 * them in time order; repeated ids (identical source rows) are written once. Labels, where the
 * format has any, go to truth.jsonl; `manifest.json` carries source, license note, the import
 * settings and `labelledDimensions`.
 */
export async function importDataset(opts: ImportOptions): Promise<ImportResult> {
  if (!IMPORT_FORMATS.includes(opts.format)) {
    throw new Error(`unknown import format "${opts.format}" (expected ${IMPORT_FORMATS.join(', ')})`);
  }
  const source = await sourceOf(opts.format, opts.path);
  const tenant = opts.tenant ?? DEFAULT_TENANT[opts.format];
  const runId = opts.runId ?? `import-${opts.format}`;
  const totalBytes = (await Promise.all(source.files.map(fileSize))).reduce((a, b) => a + b, 0);
  let bytes = 0;
  let converted = 0;
  let lastReport = 0;
  const report = (p: ImportProgress, force = false) => {
    if (!opts.onProgress) return;
    const now = Date.now();
    if (!force && now - lastReport < 100) return;
    lastReport = now;
    opts.onProgress(p);
  };
  const ctx: SourceContext = {
    tenant,
    runId,
    onBytes: (n) => {
      bytes += n;
      report({ phase: 'read', bytes, totalBytes, events: converted, totalEvents: converted });
    },
  };

  const skipped: Record<string, number> = {};
  const sorter = new ExternalSorter(opts.sortChunk, 64, opts.tmpDir);
  for await (const c of source.events(ctx)) {
    if ('skip' in c) {
      skipped[c.skip] = (skipped[c.skip] ?? 0) + 1;
      continue;
    }
    const e = c.event;
    await sorter.add({ t: e.eventTimeMs, id: e.eventId, userId: e.userId, json: canonicalEventJson(e) });
    converted++;
  }

  const writer = await DatasetWriter.open(opts.out);
  try {
    let written = 0;
    let prev: { t: number; id: string } | undefined;
    for await (const it of sorter.sorted()) {
      if (prev && prev.t === it.t && prev.id === it.id) {
        skipped.duplicate_event_id = (skipped.duplicate_event_id ?? 0) + 1;
        continue;
      }
      prev = { t: it.t, id: it.id };
      await writer.writeEventJson(it.json, it.userId);
      written++;
      report({ phase: 'write', bytes, totalBytes, events: written, totalEvents: converted });
    }
    let truths = 0;
    for await (const t of source.truths(ctx)) {
      await writer.writeTruth(t);
      truths++;
    }
    report({ phase: 'write', bytes, totalBytes, events: written, totalEvents: converted }, true);
    const manifest = await writer.finish({
      source: source.source,
      license: opts.license ?? source.license,
      labelledDimensions: truths > 0 ? source.labelledDimensions : [],
      description: source.description,
      config: {
        importer: 'personastream ingest import v1',
        format: opts.format,
        tenant,
        runId,
        files: source.files.map((f) => f.split('/').pop()),
        order: 'event time, then event id; repeated ids written once',
        skipped,
        ...source.config,
      },
    });
    return { manifest, events: written, truths, skipped };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
