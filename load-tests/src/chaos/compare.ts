import { create, type DescMessage, fromBinary, toBinary, toJson } from '@bufbuild/protobuf';
import {
  PersonaSchema,
  PersonaUpdateRecordSchema,
  PersonaUpdateSchema,
  SemantizedWindowSchema,
  WindowRecordSchema,
} from '@personastream/contracts';

/**
 * The pure part of the chaos run's verdict: one run's end state, normalised, and how a faulty run's
 * differs from a fault-free run's of the same seed.
 *
 * What is compared (each part a map key → the distinct contents seen under that key):
 * - `personas`: each user's stored persona (protobuf bytes, from Redis);
 * - `updates`: each (user, persona version) published on the updates topic — at-least-once, so a
 *   version may appear more than once, but always with the same content;
 * - `windows`: each (user, window seq) on the windows topic, likewise;
 * - `rows`: the evaluator's ClickHouse rows of the run (`user_scores`, `convergence`, `latency`,
 *   `dimension_scores`, `runs`) by their sorting key.
 * Only wall-clock fields are blanked first (they differ between any two runs): `Persona.updated_ms`,
 * `PersonaUpdate.ingest_time_ms` / `first_entry_ms`, `SemantizedWindow.ingest_time_ms` (ingest's
 * receive clock), and the time columns of the ClickHouse rows (`WALL_CLOCK_COLUMNS`).
 */
export type Part = 'personas' | 'updates' | 'windows' | 'rows';
export const PARTS: readonly Part[] = ['personas', 'updates', 'windows', 'rows'];

export type EndState = Record<Part, Map<string, Set<string>>>;

export function emptyState(): EndState {
  return { personas: new Map(), updates: new Map(), windows: new Map(), rows: new Map() };
}

export function addContent(state: EndState, part: Part, key: string, content: string): void {
  let set = state[part].get(key);
  if (!set) {
    set = new Set();
    state[part].set(key, set);
  }
  set.add(content);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A stored persona's bytes without its wall-clock `updated_ms`. */
export function normalPersona(bytes: Uint8Array): string {
  const p = fromBinary(PersonaSchema, bytes);
  p.updatedMs = 0;
  return hex(toBinary(PersonaSchema, p));
}

/** An updates-topic record: its (user, version) key and content without wall-clock fields; undefined for markers. */
export function normalUpdate(bytes: Uint8Array): { key: string; content: string } | undefined {
  const rec = fromBinary(PersonaUpdateRecordSchema, bytes);
  if (rec.kind.case !== 'update') return undefined;
  const u = rec.kind.value;
  const p = u.persona ?? create(PersonaSchema);
  p.updatedMs = 0;
  u.ingestTimeMs = 0;
  u.firstEntryMs = 0;
  return {
    key: `${p.tenant}/${p.userId}#v${p.version}${u.tombstone ? '#tombstone' : ''}`,
    content: hex(toBinary(PersonaUpdateSchema, u)),
  };
}

/** A windows-topic record: its (user, seq[, revision]) key and content without ingest's clock; undefined for markers. */
export function normalWindow(bytes: Uint8Array): { key: string; content: string } | undefined {
  const rec = fromBinary(WindowRecordSchema, bytes);
  if (rec.kind.case !== 'window') return undefined;
  const w = rec.kind.value;
  w.ingestTimeMs = 0;
  const early = w.provisional ? `#early${w.revision}` : '';
  return {
    key: `${w.tenant}/${w.userId}#${w.runId}#s${w.seq}${early}`,
    content: hex(toBinary(SemantizedWindowSchema, w)),
  };
}

/** The evaluator's tables the run writes, with the columns that identify a row. */
export const TABLE_KEYS: Readonly<Record<string, readonly string[]>> = {
  user_scores: ['tenant', 'user_id'],
  convergence: ['tenant', 'user_id', 'persona_version'],
  latency: ['tenant', 'user_id', 'persona_version'],
  dimension_scores: ['dimension'],
  runs: ['tenant', 'run_id'],
};

/** Columns holding wall-clock times or speeds: left out of the comparison. */
export const WALL_CLOCK_COLUMNS: ReadonlySet<string> = new Set([
  'written_ms',
  'started_ms',
  'completed_ms',
  'events_per_s',
  'wall_s',
  'ingest_time_ms',
  'updated_ms',
  'latency_ms',
  'latency_count',
  'latency_mean_ms',
  'latency_p50_ms',
  'latency_p90_ms',
  'latency_p99_ms',
  'latency_max_ms',
  'freshness_p50_ms',
  'freshness_p99_ms',
]);

/** A ClickHouse row (JSONEachRow) as a key and its content without wall-clock columns. */
export function normalRow(table: string, row: Record<string, unknown>): { key: string; content: string } {
  const keyCols = TABLE_KEYS[table];
  if (!keyCols) throw new Error(`chaos: no key columns for table ${table}`);
  const content = Object.keys(row)
    .filter((c) => !WALL_CLOCK_COLUMNS.has(c))
    .sort()
    .map((c) => [c, row[c]]);
  return { key: `${table}:${keyCols.map((c) => String(row[c])).join('/')}`, content: JSON.stringify(content) };
}

const PART_SCHEMA: Record<Exclude<Part, 'rows'>, DescMessage> = {
  personas: PersonaSchema,
  updates: PersonaUpdateSchema,
  windows: SemantizedWindowSchema,
};

/** The fields of two contents of one key that differ, `field: a → b` (values cut at 120 characters). */
export function describeDifference(part: Part, a: string, b: string): string {
  const fields = (content: string): Record<string, unknown> => {
    if (part === 'rows') return Object.fromEntries(JSON.parse(content) as Array<[string, unknown]>);
    if (content === 'no persona') return {};
    return toJson(PART_SCHEMA[part], fromBinary(PART_SCHEMA[part], Buffer.from(content, 'hex'))) as Record<
      string,
      unknown
    >;
  };
  const x = fields(a);
  const y = fields(b);
  const cut = (v: unknown) => {
    const s = JSON.stringify(v) ?? 'absent';
    return s.length > 120 ? `${s.slice(0, 117)}…` : s;
  };
  return [...new Set([...Object.keys(x), ...Object.keys(y)])]
    .filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k]))
    .map((k) => `${k}: ${cut(x[k])} → ${cut(y[k])}`)
    .join('; ');
}

