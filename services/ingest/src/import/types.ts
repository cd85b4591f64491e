import type { BehaviorEvent, GroundTruth } from '@personastream/contracts';

export type ImportFormat = 'movielens' | 'retailrocket' | 'taobao' | 'segment-jsonl';

/** Progress of an import: `read` while converting the source, `write` while writing the sorted events. */
export interface ImportProgress {
  phase: 'read' | 'write';
  /** Source bytes read so far / in total (read phase). */
  bytes: number;
  totalBytes: number;
  /** Events converted (read phase) or written (write phase). */
  events: number;
  /** Events to write in total (write phase; during read: events so far). */
  totalEvents: number;
}

/** What one source row became: an event, or a reason it was skipped. */
export type Converted = { event: BehaviorEvent } | { skip: string };

/** Per-import settings every format reader receives. */
export interface SourceContext {
  tenant: string;
  runId: string;
  onBytes: (n: number) => void;
}

/** A public dataset format: where its files are, what it says about itself, and how to read it. */
export interface ImportSource {
  /** Manifest `source`. */
  source: string;
  license: string;
  description: string;
  /** Dimensions the truth covers. */
  labelledDimensions: string[];
  /** Files read (for progress and the manifest). */
  files: string[];
  /** Format-specific settings recorded in the manifest config. */
  config: Record<string, unknown>;
  events(ctx: SourceContext): AsyncGenerator<Converted>;
  truths(ctx: SourceContext): AsyncGenerator<GroundTruth>;
}