export interface PartVerdict {
  /** Keys of the fault-free run missing from the faulty one. */
  lost: number;
  /** Keys with more than one content in the faulty run (e.g. a version issued twice with different personas), or not in the fault-free run at all. */
  duplicated: number;
  /** Keys in both runs whose (single) content differs. */
  diverged: number;
  /** Keys in the fault-free run. */
  keys: number;
  /** A few keys of each kind, for the report (duplicated and diverged with the fields that differ). */
  examples: { lost: string[]; duplicated: string[]; diverged: string[] };
}

export interface Verdict {
  lost: number;
  duplicated: number;
  diverged: number;
  parts: Record<Part, PartVerdict>;
  /** Keys with two contents in the reference run itself: a harness problem, not a finding. */
  referenceInconsistent: number;
}

const EXAMPLES = 5;

/** How `faulty` differs from `reference` (the fault-free run of the same seed). */
export function compareStates(reference: EndState, faulty: EndState): Verdict {
  const parts = {} as Record<Part, PartVerdict>;
  let referenceInconsistent = 0;
  for (const part of PARTS) {
    const v: PartVerdict = {
      lost: 0,
      duplicated: 0,
      diverged: 0,
      keys: reference[part].size,
      examples: { lost: [], duplicated: [], diverged: [] },
    };
    const note = (kind: 'lost' | 'duplicated' | 'diverged', key: string, contents?: [string, string]) => {
      v[kind]++;
      if (v.examples[kind].length >= EXAMPLES) return;
      v.examples[kind].push(contents ? `${key} (${describeDifference(part, ...contents)})` : key);
    };
    for (const [key, want] of reference[part]) {
      if (want.size > 1) referenceInconsistent++;
      const got = faulty[part].get(key);
      const [first, second] = [...(got ?? [])] as [string, string];
      if (!got) note('lost', key);
      else if (got.size > 1) note('duplicated', key, [first, second]);
      else if (!want.has(first)) note('diverged', key, [[...want][0] as string, first]);
    }
    for (const key of faulty[part].keys()) if (!reference[part].has(key)) note('duplicated', key);
    parts[part] = v;
  }
  const sum = (k: 'lost' | 'duplicated' | 'diverged') => PARTS.reduce((n, p) => n + parts[p][k], 0);
  return { lost: sum('lost'), duplicated: sum('duplicated'), diverged: sum('diverged'), parts, referenceInconsistent };
}
